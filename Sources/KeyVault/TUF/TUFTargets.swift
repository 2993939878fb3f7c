public import TrustCore
internal import Formats
internal import Metadata

/// `tuf add-targets` and `tuf remove-targets`.
extension TUFCeremonies {
    public func addTargets(dir: String, files: [String], pathPrefix: String?, role: String = "targets") throws(TrustVaultError) -> Output {
        var state = try State(dir) { unlockAhead(for: role, root: $0) }
        guard !files.isEmpty else { throw .invalid("give at least one FILE") }
        var prefix = pathPrefix ?? ""
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        var current = try targetsRole(state, role)
        if current.delegation != nil { unlockAhead([(current.role.keyIDs, current.keys, current.role.threshold)]) }
        var env = bumped(current.env, role: "targets")
        var entries: [TUF1.Transitions.TargetFile] = []
        var copies: [(String, [UInt8])] = []
        var out = Output()
        // The files are read and hashed on every core first; then taken in order, so the first
        // problem named is the one a single pass would name.
        let loaded = TUF1.parallelMap(files.count) { i -> Result<(bytes: [UInt8], length: Int64, sha256: String), TrustVaultError> in
            do throws(TrustVaultError) {
                let bytes = try AtomicFile.read(files[i], kind: TUF1.targetFile)
                let info = TUF1.fileInfo(bytes)
                return .success((bytes, info.length, info.sha256))
            } catch {
                return .failure(error)
            }
        }
        for (f, file) in zip(files, loaded) {
            let (bytes, length, sha256) = try file.get()
            let info = (length: length, sha256: sha256)
            let name = prefix + AtomicFile.fileName(of: f)
            try Self.checkTargetName(name)
            if let d = current.delegation, !d.covers(name) {
                throw .invalid(
                    "target \(name) is outside the paths delegated to \(role) (\(d.paths.joined(separator: ", ")))",
                    recovery: "choose a --path-prefix the delegation covers")
            }
            entries.append(TUF1.Transitions.TargetFile(name: name, length: info.length, sha256: info.sha256))
            copies.append((Self.targetPath(state.layout, name: name, sha256: info.sha256, consistent: state.root.consistentSnapshot), bytes))
            out.notes.append("target \(name): \(info.length) bytes, sha256 \(info.sha256)")
        }
        // Only the new file is needed from here on: the old one (11 MB of canonical bytes at
        // 100,000 targets) is let go as the new one is made, not kept beside it while the keys
        // sign and unlock.
        state.targets = TUF1.Envelope(signed: .null)
        current.env = TUF1.Envelope(signed: .null)
        env.signed = TUF1.Transitions.addingTargets(env.signed, entries)
        // Target files are written first (metadata never names a file that is not there), and
        // only once every signature is made (a wrong passphrase leaves DIR unchanged).
        var plan = TUFPlan()
        try publish(state, changed: [(role, env, current.keys, current.role)], preWrites: copies.map { ($0.0, $0.1) }, plan: &plan, out: &out)
        try commit(plan, layout: state.layout, out: &out)
        return out
    }

    public func removeTargets(dir: String, names: [String], role: String = "targets") throws(TrustVaultError) -> Output {
        let state = try State(dir) { unlockAhead(for: role, root: $0) }
        let current = try targetsRole(state, role)
        if current.delegation != nil { unlockAhead([(current.role.keyIDs, current.keys, current.role.threshold)]) }
        var env = bumped(current.env, role: "targets")
        env.signed = try TUF1.Transitions.removingTargets(env.signed, names, role: role)
        var out = Output()
        var plan = TUFPlan()
        try publish(state, changed: [(role, env, current.keys, current.role)], plan: &plan, out: &out)
        try commit(plan, layout: state.layout, out: &out)
        out.notes.append("the target files stay in \(state.layout.targetsDir) (older snapshots may name them); delete them when no client needs them")
        return out
    }
}
