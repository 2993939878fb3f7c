public import TrustCore
public import Formats

// Refreshing expiring roles, and the delegation lookups refresh and the delegation changes share.
extension Transitions {
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
}
