public import TrustCore
internal import Formats
internal import Metadata

/// `tuf delegate` and `tuf undelegate`.
extension TUFCeremonies {
    // MARK: delegate

    public func delegate(
        dir: String, role: String, keys keySpecs: [String], paths: [String], threshold: Int?, terminating: Bool
    ) throws(TrustVaultError) -> Output {
        // Only names whose file name needs no percent-encoding: python-tuf asks for the encoded
        // name, a static web server may store or decode either, so other names are ambiguous.
        guard !TUF1.Root.roleNames.contains(role), !role.isEmpty, !role.hasPrefix("."), TUF1.encodedRoleName(role) == role,
            TUF1.unusableRoleName(role) == nil
        else {
            throw .invalid(
                "\"\(Escape.visible(role))\" is not a usable delegated role name",
                recovery: "use letters, digits and - _ . ~ (not first), e.g. releases or team-a")
        }
        guard !keySpecs.isEmpty else { throw .invalid("give at least one --key") }
        guard !paths.isEmpty else { throw .invalid("give at least one --paths pattern (e.g. 'app/*')") }
        let state = try State(dir)
        var resolved: [ResolvedKey] = []
        for s in keySpecs {
            let k = try resolve(s)
            if !resolved.contains(where: { $0.id == k.id }) { resolved.append(k) }
        }
        let t = threshold ?? 1
        guard t >= 1, t <= resolved.count else { throw .invalid("--threshold \(t) needs between 1 and \(resolved.count)") }
        var env = bumped(state.targets, role: "targets")
        let del = TUF1.Delegation(name: role, role: TUF1.RoleKeys(keyIDs: resolved.map(\.id), threshold: t), paths: paths, terminating: terminating)
        env.signed = try TUF1.Transitions.delegating(env.signed, to: del, keys: resolved.map { ($0.id, $0.key) })

        var out = Output()
        var changed: [Change] = [
            ("targets", env, state.root.keys(of: "targets"), state.root.role("targets"))
        ]
        var roleKeys: [String: TUF1.Key] = [:]
        for k in resolved { roleKeys[k.id] = k.key }
        let existing = AtomicFile.exists(state.layout.path(role: role)) ? try TUF1.Envelope.load(state.layout.path(role: role)) : nil
        var delEnv =
            existing.map { bumped($0, role: "targets") }
            ?? TUF1.Envelope(
                signed: .obj([
                    "_type": .string("targets"), "spec_version": .string(TUF1.specVersion), "version": .integer(1),
                    "expires": .string(TUF1.expiry(after: lifetime("targets", [:]), from: now)), "targets": .object([]),
                ]))
        let inVault = try held(resolved.map(\.key))
        var pre: [(path: String, bytes: [UInt8])] = []
        if inVault >= t {
            changed.append((role, delEnv, roleKeys, del.role))
        } else {
            // Written unsigned; its holders sign it, and the snapshot names its version already.
            _ = try signWithVault(&delEnv, keyIDs: del.role.keyIDs, keys: roleKeys)
            pre.append((state.layout.path(role: role), delEnv.encoded))
            if state.root.consistentSnapshot { pre.append((state.layout.path(role: role, version: delEnv.version ?? 1), delEnv.encoded)) }
            out.missing.append(
                "\(role).json needs \(t) signature(s) from \(describe(del.role.keyIDs, roleKeys)) — 'trustvault tuf sign \(state.layout.path(role: role)) --key KEYID'\(state.root.consistentSnapshot ? " (and the same for \(state.layout.path(role: role, version: delEnv.version ?? 1)))" : "")"
            )
        }
        var plan = TUFPlan()
        try publish(state, changed: changed, extraMeta: inVault >= t ? [:] : [role: delEnv.version ?? 1], preWrites: pre, plan: &plan, out: &out)
        try commit(plan, layout: state.layout, out: &out)
        return out
    }

    public func undelegate(dir: String, role: String) throws(TrustVaultError) -> Output {
        let state = try State(dir)
        var env = bumped(state.targets, role: "targets")
        env.signed = try TUF1.Transitions.undelegating(env.signed, role: role)
        var out = Output()
        var plan = TUFPlan()
        try publish(
            state, changed: [("targets", env, state.root.keys(of: "targets"), state.root.role("targets"))], removedRoles: [role], plan: &plan, out: &out)
        try commit(plan, layout: state.layout, out: &out)
        return out
    }

    static func delegationsJSON(keys: [String: TUF1.Key], roles: [TUF1.Delegation]) -> JSONValue {
        TUF1.Transitions.delegationsJSON(keys: keys, roles: roles)
    }
}
