internal import TrustCore
internal import Formats
internal import Metadata

/// The frame of every change to an existing TUF repository: its state, the changed roles signed,
/// a new snapshot and timestamp, and the writes committed in one transaction.
extension TUFCeremonies {
    // MARK: Repository changes

    /// The repository's current state (non-root files as the unversioned names hold them).
    struct State {
        var layout: TUF1.Layout
        var rootVersion: Int64
        var rootEnv: TUF1.Envelope
        var root: TUF1.Root
        var targets: TUF1.Envelope

        /// `rootRead` is called with the root before targets.json is read (to start unlocking
        /// keys while it is).
        init(_ dir: String, rootRead: (TUF1.Root) -> Void = { _ in }) throws(TrustVaultError) {
            layout = TUF1.Layout(dir)
            let l = try layout.latestRoot()
            rootVersion = l.version
            rootEnv = l.envelope
            root = l.root
            rootRead(l.root)
            targets = try TUF1.Envelope.load(layout.path(role: "targets"))
            _ = try TUF1.commonFields(targets.signed, type: "targets", name: layout.path(role: "targets"))
        }
    }

    /// Starts unlocking (``unlockAhead(_:)``) the keys that sign a change of `role` (when the
    /// root names them: `targets`; a delegated role's keys are in targets.json) and the new
    /// snapshot and timestamp.
    func unlockAhead(for role: String, root: TUF1.Root) {
        var roles: [(keyIDs: [String], keys: [String: TUF1.Key], limit: Int)] = []
        for name in (role == "targets" ? ["targets"] : []) + ["snapshot", "timestamp"] {
            let r = root.role(name)
            roles.append((r.keyIDs, root.keys, r.threshold))
        }
        unlockAhead(roles)
    }

    /// `env` with version+1 and a new expiry.
    func bumped(_ env: TUF1.Envelope, role: String, expires: [String: Int64] = [:]) -> TUF1.Envelope {
        TUF1.Transitions.bumped(env, expires: TUF1.expiry(after: lifetime(role, expires), from: now))
    }

    /// A role changed by a ceremony, before it is signed: its new file and the keys that sign it.
    typealias Change = (role: String, env: TUF1.Envelope, keys: [String: TUF1.Key], roleKeys: TUF1.RoleKeys)

