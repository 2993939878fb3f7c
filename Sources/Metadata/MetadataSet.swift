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

    /// Reads a directory in notary's cache layout (`root.json`, `targets.json`, `snapshot.json`,
    /// `timestamp.json`, `targets/<name>.json`) or a trust directory (`tuf/<GUN>/metadata/…`).
    public static func load(directory: String, gun: String, requireRoot: Bool = true) throws(TrustVaultError) -> MetadataSet {
        try Names.checkGUN(gun)  // it becomes part of a path below
        var dir = directory  // `current/` names its files current/root.json, not current//root.json
        while dir.count > 1, dir.hasSuffix("/") { dir.removeLast() }
        var base = dir
        let trustDirMeta = dir + "/tuf/" + gun + "/metadata"
        if !AtomicFile.exists(dir + "/root.json"), AtomicFile.exists(trustDirMeta + "/root.json") || !requireRoot {
            base = trustDirMeta
        }
        guard AtomicFile.isDirectory(directory) else {
            throw .notFound("\(directory) is not a directory", recovery: "pass the directory that holds root.json")
        }
        guard AtomicFile.exists(base + "/root.json") || (!requireRoot && AtomicFile.isDirectory(base)) else {
            throw .notFound(
                "no root.json in \(directory) (nor in \(trustDirMeta))",
                recovery: "pass a notary metadata cache or trust directory for \(gun)")
        }
        var set = MetadataSet(gun: gun)
        for role in ["root", "targets", "snapshot", "timestamp"] {
            let path = base + "/" + role + ".json"
            if AtomicFile.exists(path) { set.files[role] = try InputFile.read(role + ".json", inside: base, kind: .metadata) }
        }
        // Delegations: targets/<name>.json, nested. The walk follows no symlinked directory and
        // no symlink out of targets/ (two links to "." once made it exponential).
        let targetsDir = base + "/targets"
        if AtomicFile.isDirectory(targetsDir) {
            // targets/ itself must not lead out of the metadata directory either.
            guard let inner = InputFile.realPath(targetsDir), let outer = InputFile.realPath(base),
                inner.hasPrefix(outer + "/")
            else {
                throw .invalid("\(targetsDir) is a symlink that leads out of \(base)",
                               recovery: "copy the delegations' metadata into the directory instead of linking to it")
            }
            for entry in try InputFile.walk(targetsDir, maximumDepth: 16, maximumEntries: 10_000)
            where !entry.isDirectory && entry.relativePath.hasSuffix(".json") {
                set.files["targets/" + String(entry.relativePath.dropLast(5))] =
                    try AtomicFile.read(targetsDir + "/" + entry.relativePath, kind: .metadata)
            }
        }
        for name in try AtomicFile.list(base) where name.hasSuffix(".root.json") {
            let digits = name.dropLast(".root.json".count)
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let v = Int(digits), v >= 1
            else { continue }
            set.rootVersions[v] = try AtomicFile.read(base + "/" + name, kind: .metadata)
        }
        return set
    }

    /// Writes the files as a notary trust-directory fragment: `DIR/tuf/<GUN>/metadata/<role>.json`.
    /// Returns the written paths by role.
    @discardableResult
    public func writeTrustDirFragment(to directory: String) throws(TrustVaultError) -> [(role: String, path: String)] {
        let base = directory + "/tuf/" + gun + "/metadata"
        // The missing part of the path is built under a hidden temporary name and renamed into
        // place at the end, so a crash (kill -9) leaves the whole fragment or none; on an error
        // (a full disk) the temporary tree goes again.
        let created = AtomicFile.firstMissingDirectory(base)
        let staging = created.map { AtomicFile.stagingName(for: $0) }
        let stagedBase = created.map { staging! + base.dropFirst($0.count) } ?? base
        var written: [(String, String)] = []
        do {
            try AtomicFile.makeDirectories(stagedBase)
            for role in files.keys.sorted(by: Self.uploadOrder) {
                let path = stagedBase + "/" + role + ".json"
                try AtomicFile.makeDirectories(AtomicFile.parent(of: path))
                // Metadata is public; 0644 like notary's cache.
                try AtomicFile.write(files[role] ?? [], to: path, mode: 0o644)
                written.append((role, base + "/" + role + ".json"))
            }
            if let created, let staging { try AtomicFile.publishDirectory(staging, as: created) }
        } catch {
            if let staging { AtomicFile.removeCreatedTree(staging) } else { for (_, path) in written { AtomicFile.removeCreatedTree(path) } }
            throw error
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
