public import TrustCore
public import Formats

/// The files a transition produced (only the changed ones, ready to upload) and notes for
/// the operator (for example "needs one more root signature").
public struct TransitionResult: Sendable {
    public var files: MetadataSet
    public var notes: [String] = []
    /// Whether the server is expected to sign the snapshot (no snapshot.json in `files`).
    public var serverSignsSnapshot: Bool
}

/// Repository transitions done offline: creation, key rotations, delegation changes.
///
/// Every function is pure: it takes the current metadata and signing keys, and returns the new
/// files. Versions go up by one, expiries are reset to notary's defaults, exactly as notary's
/// own `Sign*` functions do.
public enum Transitions {
    /// The ID under which `signer`'s key appears in `root.keys`: the x509 key whose certificate
    /// holds the signer's public key.
    public static func rootKeyID(for signer: any SigningKey, in root: Root) -> String? {
        let canonical = signer.publicKey.keyID
        return root.keys.values.filter { $0.isCertificate && (try? $0.canonicalID()) == canonical }
            .map(\.id).sorted().first
    }

    static func signRoot(
        _ root: Root, signers: [any SigningKey], previous: Root?, notes: inout [String]
    ) throws(TrustVaultError) -> SignedMetadata {
        var env = SignedMetadata(signed: root.json)
        for s in signers {
            guard let id = rootKeyID(for: s, in: root) else {
                throw .invalid(
                    "root key \(s.publicKey.keyID.prefix(12)) is not a root key of this repository",
                    recovery: "use a key listed by 'trustvault inspect' under Root Key")
            }
            try env.sign(with: s, as: id)
        }
        let own = env.validSignatureKeyIDs(keys: root.keys).intersection(root.role(.root).keyIDs).count
        if own < root.role(.root).threshold {
            notes.append(
                "root.json v\(root.version) has \(own) of the \(root.role(.root).threshold) signatures its own root keys need;"
                    + " the other key holders add theirs with 'trustvault root sign'")
        }
        if let previous {
            let old = env.validSignatureKeyIDs(keys: previous.keys).intersection(previous.role(.root).keyIDs).count
            if old < previous.role(.root).threshold {
                notes.append(
                    "root.json v\(root.version) has \(old) of the \(previous.role(.root).threshold) signatures the previous"
                        + " root keys need; the other key holders add theirs with 'trustvault root sign'")
            }
        }
        return env
    }

    static func makeSnapshot(
        current: MetadataSet, changed: MetadataSet, signer: any SigningKey, root: Root, now: TUFTime
    ) throws(TrustVaultError) -> [UInt8] {
        guard let keyID = root.role(.snapshot).keyIDs.first(where: { root.keys[$0]?.id == signer.publicKey.keyID }) else {
            throw .invalid("key \(signer.publicKey.keyID.prefix(12)) is not the snapshot key of \(current.gun)")
        }
        var version = 1
        if let bytes = current.files["snapshot"] {
            let env = try SignedMetadata(parsing: bytes, name: "snapshot.json")
            version = try MetaListing(json: env.signed, type: "Snapshot", name: "snapshot.json").version + 1
        }
        var all = current.files
        for (k, v) in changed.files { all[k] = v }
        var meta: [String: FileMeta] = [:]
        for (role, bytes) in all where role != "snapshot" && role != "timestamp" { meta[role] = FileMeta(of: bytes) }
        let snap = MetaListing(type: "Snapshot", expires: now.adding(days: DefaultExpiry.snapshotDays), meta: meta, version: version)
        var env = SignedMetadata(signed: snap.json)
        try env.sign(with: signer, as: keyID)
        return env.encoded()
    }

    /// The TUF key ID under which `signer` signs targets.json; refuses a key that is not the
    /// repository's targets key.
    static func targetsKeyID(of signer: any SigningKey, in root: Root, gun: String) throws(TrustVaultError) -> String {
        let targetsKeyIDs = root.role(.targets).keyIDs
        guard let tid = targetsKeyIDs.first(where: { $0 == signer.publicKey.keyID }) else {
            throw .invalid(
                "key \(signer.publicKey.keyID.prefix(12)) is not the targets key of \(gun)",
                recovery: "the repository's targets key is \(targetsKeyIDs.map { String($0.prefix(12)) }.joined(separator: ", "))")
        }
        return tid
    }

    /// Bumps the version and expiry of a changed targets.json, signs it, and adds the snapshot.
    static func resign(
        _ targets: Targets, signer: any SigningKey, keyID: String, current: MetadataSet, root: Root,
        snapshotSigner: (any SigningKey)?, now: TUFTime, notes: [String]
    ) throws(TrustVaultError) -> TransitionResult {
        var targets = targets
        targets.version += 1
        targets.expires = now.adding(days: DefaultExpiry.targetsDays)
        var env = SignedMetadata(signed: targets.json)
        try env.sign(with: signer, as: keyID)
        let changed = MetadataSet(gun: current.gun, files: ["targets": env.encoded()])
        return try finish(current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes)
    }

