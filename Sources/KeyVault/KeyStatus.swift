public import TrustCore

/// What ceremonies record about keys beside their records, in `VAULT/key-status.json` (0600),
/// **per repository (GUN)**: the roles each key held in this vault plays in the repository after
/// the last ceremony for it, the keys a ceremony took out of every role of the repository
/// (`retired` there, with the time), and the certificate IDs under which root keys appear in each
/// repository's root.json (what docker and notary show for root).
///
/// A key is retired *for a repository*, not in general: a root key rotated out of one repository
/// stays current while another repository still lists it. `key remove` reads these records to
/// refuse removing a key a repository still needs.
///
/// Kept apart from `keys/<id>.json` because a record's public part is bound into its sealed
/// private part; the status is public bookkeeping that a lost file only makes less informative.
/// Version 1 books (one `retired` entry per key) are migrated on read.
public struct KeyStatusBook: Sendable, Equatable {
    public struct Retirement: Sendable, Equatable {
        public var gun: String
        public var time: String
        public init(gun: String, time: String) {
            self.gun = gun
            self.time = time
        }
    }

    /// What the vault knows of one repository.
    public struct Repository: Sendable, Equatable {
        /// Role (`root`, `targets`, `snapshot`, `timestamp`, `targets/…`) → canonical IDs of the keys
        /// held in this vault that play it, as of the last ceremony for the repository.
        public var roles: [String: [String]] = [:]
        /// Canonical key ID → when a ceremony took it out of every role of this repository.
        public var retired: [String: String] = [:]
        /// When a ceremony last recorded the roles (nil: migrated from a version 1 book).
        public var time: String?
        public init() {}

        /// The roles `id` plays here (sorted: root, targets, snapshot, timestamp, then delegations).
        public func roles(of id: String) -> [String] {
            roles.filter { $0.value.contains(id) }.map(\.key).sorted(by: KeyStatusBook.roleOrder)
        }

        /// Whether a ceremony wrote trust data for the repository (any role recorded).
        public var hasTrustData: Bool { roles.values.contains { !$0.isEmpty } }
    }

    /// GUN → what the vault knows of that repository.
    public var repositories: [String: Repository] = [:]
    /// Canonical root key ID → GUN → the certificate key ID in that repository's root.json.
    public var rootCertificates: [String: [String: String]] = [:]
    public struct CardReset: Sendable, Equatable {
        public var serial: String
        public var time: String
    }
    /// Card key ID → the reset of its card that destroyed it (`card reset`).
    public var cardReset: [String: CardReset] = [:]

    /// Every retirement, one per key (the latest): canonical key ID → repository and time. Setting
    /// it records a retirement in that repository (and forgets the key's retirements elsewhere
    /// when it is left out).
    public var retired: [String: Retirement] {
        get {
            var out: [String: Retirement] = [:]
            for (gun, repo) in repositories {
                for (id, time) in repo.retired where out[id].map({ $0.time < time || ($0.time == time && $0.gun < gun) }) ?? true {
                    out[id] = Retirement(gun: gun, time: time)
                }
            }
            return out
        }
        set {
            for (gun, repo) in repositories {
                repositories[gun]?.retired = repo.retired.filter { newValue[$0.key]?.gun == gun }
            }
            for (id, r) in newValue { repositories[r.gun, default: Repository()].retired[id] = r.time }
        }
    }

    /// The repositories that list `id` in a role, with its roles there, sorted by GUN.
    public func uses(of id: String) -> [(gun: String, roles: [String])] {
        repositories.compactMap { gun, repo in
            let roles = repo.roles(of: id)
            return roles.isEmpty ? nil : (gun, roles)
        }.sorted { $0.gun < $1.gun }
    }

    /// The repositories a ceremony took `id` out of (and that do not list it again), sorted by GUN.
    public func retirements(of id: String) -> [(gun: String, time: String)] {
        repositories.compactMap { gun, repo in
            guard let time = repo.retired[id], repo.roles(of: id).isEmpty else { return nil }
            return (gun, time)
        }.sorted { $0.gun < $1.gun }
    }

    /// What `key list` shows: `card reset` (the key is gone), `retired` (a ceremony took it out of
    /// a repository and no repository in these records lists it) or `current`.
    public func state(of id: String) -> String {
        if cardReset[id] != nil { return "card reset" }
        return uses(of: id).isEmpty && !retirements(of: id).isEmpty ? "retired" : "current"
    }

