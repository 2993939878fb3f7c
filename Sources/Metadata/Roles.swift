public import TrustCore
internal import Foundation
internal import Crypto

/// The base roles of a notary repository.
public enum BaseRole: String, Sendable, CaseIterable {
    case root, targets, snapshot, timestamp
}

/// Default expiries notary installs (`const.go`).
public enum DefaultExpiry {
    public static let rootDays = 3650
    public static let targetsDays = 3 * 365
    public static let snapshotDays = 3 * 365
    public static let timestampDays = 14
}

/// The largest metadata version read (2^53 - 1, `NumberRules.maximumVersion`).
public let maximumMetadataVersion: Int64 = NotaryV1.maximumVersion

/// Fields every signed role has; the same order as TUF 1.0's `TUF1.commonFields`.
func commonFields(_ json: JSONValue, type: String, name: String) throws(TrustVaultError) -> (version: Int, expires: TUFTime) {
    guard json["_type"]?.stringValue == type else {
        throw .corrupt("\(name): \"_type\" is \(json["_type"]?.stringValue.map { "\"\($0)\"" } ?? "missing"), expected \"\(type)\"")
    }
    guard let exp = json["expires"]?.stringValue else { throw .corrupt("\(name): no \"expires\"") }
    let expires: TUFTime
    do { expires = try TUFTime(rfc3339: exp) } catch { throw error.located(name) }
    guard let version = json["version"]?.intValue else { throw .corrupt("\(name): no \"version\"") }
    guard version >= 1 else { throw .verification("\(name): version \(version) is below 1") }
    // Range-checked here, before any ceremony adds 1 to it (`NumberRules.maximumVersion`).
    guard version <= maximumMetadataVersion else {
        throw .verification(
            "\(name): version \(version) is out of range (at most \(maximumMetadataVersion))",
            recovery: "this metadata was not made by notary or trustvault; fetch the repository's real metadata")
    }
    return (Int(version), expires)
}

func keyMap(_ json: JSONValue?, context: String) throws(TrustVaultError) -> [String: TUFKey] {
    guard let members = json?.objectValue else { throw .corrupt("\(context): \"keys\" must be an object") }
    var keys: [String: TUFKey] = [:]
    for m in members {
        let key = try TUFKey(json: m.value, context: "\(context), key \(m.key.prefix(12))")
        guard key.id == m.key else {
            throw .verification("\(context): key listed as \(m.key) has the ID \(key.id)")
        }
        keys[m.key] = key
    }
    return keys
}

/// root.json's signed part.
public struct Root: Sendable {
    public var consistentSnapshot = false
    public var expires: TUFTime
    public var keys: [String: TUFKey]
    public var roles: [String: RoleKeys]
    public var version: Int

    public init(expires: TUFTime, keys: [String: TUFKey], roles: [String: RoleKeys], version: Int) {
        self.expires = expires
        self.keys = keys
        self.roles = roles
        self.version = version
    }

    public init(json: JSONValue, name: String = "root.json") throws(TrustVaultError) {
        let (version, expires) = try commonFields(json, type: "Root", name: name)
        let keys = try keyMap(json["keys"], context: name)
        guard let roleObj = json["roles"]?.objectValue else { throw .corrupt("\(name): no \"roles\"") }
        var roles: [String: RoleKeys] = [:]
        for m in roleObj { roles[m.key] = try RoleKeys(json: m.value, context: "\(name), role \(m.key)", dialect: NotaryV1.self) }
        for base in BaseRole.allCases {
            guard let r = roles[base.rawValue] else { throw .verification("\(name): the \(base) role is missing") }
            guard r.threshold >= 1 else { throw .verification("\(name): the \(base) role's threshold is below 1") }
            for id in r.keyIDs where keys[id] == nil {
                throw .verification("\(name): the \(base) role lists key \(id) that is not in \"keys\"")
            }
        }
        self.init(expires: expires, keys: keys, roles: roles, version: version)
        consistentSnapshot = json["consistent_snapshot"]?.boolValue ?? false
    }

