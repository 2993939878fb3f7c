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

/// `{"keyids":[…],"threshold":N}` in root.json.
public struct RoleKeys: Sendable, Hashable {
    public var keyIDs: [String]
    public var threshold: Int
    public init(keyIDs: [String], threshold: Int = 1) {
        self.keyIDs = keyIDs
        self.threshold = threshold
    }
    var json: JSONValue { .obj(["keyids": .array(keyIDs.map { .string($0) }), "threshold": .integer(Int64(threshold))]) }

    init(json: JSONValue, context: String) throws(TrustVaultError) {
        // notary writes a role whose last key was removed as "keyids":null (a Go nil slice).
        let idsValue = json["keyids"]
        guard let ids = idsValue?.isNull == true ? [] : idsValue?.arrayValue, let t = json["threshold"]?.intValue else {
            throw .corrupt("\(context): a role needs \"keyids\" and \"threshold\"")
        }
        var list: [String] = []
        for id in ids {
            guard let s = id.stringValue else { throw .corrupt("\(context): key IDs must be strings") }
            list.append(s)
        }
        guard t >= 1, t <= Int64(max(list.count, 1)) else {
            throw .verification("\(context): threshold \(t) is out of range for \(list.count) key(s)")
        }
        keyIDs = list
        threshold = Int(t)
    }
}

/// `{"custom":…,"hashes":{"sha256":b64,"sha512":b64},"length":N}`.
public struct FileMeta: Sendable, Hashable {
    public var length: Int64
    /// Algorithm name → raw digest, in any order (serialised sorted).
    public var hashes: [String: [UInt8]]
    public var custom: JSONValue?

    public init(length: Int64, hashes: [String: [UInt8]], custom: JSONValue? = nil) {
        self.length = length
        self.hashes = hashes
        self.custom = custom
    }

    /// Metadata for `bytes` with both hashes, as the notary client always writes.
    public init(of bytes: [UInt8]) {
        self.init(
            length: Int64(bytes.count),
            hashes: ["sha256": Array(SHA256.hash(data: bytes)), "sha512": Array(SHA512.hash(data: bytes))])
    }

    public static func == (a: FileMeta, b: FileMeta) -> Bool {
        a.length == b.length && a.hashes == b.hashes && a.custom == b.custom
    }
    public func hash(into h: inout Hasher) {
        h.combine(length)
        h.combine(hashes)
    }

    public var json: JSONValue {
        var members: [JSONValue.Member] = []
        if let custom { members.append(.init("custom", custom)) }
        members.append(.init("hashes", .object(hashes.map { .init($0.key, .string(Data($0.value).base64EncodedString())) })))
        members.append(.init("length", .integer(length)))
        return .object(members)
    }

    public init(json: JSONValue, context: String) throws(TrustVaultError) {
        guard let length = json["length"]?.intValue, length >= 0, let hashObj = json["hashes"]?.objectValue else {
            throw .corrupt("\(context): file metadata needs \"length\" and \"hashes\"")
        }
        var hashes: [String: [UInt8]] = [:]
        for m in hashObj {
            guard let s = m.value.stringValue, let d = Data(base64Encoded: s) else {
                throw .corrupt("\(context): hash \"\(m.key)\" is not base64")
            }
            hashes[m.key] = Array(d)
        }
        let custom = json["custom"]
        self.init(length: length, hashes: hashes, custom: (custom?.isNull ?? true) ? nil : custom)
    }

    /// Checks the structure of file metadata without building it (large targets files).
    static func validate(json: JSONValue, context: @autoclosure () -> String) throws(TrustVaultError) {
        guard let length = json["length"]?.intValue, length >= 0, let hashObj = json["hashes"]?.objectValue else {
            throw .corrupt("\(context()): file metadata needs \"length\" and \"hashes\"")
        }
        for m in hashObj {
            guard let s = m.value.stringValue, isBase64(s) else { throw .corrupt("\(context()): hash \"\(m.key)\" is not base64") }
        }
    }

    /// Standard base64 with padding, as Go's `[]byte` JSON encoding writes it.
    static func isBase64(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { u in
            guard u.count % 4 == 0 else { return false }
            var padding = 0
            for c in u {
                if base64Alphabet[Int(c)] {
                    if padding > 0 { return false }
                } else if c == UInt8(ascii: "=") {
                    padding += 1
                    if padding > 2 { return false }
                } else {
                    return false
                }
            }
            return true
        }
    }

