// floor-benchmark: the least work any verifier of a metadata file must do, as a yardstick.
//
//   floor-benchmark FILE [FILE...]
//   floor-benchmark --files DIR [DIR...]
//   floor-benchmark --copy SRC DEST
//
// For each FILE (a targets.json of a large repository), best of three in one process: read the
// file, one strict validation pass over it (a Notary file in notary's exact encoding: the
// one-pass reader, `NotaryV1.readExactForm`, which checks the whole file without building a tree;
// any other file, a TUF one: the strict parser, `JSONValue(parsing:)`, the least a reader of
// JSON that is not in canonical form must do),
// SHA-256 and SHA-512 over its bytes, and one ECDSA P-256 signature check over bytes of the
// file's size (the signature is made here beforehand, untimed: the check's cost is hashing the
// signed bytes plus one scalar verification, whatever key made it). Scripts/bench-scale.sh
// prints each command's distance from this total.
//
// With `--files`, the floor of checking a TUF repository's target files: list DIR and every
// directory under it, then on every core open each regular file (O_NOFOLLOW), fstat it, read it
// whole and take its SHA-256 — the least a verifier that checks every target file must do,
// whatever checks the metadata. Best of three in one process (the page cache warm, as for the
// commands it is set beside).
//
// With `--copy`, the floor of adding SRC's files to a repository durably: `--files`'s work on SRC,
// then each file written under a temporary name in a new directory under DEST, one `syncfs(2)`,
// each renamed into place, the directory synced — the least a writer that never leaves a
// half-written file under a real name must do (one thread: creations in one directory serialise
// in the kernel). Best of three, each into its own new directory.
import Crypto
import Foundation
import Metadata
import Synchronization
import TrustCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// Every regular file under `dir` (as `readdir` types it), as an open descriptor of its
/// directory and its name; each directory is opened and listed once.
func listRegularFiles(_ dir: String, into files: inout [(directory: Int32, name: String)], directories: inout [Int32]) {
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0, let handle = fdopendir(dup(fd)) else { fail("cannot list \(dir)") }
    directories.append(fd)
    defer { closedir(handle) }
    var subdirectories: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        switch Int32(entry.pointee.d_type) {
        case Int32(DT_REG): files.append((fd, name))
        case Int32(DT_DIR): subdirectories.append(dir + "/" + name)
        default: continue
        }
    }
    for sub in subdirectories { listRegularFiles(sub, into: &files, directories: &directories) }
}

/// Opens, checks, reads and hashes `files` on every core; returns the bytes read.
func readAndHash(_ files: [(directory: Int32, name: String)]) -> Int {
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let bytesRead = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        for index in stride(from: worker, to: files.count, by: workers) {
            let file = files[index]
            let fd = openat(file.directory, file.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { fail("cannot open \(file.name)") }
            var status = stat()
            guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { fail("\(file.name) is not a regular file") }
            let size = Int(status.st_size)
            if buffer.count < size + 1 { buffer = [UInt8](repeating: 0, count: size + 1) }
            var filled = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
                guard n >= 0 else { fail("cannot read \(file.name)") }
                filled += n
                if n == 0 || filled == buffer.count { break }
            }
            close(fd)
            _ = buffer.withUnsafeBytes { SHA256.hash(data: UnsafeRawBufferPointer(rebasing: $0.prefix(filled))) }
            total += filled
        }
        bytesRead.add(total, ordering: .relaxed)
    }
    return bytesRead.load(ordering: .relaxed)
}