    public var json: JSONValue {
        .obj([
            "_type": .string("Root"),
            "consistent_snapshot": .bool(consistentSnapshot),
            "expires": .string(expires.rfc3339),
            "keys": .object(keys.map { .init($0.key, $0.value.json) }),
            "roles": .object(roles.map { .init($0.key, $0.value.json) }),
            "version": .integer(Int64(version)),
        ])
    }

    public func role(_ r: BaseRole) -> RoleKeys { roles[r.rawValue] ?? RoleKeys(keyIDs: [], threshold: 1) }

    public func keys(of r: BaseRole) -> [TUFKey] { role(r).keyIDs.compactMap { keys[$0] } }

    /// Sets a role's keys, adding them to `keys`; keys no other role uses are dropped, except
    /// root certificates, which notary keeps after a rotation.
    public mutating func replaceKeys(of r: BaseRole, with newKeys: [TUFKey], threshold: Int = 1) {
        let old = role(r).keyIDs
        for k in newKeys { keys[k.id] = k }
        roles[r.rawValue] = RoleKeys(keyIDs: newKeys.map(\.id), threshold: threshold)
        guard r != .root else { return }
        let used = Set(roles.values.flatMap(\.keyIDs))
        for id in old where !used.contains(id) { keys[id] = nil }
    }
}

/// A signed tag: a target name with its file metadata.
public struct TargetEntry: Sendable, Hashable {
    public var name: String
    public var meta: FileMeta
    public init(name: String, meta: FileMeta) {
        self.name = name
        self.meta = meta
    }
}

/// targets.json (top level or delegated): `_type`, `delegations`, `expires`, `targets`, `version`.
public struct Targets: Sendable {
    public var expires: TUFTime
    public var delegationKeys: [String: TUFKey]
    public var delegations: [DelegatedRole]
    public var version: Int

    /// How the targets are held: built entries; only names (validated, not built); or, for a
    /// file read in notary's exact form, a table over its bytes (``TargetTable``).
    private enum Storage: Sendable {
        case built([TargetEntry])
        case names([String])
        case table(TargetTable, file: String)
    }
    private var storage: Storage

    public init(expires: TUFTime, version: Int, targets: [TargetEntry] = [], delegationKeys: [String: TUFKey] = [:], delegations: [DelegatedRole] = []) {
        self.expires = expires
        self.version = version
        self.storage = .built(targets)
        self.delegationKeys = delegationKeys
        self.delegations = delegations
    }

    /// The targets as entries. For a role read from a large file's bytes this parses them (once
    /// per call): code that only walks names and digests uses ``forEachTarget(_:)``. Empty for a
    /// role read with `buildTargets: false` from a file not in notary's exact form.
    public var targets: [TargetEntry] {
        get {
            switch storage {
            case .built(let entries): entries
            case .names: []
            case .table(let table, let file): (try? table.materialized(name: file)) ?? []
            }
        }
        set { storage = .built(newValue) }
    }

    /// Whether ``targets`` gives every entry (false after `buildTargets: false` on a file not in
    /// notary's exact form).
    var holdsEntries: Bool {
        if case .names = storage { false } else { true }
    }

    /// The number of targets (also when they were only validated, see `init(json:name:buildTargets:)`).
    public var targetCount: Int {
        switch storage {
        case .built(let entries): entries.count
        case .names(let names): names.count
        case .table(let table, _): table.count
        }
    }

    /// The target names (also when they were only validated).
    public var targetNames: [String] {
        switch storage {
        case .built(let entries): entries.map(\.name)
        case .names(let names): names
        case .table(let table, _): (0..<table.count).map(table.name)
        }
    }

    /// Each target's name and hex SHA-256 (empty without one), in the file's order, without
    /// building entries.
    public func forEachTarget(_ body: (_ name: String, _ sha256Hex: String) -> Void) {
        switch storage {
        case .built(let entries): for e in entries { body(e.name, e.digest) }
        case .names: break
        case .table(let table, _): for k in 0..<table.count { body(table.name(k), table.sha256Hex(k)) }
        }
    }

