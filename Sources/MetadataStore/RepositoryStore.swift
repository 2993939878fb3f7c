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
    /// The directories under `targets/` open (and listed) while this store reads target files:
    /// a store sees each directory as it was when it first read from it (a new store reads what
    /// was written since).
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
        // 100,000 target files in a few directories: each directory is opened and listed once;
        // a name listed as a regular file is opened at once (no lookup first), a name not listed
        // is not there, anything else is looked up as below. The full path is made only for a
        // message.
        let dir: String, name: String
        if let slash = relativePath.utf8.lastIndex(of: UInt8(ascii: "/")) {
            dir = String(relativePath[..<slash])
            name = String(relativePath[relativePath.utf8.index(after: slash)...])
        } else {
            dir = ""
            name = relativePath
        }
        guard !name.isEmpty, let d = targetDirectories.directory(dir, in: targetsDir) else {
            return try InputFile.readIfPresent(targetsDir + "/" + relativePath, kind: TUF1.targetFile)
        }
        switch d.listing?.kind(of: name) {
        case .absent: return nil
        case .regular:
            if let bytes = try InputFile.readListedRegular(name, in: d.fd, path: targetsDir + "/" + relativePath, kind: TUF1.targetFile) {
                return bytes
            }
        case .other, nil: break
        }
        return try InputFile.readIfPresent(name, in: d.fd, path: targetsDir + "/" + relativePath, kind: TUF1.targetFile)
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

/// Directories under one root kept open for reading many files in them, each with a listing of
/// its names and their types (`d_type`), at most ``limit`` directories at a time. Beyond it, and
/// for a directory that cannot be opened, the caller reads by path, which names the error; a
/// directory too large to list, or one whose listing fails, is read without a listing.
final class DirectoryHandles: @unchecked Sendable {
    static let limit = 64
    /// The most names one listing holds (9 bytes each, twice over).
    static let listingLimit = 1 << 20

    struct Directory: Sendable {
        let fd: Int32
        /// What the listing says of each name (nil: read without a listing).
        let listing: Listing?
    }

    /// A directory's names by a 64-bit hash of their bytes (FNV-1a), with the type the listing
    /// gave them: a hash not in the table is a name not in the directory; a hash held only by
    /// regular files is a regular file if it is there at all; a hash also held by anything else
    /// (a symlink, a device, a directory, another kind under a colliding name) is ``other``. No
    /// name is kept, and a crafted collision can only send a name to the lookup that refuses
    /// what is not a regular file.
    struct Listing: Sendable {
        enum Kind { case absent, regular, other }
        private var keys: [UInt64]
        private var regular: [Bool]
        private let mask: Int

        /// Distinct hashes held; the table is kept at least twice as large.
        private(set) var count = 0

        init(capacity count: Int) {
            var size = 16
            while size < count * 2 { size <<= 1 }
            keys = Array(repeating: 0, count: size)
            regular = Array(repeating: false, count: size)
            mask = size - 1
        }

        static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return h == 0 ? 1 : h  // 0 marks an empty slot
        }

        /// The first slot for `hash`: its bits mixed down (FNV's low bits depend only on the
        /// bytes' low bits, and names like t000042.bin differ in a few of them).
        private func slot(_ hash: UInt64) -> Int {
            var x = hash ^ (hash >> 33)
            x = x &* 0xff51_afd7_ed55_8ccd
            x ^= x >> 33
            return Int(truncatingIfNeeded: x) & mask
        }

        mutating func insert(_ hash: UInt64, isRegular: Bool) {
            if (count + 1) * 2 > keys.count {
                var larger = Listing(capacity: keys.count)
                for (k, r) in zip(keys, regular) where k != 0 { larger.insert(k, isRegular: r) }
                self = larger
            }
            var i = slot(hash)
            while keys[i] != 0 && keys[i] != hash { i = (i + 1) & mask }
            if keys[i] == hash {
                regular[i] = regular[i] && isRegular
            } else {
                keys[i] = hash
                regular[i] = isRegular
                count += 1
            }
        }

        func kind(of name: String) -> Kind {
            var name = name
            let hash = name.withUTF8 { Self.hash(UnsafeRawBufferPointer($0)) }
            var i = slot(hash)
            while keys[i] != 0 {
                if keys[i] == hash { return regular[i] ? .regular : .other }
                i = (i + 1) & mask
            }
            return .absent
        }
    }

    private let lock = NSLock()
    private var handles: [String: Directory?] = [:]
    /// The directory asked for last (most reads are of the same directory as the one before).
    private var last: (relative: String, directory: Directory?)?

    /// The directory `relative` (`""` for the root itself) under `root`, opened and listed the
    /// first time it is asked for; nil when it cannot be opened or ``limit`` are open.
    func directory(_ relative: String, in root: String) -> Directory? {
        lock.lock()
        defer { lock.unlock() }
        if let last, last.relative == relative { return last.directory }
        if let known = handles[relative] {
            last = (relative, known)
            return known
        }
        guard handles.count < Self.limit else { return nil }
        let path = relative.isEmpty ? root : root + "/" + relative
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let d = fd >= 0 ? Directory(fd: fd, listing: Self.listing(fd)) : nil
        handles[relative] = d
        last = (relative, d)
        return d
    }

    /// Every name in the directory open as `fd`, by hash, with its `d_type`; nil if it cannot
    /// be listed whole or holds more than ``listingLimit`` names.
    private static func listing(_ fd: Int32) -> Listing? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let copy = dup(fd)
        guard copy >= 0 else { return nil }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return nil
        }
        defer { closedir(stream) }
        // Sized from the directory's size (ext4: about 20 to 40 bytes a name), grown if short.
        var listing = Listing(capacity: min(Int(max(st.st_size, 0)) / 32, 1 << 16))
        while true {
            errno = 0
            guard let entry = readdir(stream) else { break }
            let isRegular = entry.pointee.d_type == UInt8(DT_REG)
            let hash = withUnsafeBytes(of: &entry.pointee.d_name) { bytes -> UInt64? in
                let count = bytes.firstIndex(of: 0) ?? bytes.count
                let dot = UInt8(ascii: ".")
                if (count == 1 && bytes[0] == dot) || (count == 2 && bytes[0] == dot && bytes[1] == dot) { return nil }
                return Listing.hash(UnsafeRawBufferPointer(rebasing: bytes[..<count]))
            }
            guard let hash else { continue }
            guard listing.count < listingLimit else { return nil }
            listing.insert(hash, isRegular: isRegular)
        }
        guard errno == 0 else { return nil }
        return listing
    }

    deinit {
        for case let d? in handles.values { close(d.fd) }
    }
}
