public import TrustCore
internal import Formats
public import Metadata
internal import MetadataStore

/// TUF 1.0 ceremonies (`trustvault tuf …`): the same vault, card keys and signer protocol as the
/// Notary ceremonies, writing specification metadata that python-tuf's ngclient accepts.
///
/// Every signer comes from ``Vault/signer(for:secrets:)``; keys held elsewhere (another holder,
/// an online signer) are named in ``Output/missing`` and their files are left for them.
public struct TUFCeremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// The clock (tests pass a fixed one).
    public var now: TUFTime = .now()

    public init(vault: Vault, secrets: SecretSource) {
        self.vault = vault
        self.secrets = secrets
    }

    public struct Output: Sendable {
        public var written: [String] = []
        public var newVaultKeys: [KeyRecord] = []
        /// What other key holders still have to do.
        public var missing: [String] = []
        public var notes: [String] = []
        /// Lines describing what was signed.
        public var summary: [String] = []
    }

    // MARK: Keys

    /// A key named on the command line: a vault key ID (or prefix) or a public key file.
    public struct ResolvedKey: Sendable {
        public let key: TUF1.Key
        /// The vault record that can sign for it, if this vault holds it.
        public let record: KeyRecord?
        public var id: String { key.defaultKeyID }
    }

    public func resolve(_ spec: String) throws(TrustVaultError) -> ResolvedKey {
        if AtomicFile.exists(spec), !AtomicFile.isDirectory(spec) {
            let key = try TUF1.Key(file: try AtomicFile.read(spec, kind: .publicKey), name: spec)
            return ResolvedKey(key: key, record: try record(for: key))
        }
        if spec.contains("/") || spec.hasSuffix(".pem") || spec.hasSuffix(".json") {
            throw .notFound("\(spec) does not exist", recovery: "give a vault key ID or a public key file from 'trustvault key export --format public'")
        }
        let rec = try vault.record(matching: spec)
        return ResolvedKey(key: TUF1.Key(rec.publicKey), record: rec)
    }

    /// The vault record holding `key`, compared by key material.
    public func record(for key: TUF1.Key) throws(TrustVaultError) -> KeyRecord? {
        guard let pub = key.vaultPublicKey else { return nil }
        return try vault.records().first { $0.publicKey == pub }
    }

    /// How many of `keys` this vault holds.
    func held(_ keys: [TUF1.Key]) throws(TrustVaultError) -> Int {
        var n = 0
        for k in keys where try record(for: k) != nil { n += 1 }
        return n
    }

    /// Signs `env` with every vault-held key among `keyIDs` (at most `limit`); returns the key IDs used.
    func signWithVault(
        _ env: inout TUF1.Envelope, keyIDs: [String], keys: [String: TUF1.Key], limit: Int = .max,
        extra: [(PrivateKey, String)] = []
    ) throws(TrustVaultError) -> [String] {
        var used: [String] = []
        for id in keyIDs where used.count < limit {
            guard let key = keys[id] else { continue }
            if let fresh = extra.first(where: { key.isSameKey(as: $0.0.publicKey) }) {
                try env.sign(with: fresh.0, key: key, keyID: id)
                used.append(id)
            } else if let rec = try record(for: key) {
                try env.sign(with: try vault.signer(for: rec, secrets: secrets), key: key, keyID: id)
                used.append(id)
            }
        }
        return used
    }

    /// Vault role and GUN for a new key of a TUF role (`tuf-timestamp` for timestamp keys,
    /// whose passphrase is TRUSTVAULT_DELEGATION_PASSPHRASE; the vault keeps timestamp for notary-server).
    static func vaultRole(for role: String, name: String) -> (role: String, gun: String?) {
        switch role {
        case "root": ("root", nil)
        case "targets", "snapshot": (role, name)
        default: ("tuf-\(role)", nil)
        }
    }

    /// The vault key `spec` names: a vault key ID (or unique prefix), or a TUF key ID (or unique
    /// prefix) of the file being signed — what "Still missing" lists — held in this vault.
    func signingRecord(_ spec: String, ctx: SigningContext) throws(TrustVaultError) -> KeyRecord {
        do {
            return try vault.record(matching: spec)
        } catch where error.code == .notFound {
            var keys = ctx.keys
            for (id, key) in ctx.previous?.keys ?? [:] where keys[id] == nil { keys[id] = key }
            let named = keys.filter { $0.key.hasPrefix(spec.lowercased()) }
            guard named.count == 1, let key = named.first?.value else { throw error }
            guard let held = try vault.records().first(where: { key.isSameKey(as: $0.publicKey) }) else {
                throw .notFound(
                    "the file's key \(spec) is not in the vault at \(vault.path)",
                    recovery: "sign on the machine that holds it; 'trustvault key list' shows this vault's keys")
            }
            return held
        }
    }

    func describe(_ keys: [String], _ all: [String: TUF1.Key]) -> String {
        keys.map { id in "\(id.prefix(12)) (\(all[id]?.scheme ?? "?"))" }.joined(separator: ", ")
    }

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
            throw TrustVaultError(.alreadyExists, "\(layout.metadataDir) already exists and is not empty",
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
        var rootEnv = TUF1.Envelope(signed: TUF1.Root.json(
            version: 1, expires: TUF1.expiry(after: lifetime("root", o.expires), from: now), keys: keys, roles: roles,
            consistentSnapshot: o.consistentSnapshot))
        let extra = fresh.map { ($0.key, $0.role) }
        var out = Output()
        let rootSigned = try signWithVault(&rootEnv, keyIDs: roles["root"]!.keyIDs, keys: keys)
        out.summary.append("1.root.json: signed by \(rootSigned.isEmpty ? "no key in this vault" : describe(rootSigned, keys)); root threshold \(threshold) of \(rootKeys.count)")
        if rootSigned.count < threshold {
            let others = roles["root"]!.keyIDs.filter { !rootSigned.contains($0) }
            out.missing.append("1.root.json needs \(threshold - rootSigned.count) more root signature(s) from: \(describe(others, keys)) — each holder runs 'trustvault tuf sign \(layout.rootPath(1)) --key KEYID'")
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
                out.missing.append("\(role).json is unsigned: its key \(describe(roles[role]!.keyIDs, keys)) is not in this vault — its holder runs 'trustvault tuf sign \(layout.path(role: role)) --key KEYID' (or the online signer re-makes it)")
            } else {
                out.summary.append("\(role).json: signed by \(describe(used, keys))")
            }
        }

        // Passphrases for the new keys, then the vault, then the files.
        var sealed: [(PrivateKey, String, String?, Passphrase)] = []
        for f in fresh {
            let (vr, gun) = Self.vaultRole(for: f.role, name: name)
            sealed.append((f.key, vr, gun, try secrets.passphrase(for: .key(role: vr), creating: true)))
        }
        var added: [KeyRecord] = []
        do {
            for (k, vr, gun, pass) in sealed { added.append(try vault.add(k, role: vr, gun: gun, passphrase: pass)) }
            try AtomicFile.makeDirectories(layout.metadataDir, mode: 0o755)
            try AtomicFile.makeDirectories(layout.targetsDir, mode: 0o755)
            try AtomicFile.create(rootEnv.encoded, at: layout.rootPath(1), mode: 0o644)
            out.written.append(layout.rootPath(1))
            for (role, env) in files { out.written += try layout.write(env, role: role, consistent: o.consistentSnapshot) }
        } catch {
            for r in added { try? vault.remove(r) }
            for p in out.written { try? AtomicFile.remove(p) }
            throw error
        }
        out.newVaultKeys = added
        for r in added { out.notes.append("new vault key \(r.id) (\(r.role)) for \(name); in the metadata its TUF key ID is \(TUF1.Key(r.publicKey).defaultKeyID.prefix(12))") }
        return out
    }

    // MARK: tuf sign

    /// What a file is and which keys may sign it.
    struct SigningContext {
        var role: String
        var keys: [String: TUF1.Key]
        var roleKeys: TUF1.RoleKeys
        /// For root: the previous root's root role (both thresholds apply).
        var previous: (keys: [String: TUF1.Key], role: TUF1.RoleKeys, version: Int64, full: TUF1.Root)?
    }

    static func roleName(ofFile path: String) -> String {
        var base = AtomicFile.fileName(of: path)
        if base.hasSuffix(".json") { base.removeLast(5) }
        if let dot = base.firstIndex(of: "."), Int64(base[..<dot]) != nil { base = String(base[base.index(after: dot)...]) }
        return base
    }

    func signingContext(file: String, env: TUF1.Envelope, previous: String?) throws(TrustVaultError) -> SigningContext {
        let type = env.type ?? ""
        if type == "root" {
            let root = try TUF1.Root(env.signed, name: file)
            var ctx = SigningContext(role: "root", keys: root.keys, roleKeys: root.role("root"))
            var prevPath = previous
            if prevPath == nil, root.version > 1 {
                let beside = AtomicFile.parent(of: file) + "/\(root.version - 1).root.json"
                if AtomicFile.exists(beside) { prevPath = beside }
            }
            if let prevPath {
                let p = try TUF1.Root(try TUF1.Envelope.load(prevPath).signed, name: prevPath)
                guard p.version < root.version else {
                    throw .invalid("--previous \(prevPath) has version \(p.version), not older than \(file)'s \(root.version)")
                }
                ctx.previous = (p.keys, p.role("root"), p.version, p)
            }
            return ctx
        }
        // Other roles: their keys come from the repository's newest root and targets files.
        let metaDir = AtomicFile.parent(of: file)
        let layout = TUF1.Layout(AtomicFile.parent(of: metaDir))
        guard layout.metadataDir == metaDir || AtomicFile.fileName(of: metaDir) == "metadata" else {
            throw .invalid("\(file) is a \(type) file outside a repository's metadata/ directory",
                           recovery: "only root files can be signed on their own; sign other roles inside DIR/metadata/")
        }
        let latest = try layout.latestRoot()
        let role = type == "targets" ? Self.roleName(ofFile: file) : type
        if TUF1.Root.roleNames.contains(role) {
            return SigningContext(role: role, keys: latest.root.keys(of: role), roleKeys: latest.root.role(role))
        }
        for name in try AtomicFile.list(metaDir) where name.hasSuffix(".json") && !name.hasSuffix("root.json") {
            guard let e = try? TUF1.Envelope.load(metaDir + "/" + name), e.type == "targets",
                let d = try? TUF1.delegations(e.signed, name: name), let del = d.roles.first(where: { $0.name == role })
            else { continue }
            var keys: [String: TUF1.Key] = [:]
            for id in del.role.keyIDs { keys[id] = d.keys[id] }
            return SigningContext(role: role, keys: keys, roleKeys: del.role)
        }
        throw .notFound("no targets metadata in \(metaDir) delegates to \(role)")
    }

    /// `show` receives what is about to be signed before any passphrase or PIN is asked for.
    public func sign(
        file: String, key keySpec: String, previous: String? = nil, show: ([String]) -> Void = { _ in }
    ) throws(TrustVaultError) -> Output {
        var env = try TUF1.Envelope.load(file)
        guard let type = env.type, ["root", "targets", "snapshot", "timestamp"].contains(type) else {
            throw .corrupt("\(file): \"_type\" is not root, targets, snapshot or timestamp")
        }
        _ = try TUF1.commonFields(env.signed, type: type, name: file)
        let ctx = try signingContext(file: file, env: env, previous: previous)
        let rec = try signingRecord(keySpec, ctx: ctx)
        var out = Output()
        out.summary.append("\(AtomicFile.fileName(of: file)): \(type) \(ctx.role == type ? "" : "(\(ctx.role)) ")version \(env.version ?? 0), expires \(env.expires?.display ?? "?")")
        if type == "root" { out.summary += describeRoot(env) } else { out.summary += describeContent(env) }
        if let prev = ctx.previous {
            let p = env.thresholdStatus(prev.role, keys: prev.keys)
            out.summary.append("previous root version \(prev.version): threshold \(p.threshold) of \(prev.role.keyIDs.count) (\(describe(prev.role.keyIDs, prev.keys)))")
            out.summary += rootChanges(from: prev.full, to: env)
        }
        let sigs = env.signatures.map { String($0.keyID.prefix(12)) }
        out.summary.append("signatures present: \(sigs.isEmpty ? "none" : sigs.joined(separator: ", "))")
        show(out.summary)
        out.summary = []
        // The key ID this vault key has in the file (the current role, or the previous root's).
        var ids = ctx.roleKeys.keyIDs.filter { ctx.keys[$0]?.isSameKey(as: rec.publicKey) == true }
        if let prev = ctx.previous {
            ids += prev.role.keyIDs.filter { prev.keys[$0]?.isSameKey(as: rec.publicKey) == true && !ids.contains($0) }
        }
        guard !ids.isEmpty else {
            throw .invalid(
                "key \(rec.id.prefix(12)) is not one of the \(ctx.role) role's keys in \(file) (\(describe(ctx.roleKeys.keyIDs, ctx.keys)))",
                recovery: "sign with a key the file names; 'trustvault key list' shows this vault's keys")
        }
        let signer = try vault.signer(for: rec, secrets: secrets)
        for id in ids {
            let key = ctx.keys[id] ?? ctx.previous?.keys[id]
            guard let key else { continue }
            try env.sign(with: signer, key: key, keyID: id)
        }
        try AtomicFile.write(env.encoded, to: file, mode: 0o644)
        out.written.append(file)
        out.summary.append("signed with \(rec.id.prefix(12)) as \(ids.map { String($0.prefix(12)) }.joined(separator: ", "))")
        let s = env.thresholdStatus(ctx.roleKeys, keys: ctx.keys)
        out.summary.append("\(ctx.role) threshold (this version): \(s.valid) of \(s.threshold) valid signature(s)\(s.valid >= s.threshold ? " — met" : "")")
        if s.valid < s.threshold { out.missing.append("\(s.threshold - s.valid) more \(ctx.role) signature(s) from: \(describe(s.missing, ctx.keys))") }
        if let prev = ctx.previous {
            let p = env.thresholdStatus(prev.role, keys: prev.keys)
            out.summary.append("root threshold of version \(prev.version) (clients that trust it): \(p.valid) of \(p.threshold)\(p.valid >= p.threshold ? " — met" : "")")
            if p.valid < p.threshold { out.missing.append("\(p.threshold - p.valid) more signature(s) from version \(prev.version)'s root keys: \(describe(p.missing, prev.keys))") }
        }
        return out
    }

    /// What changed from `previous` to the root in `env`: keys added and removed per role, thresholds.
    func rootChanges(from previous: TUF1.Root, to env: TUF1.Envelope) -> [String] {
        guard let root = try? TUF1.Root(env.signed, name: "root") else { return [] }
        var lines: [String] = []
        for r in TUF1.Root.roleNames {
            let old = previous.role(r), new = root.role(r)
            let added = new.keyIDs.filter { !old.keyIDs.contains($0) }
            let removed = old.keyIDs.filter { !new.keyIDs.contains($0) }
            if !added.isEmpty { lines.append("  \(r): key(s) added: \(describe(added, root.keys))") }
            if !removed.isEmpty { lines.append("  \(r): key(s) removed: \(describe(removed, previous.keys))") }
            if old.threshold != new.threshold { lines.append("  \(r): threshold \(old.threshold) → \(new.threshold)") }
        }
        return lines.isEmpty ? ["no key or threshold changes from version \(previous.version)"] : ["changes from version \(previous.version):"] + lines
    }

    /// What a targets, snapshot or timestamp file says (shown before signing).
    public func describeContent(_ env: TUF1.Envelope) -> [String] {
        var lines: [String] = []
        if let targets = env.signed["targets"]?.objectValue {
            lines.append("\(targets.count) target(s)")
            for t in targets.prefix(20) {
                lines.append("  \(t.key): \(t.value["length"]?.intValue.map { "\($0) bytes" } ?? "?"), sha256 \(t.value["hashes"]?["sha256"]?.stringValue?.prefix(16) ?? "-")…")
            }
            if targets.count > 20 { lines.append("  … and \(targets.count - 20) more") }
            if let d = try? TUF1.delegations(env.signed, name: "targets") {
                for r in d.roles {
                    lines.append("delegates \(r.paths.joined(separator: ", ")) to \(r.name): threshold \(r.role.threshold) of \(describe(r.role.keyIDs, d.keys))")
                }
            }
        }
        if let meta = env.signed["meta"]?.objectValue {
            for m in meta { lines.append("names \(m.key) version \(m.value["version"]?.intValue ?? 0)") }
        }
        return lines
    }

    /// A root's keys and roles, for the summary shown before and after signing.
    public func describeRoot(_ env: TUF1.Envelope) -> [String] {
        guard let root = try? TUF1.Root(env.signed, name: "root") else { return [] }
        var lines = ["consistent_snapshot: \(root.consistentSnapshot)"]
        for r in TUF1.Root.roleNames {
            let role = root.role(r)
            lines.append("  \(r): threshold \(role.threshold) of \(role.keyIDs.count): \(describe(role.keyIDs, root.keys))")
        }
        return lines
    }

    // MARK: Repository changes

    /// The repository's current state (non-root files as the unversioned names hold them).
    struct State {
        var layout: TUF1.Layout
        var rootVersion: Int64
        var rootEnv: TUF1.Envelope
        var root: TUF1.Root
        var targets: TUF1.Envelope

        init(_ dir: String) throws(TrustVaultError) {
            layout = TUF1.Layout(dir)
            let l = try layout.latestRoot()
            rootVersion = l.version
            rootEnv = l.envelope
            root = l.root
            targets = try TUF1.Envelope.load(layout.path(role: "targets"))
            _ = try TUF1.commonFields(targets.signed, type: "targets", name: layout.path(role: "targets"))
        }
    }

    /// `env` with version+1 and a new expiry.
    func bumped(_ env: TUF1.Envelope, role: String, expires: [String: Int64] = [:]) -> TUF1.Envelope {
        var e = env
        e.signatures = []
        let v = env.version ?? 0
        e.signed["version"] = .integer(v >= 0 && v < TUF1.maximumVersion ? v + 1 : TUF1.maximumVersion)
        e.signed["expires"] = .string(TUF1.expiry(after: lifetime(role, expires), from: now))
        return e
    }

    /// Signs and writes changed targets-like files, then a new snapshot and timestamp where this
    /// vault holds their keys (otherwise says who must re-make them).
    func publish(
        _ state: State, changed: [(role: String, env: TUF1.Envelope, keys: [String: TUF1.Key], roleKeys: TUF1.RoleKeys)],
        removedRoles: [String] = [], extraMeta: [String: Int64] = [:], snapshot: Bool = true, timestamp: Bool = true, expires: [String: Int64] = [:],
        preWrites: [(path: String, bytes: [UInt8])] = [], out: inout Output
    ) throws(TrustVaultError) {
        let consistent = state.root.consistentSnapshot
        var ready: [(String, TUF1.Envelope)] = []
        for var c in changed {
            let used = try signWithVault(&c.env, keyIDs: c.roleKeys.keyIDs, keys: c.keys, limit: c.roleKeys.threshold)
            guard used.count >= c.roleKeys.threshold else {
                throw .notFound(
                    "the \(c.role) role's keys (\(describe(c.roleKeys.keyIDs, c.keys))) are not in this vault (threshold \(c.roleKeys.threshold))",
                    recovery: "run this on the machine that holds the \(c.role) key")
            }
            out.summary.append("\(c.role).json version \(c.env.version ?? 0): signed by \(describe(used, c.keys))")
            ready.append((c.role, c.env))
        }
        var snapEnv: TUF1.Envelope?
        var tsEnv: TUF1.Envelope?
        if snapshot {
            let current = try TUF1.Envelope.load(state.layout.path(role: "snapshot"))
            var s = bumped(current, role: "snapshot", expires: expires)
            var meta = s.signed["meta"] ?? .object([])
            // Every listed file at the version now in metadata/ (another holder may have changed
            // a delegated role since), then the files this command changed.
            for m in meta.objectValue ?? [] where m.key.hasSuffix(".json") {
                let path = state.layout.metadataDir + "/" + m.key
                guard AtomicFile.exists(path), let v = try? TUF1.Envelope.load(path).version,
                    v != m.value["version"]?.intValue, v <= TUF1.maximumVersion
                else { continue }
                meta[m.key] = .obj(["version": .integer(v)])
                out.notes.append("snapshot.json now names \(m.key) version \(v) (found in \(state.layout.metadataDir))")
            }
            for (role, env) in ready { meta[role + ".json"] = .obj(["version": .integer(env.version ?? 1)]) }
            for (role, v) in extraMeta { meta[role + ".json"] = .obj(["version": .integer(v)]) }
            for role in removedRoles { meta[role + ".json"] = nil }
            s.signed["meta"] = meta
            let used = try signWithVault(&s, keyIDs: state.root.role("snapshot").keyIDs, keys: state.root.keys, limit: state.root.role("snapshot").threshold)
            if used.count >= state.root.role("snapshot").threshold {
                out.summary.append("snapshot.json version \(s.version ?? 0): signed by \(describe(used, state.root.keys))")
                snapEnv = s
            } else {
                out.missing.append("snapshot.json and timestamp.json were not changed: the snapshot key (\(describe(state.root.role("snapshot").keyIDs, state.root.keys))) is not in this vault — the snapshot key's holder runs 'trustvault tuf refresh \(state.layout.dir) --roles snapshot' (or the online signer re-makes them)")
            }
        }
        if timestamp, snapshot ? snapEnv != nil : true {
            let current = try TUF1.Envelope.load(state.layout.path(role: "timestamp"))
            var t = bumped(current, role: "timestamp", expires: expires)
            var snapVersion: Int64 = 1
            if let v = snapEnv?.version { snapVersion = v } else { snapVersion = try TUF1.Envelope.load(state.layout.path(role: "snapshot")).version ?? 1 }
            var meta = t.signed["meta"] ?? .object([])
            meta["snapshot.json"] = .obj(["version": .integer(snapVersion)])
            t.signed["meta"] = meta
            let used = try signWithVault(&t, keyIDs: state.root.role("timestamp").keyIDs, keys: state.root.keys, limit: state.root.role("timestamp").threshold)
            if used.count >= state.root.role("timestamp").threshold {
                out.summary.append("timestamp.json version \(t.version ?? 0): signed by \(describe(used, state.root.keys))")
                tsEnv = t
            } else {
                out.missing.append("timestamp.json was not changed: the timestamp key is not in this vault — its holder runs 'trustvault tuf refresh \(state.layout.dir) --roles timestamp' (or the online signer makes one) for snapshot.json version \(snapVersion)")
            }
        }
        // Everything is signed: now the files, target files first, timestamp last.
        for w in preWrites {
            try AtomicFile.makeDirectories(AtomicFile.parent(of: w.path), mode: 0o755)
            try AtomicFile.write(w.bytes, to: w.path, mode: 0o644)
            out.written.append(w.path)
        }
        for (role, env) in ready { out.written += try state.layout.write(env, role: role, consistent: consistent) }
        if let snapEnv { out.written += try state.layout.write(snapEnv, role: "snapshot", consistent: consistent) }
        if let tsEnv { out.written += try state.layout.write(tsEnv, role: "timestamp", consistent: consistent) }
    }

    /// The target file as clients fetch it (`targets/<path>`, or `targets/<dir>/<sha256>.<name>`
    /// under consistent snapshots).
    static func targetPath(_ layout: TUF1.Layout, name: String, sha256: String, consistent: Bool) -> String {
        let path = layout.targetsDir + "/" + name
        guard consistent else { return path }
        return AtomicFile.parent(of: path) + "/" + sha256 + "." + AtomicFile.fileName(of: path)
    }

    static func checkTargetName(_ name: String) throws(TrustVaultError) {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), !name.contains("//"),
            !name.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }),
            name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && $0 != "\\" })
        else { throw .invalid("\"\(name)\" is not a usable target path", recovery: "use a relative path such as app/v1/file.tar.gz") }
    }

    /// The targets-like role `role` (`targets` or a role delegated from targets.json): its current
    /// file, keys and threshold, and the delegation (for its paths).
    func targetsRole(_ state: State, _ role: String) throws(TrustVaultError) -> (env: TUF1.Envelope, keys: [String: TUF1.Key], role: TUF1.RoleKeys, delegation: TUF1.Delegation?) {
        if role == "targets" { return (state.targets, state.root.keys(of: "targets"), state.root.role("targets"), nil) }
        let (dkeys, droles) = try TUF1.delegations(state.targets.signed, name: "targets.json")
        guard let del = droles.first(where: { $0.name == role }) else {
            throw .notFound("targets.json does not delegate to \(role)", recovery: "delegate it first with 'trustvault tuf delegate'")
        }
        var ks: [String: TUF1.Key] = [:]
        for id in del.role.keyIDs { ks[id] = dkeys[id] }
        return (try TUF1.Envelope.load(state.layout.path(role: role)), ks, del.role, del)
    }

    public func addTargets(dir: String, files: [String], pathPrefix: String?, role: String = "targets") throws(TrustVaultError) -> Output {
        let state = try State(dir)
        guard !files.isEmpty else { throw .invalid("give at least one FILE") }
        var prefix = pathPrefix ?? ""
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        let current = try targetsRole(state, role)
        var env = bumped(current.env, role: "targets")
        var entries = env.signed["targets"] ?? .object([])
        var copies: [(String, [UInt8])] = []
        var out = Output()
        for f in files {
            let bytes = try AtomicFile.read(f, kind: TUF1.targetFile)
            let name = prefix + AtomicFile.fileName(of: f)
            try Self.checkTargetName(name)
            if let d = current.delegation, !d.covers(name) {
                throw .invalid("target \(name) is outside the paths delegated to \(role) (\(d.paths.joined(separator: ", ")))",
                               recovery: "choose a --path-prefix the delegation covers")
            }
            let info = TUF1.fileInfo(bytes)
            entries[name] = .obj(["length": .integer(info.length), "hashes": .obj(["sha256": .string(info.sha256)])])
            copies.append((Self.targetPath(state.layout, name: name, sha256: info.sha256, consistent: state.root.consistentSnapshot), bytes))
            out.notes.append("target \(name): \(info.length) bytes, sha256 \(info.sha256)")
        }
        env.signed["targets"] = entries
        // Target files are written first (metadata never names a file that is not there), and
        // only once every signature is made (a wrong passphrase leaves DIR unchanged).
        try publish(state, changed: [(role, env, current.keys, current.role)], preWrites: copies.map { ($0.0, $0.1) }, out: &out)
        return out
    }

    public func removeTargets(dir: String, names: [String], role: String = "targets") throws(TrustVaultError) -> Output {
        let state = try State(dir)
        let current = try targetsRole(state, role)
        var env = bumped(current.env, role: "targets")
        var entries = env.signed["targets"] ?? .object([])
        for n in names {
            guard entries[n] != nil else { throw .notFound("\(role).json has no target \"\(n)\"") }
            entries[n] = nil
        }
        env.signed["targets"] = entries
        var out = Output()
        try publish(state, changed: [(role, env, current.keys, current.role)], out: &out)
        out.notes.append("the target files stay in \(state.layout.targetsDir) (older snapshots may name them); delete them when no client needs them")
        return out
    }

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

        var keys = state.root.keys
        var roles = state.root.roles
        roles[role] = TUF1.RoleKeys(keyIDs: resolved.map(\.id), threshold: t)
        for k in resolved { keys[k.id] = k.key }
        let inUse = Set(roles.values.flatMap(\.keyIDs))
        for id in keys.keys where !inUse.contains(id) { keys[id] = nil }
        var signed = state.rootEnv.signed
        signed["version"] = .integer(newVersion)
        signed["expires"] = .string(TUF1.expiry(after: lifetime("root", [:]), from: now))
        var keyJSON = JSONValue.object([])
        for (id, k) in keys.sorted(by: { $0.key < $1.key }) { keyJSON[id] = k.json }
        signed["keys"] = keyJSON
        var roleJSON = signed["roles"] ?? .object([])
        roleJSON[role] = .obj(["keyids": .array(resolved.map { .string($0.id) }), "threshold": .integer(Int64(t))])
        signed["roles"] = roleJSON
        var env = TUF1.Envelope(signed: signed)
        let newRoot = try TUF1.Root(signed, name: "\(newVersion).root.json")

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
                } else { continue }
                used.append(id)
            }
        }
        let oldStatus = env.thresholdStatus(state.root.role("root"), keys: state.root.keys)
        let newStatus = env.thresholdStatus(newRoot.role("root"), keys: newRoot.keys)
        out.summary.append("\(newVersion).root.json: \(role) keys now \(describe(resolved.map(\.id), keys)), threshold \(t)")
        out.summary.append("signed by \(used.isEmpty ? "no key in this vault" : describe(used, keys.merging(state.root.keys) { a, _ in a }))")
        out.summary.append("root threshold of version \(state.rootVersion): \(oldStatus.valid) of \(oldStatus.threshold); of version \(newVersion): \(newStatus.valid) of \(newStatus.threshold)")
        if oldStatus.valid < oldStatus.threshold {
            out.missing.append("\(oldStatus.threshold - oldStatus.valid) more signature(s) from version \(state.rootVersion)'s root keys: \(describe(oldStatus.missing, state.root.keys))")
        }
        if newStatus.valid < newStatus.threshold {
            out.missing.append("\(newStatus.threshold - newStatus.valid) more signature(s) from the new root keys: \(describe(newStatus.missing, newRoot.keys))")
        }
        if !out.missing.isEmpty {
            out.missing.append("each holder runs 'trustvault tuf sign \(state.layout.rootPath(newVersion)) --key KEYID'; clients refuse \(newVersion).root.json until then")
        }

        var sealed: [(PrivateKey, String, String?, Passphrase)] = []
        for (k, r) in fresh {
            let (vr, gun) = Self.vaultRole(for: r, name: repoName)
            sealed.append((k, vr, gun, try secrets.passphrase(for: .key(role: vr), creating: true)))
        }
        var added: [KeyRecord] = []
        do {
            for (k, vr, gun, pass) in sealed { added.append(try vault.add(k, role: vr, gun: gun, passphrase: pass)) }
            try AtomicFile.create(env.encoded, at: state.layout.rootPath(newVersion), mode: 0o644)
        } catch {
            for r in added { try? vault.remove(r) }
            throw error
        }
        out.written.append(state.layout.rootPath(newVersion))
        out.newVaultKeys = added
        for r in added { out.notes.append("new vault key \(r.id) (\(r.role)); in the metadata its TUF key ID is \(TUF1.Key(r.publicKey).defaultKeyID.prefix(12))") }

        // A rotated online role re-signs its file under the new root (when the new key is here).
        if role != "root" {
            var newState = state
            newState.root = newRoot
            newState.rootEnv = env
            newState.rootVersion = newVersion
            let hasNewKey = try held(resolved.map(\.key)) > 0
            if hasNewKey {
                switch role {
                case "targets":
                    try publish(newState, changed: [("targets", bumped(state.targets, role: "targets"), newRoot.keys(of: "targets"), newRoot.role("targets"))], out: &out)
                case "snapshot":
                    try publish(newState, changed: [], out: &out)
                default:
                    try publish(newState, changed: [], snapshot: false, out: &out)
                }
            } else {
                out.missing.append("\(role).json must be re-signed by the new \(role) key's holder after \(newVersion).root.json is complete")
            }
        }
        return out
    }

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
        var (dkeys, droles) = try TUF1.delegations(state.targets.signed, name: "targets.json")
        let del = TUF1.Delegation(name: role, role: TUF1.RoleKeys(keyIDs: resolved.map(\.id), threshold: t), paths: paths, terminating: terminating)
        if let i = droles.firstIndex(where: { $0.name == role }) { droles[i] = del } else { droles.append(del) }
        for k in resolved { dkeys[k.id] = k.key }
        env.signed["delegations"] = Self.delegationsJSON(keys: dkeys, roles: droles)

        var out = Output()
        var changed: [(role: String, env: TUF1.Envelope, keys: [String: TUF1.Key], roleKeys: TUF1.RoleKeys)] = [
            ("targets", env, state.root.keys(of: "targets"), state.root.role("targets"))
        ]
        var roleKeys: [String: TUF1.Key] = [:]
        for k in resolved { roleKeys[k.id] = k.key }
        let existing = AtomicFile.exists(state.layout.path(role: role)) ? try TUF1.Envelope.load(state.layout.path(role: role)) : nil
        var delEnv = existing.map { bumped($0, role: "targets") } ?? TUF1.Envelope(signed: .obj([
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
            out.missing.append("\(role).json needs \(t) signature(s) from \(describe(del.role.keyIDs, roleKeys)) — 'trustvault tuf sign \(state.layout.path(role: role)) --key KEYID'\(state.root.consistentSnapshot ? " (and the same for \(state.layout.path(role: role, version: delEnv.version ?? 1)))" : "")")
        }
        try publish(state, changed: changed, extraMeta: inVault >= t ? [:] : [role: delEnv.version ?? 1], preWrites: pre, out: &out)
        return out
    }

    public func undelegate(dir: String, role: String) throws(TrustVaultError) -> Output {
        let state = try State(dir)
        var env = bumped(state.targets, role: "targets")
        var (dkeys, droles) = try TUF1.delegations(state.targets.signed, name: "targets.json")
        guard droles.contains(where: { $0.name == role }) else { throw .notFound("targets.json does not delegate to \(role)") }
        droles.removeAll { $0.name == role }
        let inUse = Set(droles.flatMap(\.role.keyIDs))
        for id in dkeys.keys where !inUse.contains(id) { dkeys[id] = nil }
        env.signed["delegations"] = droles.isEmpty ? nil : Self.delegationsJSON(keys: dkeys, roles: droles)
        var out = Output()
        try publish(state, changed: [("targets", env, state.root.keys(of: "targets"), state.root.role("targets"))], removedRoles: [role], out: &out)
        return out
    }

    static func delegationsJSON(keys: [String: TUF1.Key], roles: [TUF1.Delegation]) -> JSONValue {
        var k = JSONValue.object([])
        for (id, key) in keys.sorted(by: { $0.key < $1.key }) { k[id] = key.json }
        return .obj(["keys": k, "roles": .array(roles.map(\.json))])
    }

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
        var working = state
        if roles.contains("root") {
            let v = state.rootVersion + 1
            var signed = state.rootEnv.signed
            signed["version"] = .integer(v)
            signed["expires"] = .string(TUF1.expiry(after: lifetime("root", expires), from: now))
            var env = TUF1.Envelope(signed: signed)
            let used = try signWithVault(&env, keyIDs: state.root.role("root").keyIDs, keys: state.root.keys)
            try AtomicFile.create(env.encoded, at: state.layout.rootPath(v), mode: 0o644)
            out.written.append(state.layout.rootPath(v))
            let s = env.thresholdStatus(state.root.role("root"), keys: state.root.keys)
            out.summary.append("\(v).root.json: expires \(env.expires?.display ?? "?"), signed by \(describe(used, state.root.keys)); root threshold \(s.valid) of \(s.threshold)")
            if s.valid < s.threshold {
                out.missing.append("\(s.threshold - s.valid) more root signature(s) from \(describe(s.missing, state.root.keys)) — 'trustvault tuf sign \(state.layout.rootPath(v)) --key KEYID'")
            }
            working.rootEnv = env
            working.rootVersion = v
        }
        var changed: [(role: String, env: TUF1.Envelope, keys: [String: TUF1.Key], roleKeys: TUF1.RoleKeys)] = []
        for r in roles where r != "root" && r != "snapshot" && r != "timestamp" {
            if r == "targets" {
                changed.append(("targets", bumped(state.targets, role: "targets", expires: expires), state.root.keys(of: "targets"), state.root.role("targets")))
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
            try publish(working, changed: changed, snapshot: snapshot, timestamp: timestamp, expires: expires, out: &out)
        }
        return out
    }
}
