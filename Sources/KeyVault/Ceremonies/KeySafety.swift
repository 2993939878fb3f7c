public import TrustCore
public import Metadata
internal import Foundation

/// Changes a ceremony makes only when they are named on the command line: replacing a
/// repository that already has trust data (`repo init --replace-existing`), and, in a root
/// rotation, removing root keys held by others (`--remove-key KEYID`) or lowering the root
/// threshold (`--lower-threshold`). Without them the ceremony refuses before anything is signed.
public struct CeremonyConsent: Sendable, Equatable {
    public var replaceExisting = false
    /// Root keys (canonical or certificate key IDs, or prefixes) the rotation may remove although
    /// this vault does not hold them.
    public var removeRootKeys: [String] = []
    public var lowerRootThreshold = false
    public init() {}
}

/// What a root rotation changes, worked out before any key is unlocked.
public struct RootChange: Sendable {
    public var gun: String
    /// Canonical IDs of the current root keys the new root leaves out, held in this vault or not.
    public var removedHeld: [String] = []
    public var removedOthers: [String] = []
    /// Canonical IDs of the new root keys not in the current root ("a new vault root key" when nil).
    public var added: [String?] = []
    public var oldThreshold: Int
    public var newThreshold: Int
    public var newKeyCount: Int

    public var lowersThreshold: Bool { newThreshold < oldThreshold }

    /// The lines shown before anything is signed.
    public var lines: [String] {
        var out = ["this rotation changes \(gun)'s root:"]
        for id in removedHeld { out.append("  root: key removed \(id) (held in this vault)") }
        for id in removedOthers { out.append("  root: key removed \(id) (held by another key holder)") }
        for id in added { out.append("  root: key added   \(id ?? "(a new root key, made in this vault)")") }
        if oldThreshold != newThreshold {
            out.append("  root: threshold \(oldThreshold) -> \(newThreshold) (\(newThreshold) of \(newKeyCount) root keys must sign)")
        }
        return out
    }
}

extension Ceremonies {
    // MARK: The key-status book after each ceremony

    /// The roles each key of `held` plays in the repository `set` describes: root, targets,
    /// snapshot and timestamp from root.json, and every delegation reachable from targets.json.
    static func heldRoles(in set: MetadataSet, held: Set<String>) -> [String: [String]] {
        var roles: [String: [String]] = [:]
        if let root = (try? set.root())?.1 {
            for r in BaseRole.allCases { roles[r.rawValue] = root.keys(of: r).map(\.displayID).filter { held.contains($0) } }
        }
        // Walk down from targets.json through delegated roles only (a file no role delegates to
        // any more names no key that counts).
        var queue = ["targets"], seen: Set<String> = []
        while let file = queue.first {
            queue.removeFirst()
            guard seen.insert(file).inserted, seen.count < 10_000, let t = ((try? set.targets(file, buildTargets: false)) ?? nil)?.1 else { continue }
            for d in t.delegations {
                roles[d.name, default: []] += d.keyIDs.compactMap { t.delegationKeys[$0]?.displayID }.filter { held.contains($0) }
                if set.files[d.name] != nil { queue.append(d.name) }
            }
        }
        return roles.filter { !$0.value.isEmpty }
    }

    /// Records in the vault's key-status book what `gun` looks like after this ceremony: the roles
    /// each held key plays (from `current` overlaid with the ceremony's files); keys that played a
    /// role before (in the book, in `current`, or named in `retired`) and play none now are retired
    /// for `gun`; the certificate IDs of held root keys in the new root.json.
    func recordKeyStatus(
        _ result: TransitionResult, gun: String, retired: [String], current: MetadataSet? = nil, in transaction: CeremonyTransaction? = nil
    ) throws(TrustVaultError) {
        let held = Set(try vault.records().map(\.id))
        var after = current ?? MetadataSet(gun: gun)
        for (role, bytes) in result.files.files { after.files[role] = bytes }
        let roles = Self.heldRoles(in: after, held: held)
        let before = Set(retired.filter { held.contains($0) } + (current.map { Array(Self.heldRoles(in: $0, held: held).values.joined()) } ?? []))
        var certs: [(String, String)] = []
        if let bytes = result.files.files["root"] {
            let root = try Root(json: try SignedMetadata(parsing: bytes, name: "root.json").signed)
            for key in root.keys(of: .root) where held.contains(key.displayID) { certs.append((key.displayID, key.id)) }
        }
        let time = Timestamp.now()
        let change = { (book: inout KeyStatusBook) in
            book.record(gun: gun, roles: roles, time: time)
            let now = Set(roles.values.joined())
            for id in before where !now.contains(id) { book.repositories[gun]?.retired[id] = time }
            for (id, cert) in certs { book.rootCertificates[id, default: [:]][gun] = cert }
        }
        if let transaction { try transaction.updateKeyStatus(change) } else { try vault.updateKeyStatus(change) }
    }

