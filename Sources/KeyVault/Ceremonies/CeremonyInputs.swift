public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// What a Notary ceremony reads: the server's keys, `--current` through the verifier, `--pending`
/// outputs layered over it, and the keys named on the command line.
extension Ceremonies {
    // MARK: Inputs

    /// A server public-key file (`GET …/_trust/tuf/timestamp.key`): `{"keytype":…,"keyval":{"public":…}}`.
    public static func readServerKey(_ path: String, role: String) throws(TrustVaultError) -> TUFKey {
        let bytes = try AtomicFile.read(path, kind: .publicKey)
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch {
            throw TrustVaultError(
                .corruptData, "\(path) is not the JSON key that notary-server serves: \(error.message)",
                recovery: "fetch it online with: trustvault-online fetch GUN --server URL --out DIR --keys-only")
        }
        let key = try TUFKey(json: json, context: path)
        guard !key.isCertificate else { throw .unsupported("\(path): a \(role) key must be a bare key, not \(key.keyType)") }
        do { _ = try key.publicKey() } catch { throw error.located(path) }
        return key
    }

    /// The current metadata the online side handed over (`--current DIR`).
    public static func readCurrent(_ dir: String, gun: String) throws(TrustVaultError) -> MetadataSet {
        try readCurrent(dir, gun: gun, warnings: nil)
    }

    /// Reads and verifies the current metadata as ceremonies need it: signatures, thresholds,
    /// hashes and versions must hold; expiry and roles that cannot sign are only warnings
    /// (appended to `warnings`), since the ceremony's output replaces them.
    public static func readCurrent(
        _ dir: String, gun: String, now: TUFTime = .now(), warnings: UnsafeMutablePointer<[String]>?
    ) throws(TrustVaultError) -> MetadataSet {
        var set = try MetadataSet.load(directory: dir, gun: gun)
        // The timestamp plays no part offline (and expires every 14 days): leave it out.
        set.files["timestamp"] = nil
        // Refuse to build on metadata that does not verify (a tampered or foreign repository).
        let report = Verifier.verify(set, now: now, forCeremony: true)
        if let first = report.problems.first {
            throw .verification(
                "the current metadata in \(dir) does not verify: \(first)",
                recovery:
                    "fetch the repository's current files again (trustvault-online fetch \(gun) --server URL --out DIR); 'trustvault verify \(dir) --gun \(gun)' lists every problem"
            )
        }
        warnings?.pointee += report.warnings.filter {
            $0.contains("expired") || $0.contains("nobody can sign") || $0.contains("repair it") || $0.contains("repo refresh")
        }
        warnings?.pointee += report.untrusted.map(\.line)
        for u in report.untrusted { set.untrusted[u.role] = u.reason }
        return set
    }

