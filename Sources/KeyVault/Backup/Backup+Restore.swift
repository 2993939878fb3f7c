public import TrustCore
internal import Formats
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

// Restoring a backup into a new or an existing vault, and reading key records from memory
// (creating and verifying a backup: Backup.swift).

extension Backup {
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
            throw TrustVaultError(
                .alreadyExists, "\(target) exists but is neither empty nor a vault",
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
        vault.audit(
            "restore",
            [
                "file": .string(contents.file), "backup_id": .string(contents.header.backupIDHex),
                "keys_added": .integer(Int64(contents.keys.count)),
            ])
        return RestoreReport(
            vaultPath: target, createdVault: true, added: contents.keys, alreadyPresent: [],
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
                name.dropFirst(prefix.count).allSatisfy(\.isHexDigit)
            {
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
                        throw TrustVaultError(
                            .alreadyExists, "\(full) holds a different key than the backup under the same ID; nothing was restored",
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
            vault.audit(
                "restore",
                [
                    "file": .string(contents.file), "backup_id": .string(contents.header.backupIDHex),
                    "keys_added": .integer(Int64(added.count)),
                ])
            return RestoreReport(
                vaultPath: vault.path, createdVault: false, added: added, alreadyPresent: present,
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
            throw .corrupt(
                "\(file) is damaged or truncated: \(error.message)",
                recovery: "restore this key from a backup (trustvault backup restore)")
        }
        guard doc["format"]?.stringValue == keyFormat else { throw .corrupt("\(file) is not a trustvault key record") }
        guard doc["version"]?.intValue == formatVersion else {
            throw .unsupported(
                "\(file) has key-record version \(doc["version"]?.intValue ?? 0)",
                recovery: "this trustvault reads version \(formatVersion); upgrade trustvault")
        }
        guard let publicPart = doc["public"] else { throw .corrupt("\(file) has no public part") }
        let record = try KeyRecord(json: publicPart, file: file)
        guard fileName == record.id + ".json" else {
            throw .corrupt(
                "\(file) holds key \(record.id), not the key its name says",
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
