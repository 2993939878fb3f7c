public import TrustCore
public import Formats

/// Repository transitions done offline: creation, key rotations, delegation changes, refreshes.
///
/// Every function is pure: it takes the current metadata and signing keys, and returns the new
/// files. Versions go up by one and expiries are set from an ``ExpiryPolicy`` (notary's defaults
/// unless chosen), as notary's own `Sign*` functions do.
public enum Transitions {
    /// The ID under which `signer`'s key appears in `root.keys`: the x509 key whose certificate
    /// holds the signer's public key.
    public static func rootKeyID(for signer: any SigningKey, in root: Root) -> String? {
        rootKeyIDs(for: signer, in: root.keys).sorted().first
    }

    /// Every certificate key in `keys` that holds `signer`'s public key (a key whose certificate was
    /// renewed appears twice: the old certificate for the previous root, the new one for this root).
    public static func rootKeyIDs(for signer: any SigningKey, in keys: [String: TUFKey]) -> Set<String> {
        let canonical = signer.publicKey.keyID
        return Set(keys.values.filter { $0.isCertificate && (try? $0.canonicalID()) == canonical }.map(\.id))
    }

    /// Signs a root.json with every given signer, under each certificate ID the signer's key has in
    /// this root or the previous one, and reports where it stands against both thresholds.
    static func signRoot(
        _ root: Root, signers: [any SigningKey], previous: Root?, notes: inout [String]
    ) throws(TrustVaultError) -> SignedMetadata {
        try signRootStatus(root, signers: signers, previous: previous, notes: &notes).0
    }

    static func signRootStatus(
        _ root: Root, signers: [any SigningKey], previous: Root?, notes: inout [String]
    ) throws(TrustVaultError) -> (SignedMetadata, RootSignatureStatus) {
        var env = SignedMetadata(signed: root.json)
        let canonical = env.canonicalSigned
        for s in signers {
            var ids = rootKeyIDs(for: s, in: root.keys)
            if let previous { ids.formUnion(rootKeyIDs(for: s, in: previous.keys)) }
            guard !ids.isEmpty else {
                throw .invalid(
                    "root key \(s.publicKey.keyID.prefix(12)) is not a root key of this repository",
                    recovery: "use a key listed by 'trustvault inspect' under Root Key")
            }
            for id in ids.sorted() { try env.sign(with: s, as: id, canonical: canonical) }
        }
        let status = RootSignatureStatus.of(env, root: root, previous: previous)
        if !status.complete {
            notes.append("root.json \(status.summary); the other key holders add theirs with 'trustvault root sign'")
        }
        return (env, status)
    }

    static func makeSnapshot(
        current: MetadataSet, changed: MetadataSet, signer: any SigningKey, root: Root, now: TUFTime,
        expiries: ExpiryPolicy = .notary
    ) throws(TrustVaultError) -> [UInt8] {
        guard let keyID = root.role(.snapshot).keyIDs.first(where: { root.keys[$0]?.id == signer.publicKey.keyID }) else {
            throw .invalid("key \(signer.publicKey.keyID.prefix(12)) is not the snapshot key of \(current.gun)")
        }
        var version = 1
        if let bytes = current.files["snapshot"] {
            let env = try SignedMetadata(parsing: bytes, name: "snapshot.json")
            version = try current.nextVersion("snapshot", after: try MetaListing(json: env.signed, type: "Snapshot", name: "snapshot.json").version)
        }
        var all = current.files
        for (k, v) in changed.files { all[k] = v }
        var meta: [String: FileMeta] = [:]
        for (role, bytes) in all where role != "snapshot" && role != "timestamp" { meta[role] = FileMeta(of: bytes) }
        let snap = MetaListing(type: "Snapshot", expires: expiries.expiry(of: "snapshot", from: now), meta: meta, version: version)
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
        snapshotSigner: (any SigningKey)?, now: TUFTime, notes: [String], expiries: ExpiryPolicy = .notary
    ) throws(TrustVaultError) -> TransitionResult {
        var targets = targets
        targets.version = try current.nextVersion("targets", after: targets.version)
        targets.expires = expiries.expiry(of: "targets", from: now)
        var env = SignedMetadata(signed: targets.json)
        try env.sign(with: signer, as: keyID)
        let changed = MetadataSet(gun: current.gun, files: ["targets": env.encoded()])
        return try finish(current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes, expiries: expiries)
    }

    /// Adds a client-signed snapshot when `snapshotSigner` is given; otherwise the server signs it.
    static func finish(
        current: MetadataSet, changed: MetadataSet, root: Root, snapshotSigner: (any SigningKey)?, now: TUFTime,
        notes: [String], rootStatus: RootSignatureStatus? = nil, expiries: ExpiryPolicy = .notary
    ) throws(TrustVaultError) -> TransitionResult {
        var out = changed
        if let snapshotSigner {
            out.files["snapshot"] = try makeSnapshot(
                current: current, changed: changed, signer: snapshotSigner, root: root, now: now, expiries: expiries)
        }
        return TransitionResult(files: out, notes: notes, serverSignsSnapshot: snapshotSigner == nil, rootStatus: rootStatus)
    }

