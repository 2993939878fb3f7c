public import TrustCore
public import Formats
public import Metadata

/// What a ceremony wrote and what the operator runs next on the online machine.
public struct CeremonyOutput: Sendable {
    /// The metadata files written under `OUT/tuf/<GUN>/metadata/`, in upload order.
    public var metadataFiles: [(role: String, path: String)] = []
    /// Key files written under `OUT/private/` for the online side.
    public var privateKeyFiles: [(role: String, id: String, path: String)] = []
    /// Keys added to the vault.
    public var newVaultKeys: [KeyRecord] = []
    public var notes: [String] = []
    /// Shell commands to run on the online machine.
    public var onlineCommands: [String] = []
}

/// The offline ceremonies: every key is obtained through ``Vault/signer(for:secrets:)``, so vault
/// keys and card keys work the same way. Nothing here touches the network: server keys and
/// current metadata arrive as files, results leave as files plus the commands to run online.
public struct Ceremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// Printed in the online commands (`--server URL`, notary's `-s URL`); nil prints a placeholder.
    public var server: String?

    public init(vault: Vault, secrets: SecretSource, server: String? = nil) {
        self.vault = vault
        self.secrets = secrets
        self.server = server
    }

    var serverText: String { server ?? "https://NOTARY-SERVER" }

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
        var set = try MetadataSet.load(directory: dir, gun: gun)
        // The timestamp plays no part offline (and expires every 14 days): leave it out.
        set.files["timestamp"] = nil
        // Refuse to build on metadata that does not verify (a tampered or foreign repository).
        let report = Verifier.verify(set)
        if let first = report.problems.first {
            throw .verification(
                "the current metadata in \(dir) does not verify: \(first)",
                recovery: "fetch the repository's current files again (trustvault-online fetch \(gun) --server URL --out DIR); 'trustvault verify \(dir) --gun \(gun)' lists every problem")
        }
        return set
    }

    /// The vault records that can sign for the keys with these canonical IDs.
    func records(forCanonicalIDs ids: [String]) throws(TrustVaultError) -> [KeyRecord] {
        let all = try vault.records()
        return ids.compactMap { id in all.first { $0.id == id } }
    }

    func canonicalIDs(_ keys: [TUFKey]) -> [String] { keys.map(\.displayID) }

    /// Signers for the root role of `root`: every root key that is in the vault (or on a card).
    func rootSigners(_ root: Root, gun: String, allowNone: Bool = false) throws(TrustVaultError) -> [any SigningKey] {
        let wanted = canonicalIDs(root.keys(of: .root))
        let recs = try records(forCanonicalIDs: wanted)
        if recs.isEmpty, allowNone { return [] }
        guard !recs.isEmpty else {
            throw .notFound(
                "none of \(gun)'s root keys (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is in the vault at \(vault.path)",
                recovery: "run this on the machine that holds a root key, or import it with 'trustvault key import'")
        }
        var signers: [any SigningKey] = []
        for r in recs.prefix(root.role(.root).threshold) { signers.append(try vault.signer(for: r, secrets: secrets)) }
        return signers
    }

    func targetsSigner(_ root: Root, gun: String) throws(TrustVaultError) -> any SigningKey {
        let wanted = canonicalIDs(root.keys(of: .targets))
        guard let rec = try records(forCanonicalIDs: wanted).first else {
            throw .notFound(
                "\(gun)'s targets key (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is not in the vault",
                recovery: "if the key is lost, replace it with 'trustvault repo rotate \(gun) targets'")
        }
        return try vault.signer(for: rec, secrets: secrets)
    }

    /// The snapshot signer if the vault holds the snapshot key; nil means the server holds it.
    func snapshotSigner(_ root: Root) throws(TrustVaultError) -> (any SigningKey)? {
        guard let rec = try records(forCanonicalIDs: canonicalIDs(root.keys(of: .snapshot))).first else { return nil }
        return try vault.signer(for: rec, secrets: secrets)
    }

    // MARK: Output

    func refuseExistingOutput(_ out: String, gun: String) throws(TrustVaultError) {
        let meta = out + "/tuf/" + gun + "/metadata"
        if AtomicFile.exists(meta) {
            throw TrustVaultError(
                .alreadyExists, "\(meta) already exists",
                recovery: "choose an empty --out directory; trustvault never overwrites metadata")
        }
    }

    func write(_ result: TransitionResult, to out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        output.metadataFiles = try result.files.writeTrustDirFragment(to: out)
        output.notes += result.notes
    }

    func writeOnlineKey(
        _ key: PrivateKey, role: String, gun: String, passphrase: Passphrase, to out: String, output: inout CeremonyOutput
    ) throws(TrustVaultError) {
        let text = try OnlineKeyExport.notaryKeyFileText(for: key, role: role, gun: gun, passphrase: passphrase)
        try AtomicFile.makeDirectories(out + "/private")
        let path = out + "/private/" + key.publicKey.keyID + ".key"
        try AtomicFile.create(Array(text.utf8), at: path, mode: 0o600)
        output.privateKeyFiles.append((role, key.publicKey.keyID, path))
    }

    // MARK: Online commands (the one place that builds what ceremonies print for the online machine)

    /// `trustvault-online publish OUT --server URL`: uploads the fragment in one POST with token
    /// auth and checks the server serves exactly these bytes.
    func publishCommand(out: String) -> String {
        "trustvault-online publish \(Self.shellWord(out)) --server \(Self.shellWord(serverText))"
    }

    /// For a new repository whose snapshot key was exported: notary signs the snapshot with it.
    func notaryPublishCommand(out: String, gun: String) -> String {
        "notary -s \(Self.shellWord(serverText)) -d \(Self.shellWord(out)) publish \(Self.shellWord(gun))"
    }

    /// A path or URL as one shell word (single-quoted when it holds anything but safe characters).
    static func shellWord(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,")
        if !s.isEmpty, s.allSatisfy({ safe.contains($0) }) { return s }
        var quoted = "'"
        for c in s { quoted += c == "'" ? "'\\''" : String(c) }
        return quoted + "'"
    }

    // MARK: repo init

    /// The offline repository ceremony: root key from the vault, a new targets key (and a new
    /// snapshot key unless the server's is given), the server's timestamp key; writes root.json and
    /// targets.json v1 plus the online keys into `out` as a notary trust-dir fragment.
    public func initRepository(
        gun: String, rootKeyID: String, timestampKeyFile: String, snapshotKeyFile: String?, out: String,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        let rootRecord = try vault.record(matching: rootKeyID)
        guard rootRecord.role == "root" else {
            throw .invalid("key \(rootRecord.id.prefix(12)) is a \(rootRecord.role) key, not a root key", recovery: "pass a root key ID from 'trustvault key list'")
        }
        let timestampKey = try Self.readServerKey(timestampKeyFile, role: "timestamp")
        let serverSnapshot = try snapshotKeyFile.map { (f: String) throws(TrustVaultError) -> TUFKey in try Self.readServerKey(f, role: "snapshot") }

        let targetsKey = try PrivateKey.generate(.ecdsa)
        let snapshotKey = serverSnapshot == nil ? try PrivateKey.generate(.ecdsa) : nil
        let targetsPass = try secrets.passphrase(for: .key(role: "targets"), creating: true)
        let snapshotPass = snapshotKey == nil ? nil : try secrets.passphrase(for: .key(role: "snapshot"), creating: true)
        let exportPass = try secrets.passphrase(for: .export, creating: true)
        // The root signer last: for a card key this verifies the PIN, which must not be spent
        // before everything that can fail without the card has been checked.
        let rootSigner = try vault.signer(for: rootRecord, secrets: secrets)

        let snapshotTUFKey: TUFKey
        if let serverSnapshot {
            snapshotTUFKey = serverSnapshot
        } else if let snapshotKey {
            snapshotTUFKey = TUFKey(snapshotKey.publicKey)
        } else {
            throw .invalid("no snapshot key")  // unreachable: one of the two is always made above
        }
        let result = try Transitions.newRepository(
            gun: gun, rootSigner: rootSigner, targetsSigner: targetsKey,
            snapshotKey: snapshotTUFKey,
            snapshotOnServer: serverSnapshot != nil, timestampKey: timestampKey, now: now)

        var output = CeremonyOutput()
        try write(result, to: out, output: &output)
        try writeOnlineKey(targetsKey, role: "targets", gun: gun, passphrase: exportPass, to: out, output: &output)
        if let snapshotKey { try writeOnlineKey(snapshotKey, role: "snapshot", gun: gun, passphrase: exportPass, to: out, output: &output) }
        output.newVaultKeys.append(try vault.add(targetsKey, role: "targets", gun: gun, passphrase: targetsPass))
        if let snapshotKey, let snapshotPass {
            output.newVaultKeys.append(try vault.add(snapshotKey, role: "snapshot", gun: gun, passphrase: snapshotPass))
        }
        output.notes.append(
            "the key files in \(out)/private are encrypted with the export passphrase; notary asks for it as the "
                + "targets\(snapshotKey == nil ? "" : " and snapshot") passphrase (NOTARY_TARGETS_PASSPHRASE\(snapshotKey == nil ? "" : ", NOTARY_SNAPSHOT_PASSPHRASE"))")
        // With the server's snapshot key, the fragment is complete (root + targets): publish it as
        // is. With a vault-made snapshot key, notary signs the snapshot with the exported key.
        output.onlineCommands.append(snapshotKey == nil ? publishCommand(out: out) : notaryPublishCommand(out: out, gun: gun))
        return output
    }

    // MARK: repo rotate

    public enum RotatedRole: String, Sendable, CaseIterable { case root, targets, snapshot }

    public func rotate(
        gun: String, role: RotatedRole, currentDir: String, out: String, newKeyID: String?, snapshotKeyFile: String?,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        let current = try Self.readCurrent(currentDir, gun: gun)
        let (_, root) = try current.root()
        var output = CeremonyOutput()
        let result: TransitionResult
        switch role {
        case .targets:
            guard snapshotKeyFile == nil else { throw .invalid("--snapshot-key is only for 'repo rotate \(gun) snapshot'") }
            var newKey: PrivateKey
            var created = false
            if let newKeyID {
                let rec = try vault.record(matching: newKeyID)
                guard rec.role == "targets", rec.gun == gun else {
                    throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key\(rec.gun.map { " for \($0)" } ?? ""), not a targets key for \(gun)")
                }
                guard case .vault = rec.location else {
                    throw .unsupported("the targets key must be a vault key: the online side needs a copy of it")
                }
                newKey = try vault.unlock(rec, passphrase: secrets.passphrase(for: .key(role: "targets")))
            } else {
                newKey = try PrivateKey.generate(.ecdsa)
                created = true
            }
            guard !root.role(.targets).keyIDs.contains(newKey.publicKey.keyID) else {
                throw .invalid("key \(newKey.publicKey.keyID.prefix(12)) already is \(gun)'s targets key")
            }
            let pass = created ? try secrets.passphrase(for: .key(role: "targets"), creating: true) : nil
            let exportPass = try secrets.passphrase(for: .export, creating: true)
            // Root (possibly card) signers after every check and passphrase: no PIN try is spent
            // on a command that fails for another reason.
            let rootSigners = try rootSigners(root, gun: gun)
            let snap = try snapshotSigner(root)
            result = try Transitions.rotateTargets(current: current, newTargets: newKey, rootSigners: rootSigners, snapshotSigner: snap, now: now)
            try write(result, to: out, output: &output)
            try writeOnlineKey(newKey, role: "targets", gun: gun, passphrase: exportPass, to: out, output: &output)
            if created, let pass { output.newVaultKeys.append(try vault.add(newKey, role: "targets", gun: gun, passphrase: pass)) }
            output.notes.append("the old targets key no longer signs for \(gun); on the online machine replace it with the new key file in \(out)/private")
        case .root:
            guard snapshotKeyFile == nil else { throw .invalid("--snapshot-key is only for 'repo rotate \(gun) snapshot'") }
            guard let newKeyID else {
                throw .invalid("a root rotation needs the new root key", recovery: "generate one with 'trustvault key generate --role root' and pass --new-key KEYID")
            }
            let rec = try vault.record(matching: newKeyID)
            guard rec.role == "root" else { throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key") }
            guard !canonicalIDs(root.keys(of: .root)).contains(rec.id) else {
                throw .invalid("key \(rec.id.prefix(12)) already is \(gun)'s root key")
            }
            // The old root key may be held by someone else: they add their signature with 'root sign'.
            let snap = try snapshotSigner(root)
            let newSigner = try vault.signer(for: rec, secrets: secrets)
            let oldSigners = try rootSigners(root, gun: gun, allowNone: true)
            result = try Transitions.rotateRoot(current: current, newRoot: newSigner, oldRootSigners: oldSigners, snapshotSigner: snap, now: now)
            try write(result, to: out, output: &output)
        case .snapshot:
            guard let snapshotKeyFile else {
                throw .invalid(
                    "moving the snapshot key to the server needs the server's key",
                    recovery: "fetch it online with: curl -f -X POST -o snapshot.key \(serverText)/v2/\(gun)/_trust/tuf/snapshot.key, then pass --snapshot-key snapshot.key")
            }
            guard newKeyID == nil else { throw .invalid("--new-key is not used for a snapshot rotation (the server holds the key)") }
            let key = try Self.readServerKey(snapshotKeyFile, role: "snapshot")
            guard !root.role(.snapshot).keyIDs.contains(key.id) else { throw .invalid("\(snapshotKeyFile) already is \(gun)'s snapshot key") }
            result = try Transitions.moveSnapshotToServer(current: current, serverSnapshotKey: key, rootSigners: try rootSigners(root, gun: gun), now: now)
            try write(result, to: out, output: &output)
        }
        output.onlineCommands.append(publishCommand(out: out))
        return output
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

    public func addDelegation(
        gun: String, role: String, keys: [DelegationKeySource], paths: [String], allPaths: Bool, threshold: Int?,
        currentDir: String, out: String, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        guard !(allPaths && !paths.isEmpty) else { throw .invalid("--paths and --all-paths exclude each other") }
        let current = try Self.readCurrent(currentDir, gun: gun)
        let (_, root) = try current.root()
        var tufKeys: [TUFKey] = []
        for k in keys { tufKeys.append(try delegationKey(k)) }
        let result = try Transitions.addDelegation(
            current: current, role: role, keys: tufKeys, paths: paths, allPaths: allPaths, threshold: threshold,
            targetsSigner: try targetsSigner(root, gun: gun), snapshotSigner: try snapshotSigner(root), now: now)
        var output = CeremonyOutput()
        try write(result, to: out, output: &output)
        output.onlineCommands.append(publishCommand(out: out))
        return output
    }

    public func removeDelegation(
        gun: String, role: String, keyIDs: [String], currentDir: String, out: String, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        let current = try Self.readCurrent(currentDir, gun: gun)
        let (_, root) = try current.root()
        let result = try Transitions.removeDelegation(
            current: current, role: role, keyIDs: keyIDs, targetsSigner: try targetsSigner(root, gun: gun),
            snapshotSigner: try snapshotSigner(root), now: now)
        var output = CeremonyOutput()
        try write(result, to: out, output: &output)
        output.onlineCommands.append(publishCommand(out: out))
        return output
    }

    // MARK: root sign

    /// A summary of a root.json for the key holder to read before signing.
    public static func describeRoot(_ env: SignedMetadata, root: Root) -> [String] {
        var lines = ["root.json version \(root.version), expires \(root.expires.display)"]
        for r in BaseRole.allCases {
            let keys = root.keys(of: r)
            lines.append("  \(r.rawValue): threshold \(root.role(r).threshold), keys \(keys.map { String($0.displayID.prefix(12)) + " (\($0.keyType))" }.joined(separator: ", "))")
        }
        let used = Set(root.roles.values.flatMap(\.keyIDs))
        let retired = root.keys.values.filter { !used.contains($0.id) }
        if !retired.isEmpty {
            lines.append("  kept, no role (previous root certificates): \(retired.map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        let valid = env.validSignatureKeyIDs(keys: root.keys)
        lines.append("  signatures: \(env.signatures.count) present, \(valid.count) valid (\(valid.map { String((root.keys[$0]?.displayID ?? $0).prefix(12)) }.sorted().joined(separator: ", ")))")
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

    /// Adds `keyID`'s signature to a root.json; returns the new file bytes and the summary shown.
    public func signRoot(file: String, keyID: String) throws(TrustVaultError) -> (bytes: [UInt8], summary: [String], notes: [String]) {
        let bytes = try AtomicFile.read(file, kind: .metadata)
        let env0 = try SignedMetadata(parsing: bytes, name: file)
        let root = try Root(json: env0.signed, name: file)
        let rec = try vault.record(matching: keyID)
        guard rec.role == "root" else { throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key") }
        let summary = Self.describeRoot(env0, root: root)
        // Membership is checked on the record's public key, before a card PIN is spent.
        guard root.keys.values.contains(where: { $0.isCertificate && (try? $0.canonicalID()) == rec.publicKey.keyID }) else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery: "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.joined(separator: ", "))")
        }
        let signer = try vault.signer(for: rec, secrets: secrets)
        guard let id = Transitions.rootKeyID(for: signer, in: root) else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery: "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.joined(separator: ", "))")
        }
        var env = env0
        try env.sign(with: signer, as: id)
        var notes: [String] = []
        let have = env.validSignatureKeyIDs(keys: root.keys).intersection(root.role(.root).keyIDs).count
        if have < root.role(.root).threshold {
            notes.append("\(have) of \(root.role(.root).threshold) required root signatures; pass the file to the next key holder")
        }
        return (env.encoded(), summary, notes)
    }
}

/// Writes the private keys the online side needs (`private/<id>.key`) in notary's own format.
public enum OnlineKeyExport {
    /// The text of `private/<id>.key` as notary writes it: encrypted PKCS#8 with `role:` and,
    /// for targets and snapshot keys, `gun:` headers.
    public static func notaryKeyFileText(for key: PrivateKey, role: String, gun: String, passphrase: Passphrase) throws(TrustVaultError) -> String {
        try NotaryKeyFile.text(for: key, role: role, gun: gun, includePath: false, passphrase: passphrase)
    }
}