    /// Records the roles the held keys play in `gun` after a ceremony: keys that played a role
    /// there before and play none now are retired for `gun` (at `time`); keys that play one are
    /// no longer retired there. `only` limits the change to these roles (root sign knows root only).
    public mutating func record(gun: String, roles newRoles: [String: [String]], time: String, only: Set<String>? = nil) {
        var repo = repositories[gun] ?? Repository()
        var before = Set(repo.roles.values.joined())
        var roles = repo.roles
        if let only {
            for role in only { roles[role] = nil }
            before = Set(repo.roles.filter { only.contains($0.key) }.values.joined())
        } else {
            roles = [:]
        }
        for (role, ids) in newRoles where !ids.isEmpty { roles[role] = Array(Set(ids)).sorted() }
        repo.roles = roles
        let now = Set(roles.values.joined())
        for id in before where !now.contains(id) { repo.retired[id] = time }
        for id in now { repo.retired[id] = nil }
        repo.time = time
        repositories[gun] = repo
    }

    public init() {}

    static let format = "trustvault-key-status"

    static func roleOrder(_ a: String, _ b: String) -> Bool {
        let base = ["root", "targets", "snapshot", "timestamp"]
        switch (base.firstIndex(of: a), base.firstIndex(of: b)) {
        case let (x?, y?): return x < y
        case (_?, nil): return true
        case (nil, _?): return false
        default: return a < b
        }
    }

    var json: JSONValue {
        .obj([
            "format": .string(Self.format),
            "version": .integer(2),
            "repositories": .object(
                repositories.map { gun, repo in
                    var fields: [JSONValue.Member] = [
                        .init("roles", .object(repo.roles.map { .init($0.key, .array($0.value.sorted().map(JSONValue.string))) })),
                        .init("retired", .object(repo.retired.map { .init($0.key, .string($0.value)) })),
                    ]
                    if let time = repo.time { fields.append(.init("time", .string(time))) }
                    return .init(gun, .object(fields))
                }),
            "root_certificates": .object(
                rootCertificates.map { id, byGUN in
                    .init(id, .object(byGUN.map { .init($0.key, .string($0.value)) }))
                }),
            "card_reset": .object(cardReset.map { .init($0.key, .obj(["serial": .string($0.value.serial), "time": .string($0.value.time)])) }),
        ])
    }

