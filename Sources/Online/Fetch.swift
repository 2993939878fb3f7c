public import TrustCore
public import Metadata
internal import MetadataStore
internal import Foundation

/// What `fetch` brought and wrote.
public struct FetchSummary: Sendable {
    public var written: [String] = []
    public var rootVersions: [Int] = []
    public var delegations: [String] = []
    public var warnings: [String] = []
    public var versions: [String: Int] = [:]
}

extension NotarySession {
    /// GET one metadata file; nil on 404.
    func getFile(_ name: String) async throws(TrustVaultError) -> [UInt8]? {
        let url = tufURL(name)
        let r = try await request("GET", url, purpose: "reading \(gun)'s \(name)")
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw Self.unexpectedStatus(r, method: "GET", url: url) }
        return r.body
    }

    /// An answer other than 200/404 (401/403 are handled by ``request``): a 4xx will not change
    /// by asking again, so it is a refusal (exit 1); a 5xx that outlasted the retries means the
    /// server is failing (69).
    static func unexpectedStatus(_ r: HTTPResponse, method: String, url: String) -> TrustVaultError {
        let said = Shown.text(String(r.bodyText.prefix(300)).trimmingCharacters(in: .whitespacesAndNewlines))
        if (400..<500).contains(r.status) {
            return TrustVaultError(
                .refused, "\(method) \(url) answered HTTP \(r.status)\(said.isEmpty ? "" : ": " + said)",
                recovery: "check --server (the notary server's base URL, not the registry's) and the GUN")
        }
        return TrustVaultError(
            .serviceUnavailable, "\(method) \(url) answered HTTP \(r.status) \(Transport.attempts) times\(said.isEmpty ? "" : ": " + said)",
            recovery: "the server is failing; try again later")
    }

    /// `--keys-only`: the server's `timestamp.key` and `snapshot.key` for `trustvault repo init`,
    /// and `existing-root.json` (the server's root.json) when the GUN already has trust data.
    public func fetchKeys(out: String) async throws(TrustVaultError) -> FetchSummary {
        try RepositoryStore(out).refuseNonEmpty()
        var files: [(String, [UInt8])] = []
        for role in ["timestamp", "snapshot"] {
            guard let bytes = try await getFile(role + ".key") else {
                throw .notFound("\(server) has no \(role).key for \(gun)", recovery: "check the GUN and that the server manages \(role) keys")
            }
            let json: JSONValue
            do { json = try JSONValue(parsing: bytes) } catch { throw .corrupt("\(role).key from \(server) is not JSON: \(error.message)") }
            let key = try TUFKey(json: json, context: "\(role).key from \(server)")
            guard !key.isCertificate else { throw .corrupt("\(role).key from \(server) is a certificate, not a bare key") }
            do { _ = try key.publicKey() } catch { throw error.located("\(role).key from \(server)") }
            files.append((role + ".key", bytes))
        }
        var summary = FetchSummary()
        if let existing = try await existingRoot() {
            // Recorded for the offline side: repo init refuses a GUN that already has trust data.
            files.append(("existing-root.json", existing))
            let version = (try? SignedMetadata(parsing: existing, name: "root.json"))?.signed["version"]?.intValue.map { " (root.json v\($0))" } ?? ""
            summary.warnings.append(
                "\(server) already holds trust data for \(gun)\(version), saved as existing-root.json: 'trustvault repo init' refuses it unless --replace-existing; to change the repository, fetch without --keys-only"
            )
        }
        summary.written = try RepositoryStore(out).writeWhole(files)
        return summary
    }

    /// Everything the next offline ceremony needs, verified, in the layout `--current` reads:
    /// `root.json`, `targets.json`, `snapshot.json`, `timestamp.json`, `targets/<d>.json` for
    /// every delegation named in snapshot, and `<N>.root.json` for every root version the
    /// server still has back to 1 (each checked against the one before it). Nothing is written
    /// unless all of it verifies.
    ///
    /// With `allowExpired` (`--allow-expired`), authentic metadata is written even when it has
    /// expired (files or root certificates), names a delegation nobody can sign for, or lacks a
    /// delegation file snapshot.json lists: one warning per problem, so an offline ceremony can
    /// repair it. Signatures, thresholds, hashes and versions must hold either way.
    public func fetchMetadata(out: String, now: TUFTime = .now(), allowExpired: Bool = false) async throws(TrustVaultError) -> FetchSummary {
        try RepositoryStore(out).refuseNonEmpty()
        guard let rootBytes = try await getFile("root.json") else {
            throw .notFound(
                "\(server) has no trust data for \(gun)",
                recovery: "check the GUN; a new repository starts with 'trustvault-online fetch \(gun) --keys-only' and 'trustvault repo init'")
        }
        var set = MetadataSet(gun: gun)
        set.files["root"] = rootBytes
        let (_, root) = try set.root()
        var summary = FetchSummary()

        // The root chain, newest first, down to version 1 or the first version the server has
        // (a repository's first upload may be root v2).
        var chain: [Int: [UInt8]] = [root.version: rootBytes]
        var version = root.version - 1
        while version >= 1 {
            guard let bytes = try await getFile("\(version).root.json") else { break }
            chain[version] = bytes
            version -= 1
        }
        if root.version > 1, let served = try await getFile("\(root.version).root.json"), served != rootBytes {
            throw .verification(
                "\(server) serves a root.json that differs from its \(root.version).root.json",
                recovery: "try again; if it persists the server's data is inconsistent")
        }
        let versions = chain.keys.sorted()
        for (older, newer) in zip(versions, versions.dropFirst()) {
            try Self.checkRootStep(chain[older] ?? [], chain[newer] ?? [], olderVersion: older, newerVersion: newer)
        }
        summary.rootVersions = versions

        for role in ["targets", "snapshot", "timestamp"] {
            guard let bytes = try await getFile(role + ".json") else {
                throw .notFound("\(server) has no \(role).json for \(gun)", recovery: "the repository is incomplete on the server; publish its targets first")
            }
            set.files[role] = bytes
        }
        guard let snapshotEnv = try set.envelope("snapshot") else { throw .notFound("snapshot.json is missing") }
        let snapshot = try MetaListing(json: snapshotEnv.signed, type: "Snapshot", name: "snapshot.json")
        for name in snapshot.meta.keys.sorted(by: MetadataSet.uploadOrder) where name.hasPrefix("targets/") {
            guard Names.isValidDelegationRole(name) else { throw .corrupt("snapshot.json names a role \(Shown.text(name)) that is not a safe path") }
            guard let bytes = try await getFile(name + ".json") else {
                if allowExpired {
                    summary.warnings.append("\(server) has no \(name).json although snapshot.json lists it; its tags are left out")
                    continue
                }
                throw .notFound(
                    "\(server) has no \(name).json although snapshot.json lists it", recovery: "try again; if it persists the server's data is inconsistent")
            }
            set.files[name] = bytes
            summary.delegations.append(name)
        }

        let report = Verifier.verify(set, now: now, forCeremony: allowExpired)
        if let first = report.problems.first {
            let repairable = !allowExpired && Verifier.verify(set, now: now, forCeremony: true).problems.isEmpty
            let count = report.problems.count > 1 ? "\(report.problems.count) problems in all; " : ""
            throw .verification(
                "the metadata \(server) serves for \(gun) does not verify: \(first); nothing was written",
                recovery: repairable
                    ? count
                        + "it is authentic but expired or stuck: fetch it anyway with --allow-expired and repair it offline (docs/guide-expired-root-certificate.md)"
                    : count + "the repository needs repair before an offline ceremony can build on it")
        }
        summary.warnings += report.warnings + report.untrusted.map(\.line)
        for (role, bytes) in set.files {
            if let env = try? SignedMetadata(parsing: bytes, name: role), let v = env.signed["version"]?.intValue { summary.versions[role] = Int(v) }
        }

        var files: [(String, [UInt8])] = []
        for role in set.files.keys.sorted(by: MetadataSet.uploadOrder) { files.append((role + ".json", set.files[role] ?? [])) }
        for v in versions { files.append(("\(v).root.json", chain[v] ?? [])) }
        summary.written = try RepositoryStore(out).writeWhole(files)
        return summary
    }

    /// Root N+1 must be signed by a threshold of root N's root keys and of its own.
    static func checkRootStep(_ older: [UInt8], _ newer: [UInt8], olderVersion: Int, newerVersion: Int) throws(TrustVaultError) {
        let oldEnv = try SignedMetadata(parsing: older, name: "\(olderVersion).root.json")
        let oldRoot = try Root(json: oldEnv.signed, name: "\(olderVersion).root.json")
        let newEnv = try SignedMetadata(parsing: newer, name: "\(newerVersion).root.json")
        let newRoot = try Root(json: newEnv.signed, name: "\(newerVersion).root.json")
        guard oldRoot.version == olderVersion, newRoot.version == newerVersion else {
            throw .verification("the server's \(newerVersion).root.json or \(olderVersion).root.json carries another version number")
        }
        let canonical = newEnv.canonicalSigned
        try newEnv.verify(
            role: oldRoot.role(.root), keys: oldRoot.keys, name: "\(newerVersion).root.json (against \(olderVersion).root.json)", canonical: canonical)
        try newEnv.verify(role: newRoot.role(.root), keys: newRoot.keys, name: "\(newerVersion).root.json", canonical: canonical)
    }
}