    /// Signs changed targets-like files, then a new snapshot and timestamp where this vault holds
    /// their keys (otherwise says who must re-make them); adds the files to `plan.writes` in the
    /// order they are written (`preWrites` first, timestamp last). Writes nothing itself.
    func publish(
        _ state: State, changed: [Change],
        removedRoles: [String] = [], extraMeta: [String: Int64] = [:], snapshot: Bool = true, timestamp: Bool = true, expires: [String: Int64] = [:],
        preWrites: [(path: String, bytes: [UInt8])] = [], fresh: [(PrivateKey, String)] = [], plan: inout TUFPlan, out: inout Output
    ) throws(TrustVaultError) {
        let consistent = state.root.consistentSnapshot
        var ready: [(String, TUF1.Envelope)] = []
        for var c in changed {
            let used = try signWithVault(&c.env, keyIDs: c.roleKeys.keyIDs, keys: c.keys, limit: c.roleKeys.threshold, extra: fresh)
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
            var versions: [(file: String, version: Int64?)] = []
            // Every listed file at the version now in metadata/ (another holder may have changed
            // a delegated role since), then the files this command changed (not read again: a
            // targets.json of 100,000 targets is 20 MB).
            let changedFiles = Set(ready.map { $0.0 + ".json" } + extraMeta.keys.map { $0 + ".json" } + removedRoles.map { $0 + ".json" })
            for m in s.signed["meta"]?.objectValue ?? [] where m.key.hasSuffix(".json") && !changedFiles.contains(m.key) {
                let path = state.layout.metadataDir + "/" + m.key
                guard AtomicFile.exists(path), let v = try? TUF1.Envelope.load(path).version,
                    v != m.value["version"]?.intValue, v <= TUF1.maximumVersion
                else { continue }
                versions.append((m.key, v))
                out.notes.append("snapshot.json now names \(m.key) version \(v) (found in \(state.layout.metadataDir))")
            }
            for (role, env) in ready { versions.append((role + ".json", env.version ?? 1)) }
            for (role, v) in extraMeta { versions.append((role + ".json", v)) }
            for role in removedRoles { versions.append((role + ".json", nil)) }
            s.signed = TUF1.Transitions.settingMeta(s.signed, versions)
            let used = try signWithVault(
                &s, keyIDs: state.root.role("snapshot").keyIDs, keys: state.root.keys, limit: state.root.role("snapshot").threshold, extra: fresh)
            if used.count >= state.root.role("snapshot").threshold {
                out.summary.append("snapshot.json version \(s.version ?? 0): signed by \(describe(used, state.root.keys))")
                snapEnv = s
            } else {
                out.missing.append(
                    "snapshot.json and timestamp.json were not changed: the snapshot key (\(describe(state.root.role("snapshot").keyIDs, state.root.keys))) is not in this vault — the snapshot key's holder runs 'trustvault tuf refresh \(state.layout.dir) --roles snapshot' (or the online signer re-makes them)"
                )
            }
        }
        if timestamp, snapshot ? snapEnv != nil : true {
            let current = try TUF1.Envelope.load(state.layout.path(role: "timestamp"))
            var t = bumped(current, role: "timestamp", expires: expires)
            var snapVersion: Int64 = 1
            if let v = snapEnv?.version { snapVersion = v } else { snapVersion = try TUF1.Envelope.load(state.layout.path(role: "snapshot")).version ?? 1 }
            t.signed = TUF1.Transitions.settingMeta(t.signed, [("snapshot.json", snapVersion)])
            let used = try signWithVault(
                &t, keyIDs: state.root.role("timestamp").keyIDs, keys: state.root.keys, limit: state.root.role("timestamp").threshold, extra: fresh)
            if used.count >= state.root.role("timestamp").threshold {
                out.summary.append("timestamp.json version \(t.version ?? 0): signed by \(describe(used, state.root.keys))")
                tsEnv = t
            } else {
                out.missing.append(
                    "timestamp.json was not changed: the timestamp key is not in this vault — its holder runs 'trustvault tuf refresh \(state.layout.dir) --roles timestamp' (or the online signer makes one) for snapshot.json version \(snapVersion)"
                )
            }
        }
        // Everything is signed: now the files, target files first, timestamp last.
        plan.writes += preWrites.map { TUFPlan.Write(path: $0.path, bytes: $0.bytes, isTargetFile: true) }
        for (role, env) in ready { plan.add(env, role: role, layout: state.layout, consistent: consistent) }
        if let snapEnv { plan.add(snapEnv, role: "snapshot", layout: state.layout, consistent: consistent) }
        if let tsEnv { plan.add(tsEnv, role: "timestamp", layout: state.layout, consistent: consistent) }
    }

    /// Commits `plan` to the repository in `layout` in one ``CeremonyTransaction``: new vault keys
    /// first, then every file, the metadata built in a staging copy of `metadata/` that replaces
    /// it in one step. On any failure the vault and the repository are left as they were.
    func commit(_ plan: TUFPlan, layout: TUF1.Layout, out: inout Output) throws(TrustVaultError) {
        var written: [String] = []
        var added: [KeyRecord] = []
        try CeremonyTransaction.run(vault: vault) { (t: CeremonyTransaction) throws(TrustVaultError) in
            for d in plan.directories { try t.makeDirectories(d, mode: 0o755) }
            try t.stage(layout.metadataDir)
            for k in plan.newKeys { added.append(try t.addKey(k.key, role: k.role, gun: k.gun, passphrase: k.passphrase)) }
            // Target files (before any metadata) in one batch: one flush for all of them.
            let targetFiles = plan.writes.prefix { $0.isTargetFile }
            try t.write(files: targetFiles.map { ($0.path, $0.bytes) })
            written += targetFiles.map(\.path)
            for w in plan.writes.dropFirst(targetFiles.count) {
                if w.createOnly { try t.create(w.bytes, at: w.path) } else { try t.write(w.bytes, to: w.path) }
                written.append(w.path)
            }
        }
        out.written += written
        out.newVaultKeys += added
    }

