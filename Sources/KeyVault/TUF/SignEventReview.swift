internal import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore

/// What a signing event changes, in words (`TUFSignEvent.plan` shows it before any key is unlocked).
extension TUFSignEvent {
    // MARK: Describing

    func describe(_ plan: Plan, knownFiles: [String: [UInt8]], knownRoot: TUF1.Root, knownRootSigned: JSONValue, knownTargets: TUF1.Envelope?) -> [String] {
        var lines: [String] = []
        lines.append(
            "Known-good root: version \(knownRoot.version), root threshold \(knownRoot.role("root").threshold) of \(knownRoot.role("root").keyIDs.count) (verified)"
        )
        for w in plan.roles {
            let old: TUF1.Envelope? = w.role == "root" ? nil : knownFiles[w.role + ".json"].flatMap { try? Self.envelope($0, name: w.role).1 }
            let oldVersion = w.role == "root" ? knownRoot.version : old?.version
            lines.append(
                "\(w.role): version \(oldVersion.map(String.init) ?? "(new role)") → \(w.envelope.version ?? 0), expires \(w.envelope.expires?.display ?? "?")")
            if w.role == "root" {
                lines += rootChanges(from: knownRoot, oldSigned: knownRootSigned, to: w)
            } else {
                lines += periodChanges(old: old?.signed, new: w.envelope.signed, indent: "  ")
                lines += targetsChanges(old: old, new: w.envelope)
            }
            lines += otherFieldChanges(old: w.role == "root" ? knownRootSigned : old?.signed, new: w.envelope.signed, role: w.role)
            // Signatures present, checked.
            let all = w.allKeys
            let ids = Array(Set(w.roleKeys.keyIDs + (w.previous?.roleKeys.keyIDs ?? [])))
            let checks = Dictionary(w.envelope.signatureChecks(ids, keys: all).map { ($0.keyID, $0.check) }) { a, _ in a }
            var present: [String] = []
            for s in w.envelope.signatures where !s.hex.isEmpty {
                let who = Self.ownerName(s.keyID, all)
                switch checks[s.keyID] {
                case .valid?: present.append("\(who): valid")
                case .mismatch?: present.append("\(who): DOES NOT VERIFY (not counted)")
                case .unreadableKey(let why)?: present.append("\(who): key not readable by trustvault (\(why))")
                case .unreadableSignature(let why)?: present.append("\(who): unreadable signature (\(why))")
                case nil: present.append("key \(s.keyID.prefix(12)): not a key of \(w.role) (not counted)")
                }
            }
            lines.append("  signatures present: \(present.isEmpty ? "none" : present.joined(separator: "; "))")
            if !w.signAs.isEmpty {
                lines.append("  this key signs as: \(w.signAs.map { Self.describeKey($0, all) }.joined(separator: ", "))")
            } else if !w.listedAs.isEmpty {
                lines.append("  already signed by this key")
            }
        }
        return lines
    }

    func rootChanges(from old: TUF1.Root, oldSigned: JSONValue, to w: RoleWork) -> [String] {
        guard let new = try? TUF1.Root(w.envelope.signed, name: w.path) else { return [] }
        var lines: [String] = []
        lines += periodChanges(old: oldSigned, new: w.envelope.signed, indent: "  ")
        for r in TUF1.Root.roleNames {
            let o = old.role(r), n = new.role(r)
            let added = n.keyIDs.filter { !o.keyIDs.contains($0) }
            let removed = o.keyIDs.filter { !n.keyIDs.contains($0) }
            for id in added { lines.append("  \(r): key added: \(Self.describeKey(id, new.keys))") }
            for id in removed { lines.append("  \(r): key removed: \(Self.describeKey(id, old.keys))") }
            if o.threshold != n.threshold { lines.append("  \(r): threshold \(o.threshold) → \(n.threshold) (of \(n.keyIDs.count))") }
            lines += periodChanges(old: oldSigned["roles"]?[r], new: w.envelope.signed["roles"]?[r], indent: "  \(r): ")
        }
        if old.consistentSnapshot != new.consistentSnapshot {
            lines.append("  consistent_snapshot \(old.consistentSnapshot) → \(new.consistentSnapshot)")
        }
        if lines.isEmpty { lines.append("  no key, threshold or period changes") }
        return lines
    }

