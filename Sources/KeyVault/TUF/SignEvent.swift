public import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore

/// An offline key holder's part in a tuf-on-ci signing event (`trustvault tuf sign-event`).
///
/// tuf-on-ci keeps a repository's offline metadata in git: `metadata/root.json`,
/// `metadata/targets.json`, `metadata/<role>.json` and `metadata/root_history/N.root.json`. A
/// signing event is a branch that changes some of them; every changed file carries an empty
/// signature (`"sig": ""`) for each key expected to sign it, and each key owner
/// (`x-tuf-on-ci-keyowner` on the key) adds theirs. A role counts as changed when its file differs
/// from the known-good one (the main branch); a key owner must sign it when one of the owner's
/// keys is listed for the role, and for root also when the owner held a key of the previous root.
///
/// ``plan(event:previous:key:)`` reads and verifies both directories and the vault key and says
/// what changed, in words, before any passphrase or PIN is asked for; ``sign(_:)`` then adds the
/// signatures and writes each file back in tuf-on-ci's own JSON form (``EventJSON``), so the git
/// diff shows only the new signatures. Every field trustvault does not know is kept.
public struct TUFSignEvent: Sendable {
    public let vault: Vault
    public let secrets: SecretSource

    public init(vault: Vault, secrets: SecretSource) {
        self.vault = vault
        self.secrets = secrets
    }

    /// At most this many files in an event's `metadata/` (and in `root_history/`).
    public static let maximumFiles = 10_000
    static let ownerField = "x-tuf-on-ci-keyowner"
    static let onlineField = "x-tuf-on-ci-online-uri"
    static let expiryField = "x-tuf-on-ci-expiry-period"
    static let signingField = "x-tuf-on-ci-signing-period"

    /// One changed role of the event.
    struct RoleWork: Sendable {
        var role: String
        var path: String
        var originalBytes: [UInt8]
        /// The whole file as parsed (unknown top-level fields and signature fields kept).
        var document: JSONValue
        var envelope: TUF1.Envelope
        /// The role's keys as its delegator in the event lists them.
        var keys: [String: TUF1.Key]
        var roleKeys: TUF1.RoleKeys
        /// Root only: the known-good root's root role (both thresholds apply).
        var previous: (keys: [String: TUF1.Key], roleKeys: TUF1.RoleKeys, version: Int64)?
        /// The entries (key IDs) that are this vault key.
        var listedAs: [String] = []
        /// Those of them without a valid signature yet: what this key signs.
        var signAs: [String] = []
        var allKeys: [String: TUF1.Key] { keys.merging(previous?.keys ?? [:]) { a, _ in a } }
    }

    /// What ``plan(event:previous:key:)`` found: shown to the holder before signing.
    public struct Plan: Sendable {
        public let event: String
        public let known: String
        public let record: KeyRecord
        /// The key owner(s) the vault key is listed as.
        public internal(set) var owners: [String]
        /// What changed, role by role, and the signatures present: computed from verified data.
        public var lines: [String] = []
        public var notes: [String] = []
        var roles: [RoleWork] = []

        /// The roles this key signs, in order.
        public var rolesToSign: [String] { roles.filter { !$0.signAs.isEmpty }.map(\.role) }
        /// Whether the key has signed everything it must already.
        public var alreadySigned: Bool { rolesToSign.isEmpty }
    }

    public struct Result: Sendable {
        public var written: [String] = []
        public var summary: [String] = []
        /// Who must still sign what, by owner name.
        public var missing: [String] = []
        public var notes: [String] = []
    }

    // MARK: Reading

    static func owner(_ key: TUF1.Key?) -> String? {
        guard let key else { return nil }
        return key.json[ownerField]?.stringValue ?? key.json[onlineField]?.stringValue.map { "online signer \($0)" }
    }

