public import TrustCore
#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation

extension TUF1 {
    /// Default lifetimes of new and refreshed TUF 1.0 metadata, in seconds.
    public enum Lifetime {
        public static let day: Int64 = 86_400
        public static func defaultSeconds(role: String) -> Int64 {
            switch role {
            case "root": 365 * day
            case "timestamp": 7 * day
            case "snapshot": 30 * day
            default: 90 * day
            }
        }

        /// `30d`, `12h`, `2w`, `1y` (365 days), `90m`.
        public static func parse(_ text: String) throws(TrustVaultError) -> Int64 {
            guard let unit = text.last, let n = Int64(text.dropLast()), n > 0, n <= 100_000 else {
                throw .invalid("\"\(text)\" is not a duration", recovery: "write e.g. 365d, 12h, 2w or 1y")
            }
            switch unit {
            case "m": return n * 60
            case "h": return n * 3600
            case "d": return n * day
            case "w": return n * 7 * day
            case "y": return n * 365 * day
            default: throw .invalid("\"\(text)\" is not a duration", recovery: "write e.g. 365d, 12h, 2w or 1y")
            }
        }
    }

    /// Versions above this are refused (so version+1 never overflows).
    public static let maximumVersion: Int64 = 1 << 40

    /// An expiry as python-tuf writes and reads it: whole seconds, `Z`.
    public static func expiry(after seconds: Int64, from now: TUFTime = .now()) -> String {
        TUFTime(seconds: now.seconds + seconds).rfc3339
    }

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
                let role = try RoleKeys(json: rolesJSON[r], context: "\(name): role \(r)")
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

    /// One delegated role in `delegations.roles`.
    public struct Delegation: Sendable {
        public var name: String
        public var role: RoleKeys
        public var paths: [String]
        public var terminating: Bool

        public var json: JSONValue {
            .obj([
                "name": .string(name), "keyids": .array(role.keyIDs.map { .string($0) }),
                "threshold": .integer(Int64(role.threshold)), "paths": .array(paths.map { .string($0) }),
                "terminating": .bool(terminating),
            ])
        }

        init(json: JSONValue, context: String) throws(TrustVaultError) {
            guard let name = json["name"]?.stringValue else { throw .corrupt("\(context): a delegated role needs a \"name\"") }
            self.name = name
            role = try RoleKeys(json: json, context: "\(context): delegated role \(name)")
            terminating = json["terminating"]?.boolValue ?? false
            if let p = json["paths"]?.arrayValue {
                paths = p.compactMap(\.stringValue)
            } else if json["path_hash_prefixes"] != nil {
                throw .unsupported("\(context): delegated role \(name) uses path_hash_prefixes, which trustvault does not handle")
            } else {
                throw .corrupt("\(context): delegated role \(name) has no \"paths\"")
            }
        }

        public init(name: String, role: RoleKeys, paths: [String], terminating: Bool) {
            self.name = name
            self.role = role
            self.paths = paths
            self.terminating = terminating
        }

        /// python-tuf's rule: the pattern and the target path have the same number of `/`
        /// separated parts, and each part matches with shell wildcards (`*`, `?`, `[…]`).
        public func covers(_ target: String) -> Bool {
            paths.contains { TUF1.pathMatches(pattern: $0, path: target) }
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

    static func pathMatches(pattern: String, path: String) -> Bool {
        let p = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let t = path.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == t.count else { return false }
        return zip(p, t).allSatisfy { fnmatch(String($0), String($1), 0) == 0 }
    }

    public static func commonFields(_ signed: JSONValue, type: String, name: String) throws(TrustVaultError) -> (Int64, TUFTime) {
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

    /// A repository directory: `DIR/metadata/` (what clients fetch) and `DIR/targets/`.
    ///
    /// Files are named as python-tuf's ngclient fetches them: `N.root.json`, `timestamp.json`,
    /// and `snapshot.json`, `targets.json`, `<role>.json` — with consistent snapshots also
    /// `N.snapshot.json`, `N.targets.json`, `N.<role>.json` (trustvault writes both names; the
    /// unversioned one is always the newest).
    public struct Layout: Sendable {
        public let dir: String
        public init(_ dir: String) { self.dir = dir }

        public var metadataDir: String { dir + "/metadata" }
        public var targetsDir: String { dir + "/targets" }

        public func rootPath(_ version: Int64) -> String { metadataDir + "/\(version).root.json" }
        public func path(role: String) -> String { metadataDir + "/\(role).json" }
        public func path(role: String, version: Int64) -> String { metadataDir + "/\(version).\(role).json" }

        /// The versions of `N.root.json` present, ascending.
        public func rootVersions() throws(TrustVaultError) -> [Int64] {
            guard AtomicFile.isDirectory(metadataDir) else {
                throw .notFound("\(metadataDir) does not exist", recovery: "give the repository directory (the one holding metadata/)")
            }
            return try AtomicFile.list(metadataDir).compactMap { name -> Int64? in
                guard name.hasSuffix(".root.json") else { return nil }
                return Int64(name.dropLast(".root.json".count)).flatMap { $0 >= 1 && $0 <= TUF1.maximumVersion ? $0 : nil }
            }.sorted()
        }

        /// The newest root version present.
        public func latestRoot() throws(TrustVaultError) -> (version: Int64, envelope: Envelope, root: Root) {
            guard let v = try rootVersions().last else {
                throw .notFound("no N.root.json in \(metadataDir)", recovery: "create the repository with 'trustvault tuf init \(dir)'")
            }
            let env = try Envelope.load(rootPath(v))
            return (v, env, try Root(env.signed, name: rootPath(v)))
        }

        /// Writes a non-root role's file (and its versioned copy under consistent snapshots).
        public func write(_ env: Envelope, role: String, consistent: Bool) throws(TrustVaultError) -> [String] {
            var written: [String] = []
            if consistent, role != "timestamp", let v = env.version {
                try AtomicFile.write(env.encoded, to: path(role: role, version: v), mode: 0o644)
                written.append(path(role: role, version: v))
            }
            try AtomicFile.write(env.encoded, to: path(role: role), mode: 0o644)
            written.append(path(role: role))
            return written
        }
    }
}




