public import TrustCore
internal import Formats
internal import Metadata

/// `tuf rotate DIR ROLE`: a new root version with new keys for one role.
extension TUFCeremonies {
    // MARK: rotate

    public func rotate(dir: String, role: String, newKeys: [String], threshold: Int?, name: String? = nil) throws(TrustVaultError) -> Output {
        guard TUF1.Root.roleNames.contains(role) else {
            throw .invalid("\(role) is not a top-level role", recovery: "rotate root, targets, snapshot or timestamp; change delegations with tuf delegate")
        }
        let state = try State(dir)
        let newVersion = state.rootVersion + 1
        guard !AtomicFile.exists(state.layout.rootPath(newVersion)) else {
            throw TrustVaultError(.alreadyExists, "\(state.layout.rootPath(newVersion)) already exists")
        }
        var resolved: [ResolvedKey] = []
        var fresh: [(PrivateKey, String)] = []
        for spec in newKeys {
            let k = try resolve(spec)
            if resolved.contains(where: { $0.id == k.id }) { throw .invalid("key \(spec) is given twice") }
            resolved.append(k)
        }
        let repoName = name ?? "tuf/" + AtomicFile.fileName(of: dir.hasSuffix("/") ? String(dir.dropLast()) : dir)
        if resolved.isEmpty {
            let k = try PrivateKey.generate(.ecdsa)
            fresh.append((k, role))
            resolved.append(ResolvedKey(key: TUF1.Key(k.publicKey), record: nil))
        }
        let t = threshold ?? min(state.root.role(role).threshold, resolved.count)
        guard t >= 1, t <= resolved.count else { throw .invalid("--threshold \(t) needs between 1 and \(resolved.count)") }

        let signed = try TUF1.Transitions.replacingRoleKeys(
            TUF1.Transitions.renewed(state.rootEnv.signed, version: newVersion, expires: TUF1.expiry(after: lifetime("root", [:]), from: now)),
            role: role, keys: resolved.map { ($0.id, $0.key) }, threshold: t)
        var env = TUF1.Envelope(signed: signed)
        let newRoot = try TUF1.Root(signed, name: "\(newVersion).root.json")
        let keys = newRoot.keys

        // Signed by this vault's keys among the old and the new root keys.
        var out = Output()
        var used: [String] = []
        for (ids, ks) in [(state.root.role("root").keyIDs, state.root.keys), (newRoot.role("root").keyIDs, newRoot.keys)] {
            for id in ids where !used.contains(id) {
                guard let key = ks[id] else { continue }
                if let f = fresh.first(where: { key.isSameKey(as: $0.0.publicKey) }) {
                    try env.sign(with: f.0, key: key, keyID: id)
                } else if let rec = try record(for: key) {
                    try env.sign(with: try vault.signer(for: rec, secrets: secrets), key: key, keyID: id)
                } else {
                    continue
                }
                used.append(id)
            }
        }
        let oldStatus = env.thresholdStatus(state.root.role("root"), keys: state.root.keys)
        let newStatus = env.thresholdStatus(newRoot.role("root"), keys: newRoot.keys)
        out.summary.append("\(newVersion).root.json: \(role) keys now \(describe(resolved.map(\.id), keys)), threshold \(t)")
        out.summary.append("signed by \(used.isEmpty ? "no key in this vault" : describe(used, keys.merging(state.root.keys) { a, _ in a }))")
        out.summary.append(
            "root threshold of version \(state.rootVersion): \(oldStatus.valid) of \(oldStatus.threshold); of version \(newVersion): \(newStatus.valid) of \(newStatus.threshold)"
        )
        if oldStatus.valid < oldStatus.threshold {
            out.missing.append(
                "\(oldStatus.threshold - oldStatus.valid) more signature(s) from version \(state.rootVersion)'s root keys: \(describe(oldStatus.missing, state.root.keys))"
            )
        }
        if newStatus.valid < newStatus.threshold {
            out.missing.append(
                "\(newStatus.threshold - newStatus.valid) more signature(s) from the new root keys: \(describe(newStatus.missing, newRoot.keys))")
        }
        if !out.missing.isEmpty {
            out.missing.append(
                "each holder runs 'trustvault tuf sign \(state.layout.rootPath(newVersion)) --key KEYID'; clients refuse \(newVersion).root.json until then")
        }

        var plan = TUFPlan()
        for (k, r) in fresh {
            let (vr, gun) = Self.vaultRole(for: r, name: repoName)
            plan.newKeys.append((k, vr, gun, try secrets.passphrase(for: .key(role: vr), creating: true)))
            out.notes.append("new vault key \(k.publicKey.keyID) (\(vr)); in the metadata its TUF key ID is \(TUF1.Key(k.publicKey).defaultKeyID.prefix(12))")
        }
        plan.writes.append(TUFPlan.Write(path: state.layout.rootPath(newVersion), bytes: env.encoded, createOnly: true))

        // A rotated online role re-signs its file under the new root (when the new key is here).
        if role != "root" {
            var newState = state
            newState.root = newRoot
            newState.rootEnv = env
            newState.rootVersion = newVersion
            // A new key made here signs before it is in the vault (it goes in with the files).
            var hasNewKey = !fresh.isEmpty
            if !hasNewKey { hasNewKey = try held(resolved.map(\.key)) > 0 }
            if hasNewKey {
                switch role {
                case "targets":
                    try publish(
                        newState, changed: [("targets", bumped(state.targets, role: "targets"), newRoot.keys(of: "targets"), newRoot.role("targets"))],
                        fresh: fresh, plan: &plan, out: &out)
                case "snapshot":
                    try publish(newState, changed: [], fresh: fresh, plan: &plan, out: &out)
                default:
                    try publish(newState, changed: [], snapshot: false, fresh: fresh, plan: &plan, out: &out)
                }
            } else {
                out.missing.append("\(role).json must be re-signed by the new \(role) key's holder after \(newVersion).root.json is complete")
            }
        }
        try commit(plan, layout: state.layout, out: &out)
        return out
    }
}
