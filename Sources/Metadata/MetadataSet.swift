public import TrustCore

/// The metadata files of one repository, by role name (`root`, `targets`, `snapshot`,
/// `timestamp`, `targets/releases`, …), as exact bytes.
public struct MetadataSet: Sendable {
    public var gun: String
    public var files: [String: [UInt8]]
    /// Earlier root versions found beside root.json as `N.root.json` (the server serves each
    /// version under that name); used to follow a chain of root rotations from a trusted root.
    public var rootVersions: [Int: [UInt8]] = [:]
    /// The server's files for the roles that a pending (not yet uploaded) ceremony output replaces
    /// in `files`: a change built on top keeps such a role at the pending version (server + 1),
    /// so one upload carries each changed role once, and root's previous threshold is the server's.
    public var baseFiles: [String: [UInt8]] = [:]
    /// Files present but not trusted (role → why), as ceremonies' reading of `--current` found
    /// them: nothing re-signs their content, only a `delegation reset` replaces them.
    public var untrusted: [String: String] = [:]

    public init(gun: String, files: [String: [UInt8]] = [:]) {
        self.gun = gun
        self.files = files
    }

    /// root, targets, delegations (shallow first), snapshot, timestamp.
    public static func uploadOrder(_ a: String, _ b: String) -> Bool {
        func rank(_ r: String) -> (Int, Int, String) {
            switch r {
            case "root": (0, 0, r)
            case "targets": (1, 0, r)
            case "snapshot": (3, 0, r)
            case "timestamp": (4, 0, r)
            default: (2, r.split(separator: "/").count, r)
            }
        }
        return rank(a) < rank(b)
    }

    public func envelope(_ role: String) throws(TrustVaultError) -> SignedMetadata? {
        guard let bytes = files[role] else { return nil }
        return try SignedMetadata(parsing: bytes, name: role + ".json")
    }

    public func root() throws(TrustVaultError) -> (SignedMetadata, Root) {
        guard let env = try envelope("root") else { throw .notFound("root.json is missing") }
        return (env, try Root(json: env.signed))
    }

    public func targets(_ role: String = "targets", buildTargets: Bool = true) throws(TrustVaultError) -> (SignedMetadata, Targets)? {
        guard let env = try envelope(role) else { return nil }
        return (env, try Targets(json: env.signed, name: role + ".json", buildTargets: buildTargets))
    }

    /// The delegated roles present as files.
    public var delegationRoles: [String] { files.keys.filter { $0.hasPrefix("targets/") }.sorted(by: Self.uploadOrder) }

    /// The version a role gets when it changes now: one above the server's version (kept at the
    /// pending version when a pending output already changed it), else one above `current`.
    public func nextVersion(_ role: String, after current: Int) throws(TrustVaultError) -> Int {
        guard let bytes = baseFiles[role] else { return current + 1 }
        let env = try SignedMetadata(parsing: bytes, name: role + ".json")
        guard let v = env.signed["version"]?.intValue else { throw .corrupt("\(role).json has no version") }
        return Int(clamping: v) + 1
    }

    /// The root the next root.json must also satisfy: the server's, even when a pending output
    /// already changed root.
    public func previousRoot() throws(TrustVaultError) -> Root {
        if let bytes = baseFiles["root"] {
            return try Root(json: try SignedMetadata(parsing: bytes, name: "root.json").signed)
        }
        return try root().1
    }
}
