public import TrustCore
internal import Formats
internal import Metadata

/// `tuf sign`: one key holder adds a signature to a metadata file.
extension TUFCeremonies {
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
            throw .invalid(
                "\(file) is a \(type) file outside a repository's metadata/ directory",
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
        out.summary.append(
            "\(AtomicFile.fileName(of: file)): \(type) \(ctx.role == type ? "" : "(\(ctx.role)) ")version \(env.version ?? 0), expires \(env.expires?.display ?? "?")"
        )
        if type == "root" { out.summary += describeRoot(env) } else { out.summary += describeContent(env) }
        if let prev = ctx.previous {
            let p = env.thresholdStatus(prev.role, keys: prev.keys)
            out.summary.append(
                "previous root version \(prev.version): threshold \(p.threshold) of \(prev.role.keyIDs.count) (\(describe(prev.role.keyIDs, prev.keys)))")
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
            out.summary.append(
                "root threshold of version \(prev.version) (clients that trust it): \(p.valid) of \(p.threshold)\(p.valid >= p.threshold ? " — met" : "")")
            if p.valid < p.threshold {
                out.missing.append("\(p.threshold - p.valid) more signature(s) from version \(prev.version)'s root keys: \(describe(p.missing, prev.keys))")
            }
        }
        return out
    }
}
