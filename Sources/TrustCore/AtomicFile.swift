#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file operations: every write goes to a temporary file in the same directory,
/// is fsynced, renamed into place, and the directory is fsynced. A crash at any instant leaves
/// either the old or the new file, never a mix. Temporary files start with `.tmp-` so readers
/// can skip them and writers can clean them up.
public enum AtomicFile {
    public static let temporaryPrefix = ".tmp-"

    /// Reads a whole file through the input gate (``InputFile``): regular files only, without
    /// blocking, at most `kind.maximumSize` bytes.
    public static func read(_ path: String, kind: InputKind = .general) throws(TrustVaultError) -> [UInt8] {
        try InputFile.read(path, kind: kind)
    }

    /// Replaces (or creates) `path` atomically with `bytes`, mode `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o600) throws(TrustVaultError) {
        let temp = try writeTemporary(bytes, besides: path, mode: mode)
        guard rename(temp, path) == 0 else {
            let e = errnoError("cannot replace \(path)", path: path)
            unlink(temp)
            throw e
        }
        try syncDirectory(of: path)
    }

    /// Creates `path` atomically with `bytes`; fails with `.alreadyExists` if it exists.
    /// Uses `link(2)`, which never replaces an existing name.
    public static func create(_ bytes: [UInt8], at path: String, mode: UInt32 = 0o600) throws(TrustVaultError) {
        let temp = try writeTemporary(bytes, besides: path, mode: mode)
        defer { unlink(temp) }
        guard link(temp, path) == 0 else {
            if errno == EEXIST { throw TrustVaultError(.alreadyExists, "\(path) already exists") }
            throw errnoError("cannot create \(path)", path: path)
        }
        unlink(temp)
        try syncDirectory(of: path)
    }

    /// Removes `path` and makes the removal durable.
    public static func remove(_ path: String) throws(TrustVaultError) {
        guard unlink(path) == 0 else { throw errnoError("cannot remove \(path)", path: path) }
        try syncDirectory(of: path)
    }

    /// Creates a directory with `mode` (default 0700) and fsyncs its parent.
    public static func makeDirectory(_ path: String, mode: UInt32 = 0o700) throws(TrustVaultError) {
        guard mkdir(path, mode_t(mode)) == 0 else {
            if errno == EEXIST { throw TrustVaultError(.alreadyExists, "\(path) already exists") }
            throw errnoError("cannot create directory \(path)", path: path)
        }
        chmod(path, mode_t(mode))  // mkdir applies the umask; the mode is the contract
        try syncDirectory(of: path)
    }

    /// Creates every missing directory on the way to `path` (each 0700).
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o700) throws(TrustVaultError) {
        for current in prefixes(of: path) {
            if isDirectory(current) { continue }
            do { try makeDirectory(current, mode: mode) } catch  where error.code == .alreadyExists {}
        }
    }

    /// The directories on the way to `path`, each spelled as a prefix of `path` itself (so a
    /// relative `usb/out`, `./out` or `../out` stays relative and every prefix is a prefix of the
    /// caller's string): `a/b/c` gives `a`, `a/b`, `a/b/c`. `.` and `..` components are kept as
    /// written; empty components (`a//b`, a trailing `/`) add no entry.
    public static func prefixes(of path: String) -> [String] {
        var result: [String] = []
        var index = path.startIndex
        while index < path.endIndex {
            let next = path[index...].firstIndex(of: "/") ?? path.endIndex
            if next > index {
                let component = path[index..<next]
                if component != "." { result.append(String(path[..<next])) }
            }
            index = next < path.endIndex ? path.index(after: next) : next
        }
        return result
    }

    /// The first directory on the way to `path` that does not exist yet (the first one
    /// ``makeDirectories(_:mode:)`` would create), or nil when `path` exists.
    public static func firstMissingDirectory(_ path: String) -> String? {
        for current in prefixes(of: path) {
            var st = stat()
            if lstat(current, &st) != 0 { return current }
        }
        return nil
    }

    /// Publishes a directory tree built under a temporary name: renames `staging` to `path`
    /// (which must not exist) and fsyncs the parent, so a crash leaves the whole tree or none.
    public static func publishDirectory(_ staging: String, as path: String) throws(TrustVaultError) {
        guard !exists(path) else { throw TrustVaultError(.alreadyExists, "\(path) already exists") }
        guard rename(staging, path) == 0 else { throw errnoError("cannot rename \(staging) to \(path)", path: path) }
        try syncDirectory(of: path)
    }

    /// A fresh hidden temporary name next to `path` (for ``publishDirectory(_:as:)``).
    public static func stagingName(for path: String) -> String {
        let suffix = Sodium.randomBytes(8).map { String($0, radix: 16) }.joined()
        return parent(of: path) + "/" + temporaryPrefix + fileName(of: path) + "-" + suffix
    }

    /// Removes a directory tree this process itself created for an output that then failed
    /// (a full disk), so that no half-written output is left behind. Symlinks are removed, never
    /// followed. Best effort: what cannot be removed stays.
    public static func removeCreatedTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names { removeCreatedTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// fsyncs a directory so that renames and creations inside it survive a crash.
    public static func syncDirectory(of path: String) throws(TrustVaultError) {
        let dir = parent(of: path)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw errnoError("cannot open directory \(dir)", path: dir) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw errnoError("cannot sync directory \(dir)", path: dir) }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Whether `path` exists (not following a final symlink); false only when it is absent,
    /// any other failure (permission denied) is thrown, naming `what`.
    public static func existsChecked(_ path: String, what: String) throws(TrustVaultError) -> Bool {
        var st = stat()
        if lstat(path, &st) == 0 { return true }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw errnoError(what, path: path)
    }

    /// Permission bits and owner of `path` (not following a final symlink), or nil if absent.
    public static func ownership(_ path: String) -> (mode: UInt32, owner: UInt32)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt32(st.st_mode & 0o7777), UInt32(st.st_uid))
    }

    /// The effective user ID of this process.
    public static var currentUser: UInt32 { UInt32(geteuid()) }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without `.`/`..` and without temporary files.
    public static func list(_ directory: String) throws(TrustVaultError) -> [String] {
        guard let dir = opendir(directory) else {
            throw errnoError("cannot list \(directory)", path: directory)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." || name.hasPrefix(temporaryPrefix) { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// Removes temporary files a crashed writer left in `directory`.
    public static func removeStaleTemporaries(in directory: String) {
        guard let dir = opendir(directory) else { return }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(temporaryPrefix) { stale.append(name) }
        }
        closedir(dir)
        for name in stale { unlink(directory + "/" + name) }
    }

    /// Writes `bytes` to a new temporary file beside `path` without making it durable; returns
    /// its path. For writing many files at once: ``syncFileSystem(of:)`` then makes all of them
    /// durable in one step, before each is renamed into place (``write(_:to:mode:)`` does all of
    /// this for one file).
    public static func writeUnsyncedTemporary(_ bytes: [UInt8], besides path: String, mode: UInt32) throws(TrustVaultError) -> String {
        try writeTemporary(bytes, besides: path, mode: mode, sync: false)
    }

    /// Makes everything written to the file system holding `path` durable (`syncfs(2)`, which
    /// reports write-back errors since Linux 5.8): one flush for thousands of new files instead
    /// of one per file.
    public static func syncFileSystem(of path: String) throws(TrustVaultError) {
        typealias SyncFS = @convention(c) (Int32) -> Int32
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw errnoError("cannot open \(path)", path: path) }
        defer { close(fd) }
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else {
            // No syncfs: every file system, as sync(2) does.
            sync()
            return
        }
        guard unsafeBitCast(symbol, to: SyncFS.self)(fd) == 0 else { throw errnoError("cannot make the files under \(path) durable", path: path) }
    }

    private static func writeTemporary(_ bytes: [UInt8], besides path: String, mode: UInt32, sync: Bool = true) throws(TrustVaultError) -> String {
        let dir = parent(of: path)
        let suffix = Sodium.randomBytes(8).map { String($0, radix: 16) }.joined()
        let temp = dir + "/" + temporaryPrefix + fileName(of: path) + "-" + suffix
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw errnoError("cannot write in \(dir)", path: dir) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temp) }
        }
        fchmod(fd, mode_t(mode))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw errnoError("cannot write \(path)", path: path)
            }
            offset += n
        }
        guard !sync || fsync(fd) == 0 else { throw errnoError("cannot sync \(path)", path: path) }
        ok = true
        return temp
    }

    /// Maps `errno` to an error with a helpful code.
    public static func errnoError(_ what: String, path: String) -> TrustVaultError {
        let code = errno
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT: return .notFound("\(what): \(reason)")
        case EACCES, EPERM:
            return TrustVaultError(.insecurePermissions, "\(what): \(reason)", recovery: "check the owner and mode of \(path)")
        case ENOSPC: return .io("\(what): \(reason)", recovery: "free disk space and retry; nothing was changed")
        default: return .io("\(what): \(reason)")
        }
    }
}