    /// `x-tuf-on-ci-expiry-period` / `-signing-period` (days) of a role.
    func periodChanges(old oldSigned: JSONValue?, new: JSONValue?, indent: String) -> [String] {
        var lines: [String] = []
        for (field, label) in [(Self.expiryField, "expiry period"), (Self.signingField, "signing period")] {
            let o = oldSigned?[field]?.intValue, n = new?[field]?.intValue
            guard o != n else { continue }
            lines.append("\(indent)\(label) \(o.map { "\($0) days" } ?? "unset") → \(n.map { "\($0) days" } ?? "unset")")
        }
        return lines
    }

    func targetsChanges(old: TUF1.Envelope?, new: TUF1.Envelope) -> [String] {
        var lines: [String] = []
        let oldT = Dictionary((old?.signed["targets"]?.objectValue ?? []).map { ($0.key, $0.value) }) { a, _ in a }
        let newT = new.signed["targets"]?.objectValue ?? []
        func info(_ v: JSONValue) -> String {
            let len = v["length"]?.intValue.map { "\($0) bytes" } ?? "? bytes"
            let hashes = (v["hashes"]?.objectValue ?? []).map { "\($0.key) \($0.value.stringValue?.prefix(16) ?? "?")…" }
            return ([len] + hashes).joined(separator: ", ")
        }
        for t in newT {
            if let o = oldT[t.key] {
                if o != t.value { lines.append("  target changed: \(t.key): \(info(t.value)) (was \(info(o)))") }
            } else {
                lines.append("  target added: \(t.key): \(info(t.value))")
            }
        }
        let newNames = Set(newT.map(\.key))
        for (name, v) in oldT.sorted(by: { $0.key < $1.key }) where !newNames.contains(name) { lines.append("  target removed: \(name) (was \(info(v)))") }
        // Delegations.
        let od = old.flatMap { try? TUF1.delegations($0.signed, name: "targets") }
        let nd = try? TUF1.delegations(new.signed, name: "targets")
        let oldRoles = Dictionary((od?.roles ?? []).map { ($0.name, $0) }) { a, _ in a }
        for r in nd?.roles ?? [] {
            let who = r.role.keyIDs.map { Self.ownerName($0, nd?.keys ?? [:]) }.joined(separator: ", ")
            if let o = oldRoles[r.name] {
                let was = o.role.keyIDs.map { Self.ownerName($0, od?.keys ?? [:]) }.joined(separator: ", ")
                if o.role != r.role || o.paths != r.paths || o.terminating != r.terminating {
                    lines.append(
                        "  delegation changed: \(r.name): \(r.role.threshold) of [\(who)], paths \(r.paths.joined(separator: " ")) (was \(o.role.threshold) of [\(was)], paths \(o.paths.joined(separator: " ")))"
                    )
                }
            } else {
                lines.append("  delegation added: \(r.name): \(r.role.threshold) of [\(who)], paths \(r.paths.joined(separator: " "))")
            }
        }
        let newRoles = Set((nd?.roles ?? []).map(\.name))
        for name in oldRoles.keys.sorted() where !newRoles.contains(name) { lines.append("  delegation removed: \(name)") }
        if lines.isEmpty, old != nil { lines.append("  no target or delegation changes") }
        return lines
    }

    /// Fields of `signed` other than those described above that differ (named, never dropped).
    func otherFieldChanges(old: JSONValue?, new: JSONValue, role: String) -> [String] {
        guard let old else { return [] }
        let described: Set<String> = [
            "_type", "version", "expires", "spec_version", "targets", "delegations", "keys", "roles",
            "consistent_snapshot", Self.expiryField, Self.signingField,
        ]
        var lines: [String] = []
        let o = Dictionary((old.objectValue ?? []).map { ($0.key, $0.value) }) { a, _ in a }
        var seen: Set<String> = []
        for m in new.objectValue ?? [] where !described.contains(m.key) {
            seen.insert(m.key)
            if o[m.key] != m.value { lines.append("  field \(m.key) \(o[m.key] == nil ? "added" : "changed"): \(String(m.value.canonicalString.prefix(80)))") }
        }
        for k in o.keys.sorted() where !described.contains(k) && !seen.contains(k) { lines.append("  field \(k) removed") }
        return lines
    }
}