    /// The target file as clients fetch it (`targets/<path>`, or `targets/<dir>/<sha256>.<name>`
    /// under consistent snapshots).
    static func targetPath(_ layout: TUF1.Layout, name: String, sha256: String, consistent: Bool) -> String {
        let path = layout.targetsDir + "/" + name
        guard consistent else { return path }
        return AtomicFile.parent(of: path) + "/" + sha256 + "." + AtomicFile.fileName(of: path)
    }

    /// A usable target path: parts between slashes, none empty, `.` or `..`; no control
    /// character, DEL or backslash. One pass over the bytes (10,000 new targets at a time).
    static func checkTargetName(_ name: String) throws(TrustVaultError) {
        var bytes = name
        let usable = bytes.withUTF8 { p -> Bool in
            guard !p.isEmpty else { return false }
            var partStart = 0
            for k in 0...p.count {
                if k < p.count {
                    let c = p[k]
                    if c < 0x20 || c == 0x7F || c == UInt8(ascii: "\\") { return false }
                    if c != UInt8(ascii: "/") { continue }
                }
                let n = k - partStart
                guard n > 0 else { return false }
                let dot = UInt8(ascii: ".")
                if p[partStart] == dot, n == 1 || (n == 2 && p[partStart + 1] == dot) { return false }
                partStart = k + 1
            }
            return true
        }
        guard usable else { throw .invalid("\"\(name)\" is not a usable target path", recovery: "use a relative path such as app/v1/file.tar.gz") }
    }

    /// The targets-like role `role` (`targets` or a role delegated from targets.json): its current
    /// file, keys and threshold, and the delegation (for its paths).
    func targetsRole(_ state: State, _ role: String) throws(TrustVaultError) -> (
        env: TUF1.Envelope, keys: [String: TUF1.Key], role: TUF1.RoleKeys, delegation: TUF1.Delegation?
    ) {
        if role == "targets" { return (state.targets, state.root.keys(of: "targets"), state.root.role("targets"), nil) }
        let (dkeys, droles) = try TUF1.delegations(state.targets.signed, name: "targets.json")
        guard let del = droles.first(where: { $0.name == role }) else {
            throw .notFound("targets.json does not delegate to \(role)", recovery: "delegate it first with 'trustvault tuf delegate'")
        }
        var ks: [String: TUF1.Key] = [:]
        for id in del.role.keyIDs { ks[id] = dkeys[id] }
        return (try TUF1.Envelope.load(state.layout.path(role: role)), ks, del.role, del)
    }
}

/// What a TUF ceremony writes, worked out (and signed) before anything is written.
struct TUFPlan {
    struct Write {
        var path: String
        var bytes: [UInt8]
        /// Refuse to replace an existing file (a new root version).
        var createOnly = false
        /// A target file, written before any metadata (``CeremonyTransaction/write(files:mode:)``).
        var isTargetFile = false
    }
    var writes: [Write] = []
    /// Directories made first (the repository's `targets/`).
    var directories: [String] = []
    /// Keys sealed into the vault before any file is written.
    var newKeys: [(key: PrivateKey, role: String, gun: String?, passphrase: Passphrase)] = []

    /// A non-root role's file, and its versioned copy under consistent snapshots (as `TUF1.Layout.write`).
    mutating func add(_ env: TUF1.Envelope, role: String, layout: TUF1.Layout, consistent: Bool) {
        if consistent, role != "timestamp", let v = env.version { writes.append(Write(path: layout.path(role: role, version: v), bytes: env.encoded)) }
        writes.append(Write(path: layout.path(role: role), bytes: env.encoded))
    }
}
