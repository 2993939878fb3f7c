public import TrustCore
internal import Formats
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// How `backup create` protects the backup key.
public enum BackupProtection: Sendable {
    /// A key derived from `passphrase` with Argon2id (the CLI always uses ``KDFProfile/sensitive``).
    case passphrase(Passphrase, profile: KDFProfile)
    /// A random key split `threshold`-of-`count` into share files written to `directory`.
    case shares(threshold: Int, count: Int, directory: String)
}

/// What opens a backup in `verify` and `restore`.
public enum BackupUnlock: Sendable {
    case passphrase(Passphrase)
    /// Paths of share files (printed sheets saved as text, retyped copies, or scanned QR text).
    case shares([String])
}

/// What a backup holds, after every check passed.
public struct BackupContents: Sendable {
    public let file: String
    public let header: BackupHeader
    /// Every file of the vault, relative to the vault directory.
    public let paths: [String]
    /// The key records (public parts; private parts stay sealed under their own passphrases).
    public let keys: [KeyRecord]
    public let hasAuditLog: Bool
    let entries: [BackupEntry]
}

/// The result of `backup create`.
public struct BackupCreated: Sendable {
    public let contents: BackupContents
    /// The share files written (empty for a passphrase backup), in share-number order.
    public let shareFiles: [String]
}

/// The result of `backup restore`.
public struct RestoreReport: Sendable {
    public let vaultPath: String
    /// True when a new vault was made; false when keys were merged into an existing one.
    public let createdVault: Bool
    /// Keys written by this restore.
    public let added: [KeyRecord]
    /// Keys that were already in the vault with the same content.
    public let alreadyPresent: [KeyRecord]
    /// Files that exist in the vault with other content and were left as they are (the vault's
    /// own settings, audit log, or a key record the vault holds in another form, e.g. under a
    /// changed passphrase). Never a different key.
    public let keptExisting: [String]
    public let contents: BackupContents
}

/// Encrypted backups of a whole vault: create, verify (a restore drill that writes nothing)
/// and restore. The file format is in ``BackupFile`` and `docs/backup-format.md`.
public enum Backup {
    static let stagingPrefix = AtomicFile.temporaryPrefix + "restore-"

    // MARK: Create

