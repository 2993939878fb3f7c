public import TrustCore
public import Formats

/// The files a transition produced (only the changed ones, ready to upload) and notes for
/// the operator (for example "needs one more root signature").
public struct TransitionResult: Sendable {
    public var files: MetadataSet
    public var notes: [String] = []
    /// Whether the server is expected to sign the snapshot (no snapshot.json in `files`).
    public var serverSignsSnapshot: Bool
    /// Where a new root.json stands against its own and the previous root's thresholds.
    public var rootStatus: RootSignatureStatus?

    public init(files: MetadataSet, notes: [String] = [], serverSignsSnapshot: Bool, rootStatus: RootSignatureStatus? = nil) {
        self.files = files
        self.notes = notes
        self.serverSignsSnapshot = serverSignsSnapshot
        self.rootStatus = rootStatus
    }
}

/// How many valid signatures a root.json carries against its own root role and, for a rotation,
/// against the previous root's role (notary's client and server require both thresholds).
public struct RootSignatureStatus: Sendable {
    public var version: Int
    public var have: Int
    public var need: Int
    /// Canonical IDs of the root keys whose signature is still missing.
    public var missing: [String]
    public var previousVersion: Int?
    public var previousHave = 0
    public var previousNeed = 0
    public var previousMissing: [String] = []

    public var complete: Bool { have >= need && (previousVersion == nil || previousHave >= previousNeed) }

    public static func of(_ env: SignedMetadata, root: Root, previous: Root?) -> RootSignatureStatus {
        let canonical = env.canonicalSigned
        func count(_ r: Root) -> (Int, Int, [String]) {
            let ids = r.role(.root).keyIDs
            let valid = env.validSignatureKeyIDs(keys: r.keys.filter { ids.contains($0.key) }, canonical: canonical)
            let missing = ids.filter { !valid.contains($0) }.compactMap { r.keys[$0]?.displayID }
            return (valid.count, r.role(.root).threshold, missing)
        }
        let (have, need, missing) = count(root)
        var status = RootSignatureStatus(version: root.version, have: have, need: need, missing: missing)
        if let previous {
            (status.previousHave, status.previousNeed, status.previousMissing) = count(previous)
            status.previousVersion = previous.version
        }
        return status
    }

    static func words(_ n: Int) -> String { ["no", "one", "two", "three", "four", "five"].indices.contains(n) ? ["no", "one", "two", "three", "four", "five"][n] : "\(n)" }