    /// Checks a root key list and threshold: at least one key, no key twice, 1 ≤ threshold ≤ keys.
    public static func checkRootKeys(_ keys: [TUFKey], threshold: Int) throws(TrustVaultError) {
        guard !keys.isEmpty else { throw .invalid("no root keys given", recovery: "pass --root-key (or --new-key) at least once") }
        var seen: Set<String> = []
        for k in keys {
            let id = k.displayID
            guard seen.insert(id).inserted else {
                throw .invalid("root key \(id.prefix(12)) is given twice", recovery: "give each root key once")
            }
        }
        guard threshold >= 1, threshold <= keys.count else {
            throw .invalid(
                "a root threshold of \(threshold) with \(keys.count) root key(s) could never be met",
                recovery: "choose a threshold between 1 and \(keys.count)")
        }
    }

    // MARK: New repository

    /// A new repository: root v1 (one key as a notary certificate for the GUN, the new targets
    /// key, the given snapshot and timestamp keys) and an empty targets v1.
    public static func newRepository(
        gun: String, rootSigner: any SigningKey, rootCertificatePEM: String? = nil, targetsSigner: any SigningKey,
        snapshotKey: TUFKey, snapshotOnServer: Bool, timestampKey: TUFKey, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let certPEM: String
        if let rootCertificatePEM {
            certPEM = rootCertificatePEM
        } else {
            certPEM = try RootCertificate.make(gun: gun, signer: rootSigner, now: now.date)
        }
        let rootKey = try TUFKey(certificatePEM: certPEM)
        guard try rootKey.canonicalID() == rootSigner.publicKey.keyID else {
            throw .invalid("the root certificate does not hold the root key \(rootSigner.publicKey.keyID.prefix(12))")
        }
        return try newRepository(
            gun: gun, rootKeys: [rootKey], rootThreshold: 1, rootSigners: [rootSigner], targetsSigner: targetsSigner,
            snapshotKey: snapshotKey, snapshotOnServer: snapshotOnServer, timestampKey: timestampKey, now: now)
    }