    static func ownerName(_ id: String, _ keys: [String: TUF1.Key]) -> String {
        owner(keys[id]) ?? "key \(id.prefix(12)) (no \(ownerField))"
    }

    static func describeKey(_ id: String, _ keys: [String: TUF1.Key]) -> String {
        "\(id.prefix(12)) (\(owner(keys[id]) ?? "no owner named"), \(keys[id]?.scheme ?? "?"))"
    }

    /// The `.json` files directly in `dir`, name → bytes, read through the input gate.
    static func readDirectory(_ dir: String, what: String) throws(TrustVaultError) -> [String: [UInt8]] {
        guard AtomicFile.exists(dir) else {
            throw .notFound("\(dir) does not exist", recovery: "give the \(what) metadata/ directory (a checkout of the repository)")
        }
        guard AtomicFile.isDirectory(dir) else {
            throw .invalid("\(dir) is not a directory", recovery: "give the \(what) metadata/ directory, not a file in it")
        }
        let names = try AtomicFile.list(dir)
        guard names.count <= maximumFiles else {
            throw .corrupt("\(dir) holds \(names.count) entries; a signing event's metadata/ has at most \(maximumFiles)")
        }
        var out: [String: [UInt8]] = [:]
        for name in names where name.hasSuffix(".json") && name.count > 5 {
            let path = dir + "/" + name
            if AtomicFile.isDirectory(path) { continue }
            out[name] = try AtomicFile.read(path, kind: .metadata)
        }
        return out
    }

