public import TrustCore
public import Metadata
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// A repository's metadata on disk. The Metadata module reads and writes no files; every
/// directory layout trustvault reads or writes is here, behind this one type:
///
/// - a TUF 1.0 repository directory: `DIR/metadata/` (what clients fetch: `N.root.json`,
///   `timestamp.json`, `snapshot.json`, `targets.json`, `<role>.json`, and with consistent
///   snapshots `N.<role>.json` too, the unversioned name always the newest) and `DIR/targets/`
///   (this file);
/// - notary's cache layout (`DIR/root.json` … `DIR/targets/<name>.json`, or a trust directory
///   `DIR/tuf/<GUN>/metadata/…`), read as `--current`, and a ceremony's `--out`, written as a
///   trust-directory fragment and read back by `publish` (`NotaryLayouts.swift`);
/// - `fetch --out`: the server's files in notary's cache layout, written whole or not at all
///   (`WholeDirectory.swift`).
///
/// Every read goes through the input gate (`InputKind.metadata`, `TUF1.targetFile`), every write
/// through `AtomicFile`.
public struct RepositoryStore: Sendable {
    public let dir: String
    /// The directories under `targets/` open while this store reads target files.
    private let targetDirectories = DirectoryHandles()
    public init(_ dir: String) { self.dir = dir }

    // MARK: TUF 1.0 repository directory

    public var metadataDir: String { dir + "/metadata" }
    public var targetsDir: String { dir + "/targets" }

    public func rootPath(_ version: Int64) -> String { metadataDir + "/" + TUF1.rootFileName(version) }
    /// Role names are untrusted text: the file name carries them percent-encoded as python-tuf
    /// fetches them, so `../a` is `..%2Fa.json`, inside `metadata/`.
    public func path(role: String) -> String { metadataDir + "/" + TUF1.fileName(role: role) }
    public func path(role: String, version: Int64) -> String { metadataDir + "/" + TUF1.fileName(role: role, version: version) }

    /// The versions of `N.root.json` present, ascending.
    public func rootVersions() throws(TrustVaultError) -> [Int64] {
        TUF1.rootVersions(in: try metadataFileNames())
    }

    /// The newest root version present.
    public func latestRoot() throws(TrustVaultError) -> (version: Int64, envelope: TUF1.Envelope, root: TUF1.Root) {
        guard let v = try rootVersions().last else {
            throw .notFound("no N.root.json in \(metadataDir)", recovery: "create the repository with 'trustvault tuf init \(dir)'")
        }
        let env = try Self.envelope(at: rootPath(v))
        return (v, env, try TUF1.Root(env.signed, name: rootPath(v)))
    }

    /// Writes a non-root role's file (and its versioned copy under consistent snapshots).
    /// Returns the paths written.
    public func write(_ env: TUF1.Envelope, role: String, consistent: Bool) throws(TrustVaultError) -> [String] {
        var written: [String] = []
        if consistent, role != "timestamp", let v = env.version {
            try AtomicFile.write(env.encoded, to: path(role: role, version: v), mode: 0o644)
            written.append(path(role: role, version: v))
        }
        try AtomicFile.write(env.encoded, to: path(role: role), mode: 0o644)
        written.append(path(role: role))
        return written
    }

    /// A TUF envelope read from a file (any path), through the input gate.
    public static func envelope(at path: String) throws(TrustVaultError) -> TUF1.Envelope {
        try TUF1.Envelope(parsing: try AtomicFile.read(path, kind: .metadata), name: path)
    }
}

extension RepositoryStore: TUF1.RepositorySource {
    public var metadataLocation: String { metadataDir }
    public var targetsLocation: String { targetsDir }

    public func metadataFileNames() throws(TrustVaultError) -> [String] {
        guard AtomicFile.isDirectory(metadataDir) else {
            throw .notFound("\(metadataDir) does not exist", recovery: "give the repository directory (the one holding metadata/)")
        }
        return try AtomicFile.list(metadataDir)
    }

    public func metadataFile(_ name: String) throws(TrustVaultError) -> [UInt8]? {
        let path = metadataDir + "/" + name
        guard AtomicFile.exists(path) else { return nil }
        return try AtomicFile.read(path, kind: .metadata)
    }

    public func targetFile(_ relativePath: String) throws(TrustVaultError) -> [UInt8]? {
        let path = targetsDir + "/" + relativePath
        // 100,000 target files in a few directories: each read looks up one name in its open
        // directory rather than the whole path.
        guard let slash = relativePath.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            guard let fd = targetDirectories.descriptor(targetsDir) else { return try InputFile.readIfPresent(path, kind: TUF1.targetFile) }
            return try InputFile.readIfPresent(relativePath, in: fd, path: path, kind: TUF1.targetFile)
        }
        let name = String(relativePath[relativePath.utf8.index(after: slash)...])
        guard !name.isEmpty, let fd = targetDirectories.descriptor(targetsDir + "/" + relativePath[..<slash]) else {
            return try InputFile.readIfPresent(path, kind: TUF1.targetFile)
        }
        return try InputFile.readIfPresent(name, in: fd, path: path, kind: TUF1.targetFile)
    }
}

// The names the rest of the tree has used for these since before the store.
extension TUF1 {
    /// A TUF repository directory: the store.
    public typealias Layout = RepositoryStore
}

extension TUF1.Envelope {
    /// Reads a TUF envelope from a file through the input gate.
    public static func load(_ path: String) throws(TrustVaultError) -> TUF1.Envelope { try RepositoryStore.envelope(at: path) }
}

extension TUF1.Verifier {
    /// Verifies the repository directory `directory` (`metadata/`, `targets/`).
    public init(directory: String, now: TUFTime = .now()) {
        self.init(source: RepositoryStore(directory), now: now)
    }
}

/// Directories kept open for reading many files in them, at most ``limit`` at a time (beyond it,
/// and for a directory that cannot be opened, the caller reads by path, which names the error).
final class DirectoryHandles: @unchecked Sendable {
    static let limit = 64
    private let lock = NSLock()
    private var handles: [String: Int32] = [:]

    func descriptor(_ dir: String) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let fd = handles[dir] { return fd >= 0 ? fd : nil }
        guard handles.count < Self.limit else { return nil }
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        handles[dir] = fd >= 0 ? fd : -1
        return fd >= 0 ? fd : nil
    }

    deinit {
        for fd in handles.values where fd >= 0 { close(fd) }
    }
}