    /// A new repository whose root role holds `rootKeys` (certificates, CN = GUN) with
    /// `rootThreshold`; root.json is signed by every key in `rootSigners` (the ones held here).
    public static func newRepository(
        gun: String, rootKeys: [TUFKey], rootThreshold: Int, rootSigners: [any SigningKey], targetsSigner: any SigningKey,
        snapshotKey: TUFKey, snapshotOnServer: Bool, timestampKey: TUFKey, expiries: ExpiryPolicy = .notary,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        try checkRootKeys(rootKeys, threshold: rootThreshold)
        var warnings: [String] = []
        for k in rootKeys { try Verifier.checkRootCertificate(k, gun: gun, now: now, warnings: &warnings) }
        let targetsKey = TUFKey(targetsSigner.publicKey)
        var keys: [String: TUFKey] = [:]
        for k in rootKeys + [targetsKey, snapshotKey, timestampKey] { keys[k.id] = k }
        let root = Root(
            expires: expiries.expiry(of: "root", from: now), keys: keys,
            roles: [
                "root": RoleKeys(keyIDs: rootKeys.map(\.id), threshold: rootThreshold), "targets": RoleKeys(keyIDs: [targetsKey.id]),
                "snapshot": RoleKeys(keyIDs: [snapshotKey.id]), "timestamp": RoleKeys(keyIDs: [timestampKey.id]),
            ], version: 1)
        var notes = warnings
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: nil, notes: &notes)
        var targetsEnv = SignedMetadata(signed: Targets(expires: expiries.expiry(of: "targets", from: now), version: 1).json)
        try targetsEnv.sign(with: targetsSigner, as: targetsKey.id)
        let set = MetadataSet(gun: gun, files: ["root": rootEnv.encoded(), "targets": targetsEnv.encoded()])
        return TransitionResult(files: set, notes: notes, serverSignsSnapshot: snapshotOnServer, rootStatus: status)
    }

    // MARK: Rotations

    /// Replaces the targets (repository) key: root v+1 signed by the root key(s), targets v+1 with
    /// its targets and delegations intact, signed by the new key; snapshot v+1 if the vault holds
    /// the snapshot key.
    public static func rotateTargets(
        current: MetadataSet, newTargets: any SigningKey, rootSigners: [any SigningKey],
        snapshotSigner: (any SigningKey)?, expiries: ExpiryPolicy = .notary, now: TUFTime = .now(), targetsFile: [UInt8]? = nil
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        // The targets file needs no root key: a ceremony may make it first, on another core
        // (`rotatedTargetsFile`), while the root key is being unlocked.
        let targets: [UInt8]
        if let targetsFile {
            targets = targetsFile
        } else {
            targets = try rotatedTargetsFile(current: current, newTargets: newTargets, expiries: expiries, now: now)
        }
        var root = oldRoot
        root.version = try current.nextVersion("root", after: oldRoot.version)
        root.expires = expiries.expiry(of: "root", from: now)
        let newKey = TUFKey(newTargets.publicKey)
        root.replaceKeys(of: .targets, with: [newKey])
        var notes: [String] = []
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: try current.previousRoot(), notes: &notes)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded(), "targets": targets])
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes,
            rootStatus: status, expiries: expiries)
    }

    /// targets.json of a targets-key rotation: the signed part as it is (every target and
    /// delegation intact, kept as bytes when it was read so), version + 1 and a fresh expiry,
    /// signed by `newTargets` alone.
    public static func rotatedTargetsFile(
        current: MetadataSet, newTargets: any SigningKey, expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> [UInt8] {
        guard let oldTargets = try current.envelope("targets") else {
            throw .notFound("targets.json is missing from the current metadata", recovery: "fetch the repository's current metadata first")
        }
        // The structure was checked when the current metadata was verified.
        guard let version = oldTargets.signed["version"]?.intValue, oldTargets.signed["_type"]?.stringValue == "Targets" else {
            throw .corrupt("targets.json has no version or is not a Targets file")
        }
        var signed = oldTargets.signed
        signed["version"] = .integer(Int64(try current.nextVersion("targets", after: Int(clamping: version))))
        signed["expires"] = .string(expiries.expiry(of: "targets", from: now).rfc3339)
        return try NotaryV1.signedFile(signed, key: newTargets, keyID: TUFKey(newTargets.publicKey).id)
    }

    /// Root key rotation with one new key (as a certificate for the GUN) replacing the root role's keys.
    public static func rotateRoot(
        current: MetadataSet, newRoot: any SigningKey, newCertificatePEM: String? = nil, oldRootSigners: [any SigningKey],
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let certPEM: String
        if let newCertificatePEM {
            certPEM = newCertificatePEM
        } else {
            certPEM = try RootCertificate.make(gun: current.gun, signer: newRoot, now: now.date)
        }
        return try rotateRoot(
            current: current, newRootKeys: [try TUFKey(certificatePEM: certPEM)], threshold: 1,
            signers: oldRootSigners + [newRoot], snapshotSigner: snapshotSigner, now: now)
    }

    /// Root rotation: `newRootKeys` (certificates; a key kept from the current root keeps its
    /// certificate) with `threshold` become the root role; the old certificates stay in `keys`, as
    /// notary keeps them. Signed by every key in `signers` (old and new keys held here).
    public static func rotateRoot(
        current: MetadataSet, newRootKeys: [TUFKey], threshold: Int, signers: [any SigningKey],
        snapshotSigner: (any SigningKey)?, expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        try checkRootKeys(newRootKeys, threshold: threshold)
        var notes: [String] = []
        for k in newRootKeys { try Verifier.checkRootCertificate(k, gun: current.gun, now: now, warnings: &notes) }
        var root = oldRoot
        root.version = try current.nextVersion("root", after: oldRoot.version)
        root.expires = expiries.expiry(of: "root", from: now)
        root.replaceKeys(of: .root, with: newRootKeys, threshold: threshold)
        let (rootEnv, status) = try signRootStatus(root, signers: signers, previous: try current.previousRoot(), notes: &notes)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded()])
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes,
            rootStatus: status, expiries: expiries)
    }

    /// Moves the snapshot role to a key the server holds (from `GET/POST …/snapshot.key`):
    /// root v+1 only; the server signs the next snapshot.
    public static func moveSnapshotToServer(
        current: MetadataSet, serverSnapshotKey: TUFKey, rootSigners: [any SigningKey], now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        var root = oldRoot
        root.version = try current.nextVersion("root", after: oldRoot.version)
        root.expires = ExpiryPolicy.notary.expiry(of: "root", from: now)
        root.replaceKeys(of: .snapshot, with: [serverSnapshotKey])
        var notes: [String] = []
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: try current.previousRoot(), notes: &notes)
        return TransitionResult(
            files: MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded()]), notes: notes, serverSignsSnapshot: true,
            rootStatus: status)
    }

    /// Replaces a client-held snapshot key with `newSnapshot`: root v+1 and a snapshot signed by
    /// the new key (the online side gets the new key file).
    public static func replaceSnapshotKey(
        current: MetadataSet, newSnapshot: any SigningKey, rootSigners: [any SigningKey], now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        var root = oldRoot
        root.version = try current.nextVersion("root", after: oldRoot.version)
        root.expires = ExpiryPolicy.notary.expiry(of: "root", from: now)
        root.replaceKeys(of: .snapshot, with: [TUFKey(newSnapshot.publicKey)])
        var notes: [String] = []
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: try current.previousRoot(), notes: &notes)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded()])
        return try finish(current: current, changed: changed, root: root, snapshotSigner: newSnapshot, now: now, notes: notes, rootStatus: status)
    }
}
