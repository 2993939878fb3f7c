internal import TrustCore
internal import Formats
internal import Foundation

/// The one way a ceremony (Notary or TUF) changes anything: new vault keys, the key-status book,
/// files written in place, directories built under a staging name and published whole, and
/// audit records. Every step registers how to undo it; when any step (or the ceremony's own
/// code between steps) fails, ``run(vault:_:)`` undoes them all, newest first, so a failed
/// ceremony leaves the vault, the key-status book and every output as they were.
///
/// Crash safety (kill -9) comes from the order and the staging, not from the undo list: new keys
/// go into the vault first; metadata is built in a staging directory on the same file system and
/// appears by one `rename(2)` (a new directory) or one `renameat2(RENAME_EXCHANGE)` (a
/// repository's `metadata/`), so readers see the old files or the new ones, never a mix.
final class CeremonyTransaction {
    let vault: Vault
    private var undo: [() -> Void] = []
    private var afterCommit: [() -> Void] = []
    private var bookSaved = false
    /// Directories being rebuilt under a staging name: (the directory, its staging copy, whether
    /// the directory existed and is exchanged rather than created).
    private var staged: [(dir: String, staging: String, exchange: Bool)] = []
    /// The keys this transaction added to the vault.
    private(set) var newKeys: [KeyRecord] = []

    private init(vault: Vault) { self.vault = vault }

    /// Runs `body` in a transaction: on success the staged directories are published and the
    /// audit records written; on failure everything `body` did through the transaction is undone.
    static func run<T>(vault: Vault, _ body: (CeremonyTransaction) throws(TrustVaultError) -> T) throws(TrustVaultError) -> T {
        let t = CeremonyTransaction(vault: vault)
        do {
            let value = try body(t)
            try t.publishStaged()
            for f in t.afterCommit { f() }
            return value
        } catch {
            t.rollback()
            throw error
        }
    }

    /// Undoes every registered step, newest first (best effort: a full disk may refuse a step).
    private func rollback() {
        for f in undo.reversed() { f() }
        undo = []
        for s in staged { AtomicFile.removeCreatedTree(s.staging) }
        staged = []
    }

    /// Registers an undo step for something done outside the transaction's own operations.
    func onRollback(_ step: @escaping () -> Void) { undo.append(step) }

    /// Runs `step` once the transaction has committed (audit records).
    func onCommit(_ step: @escaping () -> Void) { afterCommit.append(step) }

    // MARK: Vault

    /// Seals `key` into the vault; removed again on rollback.
    @discardableResult
    func addKey(_ key: PrivateKey, role: String, gun: String?, passphrase: Passphrase) throws(TrustVaultError) -> KeyRecord {
        let record = try vault.add(key, role: role, gun: gun, passphrase: passphrase)
        newKeys.append(record)
        let vault = self.vault
        undo.append { try? vault.remove(record) }
        return record
    }

    /// Changes the key-status book; the book as it was before the first change comes back on rollback.
    func updateKeyStatus(_ change: (inout KeyStatusBook) -> Void) throws(TrustVaultError) {
        if !bookSaved {
            let before = try vault.keyStatus()
            let existed = AtomicFile.exists(vault.keyStatusPath)
            let vault = self.vault
            undo.append {
                if existed {
                    try? vault.updateKeyStatus { $0 = before }
                } else {
                    try? vault.withLock { () throws(TrustVaultError) in try AtomicFile.remove(vault.keyStatusPath) }
                }
            }
            bookSaved = true
        }
        try vault.updateKeyStatus(change)
    }

    // MARK: Files

    /// Makes `path` and its missing parents; the ones made here go again on rollback.
    func makeDirectories(_ path: String, mode: UInt32 = 0o700) throws(TrustVaultError) {
        if let created = AtomicFile.firstMissingDirectory(path) {
            undo.append { AtomicFile.removeCreatedTree(created) }
        }
        try AtomicFile.makeDirectories(path, mode: mode)
    }