/// Copies `files` (read and hashed) into the new directory `destination`, durably.
func copyDurably(_ files: [(directory: Int32, name: String)], into destination: String) -> (read: Double, create: Double, sync: Double, rename: Double) {
    guard mkdir(destination, 0o755) == 0 else { fail("cannot make \(destination)") }
    let target = open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard target >= 0 else { fail("cannot open \(destination)") }
    defer { close(target) }
    let clock = ContinuousClock()
    var t = clock.now
    var contents: [[UInt8]] = []
    contents.reserveCapacity(files.count)
    for file in files {
        let fd = openat(file.directory, file.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        var status = stat()
        guard fd >= 0, fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { fail("cannot open \(file.name)") }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { fail("cannot read \(file.name)") }
        close(fd)
        _ = SHA256.hash(data: bytes)
        contents.append(bytes)
    }
    let reading = seconds(clock.now - t)
    t = clock.now
    for (file, bytes) in zip(files, contents) {
        let fd = openat(target, ".tmp-" + file.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0, bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else { fail("cannot write in \(destination)") }
        close(fd)
    }
    let create = seconds(clock.now - t)
    t = clock.now
    do { try AtomicFile.syncFileSystem(of: destination) } catch { fail("cannot sync \(destination): \(error)") }
    let sync = seconds(clock.now - t)
    t = clock.now
    for file in files {
        guard renameat(target, ".tmp-" + file.name, target, file.name) == 0 else { fail("cannot rename in \(destination)") }
    }
    guard fsync(target) == 0 else { fail("cannot sync \(destination)") }
    return (reading, create, sync, seconds(clock.now - t))
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--copy" {
    guard arguments.count == 3 else { fail("usage: floor-benchmark --copy SRC DEST") }
    let (source, destination) = (arguments[1], arguments[2])
    var found: [(directory: Int32, name: String)] = []
    var directories: [Int32] = []
    listRegularFiles(source, into: &found, directories: &directories)
    var best: (read: Double, create: Double, sync: Double, rename: Double)?
    for round in 0..<3 {
        let times = copyDurably(found, into: destination + "/floor-copy-\(getpid())-\(round)")
        let sum = times.read + times.create + times.sync + times.rename
        if let b = best, b.read + b.create + b.sync + b.rename <= sum { continue }
        best = times
    }
    for fd in directories { close(fd) }
    guard let best else { fail("nothing measured") }
    print("floor for copying the \(found.count) files under \(source) durably, best of 3:")
    func line(_ name: String, _ s: Double) { print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.4f s", s)) }
    line("open+read+sha256", best.read)
    line("create temporaries", best.create)
    line("syncfs", best.sync)
    line("rename + dir fsync", best.rename)
    line("total", best.read + best.create + best.sync + best.rename)
    exit(0)
}
if arguments.first == "--files" {
    arguments.removeFirst()
    guard !arguments.isEmpty else { fail("usage: floor-benchmark --files DIR [DIR...]") }
    for dir in arguments {
        var best = (list: Double.infinity, read: Double.infinity)
        var count = 0
        var bytes = 0
        for _ in 0..<3 {
            let clock = ContinuousClock()
            var t = clock.now
            var found: [(directory: Int32, name: String)] = []
            var directories: [Int32] = []
            listRegularFiles(dir, into: &found, directories: &directories)
            let list = seconds(clock.now - t)
            t = clock.now
            bytes = readAndHash(found)
            let read = seconds(clock.now - t)
            count = found.count
            for fd in directories { close(fd) }
            best = (min(best.list, list), min(best.read, read))
        }
        let workers = ProcessInfo.processInfo.activeProcessorCount
        print("floor for the files under \(dir) (\(count) files, \(bytes) bytes), best of 3:")
        func line(_ name: String, _ s: Double) { print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.4f s", s)) }
        line("list", best.list)
        line("open+read+sha256 (\(workers))", best.read)
        line("total", best.list + best.read)
    }
    exit(0)
}

let files = arguments
guard !files.isEmpty else { fail("usage: floor-benchmark FILE [FILE...] | --files DIR [DIR...] | --copy SRC DEST") }

let key = P256.Signing.PrivateKey()
for path in files {
    guard let sample = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    guard let signature = try? key.signature(for: sample) else { fail("cannot sign") }
    let publicKey = key.publicKey
    var best: [String: Double] = [:]
    let exact = (try? NotaryV1.readExactForm([UInt8](sample), name: path)) != nil
    let parts = ["read", exact ? "validate (one pass)" : "parse (strict JSON)", "sha256", "sha512", "ecdsa p-256 verify"]
    for _ in 0..<3 {
        let clock = ContinuousClock()
        var t = clock.now
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let bytes = [UInt8](data)
        var times: [Double] = [seconds(clock.now - t)]
        t = clock.now
        if exact {
            do { guard try NotaryV1.readExactForm(bytes, name: path) != nil else { fail("\(path) changed") } } catch { fail("\(path): \(error)") }
        } else {
            do { _ = try JSONValue(parsing: bytes) } catch { fail("\(path) is not strict JSON: \(error)") }
        }
        times.append(seconds(clock.now - t))
        t = clock.now
        _ = SHA256.hash(data: bytes)
        times.append(seconds(clock.now - t))
        t = clock.now
        _ = SHA512.hash(data: bytes)
        times.append(seconds(clock.now - t))
        t = clock.now
        guard publicKey.isValidSignature(signature, for: bytes) else { fail("the signature does not verify") }
        times.append(seconds(clock.now - t))
        for (p, s) in zip(parts, times) { best[p] = min(best[p] ?? .infinity, s) }
    }
    print("floor for \(path) (\(sample.count) bytes), best of 3:")
    func line(_ name: String, _ s: Double) { print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.4f s", s)) }
    for p in parts { line(p, best[p]!) }
    line("total", parts.reduce(0) { $0 + best[$1]! })
}
