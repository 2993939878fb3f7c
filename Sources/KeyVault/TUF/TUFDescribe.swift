internal import TrustCore
internal import Formats
public import Metadata

/// What the TUF ceremonies show before and after signing.
extension TUFCeremonies {
    func describe(_ keys: [String], _ all: [String: TUF1.Key]) -> String {
        keys.map { id in "\(id.prefix(12)) (\(all[id]?.scheme ?? "?"))" }.joined(separator: ", ")
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
                lines.append(
                    "  \(t.key): \(t.value["length"]?.intValue.map { "\($0) bytes" } ?? "?"), sha256 \(t.value["hashes"]?["sha256"]?.stringValue?.prefix(16) ?? "-")…"
                )
            }
            if targets.count > 20 { lines.append("  … and \(targets.count - 20) more") }
            if let d = try? TUF1.delegations(env.signed, name: "targets") {
                for r in d.roles {
                    lines.append(
                        "delegates \(r.paths.joined(separator: ", ")) to \(r.name): threshold \(r.role.threshold) of \(describe(r.role.keyIDs, d.keys))")
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
}