    /// "new root v2: 1 of 2 signatures; previous root v1: 1 of 2 — needs one more from …".
    public var summary: String {
        var text = "new root v\(version): \(min(have, need)) of \(need) signatures"
        if let previousVersion { text += "; previous root v\(previousVersion): \(min(previousHave, previousNeed)) of \(previousNeed)" }
        var needs: [String] = []
        if have < need {
            needs.append("\(Self.words(need - have)) more from \(missing.map { String($0.prefix(12)) }.joined(separator: ", ")) (new root keys)")
        }
        if let previousVersion, previousHave < previousNeed {
            needs.append(
                "\(Self.words(previousNeed - previousHave)) more from \(previousMissing.map { String($0.prefix(12)) }.joined(separator: ", ")) (root keys of v\(previousVersion))")
        }
        return needs.isEmpty ? text + " — complete" : text + " — needs " + needs.joined(separator: " and ")
    }
}

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
        if let rootCertificatePEM { certPEM = rootCertificatePEM } else {
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
        snapshotSigner: (any SigningKey)?, expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
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
        root.version = try current.nextVersion("root", after: oldRoot.version)
        root.expires = expiries.expiry(of: "root", from: now)
        let newKey = TUFKey(newTargets.publicKey)
        root.replaceKeys(of: .targets, with: [newKey])
        var notes: [String] = []
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: try current.previousRoot(), notes: &notes)
        var signed = oldTargets.signed
        signed["version"] = .integer(Int64(try current.nextVersion("targets", after: Int(clamping: version))))
        signed["expires"] = .string(expiries.expiry(of: "targets", from: now).rfc3339)
        var tEnv = SignedMetadata(signed: signed)
        let canonical = tEnv.canonicalSigned
        try tEnv.sign(with: newTargets, as: newKey.id, canonical: canonical)
        let changed = MetadataSet(gun: current.gun, files: ["root": rootEnv.encoded(), "targets": tEnv.encoded(canonical: canonical)])
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes,
            rootStatus: status, expiries: expiries)
    }

    /// Root key rotation with one new key (as a certificate for the GUN) replacing the root role's keys.
    public static func rotateRoot(
        current: MetadataSet, newRoot: any SigningKey, newCertificatePEM: String? = nil, oldRootSigners: [any SigningKey],
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let certPEM: String
        if let newCertificatePEM { certPEM = newCertificatePEM } else {
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

    // MARK: Refresh

    /// A signer for a delegated role: the TUF key ID the role lists and the key.
    public typealias RoleSigner = (keyID: String, signer: any SigningKey)

    /// The roles of `current` that expire within `window` seconds of `now` (or already have),
    /// among root, targets and the delegations present; snapshot too when `includeSnapshot`.
    public static func expiring(
        _ current: MetadataSet, window: Int64, now: TUFTime, includeSnapshot: Bool
    ) throws(TrustVaultError) -> [String] {
        let limit = now.adding(seconds: window)
        var out: [String] = []
        for role in current.files.keys.sorted(by: MetadataSet.uploadOrder) where role != "timestamp" {
            if role == "snapshot", !includeSnapshot { continue }
            if current.untrusted[role] != nil { continue }  // never re-signed: 'delegation reset' replaces it
            guard let env = try current.envelope(role), let text = env.signed["expires"]?.stringValue else { continue }
            if try TUFTime(rfc3339: text) <= limit { out.append(role) }
        }
        return out
    }

    /// Re-signs `roles` with version+1 and a new expiry, keeping their content. Root certificates
    /// in `renewedCertificates` (new certificates for keys already in the root role) replace the
    /// old ones in the root role; the old ones stay in `keys` as after a rotation. A client-held
    /// snapshot is re-made whenever anything changed.
    public static func refresh(
        current: MetadataSet, roles: [String], renewedCertificates: [TUFKey], rootSigners: [any SigningKey],
        targetsSigner: (any SigningKey)?, delegationSigners: [String: [RoleSigner]], snapshotSigner: (any SigningKey)?,
        expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        var changed = MetadataSet(gun: current.gun)
        var notes: [String] = []
        var status: RootSignatureStatus?
        var root = oldRoot
        if roles.contains("root") || !renewedCertificates.isEmpty {
            guard !rootSigners.isEmpty else {
                throw .notFound(
                    "root.json must be re-signed, but none of \(current.gun)'s root keys is in this vault",
                    recovery: "run this on a root key holder's machine, or leave root out with --roles")
            }
            root.version = try current.nextVersion("root", after: oldRoot.version)
            root.expires = expiries.expiry(of: "root", from: now)
            var ids = root.role(.root).keyIDs
            for cert in renewedCertificates {
                let canonical = cert.displayID
                guard let i = ids.firstIndex(where: { root.keys[$0]?.displayID == canonical }) else {
                    throw .invalid("the renewed certificate for \(canonical.prefix(12)) is not for a root key of \(current.gun)")
                }
                root.keys[cert.id] = cert
                ids[i] = cert.id
                notes.append("root key \(canonical.prefix(12)): new certificate, valid until \(cert.certificateNotAfter?.display ?? "?")")
            }
            root.roles["root"] = RoleKeys(keyIDs: ids, threshold: root.role(.root).threshold)
            let (env, st) = try signRootStatus(root, signers: rootSigners, previous: try current.previousRoot(), notes: &notes)
            changed.files["root"] = env.encoded()
            status = st
        }
        for role in roles where role == "targets" || role.hasPrefix("targets/") {
            guard let env = try current.envelope(role) else {
                throw .notFound("\(role).json is not in the current metadata", recovery: "fetch it too (notary's cache keeps it under targets/)")
            }
            guard let version = env.signed["version"]?.intValue, env.signed["_type"]?.stringValue == "Targets" else {
                throw .corrupt("\(role).json has no version or is not a Targets file")
            }
            var signers: [RoleSigner] = []
            if role == "targets" {
                guard let targetsSigner else {
                    throw .notFound(
                        "targets.json must be re-signed, but \(current.gun)'s targets key is not in this vault",
                        recovery: "if the key is lost, replace it first with 'trustvault repo rotate \(current.gun) targets'")
                }
                signers = [(try targetsKeyID(of: targetsSigner, in: root, gun: current.gun), targetsSigner)]
            } else {
                if let why = current.untrusted[role] {
                    throw .verification(
                        "\(role).json is not trusted (\(why)); re-signing it would make its content count again",
                        recovery: "review it with 'trustvault delegation review \(current.gun) \(role)' and replace it with 'trustvault delegation reset'")
                }
                signers = delegationSigners[role] ?? []
                let threshold = try delegatedRole(role, in: current)?.threshold ?? 1
                guard signers.count >= threshold else {
                    throw .notFound(
                        "\(role).json must be re-signed, but only \(signers.count) of the \(threshold) key(s) it needs are in this vault",
                        recovery: "run this where the role's keys are, leave it out with --roles, or let its signers publish again with notary")
                }
                signers = Array(signers.prefix(threshold))
            }
            var signed = env.signed
            signed["version"] = .integer(Int64(try current.nextVersion(role, after: Int(clamping: version))))
            signed["expires"] = .string(expiries.expiry(of: role, from: now).rfc3339)
            var out = SignedMetadata(signed: signed)
            let canonical = out.canonicalSigned
            for (id, signer) in signers { try out.sign(with: signer, as: id, canonical: canonical) }
            changed.files[role] = out.encoded(canonical: canonical)
        }
        if roles.contains("snapshot"), snapshotSigner == nil {
            notes.append("the server holds the snapshot key and re-signs snapshot.json itself")
        }
        guard !changed.files.isEmpty || (roles.contains("snapshot") && snapshotSigner != nil) else {
            throw .invalid("nothing to re-sign", recovery: "name the roles with --roles")
        }
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes,
            rootStatus: status, expiries: expiries)
    }

    /// The delegation entry for `role` in its parent's file.
    public static func delegatedRole(_ role: String, in set: MetadataSet) throws(TrustVaultError) -> DelegatedRole? {
        guard let (_, parent) = try set.targets(DelegatedRole.parent(of: role), buildTargets: false) else { return nil }
        return parent.delegations.first { $0.name == role }
    }

    /// The delegation keys of `role` as listed in its parent (TUF ID → key).
    public static func delegationKeys(of role: String, in set: MetadataSet) throws(TrustVaultError) -> [String: TUFKey] {
        guard let (_, parent) = try set.targets(DelegatedRole.parent(of: role), buildTargets: false),
            let d = parent.delegations.first(where: { $0.name == role })
        else { return [:] }
        var out: [String: TUFKey] = [:]
        for id in d.keyIDs { if let k = parent.delegationKeys[id] { out[id] = k } }
        return out
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
            if current.files[role] != nil {
                notes.append(
                    "\(role).json from before the role was removed is still on the server; after this upload, check it with"
                        + " 'trustvault delegation review \(current.gun) \(role)' and give it a fresh file with 'delegation reset'")
            }
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
            guard !d.keyIDs.isEmpty else {
                throw .invalid(
                    "removing \(keyIDs.joined(separator: ", ")) would leave \(role) without keys, so nobody could sign for it",
                    recovery: "remove the whole role instead: 'trustvault delegation remove \(current.gun) \(role)' without --key,"
                        + " or add its new key first with 'trustvault delegation add'")
            }
            if d.threshold > d.keyIDs.count {
                notes.append("\(role): threshold lowered from \(d.threshold) to \(d.keyIDs.count), the number of keys left")
                d.threshold = d.keyIDs.count
            }
            targets.delegations[i] = d
        }
        let used = Set(targets.delegations.flatMap(\.keyIDs))
        targets.delegationKeys = targets.delegationKeys.filter { used.contains($0.key) }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }

    /// Removes one key (TUF or canonical ID, or a unique prefix) from every delegation of
    /// targets.json, and from its key list, in one change. A role that would be left without keys
    /// is refused unless `removeEmptiedRoles`, which removes such roles whole.
    public static func purgeKey(
        current: MetadataSet, keyID wanted: String, removeEmptiedRoles: Bool, targetsSigner: any SigningKey,
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else { throw .notFound("targets.json is missing from the current metadata") }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        let matches = Set(targets.delegationKeys.values.filter { $0.id.hasPrefix(wanted) || $0.displayID.hasPrefix(wanted) }.map(\.id))
        guard !matches.isEmpty else {
            throw .notFound("no delegation of \(current.gun) lists key \(wanted)", recovery: "'trustvault inspect' lists the signers' keys")
        }
        guard Set(matches.compactMap { targets.delegationKeys[$0]?.displayID }).count == 1 else {
            throw .invalid("key prefix \(wanted) is ambiguous among the delegation keys", recovery: "give more digits")
        }
        var notes: [String] = []
        var emptied: [String] = []
        var kept: [DelegatedRole] = []
        for var d in targets.delegations {
            guard d.keyIDs.contains(where: matches.contains) else { kept.append(d); continue }
            d.keyIDs.removeAll(where: matches.contains)
            if d.keyIDs.isEmpty {
                emptied.append(d.name)
                continue
            }
            if d.threshold > d.keyIDs.count {
                notes.append("\(d.name): threshold lowered from \(d.threshold) to \(d.keyIDs.count), the number of keys left")
                d.threshold = d.keyIDs.count
            }
            notes.append("\(d.name): key removed")
            kept.append(d)
        }
        if !emptied.isEmpty {
            guard removeEmptiedRoles else {
                throw .invalid(
                    "purging the key would leave \(emptied.joined(separator: ", ")) without keys, so nobody could sign for \(emptied.count == 1 ? "it" : "them")",
                    recovery: "add --remove-emptied-roles to remove \(emptied.count == 1 ? "that role" : "those roles") whole, or add their new keys first")
            }
            for name in emptied { notes.append("\(name): removed (the purged key was its only key)") }
        }
        targets.delegations = kept
        let used = Set(kept.flatMap(\.keyIDs))
        targets.delegationKeys = targets.delegationKeys.filter { used.contains($0.key) }
        let nested = current.delegationRoles.filter { role in
            role.split(separator: "/").count > 2 && ((try? delegationKeys(of: role, in: current))?.keys.contains(where: matches.contains) ?? false)
        }
        if !nested.isEmpty {
            notes.append("the key also signs for nested roles \(nested.joined(separator: ", ")); their parents' keys must remove it there")
        }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }
}
