public import TrustCore
public import Formats
public import Metadata
internal import MetadataStore
internal import Foundation

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
    /// Files of pending outputs (`--pending`) that this output carries on, and their key files.
    var carried = MetadataSet(gun: "")
    var carriedKeyFiles: [String] = []
}

/// The offline ceremonies: every key is obtained through ``Vault/signer(for:secrets:)``, so vault
/// keys and card keys work the same way. Nothing here touches the network: server keys and
/// current metadata arrive as files, results leave as files plus the commands to run online.
public struct Ceremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// Printed in the online commands (`--server URL`, notary's `-s URL`); nil prints a placeholder.
    public var server: String?
    /// The online machine's `--tlscacert FILE`, repeated in the printed online commands.
    public var tlsCAFile: String?
    /// Outputs of earlier ceremonies not yet uploaded (`--pending OUT`), layered in order over
    /// `--current`: the new output builds on them and carries their files, so one upload holds
    /// each changed role once, at its final version.
    public var pending: [String] = []
    /// Changes named on the command line (`--replace-existing`, `--remove-key`, `--lower-threshold`).
    public var consent = CeremonyConsent()
    /// Keys unlocked so far in this ceremony (each is asked for once).
    let unlocked = UnlockedSigners()

    public init(vault: Vault, secrets: SecretSource, server: String? = nil, tlsCAFile: String? = nil) {
        self.tlsCAFile = tlsCAFile
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
                recovery: "fetch the repository's current files again (trustvault-online fetch \(gun) --server URL --out DIR); 'trustvault verify \(dir) --gun \(gun)' lists every problem")
        }
        warnings?.pointee += report.warnings.filter { $0.contains("expired") || $0.contains("nobody can sign") || $0.contains("repair it") || $0.contains("repo refresh") }
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

    /// The vault records that can sign for the keys with these canonical IDs.
    func records(forCanonicalIDs ids: [String]) throws(TrustVaultError) -> [KeyRecord] {
        let all = try vault.records()
        return ids.compactMap { id in all.first { $0.id == id } }
    }

    func canonicalIDs(_ keys: [TUFKey]) -> [String] { keys.map(\.displayID) }

    /// Signers for the root role of `root`: every root key that is in the vault (or on a card).
    /// `also`: the server's root when a pending output changed root keys (its keys sign too).
    /// `kept`: in a root rotation, the root keys the new root keeps (the others are named in the
    /// prompt as being replaced).
    func rootSigners(_ root: Root, gun: String, allowNone: Bool = false, also: Root? = nil, kept: Set<String>? = nil) throws(TrustVaultError) -> [any SigningKey] {
        var wanted = canonicalIDs(root.keys(of: .root))
        for id in also.map({ canonicalIDs($0.keys(of: .root)) }) ?? [] where !wanted.contains(id) { wanted.append(id) }
        let recs = try records(forCanonicalIDs: wanted)
        if recs.isEmpty, allowNone { return [] }
        guard !recs.isEmpty else {
            throw .notFound(
                "none of \(gun)'s root keys (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is in the vault at \(vault.path)",
                recovery: "run this on the machine that holds a root key, or import it with 'trustvault key import'")
        }
        // Every root.json a ceremony writes is signed by all the root keys this vault holds for it.
        var signers: [any SigningKey] = []
        for r in recs { signers.append(try signer(r, gun: gun, note: kept.map { $0.contains(r.id) ? "kept" : "being replaced" })) }
        return signers
    }

    func targetsSigner(_ root: Root, gun: String) throws(TrustVaultError) -> any SigningKey {
        let wanted = canonicalIDs(root.keys(of: .targets))
        guard let rec = try records(forCanonicalIDs: wanted).first else {
            throw .notFound(
                "\(gun)'s targets key (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is not in the vault",
                recovery: "if the key is lost, replace it with 'trustvault repo rotate \(gun) targets'")
        }
        return try signer(rec, gun: gun)
    }

    /// The snapshot signer if the vault holds the snapshot key; nil means the server holds it.
    func snapshotSigner(_ root: Root) throws(TrustVaultError) -> (any SigningKey)? {
        guard let rec = try records(forCanonicalIDs: canonicalIDs(root.keys(of: .snapshot))).first else { return nil }
        return try signer(rec, gun: nil)
    }

    // MARK: Output

    func refuseExistingOutput(_ out: String, gun: String) throws(TrustVaultError) {
        let meta = out + "/tuf/" + gun + "/metadata"
        if AtomicFile.exists(meta) {
            throw TrustVaultError(
                .alreadyExists, "\(meta) already exists",
                recovery: "choose an empty --out directory; trustvault never overwrites metadata")
        }
        // A staging directory left by an interrupted run of this ceremony is ours: start afresh.
        if AtomicFile.exists(stage(out)) { try? FileManager.default.removeItem(atPath: stage(out)) }
    }

    /// Where a ceremony's output is built before it appears at `out` (same file system).
    func stage(_ out: String) -> String {
        var o = out
        while o.count > 1, o.hasSuffix("/") { o.removeLast() }
        return AtomicFile.parent(of: o) + "/.trustvault-staging-" + AtomicFile.fileName(of: o)
    }

    /// Moves the staged output into `out`: whole directories by rename, merging into directories
    /// that already exist; never replaces a file.
    func moveStaged(_ out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        let from = stage(out)
        guard AtomicFile.exists(from) else { return }
        func move(_ src: String, _ dst: String) throws(TrustVaultError) {
            if !AtomicFile.exists(dst) {
                do { try FileManager.default.moveItem(atPath: src, toPath: dst) } catch {
                    throw .io("could not move the staged output to \(dst): \(error.localizedDescription)")
                }
                try AtomicFile.syncDirectory(of: dst)
            } else if AtomicFile.isDirectory(src), AtomicFile.isDirectory(dst) {
                for name in try AtomicFile.list(src) { try move(src + "/" + name, dst + "/" + name) }
            } else {
                throw TrustVaultError(.alreadyExists, "\(dst) already exists", recovery: "choose an empty --out directory")
            }
        }
        try AtomicFile.makeDirectories(AtomicFile.parent(of: out))
        try move(from, out)
        try? FileManager.default.removeItem(atPath: from)
        let shown = Self.withoutTrailingSlash(out)  // `out/` shows its files as out/tuf/…, not out//tuf/…
        func fix(_ path: String) -> String { path.hasPrefix(from) ? shown + path.dropFirst(from.count) : path }
        output.metadataFiles = output.metadataFiles.map { ($0.role, fix($0.path)) }
        output.privateKeyFiles = output.privateKeyFiles.map { ($0.role, $0.id, fix($0.path)) }
    }

    func write(_ result: TransitionResult, to out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        var files = output.carried
        files.gun = result.files.gun
        for (role, bytes) in result.files.files { files.files[role] = bytes }
        output.metadataFiles = try files.writeTrustDirFragment(to: out)
        output.notes += result.notes
        if !output.carriedKeyFiles.isEmpty {
            try AtomicFile.makeDirectories(out + "/private")
            for path in output.carriedKeyFiles {
                let name = AtomicFile.fileName(of: path)
                let target = out + "/private/" + name
                guard !AtomicFile.exists(target) else { continue }
                try AtomicFile.create(try AtomicFile.read(path, kind: .keyFile), at: target, mode: 0o600)
            }
        }
    }

    /// Runs a ceremony's writing phase (metadata, online key files, new vault keys). When a step
    /// fails (a full disk), what the phase created goes again — the metadata fragment, the key
    /// files under OUT/private, the keys it added to the vault — so a failed ceremony leaves
    /// neither a half --out nor a vault key that no metadata names.
    func committing(
        to out: String, gun: String, output: inout CeremonyOutput,
        _ body: (inout CeremonyOutput) throws(TrustVaultError) -> Void
    ) throws(TrustVaultError) {
        let staging = stage(out)
        let stagingExisted = AtomicFile.exists(staging)
        let createdMetadata = AtomicFile.firstMissingDirectory(out + "/tuf/" + gun + "/metadata")
        let createdPrivate = AtomicFile.firstMissingDirectory(out + "/private")
        let keysBefore = output.newVaultKeys.count
        let filesBefore = output.privateKeyFiles.count
        do {
            try body(&output)
        } catch {
            for record in output.newVaultKeys.dropFirst(keysBefore) { try? vault.remove(record) }
            output.newVaultKeys.removeSubrange(keysBefore...)
            for file in output.privateKeyFiles.dropFirst(filesBefore) { AtomicFile.removeCreatedTree(file.path) }
            output.privateKeyFiles.removeSubrange(filesBefore...)
            if let createdPrivate { AtomicFile.removeCreatedTree(createdPrivate) }
            if let createdMetadata { AtomicFile.removeCreatedTree(createdMetadata) }
            if !stagingExisted { AtomicFile.removeCreatedTree(staging) }
            output.metadataFiles = []
            throw error
        }
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

    /// `trustvault-online publish OUT --server URL`: uploads the fragment in one POST (token auth,
    /// TLS) and checks that the server then serves exactly these bytes.
    static func publishCommand(out: String, server: String, tlsCAFile: String? = nil) -> String {
        "trustvault-online publish \(shellWord(out)) --server \(shellWord(server))" + (tlsCAFile.map { " --tlscacert \(shellWord($0))" } ?? "")
    }

    /// A path or URL as one shell word (single-quoted when it holds anything but safe characters).
    static func shellWord(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,")
        if !s.isEmpty, s.allSatisfy({ safe.contains($0) }) { return s }
        var quoted = "'"
        for c in s { quoted += c == "'" ? "'\\''" : String(c) }
        return quoted + "'"
    }

    /// Whether the fragment carries an exported snapshot key (`role: snapshot` in `OUT/private`):
    /// then a new repository needs `notary publish`, which signs the snapshot with it.
    static func exportsSnapshotKey(_ out: String) -> Bool {
        guard let names = try? AtomicFile.list(out + "/private") else { return false }
        return names.contains { name in
            guard name.hasSuffix(".key"), let bytes = try? AtomicFile.read(out + "/private/" + name, kind: .keyFile) else { return false }
            return String(decoding: bytes, as: UTF8.self).contains("role: snapshot")
        }
    }

    /// The one place that decides what to run online for a written fragment: nothing but the
    /// remaining `root sign` steps while root.json lacks signatures; then `trustvault-online publish`
    /// (or `notary publish` for a new repository whose snapshot key was exported).
    public static func onlineStep(
        out: String, gun: String, files: [(role: String, path: String)], rootStatus: RootSignatureStatus?, server: String?,
        tlsCAFile: String? = nil
    ) -> (commands: [String], notes: [String]) {
        let serverText = server ?? "https://NOTARY-SERVER"
        let rootFile = withoutTrailingSlash(out) + "/tuf/" + gun + "/metadata/root.json"
        if let rootStatus, !rootStatus.complete {
            let previous = AtomicFile.exists(out + "/previous-root.json") ? " --previous \(withoutTrailingSlash(out))/previous-root.json" : ""
            let holders = Array(Set(rootStatus.missing + rootStatus.previousMissing)).sorted()
            return ([], [
                "root.json is not ready to upload: \(rootStatus.summary)",
                "each other root key holder runs: trustvault root sign \(rootFile) --key KEYID\(previous)"
                    + " (missing: \(holders.map { String($0.prefix(12)) }.joined(separator: ", "))); the last signature prints the online commands",
            ])
        }
        if rootStatus?.version == 1, exportsSnapshotKey(out) {
            let ca = tlsCAFile.map { " --tlscacert \(shellWord($0))" } ?? ""
            return (["notary -s \(shellWord(serverText))\(ca) -d \(shellWord(out)) publish \(shellWord(gun))"], [])
        }
        _ = files
        return ([publishCommand(out: out, server: serverText, tlsCAFile: tlsCAFile)], [])
    }

    /// Makes the staged output appear at `out` (after every new key is in the vault) and adds the
    /// online step.
    func finishOutput(_ output: inout CeremonyOutput, out: String, gun: String, rootStatus: RootSignatureStatus?) throws(TrustVaultError) {
        try moveStaged(out, output: &output)
        auditOnlineKeys(output, gun: gun)
        let step = Self.onlineStep(out: out, gun: gun, files: output.metadataFiles, rootStatus: rootStatus, server: server, tlsCAFile: tlsCAFile)
        output.onlineCommands += step.commands
        output.notes += step.notes
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

    /// The certificates for `sources` and the signers this vault holds among them.
    func resolveRootKeys(
        _ sources: [RootKeySource], gun: String, currentRoot: Root?, now: TUFTime, note: String? = nil
    ) throws(TrustVaultError) -> (keys: [TUFKey], signers: [any SigningKey]) {
        var keys: [TUFKey] = []
        var signers: [any SigningKey] = []
        let all = try vault.records()
        for source in sources {
            switch source {
            case .certificateFile(let path):
                let text = String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
                let key: TUFKey
                do throws(TrustVaultError) {
                    key = try TUFKey(certificatePEM: text)
                    var ignored: [String] = []
                    try Verifier.checkRootCertificate(key, gun: gun, now: now, warnings: &ignored)
                } catch { throw error.located(path) }
                keys.append(key)
                if let rec = all.first(where: { $0.id == key.displayID }) { signers.append(try signer(rec, gun: gun, note: note)) }
            case .vaultKey(let id):
                let wanted = id.lowercased()
                if let currentRoot, !wanted.isEmpty,
                    let kept = currentRoot.keys(of: .root).first(where: { $0.displayID.hasPrefix(wanted) || $0.id.hasPrefix(wanted) })
                {
                    keys.append(kept)
                    if let rec = all.first(where: { $0.id == kept.displayID }) { signers.append(try signer(rec, gun: gun, note: "kept")) }
                    continue
                }
                let rec = try vault.record(matching: id)
                guard rec.role == "root" else {
                    throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key", recovery: "pass a root key ID from 'trustvault key list'")
                }
                let signer = try signer(rec, gun: gun, note: note)
                keys.append(try TUFKey(certificatePEM: try RootCertificate.make(gun: gun, signer: signer, now: now.date)))
                signers.append(signer)
            }
        }
        return (keys, signers)
    }

    // MARK: repo init

    /// The offline repository ceremony: root keys from the vault or other holders' certificates,
    /// a new targets key (and a new snapshot key unless the server's is given), the server's
    /// timestamp key; writes root.json and targets.json v1 plus the online keys into `out` as a
    /// notary trust-dir fragment. New keys reach the vault before anything is written to `out`.
    public func initRepository(
        gun: String, rootKeyID: String, timestampKeyFile: String, snapshotKeyFile: String?, out: String,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try initRepository(
            gun: gun, rootKeys: [.vaultKey(rootKeyID)], rootThreshold: 1, timestampKeyFile: timestampKeyFile,
            snapshotKeyFile: snapshotKeyFile, out: out, now: now)
    }

    public func initRepository(
        gun: String, rootKeys rootSources: [RootKeySource], rootThreshold: Int, timestampKeyFile: String, snapshotKeyFile: String?,
        out: String, expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        let replacing = try checkNewRepository(gun: gun, timestampKeyFile: timestampKeyFile, snapshotKeyFile: snapshotKeyFile)
        let timestampKey = try Self.readServerKey(timestampKeyFile, role: "timestamp")
        let serverSnapshot = try snapshotKeyFile.map { (f: String) throws(TrustVaultError) -> TUFKey in try Self.readServerKey(f, role: "snapshot") }
        guard rootThreshold >= 1, rootThreshold <= rootSources.count else {
            throw .invalid(
                "a root threshold of \(rootThreshold) with \(rootSources.count) root key(s) could never be met",
                recovery: "choose a threshold between 1 and \(rootSources.count)")
        }
        let targetsKey = try PrivateKey.generate(.ecdsa)
        let snapshotKey = serverSnapshot == nil ? try PrivateKey.generate(.ecdsa) : nil
        let targetsPass = try secrets.passphrase(for: .key(role: "targets"), creating: true)
        let snapshotPass = snapshotKey == nil ? nil : try secrets.passphrase(for: .key(role: "snapshot"), creating: true)
        let exportPass = try secrets.passphrase(for: .export, creating: true)
        // The root signers last: for a card key this verifies the PIN, which must not be spent
        // before everything that can fail without the card has been checked.
        let (rootKeys, rootSigners) = try resolveRootKeys(rootSources, gun: gun, currentRoot: nil, now: now)
        try Transitions.checkRootKeys(rootKeys, threshold: rootThreshold)
        guard !rootSigners.isEmpty else {
            throw .invalid(
                "none of the root keys is in this vault, so nobody here can sign root.json",
                recovery: "run 'repo init' on the machine of one root key holder, with that holder's vault key ID as one --root-key")
        }


        let snapshotTUFKey: TUFKey
        if let serverSnapshot {
            snapshotTUFKey = serverSnapshot
        } else if let snapshotKey {
            snapshotTUFKey = TUFKey(snapshotKey.publicKey)
        } else {
            throw .invalid("no snapshot key")  // unreachable: one of the two is always made above
        }
        let result = try Transitions.newRepository(
            gun: gun, rootKeys: rootKeys, rootThreshold: rootThreshold, rootSigners: rootSigners, targetsSigner: targetsKey,
            snapshotKey: snapshotTUFKey, snapshotOnServer: serverSnapshot != nil, timestampKey: timestampKey,
            expiries: expiries, now: now)

        var output = CeremonyOutput()
        try committing(to: out, gun: gun, output: &output) { (output: inout CeremonyOutput) throws(TrustVaultError) in
            // The new keys go into the vault first and the metadata is written last: once it
            // exists, the keys it names are in the vault and in OUT/private (a crash before leaves
            // at most unused keys, never metadata for a key the vault does not hold).
            output.newVaultKeys.append(try vault.add(targetsKey, role: "targets", gun: gun, passphrase: targetsPass))
            if let snapshotKey, let snapshotPass {
                output.newVaultKeys.append(try vault.add(snapshotKey, role: "snapshot", gun: gun, passphrase: snapshotPass))
            }
            try writeOnlineKey(targetsKey, role: "targets", gun: gun, passphrase: exportPass, to: stage(out), output: &output)
            if let snapshotKey { try writeOnlineKey(snapshotKey, role: "snapshot", gun: gun, passphrase: exportPass, to: stage(out), output: &output) }
            try write(result, to: stage(out), output: &output)
        }
        output.notes.append(
            "the key files in \(out)/private are encrypted with the export passphrase; notary asks for it as the "
                + "targets\(snapshotKey == nil ? "" : " and snapshot") passphrase (NOTARY_TARGETS_PASSPHRASE\(snapshotKey == nil ? "" : ", NOTARY_SNAPSHOT_PASSPHRASE"))")
        output.notes += replacing
        // A failure from here on takes the new keys out of the vault again: no unused key is left.
        try keepingNoNewKey(out: out, output: &output) { (output: inout CeremonyOutput) throws(TrustVaultError) in
            try recordKeyStatus(result, gun: gun, retired: [])
            try finishOutput(&output, out: out, gun: gun, rootStatus: result.rootStatus)
        }
        return output
    }

    // MARK: root cert

    /// The self-signed root certificate (CN = GUN, as notary makes it) for a root key in this
    /// vault, for another holder's `repo init --root-key FILE` or `repo rotate … --new-key FILE`.
    public func rootCertificate(gun: String, keyID: String, now: TUFTime = .now()) throws(TrustVaultError) -> (pem: String, key: TUFKey) {
        try KeyRole.checkGUN(gun)
        let rec = try vault.record(matching: keyID)
        guard rec.role == "root" else {
            throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key", recovery: "pass a root key ID from 'trustvault key list'")
        }
        let signer = try vault.signer(for: rec, secrets: secrets, gun: gun)
        let pem = try RootCertificate.make(gun: gun, signer: signer, now: now.date)
        return (pem, try TUFKey(certificatePEM: pem))
    }

    // MARK: repo rotate

    public enum RotatedRole: String, Sendable, CaseIterable { case root, targets, snapshot }

    public func rotate(
        gun: String, role: RotatedRole, currentDir: String, out: String, newKeyID: String?, snapshotKeyFile: String?,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try rotate(
            gun: gun, role: role, currentDir: currentDir, out: out, newKeys: newKeyID.map { [RootKeySource($0)] } ?? [],
            newThreshold: nil, snapshotKeyFile: snapshotKeyFile, now: now)
    }

    /// `newKeys`: for root, the complete new set of root keys (a key of the current root keeps its
    /// certificate); empty makes one new vault root key. For targets, at most one vault key.
    public func rotate(
        gun: String, role: RotatedRole, currentDir: String, out: String, newKeys: [RootKeySource], newThreshold: Int?,
        snapshotKeyFile: String?, expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        var newKeyID: String?
        if role != .root {
            guard newKeys.count <= 1 else { throw .invalid("--new-key is given \(newKeys.count) times; a \(role.rawValue) rotation takes one key") }
            guard newThreshold == nil else { throw .invalid("--threshold is only for root rotations") }
            if case .vaultKey(let id)? = newKeys.first { newKeyID = id }
            if case .certificateFile(let f)? = newKeys.first {
                throw .invalid("--new-key \(f): a \(role.rawValue) rotation takes a vault key ID, not a file")
            }
        }
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        var output = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &output)
        let (_, root) = try current.root()
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
                newKey = try vault.unlock(rec, secrets: secrets, gun: gun, note: "new")
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
            let rootSigners = try rootSigners(root, gun: gun, also: try current.previousRoot())
            let snap = try snapshotSigner(root)
            result = try Transitions.rotateTargets(
                current: current, newTargets: newKey, rootSigners: rootSigners, snapshotSigner: snap, expiries: expiries, now: now)
            try committing(to: out, gun: gun, output: &output) { (output: inout CeremonyOutput) throws(TrustVaultError) in
                if created, let pass { output.newVaultKeys.append(try vault.add(newKey, role: "targets", gun: gun, passphrase: pass)) }
                try writeOnlineKey(newKey, role: "targets", gun: gun, passphrase: exportPass, to: stage(out), output: &output)
                try write(result, to: stage(out), output: &output)  // last: see repo init
            }
            output.notes.append("the old targets key no longer signs for \(gun); on the online machine replace it with the new key file in \(out)/private")
        case .root:
            guard snapshotKeyFile == nil else { throw .invalid("--snapshot-key is only for 'repo rotate \(gun) snapshot'") }
            let sources = newKeys
            // Said and refused before any key is unlocked or made.
            try checkRootChange(try rootRotationChange(gun: gun, root: root, newKeys: sources, newThreshold: newThreshold), root: root)
            var created: PrivateKey?
            if sources.isEmpty {
                // As notary's 'key rotate GUN root': one new root key, made here.
                created = try PrivateKey.generate(.ecdsa)
            }
            // The keys being replaced are asked for first; keys the new root keeps, once.
            let oldSigners = try rootSigners(
                root, gun: gun, allowNone: true, also: try current.previousRoot(), kept: rootKeyIDs(of: sources, currentRoot: root))
            var (keys, signers) = try resolveRootKeys(sources, gun: gun, currentRoot: root, now: now, note: "new")
            if let created {
                keys = [try TUFKey(certificatePEM: try RootCertificate.make(gun: gun, signer: created, now: now.date))]
                signers = [created]
            }
            let oldIDs = Set(canonicalIDs(root.keys(of: .root)))
            let threshold = newThreshold ?? min(root.role(.root).threshold, keys.count)
            guard Set(keys.map(\.displayID)) != oldIDs || threshold != root.role(.root).threshold else {
                throw .invalid(
                    "the new root keys and threshold are the ones \(gun) already has",
                    recovery: "to renew expiry or certificates use 'trustvault repo refresh \(gun)'")
            }
            // Old root keys held here sign too (above); the other holders add theirs with 'root sign'.
            let snap = try snapshotSigner(root)
            result = try Transitions.rotateRoot(
                current: current, newRootKeys: keys, threshold: threshold, signers: oldSigners + signers, snapshotSigner: snap,
                expiries: expiries, now: now)
            let pass = created == nil ? nil : try secrets.passphrase(for: .key(role: "root"), creating: true)
            try committing(to: out, gun: gun, output: &output) { (output: inout CeremonyOutput) throws(TrustVaultError) in
                if let created, let pass { output.newVaultKeys.append(try vault.add(created, role: "root", gun: nil, passphrase: pass)) }
                try write(result, to: stage(out), output: &output)
                try AtomicFile.create(current.baseFiles["root"] ?? current.files["root"] ?? [], at: stage(out) + "/previous-root.json", mode: 0o644)
            }
        case .snapshot:
            guard let snapshotKeyFile else {
                // A new client-held snapshot key, made here (the vault held the old one, or it was lost).
                guard newKeyID == nil else { throw .invalid("--new-key is not used for a snapshot rotation; a new snapshot key is made here") }
                let newKey = try PrivateKey.generate(.ecdsa)
                let pass = try secrets.passphrase(for: .key(role: "snapshot"), creating: true)
                let exportPass = try secrets.passphrase(for: .export, creating: true)
                result = try Transitions.replaceSnapshotKey(current: current, newSnapshot: newKey, rootSigners: try rootSigners(root, gun: gun, also: try current.previousRoot()), now: now)
                output.newVaultKeys.append(try vault.add(newKey, role: "snapshot", gun: gun, passphrase: pass))
                try write(result, to: stage(out), output: &output)
                try writeOnlineKey(newKey, role: "snapshot", gun: gun, passphrase: exportPass, to: stage(out), output: &output)
                output.notes.append(
                    "the online side signs snapshots with the new key file in \(out)/private; to let the server sign them instead, use --snapshot-key (fetch it with: curl --fail-with-body -X POST -o snapshot.key \(serverText)/v2/\(gun)/_trust/tuf/snapshot.key)")
                break
            }
            guard newKeyID == nil else { throw .invalid("--new-key is not used for a snapshot rotation (the server holds the key)") }
            let key = try Self.readServerKey(snapshotKeyFile, role: "snapshot")
            guard !root.role(.snapshot).keyIDs.contains(key.id) else { throw .invalid("\(snapshotKeyFile) already is \(gun)'s snapshot key") }
            result = try Transitions.moveSnapshotToServer(current: current, serverSnapshotKey: key, rootSigners: try rootSigners(root, gun: gun, also: try current.previousRoot()), now: now)
            try write(result, to: stage(out), output: &output)
        }
        let newRoot = try result.files.files["root"].map { (b: [UInt8]) throws(TrustVaultError) in
            try Root(json: try SignedMetadata(parsing: b, name: "root.json").signed)
        }
        let base: BaseRole = role == .root ? .root : role == .targets ? .targets : .snapshot
        let stillUsed = Set(newRoot.map { canonicalIDs($0.keys(of: base)) } ?? [])
        try keepingNoNewKey(out: out, output: &output) { (output: inout CeremonyOutput) throws(TrustVaultError) in
            try recordKeyStatus(result, gun: gun, retired: canonicalIDs(root.keys(of: base)).filter { !stillUsed.contains($0) }, current: current)
            try finishOutput(&output, out: out, gun: gun, rootStatus: result.rootStatus)
        }
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
        try targetsChange(gun: gun, currentDir: currentDir, out: out, now: now) { () throws(TrustVaultError) in
            guard !(allPaths && !paths.isEmpty) else { throw .invalid("--paths and --all-paths exclude each other") }
        } transition: { (current, targets, snapshot) throws(TrustVaultError) in
            var tufKeys: [TUFKey] = []
            for k in keys { tufKeys.append(try delegationKey(k)) }
            return try Transitions.addDelegation(
                current: current, role: role, keys: tufKeys, paths: paths, allPaths: allPaths, threshold: threshold,
                targetsSigner: targets, snapshotSigner: snapshot, now: now)
        }
    }

    /// The frame of a change to targets.json signed with the vault's targets key (and the
    /// snapshot key when it is held here): argument checks, current metadata, the transition,
    /// a staged output. Shared by the delegation ceremonies.
    func targetsChange(
        gun: String, currentDir: String, out: String, now: TUFTime,
        check: () throws(TrustVaultError) -> Void = {},
        transition: (MetadataSet, _ targets: any SigningKey, _ snapshot: (any SigningKey)?) throws(TrustVaultError) -> TransitionResult
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        try check()
        var output = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &output)
        let (_, root) = try current.root()
        let result = try transition(current, try targetsSigner(root, gun: gun), try snapshotSigner(root))
        try write(result, to: stage(out), output: &output)
        try recordKeyStatus(result, gun: gun, retired: [], current: current)
        try finishOutput(&output, out: out, gun: gun, rootStatus: nil)
        return output
    }

    public func removeDelegation(
        gun: String, role: String, keyIDs: [String], currentDir: String, out: String, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try targetsChange(gun: gun, currentDir: currentDir, out: out, now: now) { (current, targets, snapshot) throws(TrustVaultError) in
            try Transitions.removeDelegation(
                current: current, role: role, keyIDs: keyIDs, targetsSigner: targets, snapshotSigner: snapshot, now: now)
        }
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

    /// Adds `keyID`'s signature to a root.json (under each certificate ID the key has in it and in
    /// the previous root); returns the new bytes and where the file stands against both thresholds.
    public func signRoot(
        file: String, keyID: String, previousFile: String? = nil
    ) throws(TrustVaultError) -> (bytes: [UInt8], status: RootSignatureStatus, notes: [String]) {
        let bytes = try AtomicFile.read(file, kind: .metadata)
        let env0 = try SignedMetadata(parsing: bytes, name: file)
        let root = try Root(json: env0.signed, name: file)
        var previous: Root?
        if let previousFile {
            let p = try SignedMetadata(parsing: try AtomicFile.read(previousFile, kind: .metadata), name: previousFile)
            previous = try Root(json: p.signed, name: previousFile)
        }
        let rec = try vault.record(matching: keyID)
        guard rec.role == "root" else { throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key") }
        // Membership is checked on the record's public key, before a card PIN is spent.
        let holds: ([String: TUFKey]) -> Bool = { keys in
            keys.values.contains { $0.isCertificate && (try? $0.canonicalID()) == rec.publicKey.keyID }
        }
        guard holds(root.keys) || (previous.map { holds($0.keys) } ?? false) else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery: "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        let signer = try vault.signer(for: rec, secrets: secrets)
        var ids = Transitions.rootKeyIDs(for: signer, in: root.keys)
        if let previous { ids.formUnion(Transitions.rootKeyIDs(for: signer, in: previous.keys)) }
        guard !ids.isEmpty else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not among the root keys of \(file)",
                recovery: "its root keys are \(root.keys.values.filter(\.isCertificate).map { String($0.displayID.prefix(12)) }.sorted().joined(separator: ", "))")
        }
        var env = env0
        let canonical = env.canonicalSigned
        for id in ids.sorted() { try env.sign(with: signer, as: id, canonical: canonical) }
        let status = RootSignatureStatus.of(env, root: root, previous: previous)
        var notes: [String] = []
        if root.version > 1, previous == nil {
            notes.append("the previous root's threshold was not checked; pass --previous with the root.json now in force")
        }
        try recordRootSignature(root: root, previous: previous, signerID: rec.id)
        return (env.encoded(canonical: canonical), status, notes)
    }

    // MARK: refresh

    /// Re-signs, with the keys in this vault, the roles that expire within `window` (or `roles`),
    /// with version+1 and new expiries; renews root certificates that expire within the window
    /// when their keys are here (same keys, new certificates).
    public func refresh(
        gun: String, currentDir: String, out: String, roles wanted: [String]?, window: Int64 = Verifier.warningSeconds,
        expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        try refuseExistingOutput(out, gun: gun)
        var output = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &output)
        let (_, root) = try current.root()
        let snap = try snapshotSigner(root)
        var roles: [String]
        if let wanted {
            for r in wanted where r != "root" && r != "snapshot" && current.files[r] == nil {
                throw .notFound("--roles \(r): \(r).json is not in \(currentDir)", recovery: "roles present: \(current.files.keys.sorted().joined(separator: ", "))")
            }
            roles = wanted
        } else {
            roles = try Transitions.expiring(current, window: window, now: now, includeSnapshot: snap != nil)
        }
        // Root certificates that expire within the window, for root keys held here.
        var renewed: [TUFKey] = []
        let all = try vault.records()
        if wanted == nil || roles.contains("root") {
            for key in root.keys(of: .root) {
                guard let notAfter = key.certificateNotAfter, notAfter <= now.adding(seconds: window),
                    let rec = all.first(where: { $0.id == key.displayID })
                else { continue }
                let signer = try signer(rec, gun: gun)
                renewed.append(try TUFKey(certificatePEM: try RootCertificate.make(gun: gun, signer: signer, now: now.date)))
            }
        }
        if !renewed.isEmpty, !roles.contains("root") { roles.insert("root", at: 0) }
        guard !roles.isEmpty else {
            throw .invalid(
                "nothing in \(currentDir) expires within \(window / 86_400) days",
                recovery: "name the roles to re-sign anyway with --roles (for example --roles targets)")
        }
        if wanted == nil {
            // Chosen by expiry: leave out, with a note, what this vault cannot sign.
            let heldIDs = Set(all.map(\.id))
            roles.removeAll { role in
                var held = true
                if role == "targets" {
                    held = root.keys(of: .targets).contains { heldIDs.contains($0.displayID) }
                } else if role.hasPrefix("targets/") {
                    let keys = (try? Transitions.delegationKeys(of: role, in: current)) ?? [:]
                    let threshold = (try? Transitions.delegatedRole(role, in: current))?.threshold ?? 1
                    held = keys.values.filter { heldIDs.contains($0.displayID) }.count >= threshold
                }
                if !held {
                    output.notes.append(
                        "\(role).json expires within the window, but its key is not in this vault: refresh it where the key is"
                            + (role == "targets" ? ", or replace a lost key with 'trustvault repo rotate \(gun) targets'" : ""))
                }
                return !held
            }
        }
        guard !roles.isEmpty else {
            throw .invalid(
                "nothing that expires within \(window / 86_400) days can be re-signed with the keys in this vault",
                recovery: "see the roles' keys with 'trustvault inspect'; name roles with --roles")
        }
        let rootSigners = roles.contains("root") ? try rootSigners(root, gun: gun, also: try current.previousRoot()) : []
        let targetsSigner = roles.contains("targets") ? try targetsSigner(root, gun: gun) : nil
        var delegationSigners: [String: [Transitions.RoleSigner]] = [:]
        for role in roles where role.hasPrefix("targets/") {
            var signers: [Transitions.RoleSigner] = []
            for (id, key) in try Transitions.delegationKeys(of: role, in: current).sorted(by: { $0.key < $1.key }) {
                guard let rec = all.first(where: { $0.id == key.displayID }) else { continue }
                signers.append((id, try signer(rec, gun: gun)))
            }
            delegationSigners[role] = signers
        }
        let result = try Transitions.refresh(
            current: current, roles: roles, renewedCertificates: renewed, rootSigners: rootSigners, targetsSigner: targetsSigner,
            delegationSigners: delegationSigners, snapshotSigner: snap, expiries: expiries, now: now)
        try write(result, to: stage(out), output: &output)
        if result.files.files["root"] != nil {
            try AtomicFile.create(current.baseFiles["root"] ?? current.files["root"] ?? [], at: stage(out) + "/previous-root.json", mode: 0o644)
        }
        try recordKeyStatus(result, gun: gun, retired: [], current: current)
        try finishOutput(&output, out: out, gun: gun, rootStatus: result.rootStatus)
        return output
    }

    // MARK: purge

    /// Removes one key from every delegation of targets.json in one change.
    public func purgeDelegationKey(
        gun: String, keyID: String, removeEmptiedRoles: Bool, currentDir: String, out: String, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        let wanted = keyID.lowercased()
        return try targetsChange(gun: gun, currentDir: currentDir, out: out, now: now) { () throws(TrustVaultError) in
            guard !wanted.isEmpty, wanted.allSatisfy(\.isHexDigit) else {
                throw .invalid("\"\(keyID)\" is not a key ID", recovery: "key IDs are hex; 'trustvault inspect' lists the signers' keys")
            }
        } transition: { (current, targets, snapshot) throws(TrustVaultError) in
            try Transitions.purgeKey(
                current: current, keyID: wanted, removeEmptiedRoles: removeEmptiedRoles, targetsSigner: targets,
                snapshotSigner: snapshot, now: now)
        }
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