    /// Writes an encrypted backup of `vault` to `file` (refusing to overwrite), plus share files.
    ///
    /// The vault is read under its lock, so the backup is one consistent state. The written
    /// bytes are decrypted again in memory and compared before the command reports success.
    public static func create(
        of vault: Vault, to file: String, protection: BackupProtection
    ) throws(TrustVaultError) -> BackupCreated {
        let file = Vault.normalise(file)
        if AtomicFile.exists(file) {
            throw TrustVaultError(.alreadyExists, "\(file) already exists", recovery: "choose another --out file; backups are never overwritten")
        }
        guard AtomicFile.isDirectory(AtomicFile.parent(of: file)) else {
            throw .notFound("the directory of \(file) does not exist", recovery: "create it first, or choose another --out path")
        }
        if file.hasPrefix(vault.path + "/") {
            throw .invalid("\(file) is inside the vault", recovery: "write the backup outside the vault directory")
        }
        let entries = try vault.withLock { () throws(TrustVaultError) in try collect(vault) }
        let contents = try validate(entries, file: vault.path)

        let backupID = Sodium.randomBytes(BackupFile.backupIDBytes)
        let created = Timestamp.now()
        let key: SecretBytes
        let mode: BackupKeyMode
        var shares: [BackupShare] = []
        var shareDirectory: String? = nil
        switch protection {
        case let .passphrase(passphrase, profile):
            guard !passphrase.isEmpty else { throw .invalid("the backup passphrase is empty") }
            let salt = Sodium.randomBytes(SecretSeal.saltBytes)
            StepProgress.note("deriving the backup key from its passphrase (Argon2id, \(profile.memLimit >> 20) MiB)…")
            key = try SecretSeal.deriveKey(passphrase: passphrase, salt: salt, opsLimit: profile.opsLimit, memLimit: profile.memLimit)
            mode = .passphrase(opsLimit: profile.opsLimit, memLimit: profile.memLimit, salt: salt)
        case let .shares(k, n, directory):
            try Shamir.validate(threshold: k, count: n)
            key = SecretSeal.randomKey()
            mode = .shares(threshold: k, count: n)
            shares = try Shamir.split(key, threshold: k, count: n).map {
                BackupShare(backupID: backupID, threshold: k, count: n, number: Int($0.index), value: $0.value)
            }
            shareDirectory = Vault.normalise(directory)
        }
        let header = BackupHeader(formatVersion: BackupHeader.currentVersion, backupID: backupID, created: created,
                                  keyMode: mode, keyCheck: BackupFile.keyCheck(key: key, backupID: backupID))
        let bytes = BackupFile.seal(entries: entries, header: header, key: key)
        // Read-back check before anything is written.
        let (_, reopened) = try BackupFile.open(bytes, key: key, file: file)
        guard reopened == entries else { throw .io("the backup did not decrypt to the vault's files; nothing was written") }

        var written: [String] = []
        do throws(TrustVaultError) {
            var shareFiles: [String] = []
            if let shareDirectory {
                try AtomicFile.makeDirectories(shareDirectory)
                let base = AtomicFile.fileName(of: file)
                let names = shares.map { shareDirectory + "/" + base + ".share-\($0.number)-of-\($0.count).txt" }
                if let existing = names.first(where: AtomicFile.exists) {
                    throw TrustVaultError(.alreadyExists, "\(existing) already exists", recovery: "choose an empty --share-dir")
                }
                for (share, name) in zip(shares, names) {
                    try AtomicFile.create(Array(share.text(created: created).utf8), at: name, mode: 0o600)
                    written.append(name)
                }
                shareFiles = names
            }
            try AtomicFile.create(bytes, at: file, mode: 0o600)
            written.append(file)
            vault.audit("backup", ["file": .string(file), "backup_id": .string(header.backupIDHex),
                                   "mode": .string(shareDirectory == nil ? "passphrase" : "shares")])
            let result = BackupContents(file: file, header: header, paths: contents.paths, keys: contents.keys,
                                        hasAuditLog: contents.hasAuditLog, entries: entries)
            return BackupCreated(contents: result, shareFiles: shareFiles)
        } catch {
            for path in written { unlink(path) }
            throw error
        }
    }

