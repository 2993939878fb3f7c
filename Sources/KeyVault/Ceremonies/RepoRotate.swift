public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// `repo rotate GUN root|targets|snapshot`.
extension Ceremonies {
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
        var plan: CeremonyPlan
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
            // targets.json (megabytes at 100,000 tags) is re-signed on another core while the
            // root key is unlocked (Argon2id) on this one.
            let signingKey = newKey
            let targetsFile = BackgroundWork { () throws(TrustVaultError) in
                try Transitions.rotatedTargetsFile(current: current, newTargets: signingKey, expiries: expiries, now: now)
            }
            let rootSigners = try rootSigners(root, gun: gun, also: try current.previousRoot())
            let snap = try snapshotSigner(root)
            plan = CeremonyPlan(
                gun: gun, current: current,
                result: try Transitions.rotateTargets(
                    current: current, newTargets: newKey, rootSigners: rootSigners, snapshotSigner: snap, expiries: expiries, now: now,
                    targetsFile: try targetsFile.value()))
            if created, let pass { plan.newKeys.append((newKey, "targets", gun, pass)) }
            plan.onlineKeys.append((newKey, "targets"))
            plan.exportPassphrase = exportPass
            plan.notes.append("the old targets key no longer signs for \(gun); on the online machine replace it with the new key file in \(out)/private")
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
            plan = CeremonyPlan(
                gun: gun, current: current,
                result: try Transitions.rotateRoot(
                    current: current, newRootKeys: keys, threshold: threshold, signers: oldSigners + signers, snapshotSigner: snap,
                    expiries: expiries, now: now))
            if let created { plan.newKeys.append((created, "root", nil, try secrets.passphrase(for: .key(role: "root"), creating: true))) }
            plan.previousRoot = current.baseFiles["root"] ?? current.files["root"] ?? []
        case .snapshot:
            guard let snapshotKeyFile else {
                // A new client-held snapshot key, made here (the vault held the old one, or it was lost).
                guard newKeyID == nil else { throw .invalid("--new-key is not used for a snapshot rotation; a new snapshot key is made here") }
                let newKey = try PrivateKey.generate(.ecdsa)
                let pass = try secrets.passphrase(for: .key(role: "snapshot"), creating: true)
                let exportPass = try secrets.passphrase(for: .export, creating: true)
                plan = CeremonyPlan(
                    gun: gun, current: current,
                    result: try Transitions.replaceSnapshotKey(
                        current: current, newSnapshot: newKey, rootSigners: try rootSigners(root, gun: gun, also: try current.previousRoot()), now: now))
                plan.newKeys.append((newKey, "snapshot", gun, pass))
                plan.onlineKeys.append((newKey, "snapshot"))
                plan.exportPassphrase = exportPass
                plan.notes.append(
                    "the online side signs snapshots with the new key file in \(out)/private; to let the server sign them instead, use --snapshot-key (fetch it with: curl --fail-with-body -X POST -o snapshot.key \(serverText)/v2/\(gun)/_trust/tuf/snapshot.key)"
                )
                break
            }
            guard newKeyID == nil else { throw .invalid("--new-key is not used for a snapshot rotation (the server holds the key)") }
            let key = try Self.readServerKey(snapshotKeyFile, role: "snapshot")
            guard !root.role(.snapshot).keyIDs.contains(key.id) else { throw .invalid("\(snapshotKeyFile) already is \(gun)'s snapshot key") }
            plan = CeremonyPlan(
                gun: gun, current: current,
                result: try Transitions.moveSnapshotToServer(
                    current: current, serverSnapshotKey: key, rootSigners: try rootSigners(root, gun: gun, also: try current.previousRoot()), now: now))
        }
        // The keys of the rotated role that the new root no longer names are retired for the GUN.
        let newRoot = try plan.result.files.files["root"].map { (b: [UInt8]) throws(TrustVaultError) in
            try Root(json: try SignedMetadata(parsing: b, name: "root.json").signed)
        }
        let base: BaseRole = role == .root ? .root : role == .targets ? .targets : .snapshot
        let stillUsed = Set(newRoot.map { canonicalIDs($0.keys(of: base)) } ?? [])
        plan.retired = canonicalIDs(root.keys(of: base)).filter { !stillUsed.contains($0) }
        try commit(plan, out: out, output: &output)
        return output
    }
}
