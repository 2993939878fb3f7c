#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What kind of file is being read, and the most bytes trustvault reads of that kind.
///
/// Limits are enforced while reading (a device or a growing file reports a size of 0), and are
/// far above anything a real file of that kind holds.
public struct InputKind: Sendable, Hashable {
    /// Words used in messages ("key file", "metadata file").
    public let name: String
    public let maximumSize: Int

    public init(_ name: String, maximumSize: Int) {
        self.name = name
        self.maximumSize = maximumSize
    }

    /// PEM key files, bundles of keys, notary/docker trust-dir keys (hundreds of keys < 1 MiB).
    public static let keyFile = InputKind("key file", maximumSize: 4 << 20)
    /// A certificate, a public-key file, a server key (`timestamp.key`), a root certificate.
    public static let publicKey = InputKind("key or certificate file", maximumSize: 1 << 20)
    /// One Notary/TUF metadata file (notary's own download limit is 100 MiB).
    public static let metadata = InputKind("metadata file", maximumSize: 100 << 20)
    /// `vault.json` and key records.
    public static let vaultRecord = InputKind("vault file", maximumSize: 1 << 20)
    /// Any file inside a vault directory (the audit log grows with use).
    public static let vaultFile = InputKind("vault file", maximumSize: 256 << 20)
    /// A backup file (a whole vault, encrypted).
    public static let backup = InputKind("backup file", maximumSize: 512 << 20)
    /// A printed share sheet saved as text.
    public static let shareFile = InputKind("share file", maximumSize: 64 << 10)
    /// A list of paths, one per line (`tuf add-targets --files-from`): a million paths fit.
    public static let fileList = InputKind("file list", maximumSize: 256 << 20)
    /// Anything else.
    public static let general = InputKind("input file", maximumSize: 100 << 20)
}