    /// Adds a client-signed snapshot when `snapshotSigner` is given; otherwise the server signs it.
    static func finish(
        current: MetadataSet, changed: MetadataSet, root: Root, snapshotSigner: (any SigningKey)?, now: TUFTime,
        notes: [String]
    ) throws(TrustVaultError) -> TransitionResult {
        var out = changed
        if let snapshotSigner {
            out.files["snapshot"] = try makeSnapshot(current: current, changed: changed, signer: snapshotSigner, root: root, now: now)
        }
        return TransitionResult(files: out, notes: notes, serverSignsSnapshot: snapshotSigner == nil)
    }

    // MARK: New repository

    /// A new repository: root v1 (root key as a notary certificate for the GUN, the new targets
    /// key, the given snapshot and timestamp keys) and an empty targets v1.
    public static func newRepository(
        gun: String, rootSigner: any SigningKey, rootCertificatePEM: String? = nil, targetsSigner: any SigningKey,
        snapshotKey: TUFKey, snapshotOnServer: Bool, timestampKey: TUFKey, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let certPEM: String
        if let rootCertificatePEM { certPEM = rootCertificatePEM } else {
            certPEM = try RootCertificate.make(gun: gun, signer: rootSigner, now: now.date)
        }
        let rootKey = try TUFKey(certificatePEM: certPEM)
        guard try rootKey.canonicalID() == rootSigner.publicKey.keyID else {
            throw .invalid("the root certificate does not hold the root key \(rootSigner.publicKey.keyID.prefix(12))")
        }
        var warnings: [String] = []
        try Verifier.checkRootCertificate(rootKey, gun: gun, now: now, warnings: &warnings)
        let targetsKey = TUFKey(targetsSigner.publicKey)
        var keys: [String: TUFKey] = [:]
        for k in [rootKey, targetsKey, snapshotKey, timestampKey] { keys[k.id] = k }
        let root = Root(
            expires: now.adding(days: DefaultExpiry.rootDays), keys: keys,
            roles: [
                "root": RoleKeys(keyIDs: [rootKey.id]), "targets": RoleKeys(keyIDs: [targetsKey.id]),
                "snapshot": RoleKeys(keyIDs: [snapshotKey.id]), "timestamp": RoleKeys(keyIDs: [timestampKey.id]),
            ], version: 1)
        var notes = warnings
        let rootEnv = try signRoot(root, signers: [rootSigner], previous: nil, notes: &notes)
        var targetsEnv = SignedMetadata(signed: Targets(expires: now.adding(days: DefaultExpiry.targetsDays), version: 1).json)
        try targetsEnv.sign(with: targetsSigner, as: targetsKey.id)
        let set = MetadataSet(gun: gun, files: ["root": rootEnv.encoded(), "targets": targetsEnv.encoded()])
        return TransitionResult(files: set, notes: notes, serverSignsSnapshot: snapshotOnServer)
    }

    // MARK: Rotations

