public import TrustCore

/// The metadata files of one repository, by role name (`root`, `targets`, `snapshot`,
/// `timestamp`, `targets/releases`, …), as exact bytes.
public struct MetadataSet: Sendable {
    public var gun: String
    public var files: [String: [UInt8]]

    public init(gun: String, files: [String: [UInt8]] = [:]) {
        self.gun = gun
        self.files = files
    }

    /// Reads a directory in notary's cache layout (`root.json`, `targets.json`, `snapshot.json`,
    /// `timestamp.json`, `targets/<name>.json`) or a trust directory (`tuf/<GUN>/metadata/…`).
    public static func load(directory: String, gun: String) throws(TrustVaultError) -> MetadataSet {
        try Names.checkGUN(gun)  // it becomes part of a path below
        var base = directory
        let trustDirMeta = directory + "/tuf/" + gun + "/metadata"
        if !AtomicFile.exists(directory + "/root.json"), AtomicFile.exists(trustDirMeta + "/root.json") {
            base = trustDirMeta
        }
        guard AtomicFile.isDirectory(directory) else {
            throw .notFound("\(directory) is not a directory", recovery: "pass the directory that holds root.json")
        }
        guard AtomicFile.exists(base + "/root.json") else {
            throw .notFound(
                "no root.json in \(directory) (nor in \(trustDirMeta))",
                recovery: "pass a notary metadata cache or trust directory for \(gun)")
        }
        var set = MetadataSet(gun: gun)
        for role in ["root", "targets", "snapshot", "timestamp"] {
            let path = base + "/" + role + ".json"
            if AtomicFile.exists(path) { set.files[role] = try AtomicFile.read(path, kind: .metadata) }
        }
        // Delegations: targets/<name>.json, nested. The walk follows no symlinked directory and
        // no symlink out of targets/ (two links to "." once made it exponential).
        let targetsDir = base + "/targets"
        if AtomicFile.isDirectory(targetsDir) {
            for entry in try InputFile.walk(targetsDir, maximumDepth: 16, maximumEntries: 10_000)
            where !entry.isDirectory && entry.relativePath.hasSuffix(".json") {
                set.files["targets/" + String(entry.relativePath.dropLast(5))] =
                    try AtomicFile.read(targetsDir + "/" + entry.relativePath, kind: .metadata)
            }
        }
        return set
    }

    /// Writes the files as a notary trust-directory fragment: `DIR/tuf/<GUN>/metadata/<role>.json`.
    /// Returns the written paths by role.
    @discardableResult
    public func writeTrustDirFragment(to directory: String) throws(TrustVaultError) -> [(role: String, path: String)] {
        let base = directory + "/tuf/" + gun + "/metadata"
        try AtomicFile.makeDirectories(base)
        var written: [(String, String)] = []
        for role in files.keys.sorted(by: Self.uploadOrder) {
            let path = base + "/" + role + ".json"
            try AtomicFile.makeDirectories(AtomicFile.parent(of: path))
            // Metadata is public; 0644 like notary's cache.
            try AtomicFile.write(files[role] ?? [], to: path, mode: 0o644)
            written.append((role, path))
        }
        return written
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
}