    private static let base64Alphabet: [Bool] = (0..<256).map { c in
        let b = UInt8(c)
        return (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2F
    }

    /// Whether `bytes` match: the length and every known hash (at least one must be known).
    public func matches(_ bytes: [UInt8]) -> Bool {
        guard Int64(bytes.count) == length else { return false }
        var checked = 0
        if let h = hashes["sha256"] {
            guard Array(SHA256.hash(data: bytes)) == h else { return false }
            checked += 1
        }
        if let h = hashes["sha512"] {
            guard Array(SHA512.hash(data: bytes)) == h else { return false }
            checked += 1
        }
        return checked > 0
    }
}

/// The largest metadata version read (2^53 - 1).
public let maximumMetadataVersion: Int64 = (1 << 53) - 1

/// Fields every signed role has.
func commonFields(_ json: JSONValue, type: String, name: String) throws(TrustVaultError) -> (TUFTime, Int) {
    guard json["_type"]?.stringValue == type else {
        throw .corrupt("\(name): \"_type\" is \(json["_type"]?.stringValue.map { "\"\($0)\"" } ?? "missing"), expected \"\(type)\"")
    }
    guard let exp = json["expires"]?.stringValue else { throw .corrupt("\(name): no \"expires\"") }
    let expires: TUFTime
    do { expires = try TUFTime(rfc3339: exp) } catch { throw error.located(name) }
    guard let version = json["version"]?.intValue else { throw .corrupt("\(name): no \"version\"") }
    guard version >= 1 else { throw .verification("\(name): version \(version) is below 1") }
    // Range-checked here, before any ceremony adds 1 to it (2^63-1 once trapped after the root
    // passphrase was used): no repository gets near 2^53, the largest integer every JSON reader
    // (Go, Python, JavaScript) holds exactly.
    guard version <= maximumMetadataVersion else {
        throw .verification("\(name): version \(version) is out of range (at most \(maximumMetadataVersion))",
                            recovery: "this metadata was not made by notary or trustvault; fetch the repository's real metadata")
    }
    return (expires, Int(version))
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
        let (expires, version) = try commonFields(json, type: "Root", name: name)
        let keys = try keyMap(json["keys"], context: name)
        guard let roleObj = json["roles"]?.objectValue else { throw .corrupt("\(name): no \"roles\"") }
        var roles: [String: RoleKeys] = [:]
        for m in roleObj { roles[m.key] = try RoleKeys(json: m.value, context: "\(name), role \(m.key)") }
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

/// A delegated role in targets.json: `{"keyids":…,"name":…,"paths":…,"threshold":N}`.
public struct DelegatedRole: Sendable, Hashable {
    public var name: String
    public var keyIDs: [String]
    public var threshold: Int
    /// Path prefixes; `""` means every path.
    public var paths: [String]

    public init(name: String, keyIDs: [String], threshold: Int = 1, paths: [String]) {
        self.name = name
        self.keyIDs = keyIDs
        self.threshold = threshold
        self.paths = paths
    }

    var json: JSONValue {
        var v = JSONValue.obj([
            "keyids": .array(keyIDs.map { .string($0) }), "name": .string(name), "threshold": .integer(Int64(threshold)),
        ])
        if !paths.isEmpty { v["paths"] = .array(paths.map { .string($0) }) }
        return v
    }

    init(json: JSONValue, context: String) throws(TrustVaultError) {
        let keys = try RoleKeys(json: json, context: context)
        guard let name = json["name"]?.stringValue else { throw .corrupt("\(context): a delegation needs a \"name\"") }
        var paths: [String] = []
        if let p = json["paths"], !p.isNull {
            guard let arr = p.arrayValue else { throw .corrupt("\(context): \"paths\" must be an array") }
            for x in arr {
                guard let s = x.stringValue else { throw .corrupt("\(context): paths must be strings") }
                paths.append(s)
            }
        }
        self.init(name: name, keyIDs: keys.keyIDs, threshold: keys.threshold, paths: paths)
    }

    /// Whether a target name falls under this role's paths (plain prefix test, as notary does).
    public func covers(_ target: String) -> Bool { paths.contains { target.utf8.starts(with: $0.utf8) } }

    /// Notary's role-name rules: `targets/…`, `[-a-z0-9_/]`, clean, shorter than 256 bytes.
    public static func isValidName(_ name: String) -> Bool { Names.isValidDelegationRole(name) }