    /// Replaces the targets (repository) key: root v+1 signed by the root key(s), targets v+1 with
    /// its targets and delegations intact, signed by the new key; snapshot v+1 if the vault holds
    /// the snapshot key.
    public static func rotateTargets(
        current: MetadataSet, newTargets: any SigningKey, rootSigners: [any SigningKey],
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        guard let oldTargets = try current.envelope("targets") else {
            throw .notFound("targets.json is missing from the current metadata", recovery: "fetch the repository's current metadata first")
        }
        // Re-sign the signed part as it is (every target and delegation intact); only the version
        // and expiry change. The structure was checked when the current metadata was verified.
        guard let version = oldTargets.signed["version"]?.intValue, oldTargets.signed["_type"]?.stringValue == "Targets" else {
            throw .corrupt("targets.json has no version or is not a Targets file")
        }
        var root = oldRoot
        root.version += 1
        root.expires = now.adding(days: DefaultExpiry.rootDays)
        let newKey = TUFKey(newTargets.publicKey)
        root.replaceKeys(of: .targets, with: [newKey])
        var notes: [String] = []
        let rootEnv = try signRoot(root, signers: rootSigners, previous: oldRoot, notes: &notes)
        var signed = oldTargets.signed
        signed["version"] = .integer(version + 1)
        signed["expires"] = .string(now.adding(days: DefaultExpiry.targetsDays).rfc3339)
        var tEnv = SignedMetadata(signed: signed)
        let canonical = tEnv.canonicalSigned
        try tEnv.sign(with: newTargets, as: newKey.id, canonical: canonical)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded(), "targets": tEnv.encoded(canonical: canonical)])
        return try finish(current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes)
    }

    /// Root key rotation: the new root key (as a certificate for the GUN) replaces the root role's
    /// keys; the old certificates stay in `keys`, as notary keeps them. Signed by the old root
    /// key(s) and the new one.
    public static func rotateRoot(
        current: MetadataSet, newRoot: any SigningKey, newCertificatePEM: String? = nil, oldRootSigners: [any SigningKey],
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        let certPEM: String
        if let newCertificatePEM { certPEM = newCertificatePEM } else {
            certPEM = try RootCertificate.make(gun: current.gun, signer: newRoot, now: now.date)
        }
        let newKey = try TUFKey(certificatePEM: certPEM)
        var notes: [String] = []
        try Verifier.checkRootCertificate(newKey, gun: current.gun, now: now, warnings: &notes)
        var root = oldRoot
        root.version += 1
        root.expires = now.adding(days: DefaultExpiry.rootDays)
        root.replaceKeys(of: .root, with: [newKey])
        let rootEnv = try signRoot(root, signers: oldRootSigners + [newRoot], previous: oldRoot, notes: &notes)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded()])
        return try finish(current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes)
    }

    /// Moves the snapshot role to a key the server holds (from `GET/POST …/snapshot.key`):
    /// root v+1 only; the server signs the next snapshot.
    public static func moveSnapshotToServer(
        current: MetadataSet, serverSnapshotKey: TUFKey, rootSigners: [any SigningKey], now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        var root = oldRoot
        root.version += 1
        root.expires = now.adding(days: DefaultExpiry.rootDays)
        root.replaceKeys(of: .snapshot, with: [serverSnapshotKey])
        var notes: [String] = []
        let rootEnv = try signRoot(root, signers: rootSigners, previous: oldRoot, notes: &notes)
        return TransitionResult(
            files: MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded()]), notes: notes, serverSignsSnapshot: true)
    }

    // MARK: Delegations

    /// Adds a delegation role, or keys/paths to an existing one, in targets.json (v+1), signed
    /// by the targets key.
    public static func addDelegation(
        current: MetadataSet, role: String, keys: [TUFKey], paths: [String], allPaths: Bool, threshold: Int?,
        targetsSigner: any SigningKey, snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        guard DelegatedRole.isValidName(role), DelegatedRole.parent(of: role) == "targets" else {
            throw .invalid(
                "\"\(role)\" is not a delegation role trustvault can add",
                recovery: "use targets/<name> with lowercase letters, digits, '-' and '_' (for example targets/releases)")
        }
        guard !keys.isEmpty else { throw .invalid("no keys for \(role)", recovery: "pass --cert, --key-file or --key") }
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else {
            throw .notFound("targets.json is missing from the current metadata")
        }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        var notes: [String] = []
        for k in keys { targets.delegationKeys[k.id] = k }
        let newPaths = allPaths ? [""] : paths
        if let i = targets.delegations.firstIndex(where: { $0.name == role }) {
            var d = targets.delegations[i]
            for k in keys where !d.keyIDs.contains(k.id) { d.keyIDs.append(k.id) }
            for p in newPaths where !d.paths.contains(p) { d.paths.append(p) }
            if let threshold { d.threshold = threshold }
            targets.delegations[i] = d
        } else {
            if newPaths.isEmpty { notes.append("\(role) has no paths yet, so it cannot sign any tag; add --paths or --all-paths") }
            targets.delegations.append(DelegatedRole(name: role, keyIDs: keys.map(\.id), threshold: threshold ?? 1, paths: newPaths))
        }
        if let d = targets.delegations.first(where: { $0.name == role }), d.threshold < 1 || d.threshold > d.keyIDs.count {
            throw .invalid("threshold \(d.threshold) for \(role) with \(d.keyIDs.count) key(s)", recovery: "use a threshold between 1 and the number of keys")
        }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }

    /// Removes a delegation role, or only some of its keys (by TUF or canonical ID or prefix).
    public static func removeDelegation(
        current: MetadataSet, role: String, keyIDs: [String], targetsSigner: any SigningKey,
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else { throw .notFound("targets.json is missing from the current metadata") }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        guard let i = targets.delegations.firstIndex(where: { $0.name == role }) else {
            throw .notFound(
                "targets.json has no delegation \(role)",
                recovery: "existing delegations: \(targets.delegations.map(\.name).joined(separator: ", "))")
        }
        var notes: [String] = []
        if keyIDs.isEmpty {
            targets.delegations.remove(at: i)
        } else {
            var d = targets.delegations[i]
            for wanted in keyIDs {
                let match = d.keyIDs.filter { id in
                    id.hasPrefix(wanted) || (targets.delegationKeys[id]?.displayID.hasPrefix(wanted) ?? false)
                }
                guard match.count == 1 else {
                    throw .notFound(
                        match.isEmpty ? "\(role) has no key \(wanted)" : "key prefix \(wanted) is ambiguous in \(role)")
                }
                d.keyIDs.removeAll { $0 == match[0] }
            }
            if d.threshold > d.keyIDs.count {
                d.threshold = max(1, d.keyIDs.count)
            }
            if d.keyIDs.isEmpty { notes.append("\(role) has no keys left; nobody can sign for it") }
            targets.delegations[i] = d
        }
        let used = Set(targets.delegations.flatMap(\.keyIDs))
        targets.delegationKeys = targets.delegationKeys.filter { used.contains($0.key) }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }
}
