public import TrustCore
internal import Formats
internal import Metadata

/// `tuf refresh`: new versions and expiries.
extension TUFCeremonies {
    // MARK: refresh

    public func refresh(dir: String, roles requested: [String]?, expires: [String: Int64]) throws(TrustVaultError) -> Output {
        let state = try State(dir)
        var roles = requested ?? []
        if requested == nil {
            // Default: every top-level role (but root) whose keys this vault holds.
            for r in ["targets", "snapshot", "timestamp"] {
                if try held(Array(state.root.keys(of: r).values)) > 0 { roles.append(r) }
            }
            guard !roles.isEmpty else { throw .notFound("this vault holds none of the targets, snapshot or timestamp keys; name roles with --roles") }
        }
        var out = Output()
        var plan = TUFPlan()
        var working = state
        if roles.contains("root") {
            let v = state.rootVersion + 1
            var env = TUF1.Envelope(
                signed: TUF1.Transitions.renewed(
                    state.rootEnv.signed, version: v, expires: TUF1.expiry(after: lifetime("root", expires), from: now)))
            let used = try signWithVault(&env, keyIDs: state.root.role("root").keyIDs, keys: state.root.keys)
            if AtomicFile.exists(state.layout.rootPath(v)) { throw TrustVaultError(.alreadyExists, "\(state.layout.rootPath(v)) already exists") }
            plan.writes.append(TUFPlan.Write(path: state.layout.rootPath(v), bytes: env.encoded, createOnly: true))
            let s = env.thresholdStatus(state.root.role("root"), keys: state.root.keys)
            out.summary.append(
                "\(v).root.json: expires \(env.expires?.display ?? "?"), signed by \(describe(used, state.root.keys)); root threshold \(s.valid) of \(s.threshold)"
            )
            if s.valid < s.threshold {
                out.missing.append(
                    "\(s.threshold - s.valid) more root signature(s) from \(describe(s.missing, state.root.keys)) — 'trustvault tuf sign \(state.layout.rootPath(v)) --key KEYID'"
                )
            }
            working.rootEnv = env
            working.rootVersion = v
        }
        var changed: [Change] = []
        for r in roles where r != "root" && r != "snapshot" && r != "timestamp" {
            if r == "targets" {
                changed.append(
                    ("targets", bumped(state.targets, role: "targets", expires: expires), state.root.keys(of: "targets"), state.root.role("targets")))
            } else {
                let (dkeys, droles) = try TUF1.delegations(state.targets.signed, name: "targets.json")
                guard let del = droles.first(where: { $0.name == r }) else { throw .notFound("targets.json does not delegate to \(r)") }
                var ks: [String: TUF1.Key] = [:]
                for id in del.role.keyIDs { ks[id] = dkeys[id] }
                changed.append((r, bumped(try TUF1.Envelope.load(state.layout.path(role: r)), role: "targets", expires: expires), ks, del.role))
            }
        }
        let snapshot = !changed.isEmpty || roles.contains("snapshot")
        let timestamp = snapshot || roles.contains("timestamp")
        if snapshot || timestamp {
            try publish(working, changed: changed, snapshot: snapshot, timestamp: timestamp, expires: expires, plan: &plan, out: &out)
        }
        try commit(plan, layout: state.layout, out: &out)
        return out
    }
}