    /// Builds `dir` under a staging name beside it: files ``write(_:to:mode:)`` puts under `dir`
    /// go to the staging copy (which starts as hard links to `dir`'s files), and the copy replaces
    /// `dir` in one step when the transaction commits. A staging copy left by an interrupted run
    /// is removed first.
    func stage(_ dir: String) throws(TrustVaultError) {
        let path = Self.trimmed(dir)
        guard !staged.contains(where: { $0.dir == path }) else { return }
        let staging = Self.stagingPath(for: path)
        if AtomicFile.exists(staging) { AtomicFile.removeCreatedTree(staging) }
        let exists = AtomicFile.isDirectory(path)
        let mode: UInt32 = exists ? (AtomicFile.ownership(path)?.mode ?? 0o755) & 0o7777 : 0o755
        try makeDirectories(AtomicFile.parent(of: path), mode: 0o755)
        let hasFiles = exists ? !(try AtomicFile.list(path)).isEmpty : false
        staged.append((path, staging, hasFiles))
        try AtomicFile.makeDirectory(staging, mode: mode)
        if exists { try Self.linkTree(path, into: staging) }
    }

    /// Fills `staging` with hard links to the files under `dir` (copies where links fail).
    private static func linkTree(_ dir: String, into staging: String) throws(TrustVaultError) {
        for name in try AtomicFile.list(dir) {
            let from = dir + "/" + name, to = staging + "/" + name
            if AtomicFile.isDirectory(from) {
                try AtomicFile.makeDirectory(to, mode: (AtomicFile.ownership(from)?.mode ?? 0o755) & 0o7777)
                try linkTree(from, into: to)
            } else if link(from, to) != 0 {
                // No hard links on this file system: a copy does as well.
                try AtomicFile.create(try AtomicFile.read(from, kind: .metadata), at: to, mode: 0o644)
            }
        }
    }

    /// Where `path` is written: inside its staging copy when `path` lies under a staged directory.
    func stagedPath(_ path: String) -> String {
        for s in staged where path.hasPrefix(s.dir + "/") { return s.staging + path.dropFirst(s.dir.count) }
        return path
    }