    /// Every regular file of the vault except its lock file; refuses anything else.
    package static func collect(_ vault: Vault) throws(TrustVaultError) -> [BackupEntry] {
        var entries: [BackupEntry] = []
        func walk(_ relative: String) throws(TrustVaultError) {
            let directory = relative.isEmpty ? vault.path : vault.path + "/" + relative
            for name in try AtomicFile.list(directory) {
                let rel = relative.isEmpty ? name : relative + "/" + name
                if rel == ".lock" { continue }
                let full = vault.path + "/" + rel
                var st = stat()
                guard lstat(full, &st) == 0 else { throw AtomicFile.errnoError("cannot read \(full)", path: full) }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    // A vault has one directory, keys/; anything else (a key record that is a
                    // directory) fails loudly rather than being skipped.
                    guard rel == "keys" else {
                        throw .corrupt("\(full) is a directory, not a vault file",
                                       recovery: "move it out of the vault (a vault holds vault.json, audit.log, key-status.json and keys/<id>.json), then retry")
                    }
                    try walk(rel)
                case S_IFREG:
                    entries.append(BackupEntry(path: rel, mode: UInt32(st.st_mode & 0o7777), data: try AtomicFile.read(full, kind: .vaultFile)))
                default:
                    throw .unsupported("\(full) is not a regular file or directory",
                                       recovery: "remove it from the vault (a vault holds only plain files), then retry")
                }
            }
        }
        try walk("")
        return entries
    }

    // MARK: Verify

    /// Reads only the clear header (no secret needed): the key mode tells which secret to ask for.
    public static func header(of file: String) throws(TrustVaultError) -> BackupHeader {
        try BackupFile.readHeader(readFile(file), file: file)
    }

    /// Checks everything and writes nothing: header digest, key (passphrase or shares), every
    /// chunk's authentication and the final tag, the file list, `vault.json` and every key record.
    public static func verify(_ file: String, unlock: BackupUnlock) throws(TrustVaultError) -> BackupContents {
        let file = Vault.normalise(file)
        let bytes = try readFile(file)
        let header = try BackupFile.readHeader(bytes, file: file)
        let key = try backupKey(header: header, unlock: unlock, file: file)
        let (_, entries) = try BackupFile.open(bytes, key: key, file: file)
        let checked = try validate(entries, file: file)
        return BackupContents(file: file, header: header, paths: checked.paths, keys: checked.keys,
                              hasAuditLog: checked.hasAuditLog, entries: entries)
    }

    static func readFile(_ file: String) throws(TrustVaultError) -> [UInt8] {
        guard AtomicFile.exists(file) else {
            throw .notFound("backup file \(file) does not exist", recovery: "check the path")
        }
        return try AtomicFile.read(file, kind: .backup)
    }

    static func backupKey(header: BackupHeader, unlock: BackupUnlock, file: String) throws(TrustVaultError) -> SecretBytes {
        switch (header.keyMode, unlock) {
        case let (.passphrase(ops, mem, salt), .passphrase(passphrase)):
            StepProgress.note("deriving the backup key from its passphrase (Argon2id, \(mem >> 20) MiB)…")
            let key = try SecretSeal.deriveKey(passphrase: passphrase, salt: salt, opsLimit: ops, memLimit: mem)
            guard BackupFile.keyMatches(key, header: header) else {
                throw .wrongPassphrase("the passphrase does not open the backup \(file)",
                                       recovery: "check TRUSTVAULT_BACKUP_PASSPHRASE (or what you typed) and retry")
            }
            return key
        case (.passphrase, .shares):
            throw .invalid("\(file) is protected by a passphrase, not by shares",
                           recovery: "drop the --share options; give TRUSTVAULT_BACKUP_PASSPHRASE or type the passphrase")
        case let (.shares(k, n), .passphrase):
            throw TrustVaultError(.missingSecret, "\(file) is split into \(n) shares; \(k) are needed and none was given",
                                  recovery: "pass \(k) share files with --share FILE")
        case (.shares, .shares(let paths)):
            var parsed: [(file: String, share: BackupShare)] = []
            for path in paths {
                guard AtomicFile.exists(path) else { throw .notFound("share file \(path) does not exist", recovery: "check the path") }
                let text = String(decoding: try AtomicFile.read(path, kind: .shareFile), as: UTF8.self)
                parsed.append((path, try BackupShare.parse(text, file: path)))
            }
            return try ShareSet.combine(parsed, header: header, backupFile: file)
        }
    }

    /// Checks the decrypted files: safe paths, a valid `vault.json`, and key records that parse,
    /// whose ID matches both their file name and their public key.
    package static func validate(_ entries: [BackupEntry], file: String) throws(TrustVaultError) -> (paths: [String], keys: [KeyRecord], hasAuditLog: Bool) {
        var keys: [KeyRecord] = []
        var sawManifest = false
        var seen = Set<String>()
        for entry in entries {
            try BackupFile.checkRelativePath(entry.path, file: file)
            let inside = "\(file): \(entry.path)"
            // Exactly the files a vault consists of, once each, with the mode the format defines.
            guard isVaultFile(entry.path), seen.insert(entry.path).inserted else {
                throw .corrupt("\(inside) is not a file a vault consists of, so the backup is damaged or not made by trustvault",
                               recovery: "a vault holds vault.json, audit.log, key-status.json and keys/<key ID>.json only")
            }
            guard entry.mode == 0o600 else {
                throw .corrupt("\(inside) has mode \(String(entry.mode, radix: 8)); vault files are 600, so the backup is damaged or not made by trustvault",
                               recovery: "for backup create: chmod 600 the vault's files, then retry")
            }
            if entry.path == "vault.json" {
                _ = try Vault.readManifest(entry.data, file: inside)
                sawManifest = true
            } else if entry.path == Vault.keyStatusFileName {
                _ = try KeyStatusBook(parsing: entry.data, file: inside)
            } else if entry.path.hasPrefix("keys/") {
                let name = String(entry.path.dropFirst("keys/".count))
                keys.append(try Vault.decodeRecord(entry.data, file: inside, fileName: name).record)
            }
        }
        guard sawManifest else {
            throw .corrupt("\(file) holds no vault.json, so it is not a backup of a vault")
        }
        return (entries.map(\.path), keys.sorted { ($0.role, $0.id) < ($1.role, $1.id) },
                entries.contains { $0.path == "audit.log" })
    }

    /// `vault.json`, `audit.log`, `key-status.json` or `keys/<64 lower-case hex>.json`.
    static func isVaultFile(_ path: String) -> Bool {
        if path == "vault.json" || path == "audit.log" || path == Vault.keyStatusFileName { return true }
        guard path.hasPrefix("keys/"), path.hasSuffix(".json") else { return false }
        let id = path.utf8.dropFirst(5).dropLast(5)
        return id.count == 64 && id.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    // MARK: Restore

    /// Restores into `vaultPath`: a missing or empty directory receives a new vault, built in a
    /// staging directory next to it and renamed into place (a crash leaves no vault, never half
    /// of one); an existing vault receives the keys it lacks, under its lock, and a key it
    /// already has is never overwritten.
    public static func restore(
        _ file: String, unlock: BackupUnlock, into vaultPath: String
    ) throws(TrustVaultError) -> RestoreReport {
        let contents = try verify(file, unlock: unlock)
        let target = Vault.normalise(vaultPath)
        var isEmptyDirectory = false
        if AtomicFile.isDirectory(target) { isEmptyDirectory = try AtomicFile.list(target).isEmpty }
        if !AtomicFile.exists(target) || isEmptyDirectory {
            return try restoreFresh(contents, into: target)
        }
        guard AtomicFile.exists(target + "/vault.json") else {
            throw TrustVaultError(.alreadyExists, "\(target) exists but is neither empty nor a vault",
                                  recovery: "restore into a new --vault directory")
        }
        return try merge(contents, into: Vault.open(at: target))
    }

    static func restoreFresh(_ contents: BackupContents, into target: String) throws(TrustVaultError) -> RestoreReport {
        let parent = AtomicFile.parent(of: target)
        try AtomicFile.makeDirectories(parent)
        let prefix = stagingPrefix + AtomicFile.fileName(of: target) + "-"
        removeStaleStaging(in: parent, prefix: prefix)
        let staging = parent + "/" + prefix + Hex.encode(Sodium.randomBytes(6))
        try AtomicFile.makeDirectory(staging)
        // Held until the end: a concurrent restore of the same target skips a staging
        // directory that is locked (in use) and removes only those whose owner died.
        let stagingLock = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if stagingLock >= 0 { flock(stagingLock, LOCK_EX) }
        defer { if stagingLock >= 0 { close(stagingLock) } }
        do throws(TrustVaultError) {
            try writeTree(contents.entries, into: staging)
            // The staged tree must open as a vault with exactly the backup's keys.
            let staged = try Vault.open(at: staging)
            let ids = try staged.records().map(\.id).sorted()
            guard ids == contents.keys.map(\.id).sorted() else {
                throw .io("the staged vault in \(staging) does not hold the backup's keys; nothing was restored")
            }
            // rename(2) replaces an empty directory atomically, so the target is either absent
            // (or empty) or the complete vault.
            guard rename(staging, target) == 0 else {
                throw AtomicFile.errnoError("cannot move the restored vault into \(target)", path: target)
            }
            try AtomicFile.syncDirectory(of: target)
        } catch {
            Vault.removeTree(staging)
            throw error
        }
        let vault = try Vault.open(at: target)
        vault.audit("restore", ["file": .string(contents.file), "backup_id": .string(contents.header.backupIDHex),
                                "keys_added": .integer(Int64(contents.keys.count))])
        return RestoreReport(vaultPath: target, createdVault: true, added: contents.keys, alreadyPresent: [],
                             keptExisting: [], contents: contents)
    }

    static func writeTree(_ entries: [BackupEntry], into root: String) throws(TrustVaultError) {
        try AtomicFile.makeDirectory(root + "/keys")
        for entry in entries {
            let parts = entry.path.split(separator: "/")
            var dir = root
            for part in parts.dropLast() {
                dir += "/" + part
                if !AtomicFile.isDirectory(dir) { try AtomicFile.makeDirectory(dir) }
            }
            try AtomicFile.create(entry.data, at: root + "/" + entry.path, mode: (entry.mode & 0o700) | 0o600)
        }
        if !AtomicFile.exists(root + "/.lock") { try AtomicFile.create([], at: root + "/.lock") }
    }

    /// Staging directories that a killed restore of the same target left behind (unlocked ones).
    static func removeStaleStaging(in parent: String, prefix: String) {
        guard let dir = opendir(parent) else { return }
        var stale: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            // prefix + exactly 12 hex digits, so that the staging directory of a sibling
            // target whose name merely starts with this one's is left alone.
            if name.hasPrefix(prefix), name.utf8.count == prefix.utf8.count + 12,
                name.dropFirst(prefix.count).allSatisfy(\.isHexDigit) {
                stale.append(name)
            }
        }
        closedir(dir)
        for name in stale {
            let path = parent + "/" + name
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // Locked means another restore is still writing it.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            Vault.removeTree(path)
        }
    }

    static func merge(_ contents: BackupContents, into vault: Vault) throws(TrustVaultError) -> RestoreReport {
        try vault.withLock { () throws(TrustVaultError) -> RestoreReport in
            var toWrite: [BackupEntry] = []
            var added: [KeyRecord] = []
            var present: [KeyRecord] = []
            var kept: [String] = []
            var mergedStatus: KeyStatusBook?
            let byID = Dictionary(contents.keys.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for entry in contents.entries {
                let full = vault.path + "/" + entry.path
                let isKey = entry.path.hasPrefix("keys/") && entry.path.hasSuffix(".json") && entry.path.split(separator: "/").count == 2
                let id = isKey ? String(entry.path.dropFirst("keys/".count).dropLast(".json".count)) : ""
                if entry.path == "vault.json" || entry.path == "audit.log" {
                    if AtomicFile.exists(full) {
                        if try AtomicFile.read(full, kind: .vaultFile) != entry.data { kept.append(entry.path) }
                        continue
                    }
                }
                if entry.path == Vault.keyStatusFileName, AtomicFile.exists(full) {
                    // Both books: the retired marks and root certificate IDs of either vault survive.
                    mergedStatus = try vault.keyStatus().merged(with: KeyStatusBook(parsing: entry.data, file: "\(contents.file): \(entry.path)"))
                    continue
                }
                guard AtomicFile.exists(full) else {
                    toWrite.append(entry)
                    if isKey, let record = byID[id] { added.append(record) }
                    continue
                }
                let existing = try AtomicFile.read(full, kind: .vaultFile)
                if existing == entry.data {
                    if isKey, let record = byID[id] { present.append(record) }
                    continue
                }
                if isKey, let record = byID[id] {
                    let current: KeyRecord
                    do throws(TrustVaultError) {
                        current = try Vault.decodeRecord(existing, file: full, fileName: id + ".json").record
                    } catch {
                        throw TrustVaultError(
                            .alreadyExists,
                            "\(full) cannot be read (\(error.message)) and the backup holds key \(id.prefix(12)); refusing to overwrite it",
                            recovery: "move \(full) aside and run the restore again")
                    }
                    guard current.id == record.id, current.publicKey == record.publicKey else {
                        throw TrustVaultError(.alreadyExists, "\(full) holds a different key than the backup under the same ID; nothing was restored",
                                              recovery: "restore into a new --vault directory and compare")
                    }
                    kept.append(entry.path)
                    continue
                }
                kept.append(entry.path)
            }
            var created: [String] = []
            do throws(TrustVaultError) {
                for entry in toWrite {
                    let parts = entry.path.split(separator: "/")
                    var dir = vault.path
                    for part in parts.dropLast() {
                        dir += "/" + part
                        if !AtomicFile.isDirectory(dir) { try AtomicFile.makeDirectory(dir); created.append(dir) }
                    }
                    try AtomicFile.create(entry.data, at: vault.path + "/" + entry.path, mode: (entry.mode & 0o700) | 0o600)
                    created.append(vault.path + "/" + entry.path)
                }
                // Last, after every key is in place: a book that names a key always finds it.
                if let mergedStatus, mergedStatus != (try vault.keyStatus()) {
                    try AtomicFile.write(mergedStatus.json.canonicalBytes, to: vault.keyStatusPath)
                }
            } catch {
                for path in created.reversed() {
                    if AtomicFile.isDirectory(path) { rmdir(path) } else { unlink(path) }
                }
                throw error
            }
            vault.audit("restore", ["file": .string(contents.file), "backup_id": .string(contents.header.backupIDHex),
                                    "keys_added": .integer(Int64(added.count))])
            return RestoreReport(vaultPath: vault.path, createdVault: false, added: added, alreadyPresent: present,
                                 keptExisting: kept, contents: contents)
        }
    }
}