    /// The hex SHA-256 of `name` (empty without one), nil when the role has no such target.
    public func sha256Hex(of name: String) -> String? {
        var found: String?
        switch storage {
        case .built(let entries): found = entries.first { $0.name == name }?.digest
        case .names: break
        case .table(let table, _):
            for k in 0..<table.count where table.name(k) == name {
                found = table.sha256Hex(k)
                break
            }
        }
        return found
    }

    /// Parses targets.json's signed part. With `buildTargets: false` the targets are validated
    /// but ``targets`` stays empty (verification of large repositories); names and count are kept.
    /// A `targets` object kept as canonical bytes (a file read in notary's exact form) is read
    /// into a ``TargetTable`` either way: checked entry by entry, built only when asked.
    public init(json: JSONValue, name: String = "targets.json", buildTargets: Bool = true) throws(TrustVaultError) {
        let (version, expires) = try commonFields(json, type: "Targets", name: name)
        let targetsValue = json["targets"]
        var storage: Storage
        if case .verbatim(let raw)? = targetsValue {
            storage = .table(try TargetTable.read(raw, name: name), file: name)
        } else {
            guard let tobj = targetsValue?.objectValue else { throw .corrupt("\(name): no \"targets\" object") }
            if buildTargets {
                var entries: [TargetEntry] = []
                entries.reserveCapacity(tobj.count)
                for m in tobj { entries.append(TargetEntry(name: m.key, meta: try FileMeta(json: m.value, context: "\(name), target \"\(m.key)\""))) }
                storage = .built(entries)
            } else {
                for m in tobj { try FileMeta.validate(json: m.value, context: "\(name), target \"\(m.key)\"") }
                storage = .names(tobj.map(\.key))
            }
        }
        var dkeys: [String: TUFKey] = [:]
        var droles: [DelegatedRole] = []
        if let d = json["delegations"], !d.isNull {
            dkeys = try keyMap(d["keys"], context: "\(name) delegations")
            if let r = d["roles"], !r.isNull {
                guard let arr = r.arrayValue else { throw .corrupt("\(name): delegation \"roles\" must be an array") }
                for (i, x) in arr.enumerated() { droles.append(try DelegatedRole(json: x, context: "\(name), delegation \(i + 1)")) }
            }
        }
        self.init(expires: expires, version: version, delegationKeys: dkeys, delegations: droles)
        self.storage = storage
    }

    public var json: JSONValue {
        let targetsJSON: JSONValue
        switch storage {
        case .table(let table, _): targetsJSON = .verbatim(table.source)  // unchanged: its bytes as read
        default: targetsJSON = .object(targets.map { .init($0.name, $0.meta.json) })
        }
        return .obj([
            "_type": .string("Targets"),
            "delegations": .obj([
                "keys": .object(delegationKeys.map { .init($0.key, $0.value.json) }),
                "roles": .array(delegations.map(\.json)),
            ]),
            "expires": .string(expires.rfc3339),
            "targets": targetsJSON,
            "version": .integer(Int64(version)),
        ])
    }
}

/// snapshot.json / timestamp.json: `_type`, `expires`, `meta`, `version`.
public struct MetaListing: Sendable {
    public var type: String
    public var expires: TUFTime
    public var meta: [String: FileMeta]
    public var version: Int

    public init(type: String, expires: TUFTime, meta: [String: FileMeta], version: Int) {
        self.type = type
        self.expires = expires
        self.meta = meta
        self.version = version
    }

    public init(json: JSONValue, type: String, name: String) throws(TrustVaultError) {
        let (version, expires) = try commonFields(json, type: type, name: name)
        guard let mobj = json["meta"]?.objectValue else { throw .corrupt("\(name): no \"meta\" object") }
        var meta: [String: FileMeta] = [:]
        for m in mobj { meta[m.key] = try FileMeta(json: m.value, context: "\(name), meta \"\(m.key)\"") }
        self.init(type: type, expires: expires, meta: meta, version: version)
    }

    public var json: JSONValue {
        .obj([
            "_type": .string(type), "expires": .string(expires.rfc3339),
            "meta": .object(meta.map { .init($0.key, $0.value.json) }), "version": .integer(Int64(version)),
        ])
    }
}