    /// Reads and validates a key-status file: known format and version (1 is migrated), key IDs of
    /// 64 lower-case hex digits, GUNs and role names by the same rules as key records and
    /// metadata, RFC 3339 times (Go's rules).
    init(parsing bytes: [UInt8], file: String) throws(TrustVaultError) {
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch {
            throw .corrupt(
                "\(file) is not valid JSON (\(error.message)), so it is damaged or not made by trustvault",
                recovery: "move the file away: it only records which repositories use the vault's keys, for 'key list' and 'key remove'")
        }
        let version = json["version"]?.intValue
        guard json["format"]?.stringValue == Self.format, version == 1 || version == 2 else {
            throw .corrupt("\(file) is not a trustvault key-status file of version 1 or 2", recovery: "upgrade trustvault, or move the file away")
        }
        func keyID(_ id: String) throws(TrustVaultError) -> String {
            guard Self.isKeyID(id) else {
                throw .corrupt("\(file): \(Escape.visible(String(id.prefix(80)))) is not a key ID (64 lower-case hex digits)")
            }
            return id
        }
        func gun(_ g: String) throws(TrustVaultError) -> String {
            do throws(TrustVaultError) { try Names.checkGUN(g) } catch { throw error.located(file) }
            return g
        }
        func time(_ t: String) throws(TrustVaultError) -> String {
            do throws(TrustVaultError) { _ = try RFC3339.parse(t) } catch { throw error.located(file) }
            return t
        }
        if version == 1 {
            // Version 1: one retirement per key, no roles. Root keys with a certificate in a
            // repository they were not retired from are taken to be its root keys.
            for m in json["retired"]?.objectValue ?? [] {
                guard let g = m.value["gun"]?.stringValue, let t = m.value["time"]?.stringValue else {
                    throw .corrupt("\(file): retired entry \(m.key.prefix(12)) needs \"gun\" and \"time\"")
                }
                repositories[try gun(g), default: Repository()].retired[try keyID(m.key)] = try time(t)
            }
        } else {
            for m in json["repositories"]?.objectValue ?? [] {
                guard m.value.objectValue != nil else { throw .corrupt("\(file): repository entries must be objects") }
                var repo = Repository()
                for r in m.value["roles"]?.objectValue ?? [] {
                    guard ["root", "targets", "snapshot", "timestamp"].contains(r.key) || Names.isValidDelegationRole(r.key) else {
                        throw .corrupt("\(file): \(Escape.visible(String(r.key.prefix(80)))) is not a role name")
                    }
                    guard let ids = r.value.arrayValue else { throw .corrupt("\(file): the keys of role \(r.key) must be an array") }
                    var list: [String] = []
                    for id in ids {
                        guard let s = id.stringValue else { throw .corrupt("\(file): key IDs must be strings") }
                        list.append(try keyID(s))
                    }
                    repo.roles[r.key] = list
                }
                for r in m.value["retired"]?.objectValue ?? [] {
                    guard let t = r.value.stringValue else { throw .corrupt("\(file): retirement times must be strings") }
                    repo.retired[try keyID(r.key)] = try time(t)
                }
                if let t = m.value["time"] {
                    guard let s = t.stringValue else { throw .corrupt("\(file): \"time\" must be a string") }
                    repo.time = try time(s)
                }
                repositories[try gun(m.key)] = repo
            }
        }
        for m in json["root_certificates"]?.objectValue ?? [] {
            var byGUN: [String: String] = [:]
            for g in m.value.objectValue ?? [] {
                guard let id = g.value.stringValue else { throw .corrupt("\(file): certificate IDs must be strings") }
                byGUN[try gun(g.key)] = try keyID(id)
            }
            rootCertificates[try keyID(m.key)] = byGUN
        }
        for m in json["card_reset"]?.objectValue ?? [] {
            guard let serial = m.value["serial"]?.stringValue, !serial.isEmpty, serial.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                serial.utf8.count <= 10, let t = m.value["time"]?.stringValue
            else {
                throw .corrupt("\(file): card_reset entry \(m.key.prefix(12)) needs a decimal \"serial\" and a \"time\"")
            }
            cardReset[try keyID(m.key)] = CardReset(serial: serial, time: try time(t))
        }
        if version == 1 {
            for (id, byGUN) in rootCertificates {
                for g in byGUN.keys where repositories[g]?.retired[id] == nil {
                    repositories[g, default: Repository()].roles["root", default: []].append(id)
                }
            }
            for g in repositories.keys { repositories[g]?.roles["root"]?.sort() }
        }
    }

    static func isKeyID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Both books together (restoring a backup into a vault that has its own book); an entry
    /// already here wins.
    func merged(with other: KeyStatusBook) -> KeyStatusBook {
        var out = self
        for (gun, theirs) in other.repositories {
            guard var mine = out.repositories[gun] else {
                out.repositories[gun] = theirs
                continue
            }
            mine.roles.merge(theirs.roles) { a, b in Array(Set(a + b)).sorted() }
            mine.retired.merge(theirs.retired) { a, _ in a }
            mine.time = mine.time ?? theirs.time
            out.repositories[gun] = mine
        }
        out.rootCertificates.merge(other.rootCertificates) { mine, theirs in mine.merging(theirs) { a, _ in a } }
        out.cardReset.merge(other.cardReset) { mine, _ in mine }
        return out
    }
}

extension Vault {
    static let keyStatusFileName = "key-status.json"
    var keyStatusPath: String { path + "/" + Self.keyStatusFileName }

    /// The key-status book (empty when no ceremony wrote one yet).
    public func keyStatus() throws(TrustVaultError) -> KeyStatusBook {
        guard AtomicFile.exists(keyStatusPath) else { return KeyStatusBook() }
        return try KeyStatusBook(parsing: try AtomicFile.read(keyStatusPath, kind: .vaultRecord), file: keyStatusPath)
    }

    /// Changes the key-status book under the vault lock, atomically.
    public func updateKeyStatus(_ change: (inout KeyStatusBook) -> Void) throws(TrustVaultError) {
        try withLock { () throws(TrustVaultError) in
            var book = try keyStatus()
            let before = book
            change(&book)
            guard book != before else { return }
            try AtomicFile.write(book.json.canonicalBytes, to: keyStatusPath)
            audit("key-status", ["repositories": .integer(Int64(book.repositories.count)), "retired": .integer(Int64(book.retired.count))])
        }
    }
}