    /// After `root sign`: the root role of the repository the root.json is for (the CN of the
    /// signing key's certificate), for the root keys held here; root keys of `previous` that the
    /// new root leaves out are retired for it.
    func recordRootSignature(root: Root, previous: Root?, signerID: String) throws(TrustVaultError) {
        guard
            let key = root.keys.values.first(where: { $0.isCertificate && $0.displayID == signerID })
                ?? previous?.keys.values.first(where: { $0.isCertificate && $0.displayID == signerID }),
            let leaf = try? key.certificates().first, let gun = RootCertificate.commonName(of: leaf),
            (try? Names.checkGUN(gun)) != nil, !gun.hasSuffix("*")
        else { return }
        let held = Set(try vault.records().map(\.id))
        let ids = root.keys(of: .root).map(\.displayID).filter { held.contains($0) }
        let left = (previous?.keys(of: .root).map(\.displayID) ?? []).filter { held.contains($0) && !ids.contains($0) }
        let certs = root.keys(of: .root).filter { held.contains($0.displayID) }.map { ($0.displayID, $0.id) }
        let time = Timestamp.now()
        try vault.updateKeyStatus { book in
            book.record(gun: gun, roles: ["root": ids], time: time, only: ["root"])
            for id in left { book.repositories[gun]?.retired[id] = time }
            for (id, cert) in certs { book.rootCertificates[id, default: [:]][gun] = cert }
        }
    }

    // MARK: repo init on a repository that exists

    /// The file `trustvault-online fetch --keys-only` writes beside the server's keys when the
    /// server already holds trust data for the GUN.
    public static let existingRootFileName = "existing-root.json"

    /// Refuses `repo init` for a GUN that already has trust data — made by this vault (the
    /// key-status book) or published on the server (`existing-root.json` beside the fetched
    /// keys) — unless `consent.replaceExisting`; returns notes for the replacing case. Runs before
    /// any key is made or unlocked.
    func checkNewRepository(gun: String, timestampKeyFile: String, snapshotKeyFile: String?) throws(TrustVaultError) -> [String] {
        var notes: [String] = []
        let markers = Set([timestampKeyFile, snapshotKeyFile].compactMap { $0 }.map { AtomicFile.parent(of: $0) + "/" + Self.existingRootFileName })
        for marker in markers.sorted() where AtomicFile.exists(marker) {
            var version = ""
            if let bytes = try? AtomicFile.read(marker, kind: .metadata), let env = try? SignedMetadata(parsing: bytes, name: marker),
                let v = env.signed["version"]?.intValue
            {
                version = " (root.json v\(v))"
            }
            guard consent.replaceExisting else {
                throw TrustVaultError(
                    .alreadyExists,
                    "the server already holds trust data for \(gun)\(version), as \(marker) from 'trustvault-online fetch --keys-only' records; a new repo init would make keys for a repository the server refuses; nothing was made",
                    recovery:
                        "to change \(gun), fetch its metadata (trustvault-online fetch \(gun) --server URL --out current) and use repo rotate or delegation; to start over on purpose, delete it on the server (notary -s URL delete \(gun) --remote) and add --replace-existing"
                )
            }
            notes.append(
                "the server held trust data for \(gun)\(version) when its keys were fetched: it refuses this root v1 until that data is deleted (notary -s \(serverText) delete \(gun) --remote)"
            )
        }
        if let repo = try vault.keyStatus().repositories[gun], repo.hasTrustData {
            let roots = (repo.roles["root"] ?? []).map { String($0.prefix(12)) }
            let when = repo.time.map { " on \($0)" } ?? ""
            guard consent.replaceExisting else {
                throw TrustVaultError(
                    .alreadyExists,
                    "this vault already made trust data for \(gun)\(when)\(roots.isEmpty ? "" : " (root key \(roots.joined(separator: ", ")))"); a second repo init would replace it and leave its keys unused; nothing was made",
                    recovery:
                        "to change \(gun), fetch its metadata and use repo rotate, repo refresh or delegation; if that trust data was never published, or was deleted on the server, add --replace-existing"
                )
            }
            notes.append(
                "replaces the trust data this vault made for \(gun)\(when); the keys only that data used are now retired for \(gun) in 'trustvault key list'")
        }
        return notes
    }

