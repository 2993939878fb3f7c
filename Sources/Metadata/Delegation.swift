public import TrustCore

/// One delegated role in a targets file's `delegations.roles`, in either dialect
/// (`DelegatedRole` = Notary v1, `TUF1.Delegation` = TUF 1.0).
///
/// Fields the model does not name are kept as read (`unknown`) and written back, so a change
/// to one delegation never drops what another tool put in its entry. Which target paths a
/// delegation covers is the dialect's rule (`MetadataDialect.pathMatches`).
public struct Delegation<D: MetadataDialect>: Sendable, Hashable {
    public var name: String
    public var role: RoleKeys
    /// Notary: path prefixes (`""` means every path). TUF: shell patterns per `/` part.
    public var paths: [String]
    /// TUF's `terminating` (Notary has none: always false there).
    public var terminating: Bool
    /// Members of the entry the model does not name, as read.
    public var unknown: [JSONValue.Member] = []

    public init(name: String, role: RoleKeys, paths: [String], terminating: Bool) {
        self.name = name
        self.role = role
        self.paths = paths
        self.terminating = terminating
    }

    public var keyIDs: [String] {
        get { role.keyIDs }
        set { role.keyIDs = newValue }
    }

    public var threshold: Int {
        get { role.threshold }
        set { role.threshold = newValue }
    }

    /// Whether a target path falls under this role's paths, by the dialect's rule.
    public func covers(_ target: String) -> Bool { paths.contains { D.pathMatches(pattern: $0, path: target) } }

    /// The entry as written: the named members, then the unknown ones as read.
    func json(paths pathsValue: JSONValue?, terminating: Bool) -> JSONValue {
        var v = JSONValue.obj(["keyids": .array(role.keyIDs.map { .string($0) }), "name": .string(name), "threshold": .integer(Int64(role.threshold))])
        if let pathsValue { v["paths"] = pathsValue }
        if terminating { v["terminating"] = .bool(self.terminating) }
        for m in unknown where v[m.key] == nil { v[m.key] = m.value }
        return v
    }

    /// The members of `json` the model does not name (`terminating` only where the dialect has it).
    static func unknownMembers(of json: JSONValue, terminating: Bool) -> [JSONValue.Member] {
        let known: Set<String> = terminating ? ["name", "keyids", "threshold", "paths", "terminating"] : ["name", "keyids", "threshold", "paths"]
        return (json.objectValue ?? []).filter { !known.contains($0.key) }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.role == b.role && a.paths == b.paths && a.terminating == b.terminating && a.unknown == b.unknown
    }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(role)
        h.combine(paths)
        h.combine(terminating)
    }
}

/// A Notary v1 delegation (`targets/releases`, `targets/<team>`).
public typealias DelegatedRole = Delegation<NotaryV1>

extension Delegation where D == NotaryV1 {
    public init(name: String, keyIDs: [String], threshold: Int = 1, paths: [String]) {
        self.init(name: name, role: RoleKeys(keyIDs: keyIDs, threshold: threshold), paths: paths, terminating: false)
    }

    /// As notary writes it: `paths` left out when empty, no `terminating`.
    var json: JSONValue { json(paths: paths.isEmpty ? nil : .array(paths.map { .string($0) }), terminating: false) }

    init(json: JSONValue, context: String) throws(TrustVaultError) {
        let keys = try RoleKeys(json: json, context: context, dialect: NotaryV1.self)
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
        unknown = Self.unknownMembers(of: json, terminating: false)
    }

    /// Notary's role-name rules: `targets/…`, `[-a-z0-9_/]`, clean, shorter than 256 bytes.
    public static func isValidName(_ name: String) -> Bool { Names.isValidDelegationRole(name) }

    /// The parent role's name (`targets` for `targets/x`).
    public static func parent(of name: String) -> String {
        guard let i = name.lastIndex(of: "/") else { return "" }
        return String(name[..<i])
    }
}

extension TUF1 {
    /// A TUF 1.0 delegation.
    public typealias Delegation = Metadata.Delegation<TUF1>
}

extension Delegation where D == TUF1 {
    /// As python-tuf writes it: `paths` and `terminating` always.
    public var json: JSONValue { json(paths: .array(paths.map { .string($0) }), terminating: true) }

    init(json: JSONValue, context: String) throws(TrustVaultError) {
        guard let name = json["name"]?.stringValue else { throw .corrupt("\(context): a delegated role needs a \"name\"") }
        let role = try RoleKeys(json: json, context: "\(context): delegated role \(name)", dialect: TUF1.self)
        let paths: [String]
        if let p = json["paths"]?.arrayValue {
            paths = p.compactMap(\.stringValue)
        } else if json["path_hash_prefixes"] != nil {
            throw .unsupported("\(context): delegated role \(name) uses path_hash_prefixes, which trustvault does not handle")
        } else {
            throw .corrupt("\(context): delegated role \(name) has no \"paths\"")
        }
        self.init(name: name, role: role, paths: paths, terminating: json["terminating"]?.boolValue ?? false)
        unknown = Self.unknownMembers(of: json, terminating: true)
    }
}