    /// `readCurrent` for a ceremony: warnings go into the output's notes.
    func current(_ dir: String, gun: String, now: TUFTime, output: inout CeremonyOutput) throws(TrustVaultError) -> MetadataSet {
        var warnings: [String] = []
        var set = try Self.readCurrent(dir, gun: gun, now: now, warnings: &warnings)
        try refuseUpdateOfExpiredRoot(set, gun: gun, currentDir: dir, now: now)
        output.notes += warnings.map { "current metadata: " + $0 }
        guard !pending.isEmpty else { return set }
        let base = set
        output.carried = MetadataSet(gun: gun)
        for p in pending {
            let fragment = try MetadataSet.load(directory: p, gun: gun, requireRoot: false)
            guard !fragment.files.isEmpty else {
                throw .notFound("\(p) holds no metadata for \(gun)", recovery: "pass the --out directory of an earlier ceremony for \(gun)")
            }
            for (role, bytes) in fragment.files where role != "timestamp" {
                if set.baseFiles[role] == nil, let b = base.files[role] { set.baseFiles[role] = b }
                set.files[role] = bytes
                output.carried.files[role] = bytes
            }
            if AtomicFile.isDirectory(p + "/private") {
                for name in try AtomicFile.list(p + "/private") where name.hasSuffix(".key") {
                    output.carriedKeyFiles.append(p + "/private/" + name)
                }
            }
        }
        // Without a pending snapshot the server re-makes it on upload (server-held snapshot key).
        if output.carried.files["snapshot"] == nil { set.files["snapshot"] = nil }
        // Each pending role must be exactly one version above the server's.
        for (role, bytes) in set.baseFiles {
            let was = try set.nextVersion(role, after: 0) - 1
            guard let env = try set.envelope(role), let v = env.signed["version"]?.intValue, v == Int64(was + 1) else {
                throw .verification(
                    "the pending \(role).json does not follow the server's version \(was)",
                    recovery: "make the pending output again from the current metadata, or upload it first")
            }
            _ = bytes
        }
        let report = Verifier.verify(set, trustedRoot: base.files["root"], now: now, forCeremony: true)
        set.untrusted = Dictionary(report.untrusted.map { ($0.role, $0.reason) }) { a, _ in a }
        output.notes.removeAll { n in  // a pending output replaced these files
            n.hasPrefix("current metadata: not trusted: ") && !set.untrusted.keys.contains { n.hasPrefix("current metadata: not trusted: \($0).json,") }
        }
        if let first = report.problems.first {
            throw .verification(
                "the pending output (\(pending.joined(separator: ", "))) does not build on \(dir): \(first)",
                recovery: "a pending output must be complete (every root signature collected) and made from the same current metadata")
        }
        output.notes.append("carries on the pending output of \(pending.joined(separator: ", ")); upload only this output")
        return set
    }

    /// A vault root key, a root key of the current root (by canonical or TUF ID or prefix), or a
    /// root certificate file made by another holder (`trustvault root cert`).
    public enum RootKeySource: Sendable {
        case vaultKey(String)
        case certificateFile(String)
        /// Parses a `--root-key`/`--new-key` value: an existing file is a certificate, else a key ID.
        public init(_ text: String) {
            self = AtomicFile.exists(text) && !AtomicFile.isDirectory(text) ? .certificateFile(text) : .vaultKey(text)
        }
    }

    // MARK: delegations

    /// Where a delegation key comes from.
    public enum DelegationKeySource: Sendable {
        case certificate(path: String)
        case publicKeyFile(path: String)
        case vaultKey(id: String)
    }

    public func delegationKey(_ source: DelegationKeySource) throws(TrustVaultError) -> TUFKey {
        switch source {
        case .certificate(let path):
            let text = String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
            do throws(TrustVaultError) {
                let key = try TUFKey(certificatePEM: text)
                _ = try key.publicKey()
                if let notAfter = key.certificateNotAfter, notAfter <= .now() {
                    throw TrustVaultError.invalid("the certificate expired on \(notAfter.display)", recovery: "notary refuses expired delegation certificates")
                }
                return key
            } catch { throw error.located(path) }
        case .publicKeyFile(let path):
            let text = String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
            do throws(TrustVaultError) {
                let der = try Self.firstPEMBlock(text, type: "PUBLIC KEY")
                let pub = try PublicKey(spkiDER: der)
                guard pub.algorithm != .ed25519 else {
                    throw TrustVaultError.unsupported("notary does not support Ed25519 delegation keys", recovery: "use an ECDSA P-256 or RSA key")
                }
                return TUFKey(pub)
            } catch { throw error.located(path) }
        case .vaultKey(let id):
            let rec = try vault.record(matching: id)
            if let cert = rec.certificatePEM { return try TUFKey(certificatePEM: cert) }
            guard rec.algorithm != .ed25519 else { throw .unsupported("notary does not support Ed25519 delegation keys (key \(rec.id.prefix(12)))") }
            return TUFKey(rec.publicKey)
        }
    }

    static func firstPEMBlock(_ text: String, type: String) throws(TrustVaultError) -> [UInt8] {
        guard let block = try PEM.parse(Array(text.utf8), source: "the key file").first(where: { $0.type == type }) else {
            throw .corrupt("no -----BEGIN \(type)----- block", recovery: "pass a PEM public key (openssl pkey -pubout) or use --cert for certificates")
        }
        return block.bytes
    }
}
