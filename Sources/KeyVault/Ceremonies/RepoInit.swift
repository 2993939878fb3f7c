public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// `repo init` and `root cert`.
extension Ceremonies {
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

        var plan = CeremonyPlan(gun: gun, current: nil, result: result)
        plan.newKeys.append((targetsKey, "targets", gun, targetsPass))
        if let snapshotKey, let snapshotPass { plan.newKeys.append((snapshotKey, "snapshot", gun, snapshotPass)) }
        plan.onlineKeys.append((targetsKey, "targets"))
        if let snapshotKey { plan.onlineKeys.append((snapshotKey, "snapshot")) }
        plan.exportPassphrase = exportPass
        plan.notes.append(
            "the key files in \(out)/private are encrypted with the export passphrase; notary asks for it as the "
                + "targets\(snapshotKey == nil ? "" : " and snapshot") passphrase (NOTARY_TARGETS_PASSPHRASE\(snapshotKey == nil ? "" : ", NOTARY_SNAPSHOT_PASSPHRASE"))"
        )
        plan.notes += replacing
        var output = CeremonyOutput()
        try commit(plan, out: out, output: &output)
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
}