    static func envelope(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> (JSONValue, TUF1.Envelope) {
        let doc: JSONValue
        do { doc = try JSONValue(parsing: bytes) } catch { throw error.located(name) }
        return (doc, try TUF1.Envelope(parsing: bytes, name: name))
    }

    /// Checks that `env` meets `role`'s threshold with `keys`; names what failed, telling a key
    /// trustvault cannot read apart from a signature that does not match.
    static func requireThreshold(
        _ env: TUF1.Envelope, role: TUF1.RoleKeys, keys: [String: TUF1.Key], file: String, what: String
    ) throws(TrustVaultError) {
        let checks = env.signatureChecks(role.keyIDs, keys: keys)
        let valid = Set(checks.filter { $0.check == .valid }.map(\.keyID))
        guard valid.count < role.threshold else { return }
        for c in checks {
            if case .unreadableKey(let why) = c.check {
                throw .unsupported("\(file): key \(c.keyID.prefix(12)) of \(what) cannot be read by trustvault: \(why)")
            }
        }
        throw .verification(
            "\(file): \(valid.count) valid signature(s) from \(what), \(role.threshold) required",
            recovery: "this known-good metadata does not verify; check out the repository's main branch again and compare with the published copy")
    }

    /// The known-good root, verified: through `root_history/` from its oldest file up to
    /// `root.json` (each version signed by the threshold of the one before and its own).
    static func verifiedKnownRoot(_ known: String, files: [String: [UInt8]], notes: inout [String]) throws(TrustVaultError) -> (TUF1.Root, TUF1.Envelope) {
        let rootPath = known + "/root.json"
        guard let bytes = files["root.json"] else {
            throw .notFound(
                "\(rootPath) does not exist", recovery: "--previous names the known-good metadata/ directory (the main branch), which holds root.json")
        }
        let (_, env) = try envelope(bytes, name: rootPath)
        let root = try TUF1.Root(env.signed, name: rootPath)
        let historyDir = known + "/root_history"
        var chain: [(Int64, String, TUF1.Envelope, TUF1.Root)] = []
        if AtomicFile.isDirectory(historyDir) {
            let names = try AtomicFile.list(historyDir)
            guard names.count <= maximumFiles else { throw .corrupt("\(historyDir) holds \(names.count) entries, more than \(maximumFiles)") }
            var versions: [(Int64, String)] = []
            for n in names where n.hasSuffix(".root.json") {
                guard let v = Int64(n.dropLast(".root.json".count)), v >= 1, v <= TUF1.maximumVersion else { continue }
                versions.append((v, historyDir + "/" + n))
            }
            versions.sort { $0.0 < $1.0 }
            for (v, path) in versions {
                let (_, e) = try envelope(try AtomicFile.read(path, kind: .metadata), name: path)
                let r = try TUF1.Root(e.signed, name: path)
                guard r.version == v else { throw .corrupt("\(path) holds root version \(r.version), not \(v)") }
                chain.append((v, path, e, r))
            }
        }
        guard let first = chain.first else {
            try requireThreshold(env, role: root.role("root"), keys: root.keys, file: rootPath, what: "its own root keys")
            notes.append("\(known) has no root_history/: only root.json's own signatures were checked")
            return (root, env)
        }
        try requireThreshold(first.2, role: first.3.role("root"), keys: first.3.keys, file: first.1, what: "its own root keys")
        var trusted = first
        for next in chain.dropFirst() {
            guard next.0 == trusted.0 + 1 else {
                throw .corrupt(
                    "\(historyDir) has no \(trusted.0 + 1).root.json between versions \(trusted.0) and \(next.0)",
                    recovery: "every root version must be present to follow the chain")
            }
            try requireThreshold(next.2, role: trusted.3.role("root"), keys: trusted.3.keys, file: next.1, what: "version \(trusted.0)'s root keys")
            try requireThreshold(next.2, role: next.3.role("root"), keys: next.3.keys, file: next.1, what: "its own root keys")
            trusted = next
        }
        guard trusted.0 == root.version, TUF1.Canonical.bytes(trusted.2.signed) == env.canonicalSigned else {
            throw .verification(
                "\(rootPath) (version \(root.version)) is not the newest root of \(historyDir) (version \(trusted.0))",
                recovery: "tuf-on-ci writes both; check out the known-good metadata again")
        }
        // root.json carries the same signed part; its own signatures must hold too.
        try requireThreshold(env, role: root.role("root"), keys: root.keys, file: rootPath, what: "its own root keys")
        if first.0 > 1 { notes.append("root chain followed from \(first.1) (version \(first.0)), the oldest file in \(historyDir)") }
        return (root, env)
    }

    // MARK: Plan

    /// Reads both directories, verifies the known-good state, finds the changed roles and which of
    /// them `key` must sign. Asks for no secret.
    public func plan(event: String, previous known: String, key keySpec: String) throws(TrustVaultError) -> Plan {
        let eventFiles = try Self.readDirectory(event, what: "signing event's")
        let knownFiles = try Self.readDirectory(known, what: "known-good")
        guard eventFiles["root.json"] != nil else {
            throw .notFound("\(event)/root.json does not exist", recovery: "EVENT is the signing event's metadata/ directory")
        }
        // Changed roles: files that differ from (or are missing in) the known-good directory.
        var changed: [String] = []
        for (name, bytes) in eventFiles.sorted(by: { $0.key < $1.key }) where knownFiles[name] != bytes {
            let role = String(name.dropLast(5))
            if role == "timestamp" || role == "snapshot" {
                throw .corrupt(
                    "\(event)/\(name) differs from \(known)/\(name): online roles never change in a signing event",
                    recovery: "the event branch is not as tuf-on-ci makes it; ask its author")
            }
            changed.append(role)
        }
        changed.sort { (a, b) in
            let rank = ["root": 0, "targets": 1]
            return (rank[a] ?? 2, a) < (rank[b] ?? 2, b)
        }
        guard !changed.isEmpty else {
            throw .invalid(
                "\(event) and \(known) hold the same metadata: this signing event changes nothing",
                recovery: "EVENT is the event branch's metadata/, --previous the main branch's")
        }

        var notes: [String] = []
        let (knownRoot, knownRootEnv) = try Self.verifiedKnownRoot(known, files: knownFiles, notes: &notes)

        // The event's root and targets (the delegators); unchanged files are the verified known ones.
        let eventRootPath = event + "/root.json"
        let (_, eventRootEnv) = try Self.envelope(eventFiles["root.json"]!, name: eventRootPath)
        let eventRoot = try TUF1.Root(eventRootEnv.signed, name: eventRootPath)
        var knownTargets: TUF1.Envelope?
        if let kt = knownFiles["targets.json"] {
            let path = known + "/targets.json"
            let (_, env) = try Self.envelope(kt, name: path)
            _ = try TUF1.commonFields(env.signed, type: "targets", name: path)
            try Self.requireThreshold(
                env, role: knownRoot.role("targets"), keys: knownRoot.keys(of: "targets"), file: path, what: "the targets keys of the known-good root")
            knownTargets = env
        }
        var eventTargets: TUF1.Envelope?
        if let et = eventFiles["targets.json"] {
            eventTargets = try Self.envelope(et, name: event + "/targets.json").1
        }

        // The vault key.
        let record = try signingRecord(
            keySpec, keys: [eventRoot.keys, knownRoot.keys, eventTargets.flatMap { try? TUF1.delegations($0.signed, name: "targets.json").keys } ?? [:]])

        var plan = Plan(event: event, known: known, record: record, owners: [])
        plan.notes = notes
        var owners: [String] = []
        for role in changed {
            let name = role + ".json"
            let path = event + "/" + name
            let bytes = eventFiles[name]!
            let (doc, env) = try Self.envelope(bytes, name: path)
            var work: RoleWork
            switch role {
            case "root":
                work = RoleWork(
                    role: role, path: path, originalBytes: bytes, document: doc, envelope: env,
                    keys: eventRoot.keys, roleKeys: eventRoot.role("root"),
                    previous: (knownRoot.keys, knownRoot.role("root"), knownRoot.version))
                guard eventRoot.version == knownRoot.version + 1 else {
                    throw .corrupt(
                        "\(path) has version \(eventRoot.version); after the known-good version \(knownRoot.version) it must be \(knownRoot.version + 1)",
                        recovery: "clients follow roots one version at a time; ask the event's author to fix the version")
                }
            case "targets":
                _ = try TUF1.commonFields(env.signed, type: "targets", name: path)
                work = RoleWork(
                    role: role, path: path, originalBytes: bytes, document: doc, envelope: env,
                    keys: eventRoot.keys(of: "targets"), roleKeys: eventRoot.role("targets"))
            default:
                guard let delegator = eventTargets, let d = try? TUF1.delegations(delegator.signed, name: event + "/targets.json"),
                    let del = d.roles.first(where: { $0.name == role })
                else {
                    plan.notes.append("\(name) changed, but \(event)/targets.json delegates no role \(role): nobody signs it in this event")
                    continue
                }
                _ = try TUF1.commonFields(env.signed, type: "targets", name: path)
                var keys: [String: TUF1.Key] = [:]
                for id in del.role.keyIDs { keys[id] = d.keys[id] }
                work = RoleWork(role: role, path: path, originalBytes: bytes, document: doc, envelope: env, keys: keys, roleKeys: del.role)
            }
            // A delegated role's known-good file (the base of what is shown) must verify under the
            // known-good targets' delegation.
            if role != "root", role != "targets", let oldBytes = knownFiles[name] {
                let oldPath = known + "/" + name
                guard let kt = knownTargets, let d = try? TUF1.delegations(kt.signed, name: known + "/targets.json"),
                    let del = d.roles.first(where: { $0.name == role })
                else {
                    throw .verification(
                        "\(oldPath) is not delegated by \(known)/targets.json, so it cannot be verified",
                        recovery: "check out the known-good metadata again")
                }
                var keys: [String: TUF1.Key] = [:]
                for id in del.role.keyIDs { keys[id] = d.keys[id] }
                try Self.requireThreshold(
                    try Self.envelope(oldBytes, name: oldPath).1, role: del.role, keys: keys, file: oldPath,
                    what: "the keys \(known)/targets.json delegates \(role) to")
            }
            if role != "root", let old = knownFiles[name].flatMap({ try? Self.envelope($0, name: known + "/" + name).1 }),
                let ov = old.version, let nv = env.version, nv <= ov
            {
                throw .corrupt(
                    "\(path) has version \(nv), not newer than the known-good version \(ov)",
                    recovery: "clients refuse a version that does not grow; ask the event's author to fix it")
            }
            // The entries this vault key is: a listed key of the role, and for root also a key of
            // the previous root.
            for id in work.roleKeys.keyIDs where work.keys[id]?.isSameKey(as: record.publicKey) == true {
                work.listedAs.append(id)
            }
            if let p = work.previous {
                for id in p.roleKeys.keyIDs where p.keys[id]?.isSameKey(as: record.publicKey) == true && !work.listedAs.contains(id) {
                    work.listedAs.append(id)
                }
            }
            for id in work.listedAs {
                if let o = Self.owner(work.allKeys[id]), !owners.contains(o) { owners.append(o) }
            }
            let valid = work.envelope.validKeyIDs(work.listedAs, keys: work.allKeys)
            work.signAs = work.listedAs.filter { !valid.contains($0) }
            plan.roles.append(work)
        }
        guard plan.roles.contains(where: { !$0.listedAs.isEmpty }) else {
            var needed: [String] = []
            for w in plan.roles {
                for id in w.roleKeys.keyIDs + (w.previous?.roleKeys.keyIDs ?? []) {
                    let o = Self.ownerName(id, w.allKeys)
                    if !needed.contains(o) { needed.append(o) }
                }
            }
            throw TrustVaultError(
                .invalidArgument,
                "key \(record.id.prefix(12)) is not needed in this signing event: no changed role (\(plan.roles.map(\.role).joined(separator: ", "))) lists it",
                recovery: "the changed roles are signed by \(needed.joined(separator: ", ")); sign with one of their keys")
        }
        plan.owners = owners
        plan.lines = describe(plan, knownFiles: knownFiles, knownRoot: knownRoot, knownRootSigned: knownRootEnv.signed, knownTargets: knownTargets)
        let statePath = event + "/.signing-event-state"
        if AtomicFile.exists(statePath) {
            let json: JSONValue
            do { json = try JSONValue(parsing: try AtomicFile.read(statePath, kind: .metadata)) } catch { throw error.located(statePath) }
            for i in json["invites"]?.objectValue ?? [] {
                let roles = (i.value.arrayValue ?? []).compactMap(\.stringValue)
                plan.notes.append("\(i.key) is invited to \(roles.joined(separator: ", ")) and must accept with tuf-on-ci-sign before the event can finish")
            }
        }
        return plan
    }

    /// The vault record `spec` names: a vault key ID (or prefix), or a TUF key ID (or prefix)
    /// of the event's or the known-good metadata whose key this vault holds.
    func signingRecord(_ spec: String, keys maps: [[String: TUF1.Key]]) throws(TrustVaultError) -> KeyRecord {
        do {
            return try vault.record(matching: spec)
        } catch  where error.code == .notFound {
            var named: [String: TUF1.Key] = [:]
            for m in maps { for (id, k) in m where id.hasPrefix(spec.lowercased()) { named[id] = k } }
            guard named.count == 1, let key = named.first?.value else { throw error }
            guard let held = try vault.records().first(where: { key.isSameKey(as: $0.publicKey) }) else {
                throw .notFound(
                    "the metadata's key \(spec) (\(Self.owner(key) ?? "no owner named")) is not in the vault at \(vault.path)",
                    recovery: "sign on the machine that holds it; 'trustvault key list' shows this vault's keys")
            }
            return held
        }
    }
}