extension Vault {
    /// Parses a key-record file held in memory, with the same checks as reading it from disk.
    /// The checks of ``decodeRecord(_:file:fileName:)``, for the fuzz harness.
    package static func checkRecord(_ bytes: [UInt8], file: String, fileName: String) throws(TrustVaultError) -> KeyRecord {
        try decodeRecord(bytes, file: file, fileName: fileName).record
    }

    static func decodeRecord(_ bytes: [UInt8], file: String, fileName: String) throws(TrustVaultError) -> (record: KeyRecord, sealed: SealedKey?) {
        let doc: JSONValue
        do { doc = try JSONValue(parsing: bytes) } catch {
            throw .corrupt("\(file) is damaged or truncated: \(error.message)",
                           recovery: "restore this key from a backup (trustvault backup restore)")
        }
        guard doc["format"]?.stringValue == keyFormat else { throw .corrupt("\(file) is not a trustvault key record") }
        guard doc["version"]?.intValue == formatVersion else {
            throw .unsupported("\(file) has key-record version \(doc["version"]?.intValue ?? 0)",
                               recovery: "this trustvault reads version \(formatVersion); upgrade trustvault")
        }
        guard let publicPart = doc["public"] else { throw .corrupt("\(file) has no public part") }
        let record = try KeyRecord(json: publicPart, file: file)
        guard fileName == record.id + ".json" else {
            throw .corrupt("\(file) holds key \(record.id), not the key its name says",
                           recovery: "restore this key from a backup (trustvault backup restore)")
        }
        var sealed: SealedKey? = nil
        if let s = doc["sealed"], !s.isNull { sealed = try SealedKey(json: s, file: file) }
        switch (record.location, sealed) {
        case (.vault, nil): throw .corrupt("\(file) has no sealed private key")
        case (.card, .some): throw .corrupt("\(file) is a card key but holds sealed data, so it is damaged or not made by trustvault")
        default: break
        }
        return (record, sealed)
    }
}
