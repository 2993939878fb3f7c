public import TrustCore
internal import Formats
public import Metadata
internal import Foundation

/// `repo refresh`: re-signing expiring roles.
extension Ceremonies {
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
                throw .notFound(
                    "--roles \(r): \(r).json is not in \(currentDir)", recovery: "roles present: \(current.files.keys.sorted().joined(separator: ", "))")
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
        var plan = CeremonyPlan(gun: gun, current: current, result: result)
        if result.files.files["root"] != nil { plan.previousRoot = current.baseFiles["root"] ?? current.files["root"] ?? [] }
        try commit(plan, out: out, output: &output)
        return output
    }
}