    /// The parent role's name (`targets` for `targets/x`).
    public static func parent(of name: String) -> String {
        guard let i = name.lastIndex(of: "/") else { return "" }
        return String(name[..<i])
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
    public var targets: [TargetEntry]
    public var delegationKeys: [String: TUFKey]
    public var delegations: [DelegatedRole]
    public var version: Int

    public init(expires: TUFTime, version: Int, targets: [TargetEntry] = [], delegationKeys: [String: TUFKey] = [:], delegations: [DelegatedRole] = []) {
        self.expires = expires
        self.version = version
        self.targets = targets
        self.delegationKeys = delegationKeys
        self.delegations = delegations
        self.targetCount = targets.count
        self.targetNames = targets.map(\.name)
    }

    /// The number of targets (also when they were only validated, see `init(json:name:buildTargets:)`).
    public private(set) var targetCount = 0
    /// The target names (also when they were only validated).
    public private(set) var targetNames: [String] = []

    /// Parses targets.json's signed part. With `buildTargets: false` the targets are validated
    /// but ``targets`` stays empty (verification of large repositories); names and count are kept.
    public init(json: JSONValue, name: String = "targets.json", buildTargets: Bool = true) throws(TrustVaultError) {
        let (expires, version) = try commonFields(json, type: "Targets", name: name)
        guard let tobj = json["targets"]?.objectValue else { throw .corrupt("\(name): no \"targets\" object") }
        var entries: [TargetEntry] = []
        if buildTargets {
            entries.reserveCapacity(tobj.count)
            for m in tobj { entries.append(TargetEntry(name: m.key, meta: try FileMeta(json: m.value, context: "\(name), target \"\(m.key)\""))) }
        } else {
            for m in tobj { try FileMeta.validate(json: m.value, context: "\(name), target \"\(m.key)\"") }
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
        self.init(expires: expires, version: version, targets: entries, delegationKeys: dkeys, delegations: droles)
        targetCount = tobj.count
        targetNames = tobj.map(\.key)
    }

    public var json: JSONValue {
        .obj([
            "_type": .string("Targets"),
            "delegations": .obj([
                "keys": .object(delegationKeys.map { .init($0.key, $0.value.json) }),
                "roles": .array(delegations.map(\.json)),
            ]),
            "expires": .string(expires.rfc3339),
            "targets": .object(targets.map { .init($0.name, $0.meta.json) }),
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
        let (expires, version) = try commonFields(json, type: type, name: name)
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

/// How long each role's new signature lasts: notary's defaults unless chosen (`--expires ROLE=DURATION`).
public struct ExpiryPolicy: Sendable, Hashable {
    /// Role name (`root`, `targets`, `snapshot`, `targets/<name>`, or `delegations` for every
    /// delegation) → seconds.
    public var seconds: [String: Int64] = [:]

    public init(seconds: [String: Int64] = [:]) { self.seconds = seconds }

    /// notary's defaults: root 10 years, targets, delegations and snapshot 3 years.
    public static let notary = ExpiryPolicy()

    /// The lifetime of a newly signed `role`.
    public func lifetime(of role: String) -> Int64 {
        if let s = seconds[role] { return s }
        if role.hasPrefix("targets/"), let s = seconds["delegations"] { return s }
        switch role {
        case "root": return Int64(DefaultExpiry.rootDays) * 86_400
        case "timestamp": return Int64(DefaultExpiry.timestampDays) * 86_400
        case "snapshot": return Int64(DefaultExpiry.snapshotDays) * 86_400
        default: return Int64(DefaultExpiry.targetsDays) * 86_400
        }
    }

    /// The expiry of `role` signed at `now`.
    public func expiry(of role: String, from now: TUFTime) -> TUFTime { now.adding(seconds: lifetime(of: role)) }

    /// Parses a duration: a positive number followed by `h` (hours), `d` (days), `w` (weeks) or
    /// `y` (365 days), at most 100 years.
    public static func parseDuration(_ text: String) throws(TrustVaultError) -> Int64 {
        let units: [Character: Int64] = ["h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400]
        guard let unit = text.last, let factor = units[unit] else {
            throw .invalid("\"\(text)\" is not a duration", recovery: "write a number and a unit: 12h, 90d, 26w or 3y")
        }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits), n >= 1 else {
            throw .invalid("\"\(text)\" is not a duration", recovery: "write a number and a unit: 12h, 90d, 26w or 3y")
        }
        let total = n * factor
        guard total <= 100 * 365 * 86_400 else { throw .invalid("\"\(text)\" is longer than 100 years") }
        return total
    }

    /// Adds one `ROLE=DURATION` setting (roles: root, targets, snapshot, delegations, targets/<name>).
    public mutating func set(_ spec: String) throws(TrustVaultError) {
        guard let eq = spec.firstIndex(of: "=") else {
            throw .invalid("\"\(spec)\" is not ROLE=DURATION", recovery: "for example --expires targets=1y")
        }
        let role = String(spec[..<eq]), duration = String(spec[spec.index(after: eq)...])
        guard ["root", "targets", "snapshot", "delegations"].contains(role) || DelegatedRole.isValidName(role) else {
            throw .invalid("\"\(role)\" in --expires is not a role", recovery: "use root, targets, snapshot, delegations or targets/<name>")
        }
        seconds[role] = try Self.parseDuration(duration)
    }
}
