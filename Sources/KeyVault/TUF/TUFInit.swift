public import TrustCore
internal import Formats
internal import Metadata

/// `tuf init`: a new TUF 1.0 repository.
extension TUFCeremonies {
    // MARK: tuf init

    public struct InitOptions: Sendable {
        public var rootKeys: [String]
        public var rootThreshold: Int?
        public var roleKeys: [String: String] = [:]
        public var expires: [String: Int64] = [:]
        public var consistentSnapshot = false
        /// The repository name recorded with new vault keys (their GUN): default `tuf/<dir name>`.
        public var name: String?
        public init(rootKeys: [String]) { self.rootKeys = rootKeys }
    }

    func lifetime(_ role: String, _ expires: [String: Int64]) -> Int64 {
        expires[role] ?? TUF1.Lifetime.defaultSeconds(role: role)
    }

    public func initRepository(dir: String, options o: InitOptions) throws(TrustVaultError) -> Output {
        let layout = TUF1.Layout(dir)
        if AtomicFile.exists(layout.metadataDir), !(try AtomicFile.list(layout.metadataDir)).isEmpty {
            throw TrustVaultError(
                .alreadyExists, "\(layout.metadataDir) already exists and is not empty",
                recovery: "choose a new directory; change an existing repository with tuf rotate/refresh/add-targets")
        }
        guard !o.rootKeys.isEmpty else { throw .invalid("give at least one --root-key") }
        for r in o.expires.keys where !TUF1.Root.roleNames.contains(r) {
            throw .invalid("--expires \(r)=…: the role must be root, targets, snapshot or timestamp")
        }
        var rootKeys: [ResolvedKey] = []
        for spec in o.rootKeys {
            let k = try resolve(spec)
            if rootKeys.contains(where: { $0.id == k.id }) { throw .invalid("root key \(spec) is given twice") }
            rootKeys.append(k)
        }
        let threshold = o.rootThreshold ?? 1
        guard threshold >= 1, threshold <= rootKeys.count else {
            throw .invalid("--root-threshold \(threshold) needs between 1 and \(rootKeys.count) (the number of root keys)")
        }
        let name = o.name ?? "tuf/" + AtomicFile.fileName(of: dir.hasSuffix("/") ? String(dir.dropLast()) : dir)
        try KeyRole.checkGUN(name)

        // Keys of the other roles: given, or new vault keys (generated now, added at the end).
        var fresh: [(key: PrivateKey, role: String)] = []
        var roleKeys: [String: TUF1.Key] = [:]
        for role in ["targets", "snapshot", "timestamp"] {
            if let spec = o.roleKeys[role] {
                roleKeys[role] = try resolve(spec).key
            } else {
                let k = try PrivateKey.generate(.ecdsa)
                fresh.append((k, role))
                roleKeys[role] = TUF1.Key(k.publicKey)
            }
        }
        var keys: [String: TUF1.Key] = [:]
        for k in rootKeys { keys[k.id] = k.key }
        var roles: [String: TUF1.RoleKeys] = ["root": TUF1.RoleKeys(keyIDs: rootKeys.map(\.id), threshold: threshold)]
        for (role, k) in roleKeys {
            keys[k.defaultKeyID] = k
            roles[role] = TUF1.RoleKeys(keyIDs: [k.defaultKeyID], threshold: 1)
        }
        var rootEnv = TUF1.Envelope(
            signed: TUF1.Root.json(
                version: 1, expires: TUF1.expiry(after: lifetime("root", o.expires), from: now), keys: keys, roles: roles,
                consistentSnapshot: o.consistentSnapshot))
        let extra = fresh.map { ($0.key, $0.role) }
        var out = Output()
        let rootSigned = try signWithVault(&rootEnv, keyIDs: roles["root"]!.keyIDs, keys: keys)
        out.summary.append(
            "1.root.json: signed by \(rootSigned.isEmpty ? "no key in this vault" : describe(rootSigned, keys)); root threshold \(threshold) of \(rootKeys.count)"
        )
        if rootSigned.count < threshold {
            let others = roles["root"]!.keyIDs.filter { !rootSigned.contains($0) }
            out.missing.append(
                "1.root.json needs \(threshold - rootSigned.count) more root signature(s) from: \(describe(others, keys)) — each holder runs 'trustvault tuf sign \(layout.rootPath(1)) --key KEYID'"
            )
        }

        func skeleton(_ type: String, _ body: KeyValuePairs<String, JSONValue>) -> TUF1.Envelope {
            var signed = JSONValue.obj([
                "_type": .string(type), "spec_version": .string(TUF1.specVersion), "version": .integer(1),
                "expires": .string(TUF1.expiry(after: lifetime(type, o.expires), from: now)),
            ])
            for (k, v) in body { signed[k] = v }
            return TUF1.Envelope(signed: signed)
        }
        var files: [(String, TUF1.Envelope)] = [
            ("targets", skeleton("targets", ["targets": .object([])])),
            ("snapshot", skeleton("snapshot", ["meta": .obj(["targets.json": .obj(["version": .integer(1)])])])),
            ("timestamp", skeleton("timestamp", ["meta": .obj(["snapshot.json": .obj(["version": .integer(1)])])])),
        ]
        for i in files.indices {
            let role = files[i].0
            let used = try signWithVault(&files[i].1, keyIDs: roles[role]!.keyIDs, keys: keys, limit: 1, extra: extra)
            if used.isEmpty {
                out.missing.append(
                    "\(role).json is unsigned: its key \(describe(roles[role]!.keyIDs, keys)) is not in this vault — its holder runs 'trustvault tuf sign \(layout.path(role: role)) --key KEYID' (or the online signer re-makes it)"
                )
            } else {
                out.summary.append("\(role).json: signed by \(describe(used, keys))")
            }
        }

        // Passphrases for the new keys, then the vault, then the files (one transaction).
        var plan = TUFPlan()
        for f in fresh {
            let (vr, gun) = Self.vaultRole(for: f.role, name: name)
            plan.newKeys.append((f.key, vr, gun, try secrets.passphrase(for: .key(role: vr), creating: true)))
        }
        plan.directories = [layout.targetsDir]
        plan.writes.append(TUFPlan.Write(path: layout.rootPath(1), bytes: rootEnv.encoded, createOnly: true))
        for (role, env) in files { plan.add(env, role: role, layout: layout, consistent: o.consistentSnapshot) }
        try commit(plan, layout: layout, out: &out)
        for r in out.newVaultKeys {
            out.notes.append(
                "new vault key \(r.id) (\(r.role)) for \(name); in the metadata its TUF key ID is \(TUF1.Key(r.publicKey).defaultKeyID.prefix(12))")
        }
        return out
    }
}
