public import TrustCore
public import Formats

// Delegation changes: add, remove, purge a key.
extension Transitions {
    // MARK: Delegations

    /// Adds a delegation role, or keys/paths to an existing one, in targets.json (v+1), signed
    /// by the targets key.
    public static func addDelegation(
        current: MetadataSet, role: String, keys: [TUFKey], paths: [String], allPaths: Bool, threshold: Int?,
        targetsSigner: any SigningKey, snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        guard DelegatedRole.isValidName(role), DelegatedRole.parent(of: role) == "targets" else {
            throw .invalid(
                "\"\(role)\" is not a delegation role trustvault can add",
                recovery: "use targets/<name> with lowercase letters, digits, '-' and '_' (for example targets/releases)")
        }
        guard !keys.isEmpty else { throw .invalid("no keys for \(role)", recovery: "pass --cert, --key-file or --key") }
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else {
            throw .notFound("targets.json is missing from the current metadata")
        }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        var notes: [String] = []
        for k in keys { targets.delegationKeys[k.id] = k }
        let newPaths = allPaths ? [""] : paths
        if let i = targets.delegations.firstIndex(where: { $0.name == role }) {
            var d = targets.delegations[i]
            for k in keys where !d.keyIDs.contains(k.id) { d.keyIDs.append(k.id) }
            for p in newPaths where !d.paths.contains(p) { d.paths.append(p) }
            if let threshold { d.threshold = threshold }
            targets.delegations[i] = d
        } else {
            if newPaths.isEmpty { notes.append("\(role) has no paths yet, so it cannot sign any tag; add --paths or --all-paths") }
            if current.files[role] != nil {
                notes.append(
                    "\(role).json from before the role was removed is still on the server; after this upload, check it with"
                        + " 'trustvault delegation review \(current.gun) \(role)' and give it a fresh file with 'delegation reset'")
            }
            targets.delegations.append(DelegatedRole(name: role, keyIDs: keys.map(\.id), threshold: threshold ?? 1, paths: newPaths))
        }
        if let d = targets.delegations.first(where: { $0.name == role }), d.threshold < 1 || d.threshold > d.keyIDs.count {
            throw .invalid("threshold \(d.threshold) for \(role) with \(d.keyIDs.count) key(s)", recovery: "use a threshold between 1 and the number of keys")
        }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }

    /// Removes a delegation role, or only some of its keys (by TUF or canonical ID or prefix).
    public static func removeDelegation(
        current: MetadataSet, role: String, keyIDs: [String], targetsSigner: any SigningKey,
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else { throw .notFound("targets.json is missing from the current metadata") }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        guard let i = targets.delegations.firstIndex(where: { $0.name == role }) else {
            throw .notFound(
                "targets.json has no delegation \(role)",
                recovery: "existing delegations: \(targets.delegations.map(\.name).joined(separator: ", "))")
        }
        var notes: [String] = []
        if keyIDs.isEmpty {
            targets.delegations.remove(at: i)
        } else {
            var d = targets.delegations[i]
            for wanted in keyIDs {
                let match = d.keyIDs.filter { id in
                    id.hasPrefix(wanted) || (targets.delegationKeys[id]?.displayID.hasPrefix(wanted) ?? false)
                }
                guard match.count == 1 else {
                    throw .notFound(
                        match.isEmpty ? "\(role) has no key \(wanted)" : "key prefix \(wanted) is ambiguous in \(role)")
                }
                d.keyIDs.removeAll { $0 == match[0] }
            }
            guard !d.keyIDs.isEmpty else {
                throw .invalid(
                    "removing \(keyIDs.joined(separator: ", ")) would leave \(role) without keys, so nobody could sign for it",
                    recovery: "remove the whole role instead: 'trustvault delegation remove \(current.gun) \(role)' without --key,"
                        + " or add its new key first with 'trustvault delegation add'")
            }
            if d.threshold > d.keyIDs.count {
                notes.append("\(role): threshold lowered from \(d.threshold) to \(d.keyIDs.count), the number of keys left")
                d.threshold = d.keyIDs.count
            }
            targets.delegations[i] = d
        }
        let used = Set(targets.delegations.flatMap(\.keyIDs))
        targets.delegationKeys = targets.delegationKeys.filter { used.contains($0.key) }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }

    /// Removes one key (TUF or canonical ID, or a unique prefix) from every delegation of
    /// targets.json, and from its key list, in one change. A role that would be left without keys
    /// is refused unless `removeEmptiedRoles`, which removes such roles whole.
    public static func purgeKey(
        current: MetadataSet, keyID wanted: String, removeEmptiedRoles: Bool, targetsSigner: any SigningKey,
        snapshotSigner: (any SigningKey)?, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, root) = try current.root()
        guard var (_, targets) = try current.targets() else { throw .notFound("targets.json is missing from the current metadata") }
        let tid = try targetsKeyID(of: targetsSigner, in: root, gun: current.gun)
        let matches = Set(targets.delegationKeys.values.filter { $0.id.hasPrefix(wanted) || $0.displayID.hasPrefix(wanted) }.map(\.id))
        guard !matches.isEmpty else {
            throw .notFound("no delegation of \(current.gun) lists key \(wanted)", recovery: "'trustvault inspect' lists the signers' keys")
        }
        guard Set(matches.compactMap { targets.delegationKeys[$0]?.displayID }).count == 1 else {
            throw .invalid("key prefix \(wanted) is ambiguous among the delegation keys", recovery: "give more digits")
        }
        var notes: [String] = []
        var emptied: [String] = []
        var kept: [DelegatedRole] = []
        for var d in targets.delegations {
            guard d.keyIDs.contains(where: matches.contains) else { kept.append(d); continue }
            d.keyIDs.removeAll(where: matches.contains)
            if d.keyIDs.isEmpty {
                emptied.append(d.name)
                continue
            }
            if d.threshold > d.keyIDs.count {
                notes.append("\(d.name): threshold lowered from \(d.threshold) to \(d.keyIDs.count), the number of keys left")
                d.threshold = d.keyIDs.count
            }
            notes.append("\(d.name): key removed")
            kept.append(d)
        }
        if !emptied.isEmpty {
            guard removeEmptiedRoles else {
                throw .invalid(
                    "purging the key would leave \(emptied.joined(separator: ", ")) without keys, so nobody could sign for \(emptied.count == 1 ? "it" : "them")",
                    recovery: "add --remove-emptied-roles to remove \(emptied.count == 1 ? "that role" : "those roles") whole, or add their new keys first")
            }
            for name in emptied { notes.append("\(name): removed (the purged key was its only key)") }
        }
        targets.delegations = kept
        let used = Set(kept.flatMap(\.keyIDs))
        targets.delegationKeys = targets.delegationKeys.filter { used.contains($0.key) }
        let nested = current.delegationRoles.filter { role in
            role.split(separator: "/").count > 2 && ((try? delegationKeys(of: role, in: current))?.keys.contains(where: matches.contains) ?? false)
        }
        if !nested.isEmpty {
            notes.append("the key also signs for nested roles \(nested.joined(separator: ", ")); their parents' keys must remove it there")
        }
        return try resign(
            targets, signer: targetsSigner, keyID: tid, current: current, root: root, snapshotSigner: snapshotSigner,
            now: now, notes: notes)
    }
}
