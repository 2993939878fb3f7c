public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// `root sign`: one root key holder adds a signature to a root.json.
extension Ceremonies {
    // MARK: root sign

    /// A summary of a root.json for the key holder to read before signing.
    public static func describeRoot(_ env: SignedMetadata, root: Root) -> [String] {
        var lines = ["root.json version \(root.version), expires \(root.expires.display)"]
        for r in BaseRole.allCases {
            let keys = root.keys(of: r)
            lines.append(
                "  \(r.rawValue): threshold \(root.role(r).threshold), keys \(keys.map { String($0.displayID.prefix(12)) + " (\($0.keyType))" }.joined(separator: ", "))"
            )
        }
        let used = Set(root.roles.values.flatMap(\.keyIDs))
        let retired = root.keys.values.filter { !used.contains($0.id) }
        if !retired.isEmpty {
            lines.append("  kept, no role (previous root certificates): \(retired.map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        let valid = env.validSignatureKeyIDs(keys: root.keys)
        lines.append(
            "  signatures: \(env.signatures.count) present, \(valid.count) valid (\(valid.map { String((root.keys[$0]?.displayID ?? $0).prefix(12)) }.sorted().joined(separator: ", ")))"
        )
        return lines
    }

    /// What changes from `previous` (the root.json now in force) to `root`, per role.
    public static func describeChanges(from previous: Root, to root: Root) -> [String] {
        var lines = ["changes from root.json version \(previous.version) (expires \(previous.expires.display)):"]
        if root.version != previous.version + 1 {
            lines.append("  ! version \(root.version) does not follow \(previous.version); the server only accepts \(previous.version + 1)")
        }
        var changed = false
        for r in BaseRole.allCases {
            let old = Set(previous.keys(of: r).map(\.displayID)), new = Set(root.keys(of: r).map(\.displayID))
            for id in new.subtracting(old).sorted() { lines.append("  \(r.rawValue): key added   \(id)"); changed = true }
            for id in old.subtracting(new).sorted() { lines.append("  \(r.rawValue): key removed \(id)"); changed = true }
            if previous.role(r).threshold != root.role(r).threshold {
                lines.append("  \(r.rawValue): threshold \(previous.role(r).threshold) -> \(root.role(r).threshold)")
                changed = true
            }
        }
        if !changed { lines.append("  no key or threshold changes (a re-signing, e.g. to renew the expiry)") }
        return lines
    }

    /// The root.json a rotation's root.json must also satisfy: `--previous`, or the
    /// `previous-root.json` a ceremony wrote beside its fragment (`OUT/tuf/<GUN>/metadata/root.json`).
    public static func previousRootFile(for file: String, given: String?) -> String? {
        if let given { return given }
        let meta = AtomicFile.parent(of: file)
        var dir = meta
        // OUT/tuf/<GUN…>/metadata/root.json: walk up to the directory that holds tuf/.
        while dir != "/" && !dir.isEmpty && AtomicFile.fileName(of: dir) != "tuf" { dir = AtomicFile.parent(of: dir) }
        guard AtomicFile.fileName(of: dir) == "tuf" else { return nil }
        let candidate = AtomicFile.parent(of: dir) + "/previous-root.json"
        return AtomicFile.exists(candidate) ? candidate : nil
    }

    /// Reads `file` (and the previous root: `given`, or `previous-root.json` beside a ceremony's
    /// fragment) once, for ``signRoot(_:keyID:)``: what the holder is shown and what is signed come
    /// from the same bytes.
    public static func readRootForSigning(file: String, previous given: String?) throws(TrustVaultError) -> RootSigningRequest {
        let bytes = try AtomicFile.read(file, kind: .metadata)
        let envelope = try SignedMetadata(parsing: bytes, name: file)
        let root = try Root(json: envelope.signed, name: file)
        var lines = describeRoot(envelope, root: root)
        let previousFile = previousRootFile(for: file, given: given)
        var previous: Root?
        if let previousFile {
            let p = try SignedMetadata(parsing: try AtomicFile.read(previousFile, kind: .metadata), name: previousFile)
            previous = try Root(json: p.signed, name: previousFile)
            lines += describeChanges(from: previous!, to: root)
        }
        return RootSigningRequest(
            file: file, bytes: bytes, envelope: envelope, root: root, previousFile: previousFile, previous: previous, lines: lines)
    }

    /// Adds `keyID`'s signature to a root.json (under each certificate ID the key has in it and in
    /// the previous root); returns the new bytes and where the file stands against both thresholds.
    public func signRoot(
        file: String, keyID: String, previousFile: String? = nil
    ) throws(TrustVaultError) -> (bytes: [UInt8], status: RootSignatureStatus, notes: [String]) {
        try signRoot(try Self.readRootForSigning(file: file, previous: previousFile), keyID: keyID)
    }

    /// Adds `keyID`'s signature to the root.json `request` holds, as read: the signed part is
    /// exactly the one ``RootSigningRequest/lines`` describe, never a second read of the file.
    public func signRoot(
        _ request: RootSigningRequest, keyID: String
    ) throws(TrustVaultError) -> (bytes: [UInt8], status: RootSignatureStatus, notes: [String]) {
        let file = request.file
        let root = request.root
        let previous = request.previous
        let rec = try vault.record(matching: keyID)
        guard rec.role == "root" else { throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key") }
        // Membership is checked on the record's public key, before a card PIN is spent.
        let holds: ([String: TUFKey]) -> Bool = { keys in
            keys.values.contains { $0.isCertificate && (try? $0.canonicalID()) == rec.publicKey.keyID }
        }
        guard holds(root.keys) || (previous.map { holds($0.keys) } ?? false) else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery:
                    "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        let signer = try vault.signer(for: rec, secrets: secrets)
        var ids = Transitions.rootKeyIDs(for: signer, in: root.keys)
        if let previous { ids.formUnion(Transitions.rootKeyIDs(for: signer, in: previous.keys)) }
        guard !ids.isEmpty else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery:
                    "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        var env = request.envelope
        let canonical = request.signedBytes
        for id in ids.sorted() { try env.sign(with: signer, as: id, canonical: canonical) }
        let status = RootSignatureStatus.of(env, root: root, previous: previous)
        var notes: [String] = []
        if root.version > 1, previous == nil {
            notes.append("the previous root's threshold was not checked; pass --previous with the root.json now in force")
        }
        try recordRootSignature(root: root, previous: previous, signerID: rec.id)
        return (env.encoded(canonical: canonical), status, notes)
    }
}

/// A root.json read once for `root sign`: the file's bytes, the parsed envelope and root, the
/// previous root it must also satisfy, and the lines shown to the key holder before signing.
public struct RootSigningRequest: Sendable {
    public let file: String
    /// The file as read.
    public let bytes: [UInt8]
    public let envelope: SignedMetadata
    public let root: Root
    /// The root.json in force (`--previous`, or `previous-root.json` beside a ceremony's fragment).
    public let previousFile: String?
    public let previous: Root?
    /// What the holder reads before signing: version, expiry, each role's keys and threshold,
    /// the signatures present, and the changes from the previous root.
    public let lines: [String]
    /// The bytes the signature covers: the canonical form of `envelope.signed`.
    public var signedBytes: [UInt8] { envelope.canonicalSigned }
}