/// The one gate every file trustvault reads goes through.
///
/// - Only regular files are read: a FIFO, device, socket or directory (or a symlink to one) is
///   refused before it is opened for reading.
/// - The file is opened with `O_NONBLOCK`, so a FIFO swapped in after the check cannot hang the
///   open, and the opened descriptor is checked again with `fstat`.
/// - At most `kind.maximumSize` bytes are read; one byte more is an error. `st_size` is never
///   trusted.
/// - Directory walks (``InputFile/walk(_:maximumDepth:maximumEntries:)``) never follow a symlink
///   to a directory (no loops) nor a symlink that leaves the directory walked.
public enum InputFile {
    /// Reads the whole file at `path`.
    public static func read(_ path: String, kind: InputKind = .general) throws(TrustVaultError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw AtomicFile.errnoError("cannot read \(path)", path: path)
        }
        return try read(path, stat: st, kind: kind) { open(path, $0) }
    }

    /// ``read(_:kind:)``, or nil when nothing is at `path` (not even a dangling symlink, which
    /// is an error as in `read`): one lookup instead of asking first (a TUF repository's 100,000
    /// target files).
    public static func readIfPresent(_ path: String, kind: InputKind) throws(TrustVaultError) -> [UInt8]? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            var link = stat()
            if code == ENOENT || code == ENOTDIR, lstat(path, &link) != 0 { return nil }
            errno = code
            throw AtomicFile.errnoError("cannot read \(path)", path: path)
        }
        return try read(path, stat: st, kind: kind) { open(path, $0) }
    }

    /// ``readIfPresent(_:kind:)`` of `name`, one entry of the directory open as `directory`
    /// (a lookup of one name instead of a whole path); `path` names the file in messages.
    public static func readIfPresent(_ name: String, in directory: Int32, path: String, kind: InputKind) throws(TrustVaultError) -> [UInt8]? {
        var st = stat()
        guard fstatat(directory, name, &st, 0) == 0 else {
            let code = errno
            var link = stat()
            if code == ENOENT || code == ENOTDIR, fstatat(directory, name, &link, AT_SYMLINK_NOFOLLOW) != 0 { return nil }
            errno = code
            throw AtomicFile.errnoError("cannot read \(path)", path: path)
        }
        return try read(path, stat: st, kind: kind) { openat(directory, name, $0) }
    }

    /// ``readIfPresent(_:in:path:kind:)`` of a name a listing of `directory` showed as a regular
    /// file (not a symlink): opened straight away, with no lookup first (`O_NOFOLLOW`, so a
    /// symlink put there since fails the open). Nil when the open finds no regular file there:
    /// the caller then looks again with ``readIfPresent(_:in:path:kind:)``, which names what is
    /// there. `path` (names the file in messages) is made only for a message.
    public static func readListedRegular(
        _ name: String, in directory: Int32, path: @autoclosure () -> String, kind: InputKind
    ) throws(TrustVaultError) -> [UInt8]? {
        let fd = openat(directory, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return try read(opened: fd, stat: st, path: path, kind: kind)
    }

    /// The rest of ``read(_:kind:)`` once `path` was found with `st`; `open` opens it with the
    /// flags it is given.
    private static func read(
        _ path: String, stat found: stat, kind: InputKind, open: (Int32) -> Int32
    ) throws(TrustVaultError) -> [UInt8] {
        var st = found
        try requireRegular(st.st_mode, path: path, kind: kind)
        let fd = open(O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw AtomicFile.errnoError("cannot read \(path)", path: path) }
        defer { close(fd) }
        guard fstat(fd, &st) == 0 else { throw AtomicFile.errnoError("cannot read \(path)", path: path) }
        try requireRegular(st.st_mode, path: path, kind: kind)
        return try read(opened: fd, stat: st, path: { path }, kind: kind)
    }

    /// The whole of the regular file open as `fd`, which `fstat` found as `st`, up to the limit.
    private static func read(opened fd: Int32, stat st: stat, path: () -> String, kind: InputKind) throws(TrustVaultError) -> [UInt8] {
        let limit = kind.maximumSize
        // Straight into the result, sized by fstat (one byte more, to see a file that grew): no
        // zeroed buffer and no copy per file (a TUF repository's 100,000 target files).
        let expected = min(max(Int(st.st_size), 0), limit)
        var failure: Int32 = 0
        var out = [UInt8](unsafeUninitializedCapacity: expected + 1) { buffer, count in
            count = 0
            while count < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + count, buffer.count - count)
                if n < 0, errno == EINTR { continue }
                if n < 0 { failure = errno }
                if n <= 0 { return }
                count += n
                // A short read of a regular file is its end: with exactly the size fstat gave,
                // there is no need to ask again (one call fewer per file, 100,000 target files).
                if count == expected, (st.st_mode & S_IFMT) == S_IFREG { return }
            }
        }
        if failure != 0 {
            errno = failure
            let p = path()
            throw AtomicFile.errnoError("cannot read \(p)", path: p)
        }
        guard out.count > expected else { return out }
        // The file grew since fstat: read on, up to the limit.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while out.count <= limit {
            let want = min(buffer.count, limit + 1 - out.count)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                let p = path()
                throw AtomicFile.errnoError("cannot read \(p)", path: p)
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        if out.count > limit {
            Sodium.wipe(&out)
            throw .corrupt(
                "\(Escape.visible(path())) is larger than \(describe(limit)), far too large for a \(kind.name)",
                recovery: "check that you gave the right file")
        }
        return out
    }

    /// Reads `name` inside `directory` like ``read(_:kind:)``, refusing a symlink that leads out
    /// of the directory (a file of a directory trustvault reads is part of that directory).
    public static func read(_ name: String, inside directory: String, kind: InputKind) throws(TrustVaultError) -> [UInt8] {
        let path = directory + "/" + name
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            guard let target = realPath(path), let base = realPath(directory), target.hasPrefix(base + "/") else {
                throw .invalid(
                    "\(Escape.visible(path)) is a symlink that leads out of \(Escape.visible(directory))",
                    recovery: "copy the file into the directory instead of linking to it")
            }
        }
        return try read(path, kind: kind)
    }

    /// The first `count` bytes of a regular file (fewer if it is shorter), with the same checks
    /// as ``read(_:kind:)``; nil when the path is not a readable regular file.
    public static func prefix(_ path: String, count: Int) -> [UInt8]? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return Array(buffer.prefix(got))
    }

    /// Refuses anything but a regular file, naming what it is.
    static func requireRegular(_ mode: mode_t, path: String, kind: InputKind) throws(TrustVaultError) {
        let type = mode & S_IFMT
        guard type != S_IFREG else { return }
        let what: String
        switch type {
        case S_IFDIR: what = "a directory"
        case S_IFIFO: what = "a FIFO (named pipe)"
        case S_IFCHR: what = "a character device"
        case S_IFBLK: what = "a block device"
        case S_IFSOCK: what = "a socket"
        default: what = "not a regular file"
        }
        // Exit 66 (EX_NOINPUT): the input is not something that can be read as a file.
        throw .notFound(
            "\(Escape.visible(path)) is \(what), not a regular \(kind.name)",
            recovery: "give a plain file; trustvault reads no devices, pipes or sockets")
    }

    static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }

    /// One entry found by ``walk(_:maximumDepth:maximumEntries:)``.
    public struct Entry: Sendable, Hashable {
        /// The path relative to the directory walked, `/`-separated.
        public let relativePath: String
        public let isDirectory: Bool
    }

    /// Lists a directory tree (regular files and directories, sorted, temporaries skipped)
    /// without following symlinks to directories (so no loop and no escape) and refusing a
    /// symlink whose target lies outside `root` or is not a regular file. Depth and entry count
    /// are bounded.
    public static func walk(
        _ root: String, maximumDepth: Int = 16, maximumEntries: Int = 100_000
    ) throws(TrustVaultError) -> [Entry] {
        guard let base = realPath(root) else { throw AtomicFile.errnoError("cannot list \(root)", path: root) }
        var out: [Entry] = []
        func visit(_ relative: String, depth: Int) throws(TrustVaultError) {
            let directory = relative.isEmpty ? root : root + "/" + relative
            for name in try AtomicFile.list(directory) {
                let rel = relative.isEmpty ? name : relative + "/" + name
                let full = root + "/" + rel
                guard out.count < maximumEntries else {
                    throw .invalid(
                        "\(Escape.visible(root)) holds more than \(maximumEntries) files",
                        recovery: "give the directory itself, not a parent of it")
                }
                var st = stat()
                guard lstat(full, &st) == 0 else { throw AtomicFile.errnoError("cannot read \(full)", path: full) }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    guard depth < maximumDepth else {
                        throw .invalid("\(Escape.visible(full)) is nested more than \(maximumDepth) directories deep")
                    }
                    out.append(Entry(relativePath: rel, isDirectory: true))
                    try visit(rel, depth: depth + 1)
                case S_IFLNK:
                    guard let target = realPath(full) else {
                        throw .invalid(
                            "\(Escape.visible(full)) is a symlink that leads nowhere (dangling or a loop)",
                            recovery: "remove the symlink or put the file itself there")
                    }
                    guard target.hasPrefix(base + "/") else {
                        throw .invalid(
                            "\(Escape.visible(full)) is a symlink that leads out of \(Escape.visible(root))",
                            recovery: "copy the file into the directory instead of linking to it")
                    }
                    var tst = stat()
                    guard stat(full, &tst) == 0, (tst.st_mode & S_IFMT) == S_IFREG else {
                        throw .invalid(
                            "\(Escape.visible(full)) is a symlink to something other than a regular file",
                            recovery: "trustvault follows symlinks only to files inside the directory it reads")
                    }
                    out.append(Entry(relativePath: rel, isDirectory: false))
                default:
                    out.append(Entry(relativePath: rel, isDirectory: false))
                }
            }
        }
        try visit("", depth: 0)
        return out
    }

    /// The canonical absolute path, or nil (missing target, loop).
    public static func realPath(_ path: String) -> String? {
        guard let resolved = Glibc.realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The one escaping function for text that came from outside (file names, GUNs, roles, PEM
/// headers) before it reaches a terminal: control characters (except tab), DEL, C1 controls and bidi
/// overrides become visible `\u001b`-style sequences (JSON's escape, so JSON output stays valid and
/// means the same), so they can neither move the cursor nor change colours nor reorder the text.
public enum Escape {
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                // JSON's form, so that `--json` output stays valid JSON with the same meaning.
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Escapes each line of a multi-line text, keeping its line breaks and tabs (tables and
    /// docker-identical views use tabs as column separators; a tab is inert on a terminal).
    public static func visibleLines(_ text: String) -> String {
        guard !isPlainLines(text) else { return text }
        guard text.unicodeScalars.contains(where: { $0 != "\n" && $0 != "\t" && needsEscape($0) }) else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map { visible(String($0)) }.joined(separator: "\t")
        }.joined(separator: "\n")
    }

    /// Printable ASCII, tabs and line breaks only (nothing to escape), checked byte by byte:
    /// a view of 100,000 tags is megabytes.
    static func isPlainLines(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            func plain(_ b: UInt8) -> Bool { (b >= 0x20 || b == 0x0A || b == 0x09) && b < 0x7F }
            guard let base = UnsafeRawPointer(bytes.baseAddress) else { return true }
            // Eight bytes at a time: a word with no byte at or above 0x7F and none below 0x20 is
            // plain (the usual word tests for a byte below a bound or equal to a value); a word
            // that may hold one is checked byte by byte.
            let n = bytes.count
            var i = 0
            while i + 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let high = w & 0x8080_8080_8080_8080
                let control = (w &- 0x2020_2020_2020_2020) & ~w & 0x8080_8080_8080_8080
                let x = w ^ 0x7F7F_7F7F_7F7F_7F7F
                let del = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
                if high | control | del != 0 {
                    for k in i..<(i + 8) where !plain(bytes[k]) { return false }
                }
                i += 8
            }
            for k in i..<n where !plain(bytes[k]) { return false }
            return true
        }
    }

    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09: false  // a tab is inert, and tables (docker trust inspect's) use it
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidi marks and overrides
        case 0xFFFD: false
        default: false
        }
    }
}