    /// Writes `bytes` to `path` atomically (replacing it). Under a staged directory the staging
    /// copy is written; elsewhere the file is written in place and its old bytes (or its absence)
    /// come back on rollback.
    func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644) throws(TrustVaultError) {
        let target = stagedPath(path)
        if target == path {
            try makeDirectories(AtomicFile.parent(of: path), mode: 0o755)
            if AtomicFile.exists(path) {
                // The old file stays reachable under a second name until the transaction ends.
                let backup = AtomicFile.parent(of: path) + "/.trustvault-undo-" + AtomicFile.fileName(of: path)
                unlink(backup)
                if link(path, backup) == 0 {
                    undo.append { _ = rename(backup, path) }
                    afterCommit.append { _ = unlink(backup) }
                } else {
                    let before = try AtomicFile.read(path, kind: .general)
                    undo.append { try? AtomicFile.write(before, to: path, mode: mode) }
                }
            } else {
                undo.append { try? AtomicFile.remove(path) }
            }
        }
        try AtomicFile.write(bytes, to: target, mode: mode)
    }

    /// ``write(_:to:mode:)`` for many files at once (a ceremony's target files): the same
    /// guarantees — each file appears whole by a rename, durable before anything names it, its
    /// old bytes or its absence back on rollback — for one flush of the file system instead of
    /// two per file. Every file goes to a temporary name first; one `syncfs(2)` makes them all
    /// durable; then each is renamed into place, and each directory is synced once. Killed
    /// before the renames, only temporaries (`.tmp-…`) are left; a failure removes them.
    func write(files all: [(path: String, bytes: [UInt8])], mode: UInt32 = 0o644) throws(TrustVaultError) {
        // A path given twice is written once, with its last bytes (a second backup would
        // replace the first, and rollback would bring back the wrong bytes).
        var last: [String: Int] = [:]
        for (i, f) in all.enumerated() { last[f.path] = i }
        let files = all.enumerated().filter { last[$0.element.path] == $0.offset }.map(\.element)
        guard files.count > 1, files.allSatisfy({ stagedPath($0.path) == $0.path }) else {
            for f in files { try write(f.bytes, to: f.path, mode: mode) }
            return
        }
        var directories: [String] = []
        var seen: Set<String> = []
        for f in files {
            let dir = AtomicFile.parent(of: f.path)
            if seen.insert(dir).inserted { directories.append(dir) }
        }
        for dir in directories { try makeDirectories(dir, mode: 0o755) }
        // The temporaries, removed again on any failure until they are renamed.
        let pending = PendingTemporaries()
        undo.append { pending.removeAll() }
        for f in files {
            pending.add(try AtomicFile.writeUnsyncedTemporary(f.bytes, besides: f.path, mode: mode))
        }
        guard let first = directories.first else { return }
        try AtomicFile.syncFileSystem(of: first)
        for (f, temp) in zip(files, pending.paths) {
            if AtomicFile.exists(f.path) {
                let backup = AtomicFile.parent(of: f.path) + "/.trustvault-undo-" + AtomicFile.fileName(of: f.path)
                unlink(backup)
                if link(f.path, backup) == 0 {
                    let path = f.path
                    undo.append { _ = rename(backup, path) }
                    afterCommit.append { _ = unlink(backup) }
                } else {
                    let before = try AtomicFile.read(f.path, kind: .general)
                    let path = f.path
                    undo.append { try? AtomicFile.write(before, to: path, mode: mode) }
                }
            } else {
                let path = f.path
                undo.append { try? AtomicFile.remove(path) }
            }
            guard rename(temp, f.path) == 0 else { throw AtomicFile.errnoError("cannot replace \(f.path)", path: f.path) }
            pending.renamed(temp)
        }
        for dir in directories { try AtomicFile.syncDirectory(of: dir + "/.") }
    }

    /// Creates `path` with `bytes`, refusing an existing file (under a staged directory, an
    /// existing file of the directory refuses too: the staging copy holds it).
    func create(_ bytes: [UInt8], at path: String, mode: UInt32 = 0o644) throws(TrustVaultError) {
        let target = stagedPath(path)
        if target == path { try makeDirectories(AtomicFile.parent(of: path), mode: 0o755) }
        do {
            try AtomicFile.create(bytes, at: target, mode: mode)
        } catch  where error.code == .alreadyExists {
            throw TrustVaultError(.alreadyExists, "\(path) already exists")
        }
        if target == path { undo.append { try? AtomicFile.remove(path) } }
    }

    /// Publishes every staged directory: a new one by `rename(2)`, an existing one by exchanging
    /// it with its staging copy (`renameat2(RENAME_EXCHANGE)`), then removes the old files.
    private func publishStaged() throws(TrustVaultError) {
        for s in staged {
            if s.exchange {
                try Self.exchange(s.staging, s.dir)
                AtomicFile.removeCreatedTree(s.staging)  // now the old directory
            } else {
                if AtomicFile.isDirectory(s.dir) { rmdir(s.dir) }  // an empty directory is replaced
                try AtomicFile.publishDirectory(s.staging, as: s.dir)
            }
        }
        staged = []
    }

    static func trimmed(_ path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// The fixed staging name beside `dir` (found and removed by the next run after a crash).
    static func stagingPath(for dir: String) -> String {
        AtomicFile.parent(of: dir) + "/.trustvault-staging-" + AtomicFile.fileName(of: dir)
    }

    /// Swaps two directories in one step (Linux 3.15+ `renameat2` with `RENAME_EXCHANGE`).
    static func exchange(_ a: String, _ b: String) throws(TrustVaultError) {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else {
            throw .unsupported("this system's C library has no renameat2, needed to replace \(b) in one step")
        }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        let cwd: Int32 = -100  // AT_FDCWD
        guard renameat2(cwd, a, cwd, b, renameExchange) == 0 else {
            throw AtomicFile.errnoError("cannot replace \(b) with the new metadata", path: b)
        }
        try AtomicFile.syncDirectory(of: b)
    }
}

/// Temporary files of a batch not yet renamed into place (removed on rollback).
private final class PendingTemporaries {
    private(set) var paths: [String] = []
    private var done: Set<String> = []

    func add(_ path: String) { paths.append(path) }
    func renamed(_ path: String) { done.insert(path) }
    func removeAll() {
        for p in paths where !done.contains(p) { unlink(p) }
    }
}
