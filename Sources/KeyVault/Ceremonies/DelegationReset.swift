public import TrustCore
public import Metadata

/// The safe way back after a delegation key was removed, replaced or purged: review what the
/// role's current file holds, then give the role a fresh file (version + 1) signed by a current
/// key held in this vault, carrying only the tags a person keeps.
extension Ceremonies {
    /// `delegation review`: the role's current file, trusted or not, for a person to read.
    public func reviewDelegation(
        gun: String, role: String, currentDir: String, now: TUFTime = .now()
    ) throws(TrustVaultError) -> (review: DelegationReview, heldKeys: Set<String>, notes: [String]) {
        try KeyRole.checkGUN(gun)
        var output = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &output)
        let review = try Transitions.reviewDelegation(current: current, role: role)
        guard review.delegated || review.version != nil else {
            throw .notFound(
                "\(gun) has no delegation \(role) and no file for it in \(currentDir)",
                recovery: "'trustvault inspect \(currentDir) --gun \(gun)' lists the signers")
        }
        let held = Set(try vault.records().map(\.id))
        return (review, held.intersection(review.currentKeys), output.notes)
    }

    /// `delegation reset`: a fresh file for `role`, signed by the vault keys `keyIDs` (current keys
    /// of the role), with only the tags in `keep` (none when `keep` is empty and `keepNone`).
    public func resetDelegation(
        gun: String, role: String, keyIDs: [String], keep: [String], keepNone: Bool, currentDir: String, out: String,
        now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        guard keep.isEmpty != !keepNone else {
            throw .invalid(
                keepNone ? "--keep and --keep-none exclude each other" : "say which tags to keep: --keep TAG (repeat) or --keep-none",
                recovery: "list the tags and their signers first with 'trustvault delegation review \(gun) \(role) --current \(currentDir)'")
        }
        guard !keyIDs.isEmpty else {
            throw .invalid("no signing key given", recovery: "pass --key with a current key of \(role) held in this vault")
        }
        try refuseExistingOutput(out, gun: gun)
        var output = CeremonyOutput()
        let current = try self.current(currentDir, gun: gun, now: now, output: &output)
        let (_, root) = try current.root()
        _ = try Transitions.reviewDelegation(current: current, role: role)  // a valid role name
        _ = try Transitions.resettableRole(role, in: current)  // delegated now, by a trusted parent
        let roleKeys = try Transitions.delegationKeys(of: role, in: current)
        var signers: [Transitions.RoleSigner] = []
        var records: [KeyRecord] = []
        for id in keyIDs {
            let rec = try vault.record(matching: id)
            guard let tufID = roleKeys.first(where: { $0.value.displayID == rec.id })?.key else {
                let listed = roleKeys.values.map { String($0.displayID.prefix(12)) }.sorted()
                throw .invalid(
                    "key \(rec.id.prefix(12)) is not a current key of \(role)",
                    recovery: listed.isEmpty
                        ? "\(role) is not delegated now; add it with 'trustvault delegation add' first"
                        : "its keys are \(listed.joined(separator: ", ")); import the CI's client bundle with 'trustvault key import BUNDLE --role \(role)'")
            }
            if records.contains(where: { $0.id == rec.id }) { continue }
            records.append(rec)
            signers.append((tufID, try vault.signer(for: rec, secrets: secrets)))
        }
        let result = try Transitions.resetDelegation(
            current: current, role: role, signers: signers, keep: keepNone ? [] : keep, snapshotSigner: try snapshotSigner(root), now: now)
        // What the next reader sees: the role must verify with the fresh file.
        var after = current
        for (r, bytes) in result.files.files { after.files[r] = bytes }
        if result.files.files["snapshot"] == nil { after.files["snapshot"] = nil }
        let check = Verifier.verify(after, now: now, forCeremony: true)
        if let problem = check.problems.first ?? check.untrusted.first(where: { $0.role == role })?.line {
            throw .verification("the fresh \(role).json would not verify: \(problem)")
        }
        output.notes = output.notes.filter { !$0.contains("not trusted: \(role).json") }
        var plan = CeremonyPlan(gun: gun, current: current, result: result)
        plan.recordsKeyStatus = false
        try commit(plan, out: out, output: &output)
        return output
    }
}
