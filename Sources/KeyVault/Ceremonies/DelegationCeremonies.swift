public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// `delegation add`, `delegation remove` and `delegation purge`: changes to targets.json.
extension Ceremonies {
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
        try commit(CeremonyPlan(gun: gun, current: current, result: result), out: out, output: &output)
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