    // MARK: Root rotations that remove other holders' keys or lower the threshold

    /// What `repo rotate GUN root` with these keys and threshold changes, from the current
    /// metadata (and `--pending` outputs), without unlocking any key.
    public func rootRotationChange(
        gun: String, currentDir: String, newKeys: [RootKeySource], newThreshold: Int?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> RootChange {
        try KeyRole.checkGUN(gun)
        var ignored = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &ignored)
        return try rootRotationChange(gun: gun, root: try current.root().1, newKeys: newKeys, newThreshold: newThreshold)
    }

    func rootRotationChange(gun: String, root: Root, newKeys sources: [RootKeySource], newThreshold: Int?) throws(TrustVaultError) -> RootChange {
        let old = root.keys(of: .root).map(\.displayID)
        var new: [String?] = []
        let all = try vault.records()
        for source in sources {
            switch source {
            case .certificateFile(let path):
                let text = String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
                do throws(TrustVaultError) { new.append(try TUFKey(certificatePEM: text).displayID) } catch { throw error.located(path) }
            case .vaultKey(let id):
                let wanted = id.lowercased()
                if !wanted.isEmpty, let kept = root.keys(of: .root).first(where: { $0.displayID.hasPrefix(wanted) || $0.id.hasPrefix(wanted) }) {
                    new.append(kept.displayID)
                } else {
                    new.append(try vault.record(matching: id).id)
                }
            }
        }
        if sources.isEmpty { new = [nil] }
        let kept = Set(new.compactMap { $0 })
        let heldIDs = Set(all.map(\.id))
        var change = RootChange(
            gun: gun, oldThreshold: root.role(.root).threshold,
            newThreshold: newThreshold ?? min(root.role(.root).threshold, new.count), newKeyCount: new.count)
        for id in old where !kept.contains(id) {
            if heldIDs.contains(id) { change.removedHeld.append(id) } else { change.removedOthers.append(id) }
        }
        change.added = new.filter { $0 == nil || !old.contains($0 ?? "") }
        return change
    }

    /// Refuses a root rotation that removes root keys this vault does not hold, or lowers the
    /// threshold, unless each such change is named (`consent`). Before any key is unlocked.
    func checkRootChange(_ change: RootChange, root: Root) throws(TrustVaultError) {
        func matches(_ named: String, _ id: String) -> Bool {
            let n = named.lowercased()
            guard !n.isEmpty else { return false }
            return id.hasPrefix(n) || root.keys(of: .root).contains { $0.displayID == id && $0.id.hasPrefix(n) }
        }
        for named in consent.removeRootKeys where !(change.removedOthers + change.removedHeld).contains(where: { matches(named, $0) }) {
            throw TrustVaultError(
                .invalidArgument, "--remove-key \(named) is not a root key this rotation removes from \(change.gun)",
                recovery:
                    "the rotation removes \((change.removedOthers + change.removedHeld).map { String($0.prefix(12)) }.joined(separator: ", ").ifEmpty("no root key"))"
            )
        }
        let unnamed = change.removedOthers.filter { id in !consent.removeRootKeys.contains { matches($0, id) } }
        let lowering = change.lowersThreshold && !consent.lowerRootThreshold
        guard !unnamed.isEmpty || lowering else { return }
        var what: [String] = []
        if !unnamed.isEmpty {
            what.append(
                "removes root key\(unnamed.count == 1 ? "" : "s") held by other key holders (\(unnamed.map { String($0.prefix(12)) }.joined(separator: ", ")))")
        }
        if change.lowersThreshold {
            what.append("lowers the root threshold from \(change.oldThreshold) to \(change.newThreshold) (\(change.newThreshold) of \(change.newKeyCount))")
        }
        var flags = unnamed.map { "--remove-key \(String($0.prefix(12)))" }
        if lowering { flags.append("--lower-threshold") }
        throw TrustVaultError(
            .refused,
            "this rotation of \(change.gun)'s root \(what.joined(separator: " and ")); nothing was signed",
            recovery:
                "to keep the other holders, list every key of the new root role with --new-key (current root keys keep their certificates); if the change is meant, name it: \(flags.joined(separator: " "))"
        )
    }
}

extension String {
    fileprivate func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}
