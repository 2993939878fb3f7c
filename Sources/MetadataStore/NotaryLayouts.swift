public import TrustCore
public import Metadata

// Notary v1's layouts: notary's cache (`--current`) and a ceremony's `--out`.
extension RepositoryStore {
    /// Reads a directory in notary's cache layout (`root.json`, `targets.json`, `snapshot.json`,
    /// `timestamp.json`, `targets/<name>.json`) or a trust directory (`tuf/<GUN>/metadata/…`).
    public func notaryMetadata(gun: String, requireRoot: Bool = true) throws(TrustVaultError) -> MetadataSet {
        let directory = self.dir
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
                throw .invalid(
                    "\(targetsDir) is a symlink that leads out of \(base)",
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

    /// Writes `set`'s files as a notary trust-directory fragment: `DIR/tuf/<GUN>/metadata/<role>.json`.
    /// Returns the written paths by role.
    @discardableResult
    public func writeTrustDirFragment(_ set: MetadataSet) throws(TrustVaultError) -> [(role: String, path: String)] {
        let directory = self.dir, files = set.files, gun = set.gun
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
            for role in files.keys.sorted(by: MetadataSet.uploadOrder) {
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

}

// A ceremony's `--out` as `trustvault-online publish` reads it.
extension RepositoryStore {
    /// Finds `DIR/tuf/<GUN>/metadata/` (the GUN may contain `/`) and reads root, targets,
    /// snapshot and `targets/…` delegation files (timestamp.json is named in `skipped`: the server
    /// makes its own). Any other file in the metadata directory is refused.
    public func trustDirFragment() throws(TrustVaultError)
        -> (gun: String, metadataDirectory: String, files: [String: [UInt8]], skipped: [String])
    {
        let dir = self.dir
        guard AtomicFile.isDirectory(dir) else { throw .notFound("\(dir) is not a directory", recovery: "pass the --out directory of a trustvault ceremony") }
        var found: [String] = []
        func walk(_ path: String, depth: Int) throws(TrustVaultError) {
            guard depth < 16 else { return }
            for name in try AtomicFile.list(path) where AtomicFile.isDirectory(path + "/" + name) {
                if name == "metadata" { found.append(path + "/" + name) } else { try walk(path + "/" + name, depth: depth + 1) }
            }
        }
        if AtomicFile.isDirectory(dir + "/tuf") { try walk(dir + "/tuf", depth: 0) }
        guard found.count == 1, let meta = found.first else {
            throw .notFound(
                found.isEmpty ? "\(dir) holds no tuf/<GUN>/metadata directory" : "\(dir) holds metadata for several GUNs (\(found.count))",
                recovery: "pass the --out directory of one trustvault ceremony")
        }
        let gun = String(meta.dropFirst((dir + "/tuf/").count).dropLast("/metadata".count))
        try Names.checkGUN(gun)
        var skipped: [String] = []
        var byRole: [String: [UInt8]] = [:]
        for name in try AtomicFile.list(meta) {
            let path = meta + "/" + name
            if AtomicFile.isDirectory(path) { continue }
            guard name.hasSuffix(".json") else { continue }
            let role = String(name.dropLast(5))
            if role == "timestamp" { skipped.append(name); continue }
            guard ["root", "targets", "snapshot"].contains(role) else {
                throw .corrupt(
                    "\(path): \(Self.shown(name)) is not a role file notary-server accepts",
                    recovery: "remove it; the fragment holds root.json, targets.json, snapshot.json and targets/<name>.json")
            }
            byRole[role] = try AtomicFile.read(path, kind: .metadata)
        }
        func walkDelegations(_ path: String, prefix: String, depth: Int) throws(TrustVaultError) {
            guard depth < 16, AtomicFile.isDirectory(path) else { return }
            for name in try AtomicFile.list(path) {
                let full = path + "/" + name
                if AtomicFile.isDirectory(full) {
                    try walkDelegations(full, prefix: prefix + name + "/", depth: depth + 1)
                } else if name.hasSuffix(".json") {
                    let role = prefix + String(name.dropLast(5))
                    guard Names.isValidDelegationRole(role) else {
                        throw .corrupt("\(full): \(Self.shown(role)) is not a delegation role name notary accepts", recovery: "remove it from the fragment")
                    }
                    byRole[role] = try AtomicFile.read(full, kind: .metadata)
                }
            }
        }
        try walkDelegations(meta + "/targets", prefix: "targets/", depth: 0)
        guard !byRole.isEmpty else { throw .notFound("\(meta) holds no metadata to upload", recovery: "pass the --out directory of a trustvault ceremony") }
        return (gun, meta, byRole, skipped)
    }

    /// User text in messages: escaped, length bounded.
    static func shown(_ s: String, limit: Int = 300) -> String {
        s.count > limit ? Escape.visible(String(s.prefix(limit))) + "…" : Escape.visible(s)
    }
}

// The names the rest of the tree has used for these since before the store.
extension MetadataSet {
    /// Reads a directory in notary's cache layout or a trust directory (`RepositoryStore.notaryMetadata`).
    public static func load(directory: String, gun: String, requireRoot: Bool = true) throws(TrustVaultError) -> MetadataSet {
        try RepositoryStore(directory).notaryMetadata(gun: gun, requireRoot: requireRoot)
    }

    /// Writes the files as a notary trust-directory fragment under `directory`
    /// (`RepositoryStore.writeTrustDirFragment`).
    @discardableResult
    public func writeTrustDirFragment(to directory: String) throws(TrustVaultError) -> [(role: String, path: String)] {
        try RepositoryStore(directory).writeTrustDirFragment(self)
    }
}
