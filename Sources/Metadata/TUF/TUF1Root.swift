public import TrustCore
#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation

extension TUF1 {
    /// A parsed `root` (only what the ceremonies and the verifier need; the JSON stays authoritative).
    public struct Root: Sendable {
        public var version: Int64
        public var expires: TUFTime
        public var keys: [String: Key]
        public var roles: [String: RoleKeys]
        public var consistentSnapshot: Bool

        public static let roleNames = ["root", "targets", "snapshot", "timestamp"]

        public init(_ signed: JSONValue, name: String) throws(TrustVaultError) {
            let (version, expires) = try TUF1.commonFields(signed, type: "root", name: name)
            self.version = version
            self.expires = expires
            keys = try TUF1.keyMap(signed["keys"], context: name)
            var roles: [String: RoleKeys] = [:]
            guard let rolesJSON = signed["roles"], case .object = rolesJSON else { throw .corrupt("\(name): no \"roles\" object") }
            for r in Self.roleNames {
                let role = try RoleKeys(json: rolesJSON[r], context: "\(name): role \(r)", dialect: TUF1.self)
                for id in role.keyIDs where keys[id] == nil {
                    throw .corrupt("\(name): role \(r) names key \(id.prefix(12)), which is not in \"keys\"")
                }
                roles[r] = role
            }
            self.roles = roles
            consistentSnapshot = signed["consistent_snapshot"]?.boolValue ?? false
        }

        public func role(_ name: String) -> RoleKeys { roles[name] ?? RoleKeys(keyIDs: [], threshold: 1) }
        public func keys(of name: String) -> [String: Key] {
            var out: [String: Key] = [:]
            for id in role(name).keyIDs { out[id] = keys[id] }
            return out
        }

        /// The JSON of a new root.
        public static func json(
            version: Int64, expires: String, keys: [String: Key], roles: [String: RoleKeys], consistentSnapshot: Bool
        ) -> JSONValue {
            var keyJSON = JSONValue.object([])
            for (id, k) in keys.sorted(by: { $0.key < $1.key }) { keyJSON[id] = k.json }
            var roleJSON = JSONValue.object([])
            for r in roleNames {
                let role = roles[r] ?? RoleKeys(keyIDs: [], threshold: 1)
                roleJSON[r] = .obj(["keyids": .array(role.keyIDs.map { .string($0) }), "threshold": .integer(Int64(role.threshold))])
            }
            return .obj([
                "_type": .string("root"), "spec_version": .string(TUF1.specVersion), "version": .integer(version),
                "expires": .string(expires), "keys": keyJSON, "roles": roleJSON,
                "consistent_snapshot": .bool(consistentSnapshot),
            ])
        }
    }

    /// `delegations` of a targets file.
    public static func delegations(_ signed: JSONValue, name: String) throws(TrustVaultError) -> (keys: [String: Key], roles: [Delegation]) {
        guard let d = signed["delegations"], !d.isNull else { return ([:], []) }
        let keys = try keyMap(d["keys"], context: "\(name) delegations")
        var roles: [Delegation] = []
        for r in d["roles"]?.arrayValue ?? [] {
            let del = try Delegation(json: r, context: name)
            for id in del.role.keyIDs where keys[id] == nil {
                throw .corrupt("\(name): delegated role \(del.name) names key \(id.prefix(12)), which is not in delegations.keys")
            }
            roles.append(del)
        }
        return (keys, roles)
    }

    static func globMatches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let t = path.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == t.count else { return false }
        return zip(p, t).allSatisfy { fnmatch(String($0), String($1), 0) == 0 }
    }

    /// `_type`, `spec_version` 1.x, a version from 1 to the cap, an RFC 3339 `expires`; returned
    /// in the same order as the Notary dialect's `commonFields`.
    public static func commonFields(_ signed: JSONValue, type: String, name: String) throws(TrustVaultError) -> (version: Int64, expires: TUFTime) {
        guard signed["_type"]?.stringValue == type else {
            throw .corrupt("\(name): \"_type\" is \(signed["_type"]?.stringValue.map { "\"\($0)\"" } ?? "missing"), expected \"\(type)\"")
        }
        guard let spec = signed["spec_version"]?.stringValue, spec.split(separator: ".").first == "1" else {
            throw .unsupported("\(name): spec_version \(signed["spec_version"]?.stringValue ?? "missing") is not 1.x")
        }
        guard let version = signed["version"]?.intValue, version >= 1, version <= TUF1.maximumVersion else {
            throw .corrupt("\(name): \"version\" must be an integer from 1 to \(TUF1.maximumVersion)")
        }
        guard let text = signed["expires"]?.stringValue, let expires = try? TUFTime(rfc3339: text) else {
            throw .corrupt("\(name): \"expires\" is missing or not an RFC 3339 time")
        }
        return (version, expires)
    }

    static func keyMap(_ json: JSONValue?, context: String) throws(TrustVaultError) -> [String: Key] {
        guard let members = json?.objectValue else { throw .corrupt("\(context): no \"keys\" object") }
        var out: [String: Key] = [:]
        for m in members { out[m.key] = try Key(json: m.value, context: "\(context): key \(m.key.prefix(12))") }
        return out
    }
}
