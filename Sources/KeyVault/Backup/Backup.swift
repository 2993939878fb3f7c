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
        let header = BackupHeader(
            formatVersion: BackupHeader.currentVersion, backupID: backupID, created: created,
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
            vault.audit(
                "backup",
                [
                    "file": .string(file), "backup_id": .string(header.backupIDHex),
                    "mode": .string(shareDirectory == nil ? "passphrase" : "shares"),
                ])
            let result = BackupContents(
                file: file, header: header, paths: contents.paths, keys: contents.keys,
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
                        throw .corrupt(
                            "\(full) is a directory, not a vault file",
                            recovery: "move it out of the vault (a vault holds vault.json, audit.log, key-status.json and keys/<id>.json), then retry")
                    }
                    try walk(rel)
                case S_IFREG:
                    entries.append(BackupEntry(path: rel, mode: UInt32(st.st_mode & 0o7777), data: try AtomicFile.read(full, kind: .vaultFile)))
                default:
                    throw .unsupported(
                        "\(full) is not a regular file or directory",
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
        return BackupContents(
            file: file, header: header, paths: checked.paths, keys: checked.keys,
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
                throw .wrongPassphrase(
                    "the passphrase does not open the backup \(file)",
                    recovery: "check TRUSTVAULT_BACKUP_PASSPHRASE (or what you typed) and retry")
            }
            return key
        case (.passphrase, .shares):
            throw .invalid(
                "\(file) is protected by a passphrase, not by shares",
                recovery: "drop the --share options; give TRUSTVAULT_BACKUP_PASSPHRASE or type the passphrase")
        case let (.shares(k, n), .passphrase):
            throw TrustVaultError(
                .missingSecret, "\(file) is split into \(n) shares; \(k) are needed and none was given",
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
                throw .corrupt(
                    "\(inside) is not a file a vault consists of, so the backup is damaged or not made by trustvault",
                    recovery: "a vault holds vault.json, audit.log, key-status.json and keys/<key ID>.json only")
            }
            guard entry.mode == 0o600 else {
                throw .corrupt(
                    "\(inside) has mode \(String(entry.mode, radix: 8)); vault files are 600, so the backup is damaged or not made by trustvault",
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
        return (
            entries.map(\.path), keys.sorted { ($0.role, $0.id) < ($1.role, $1.id) },
            entries.contains { $0.path == "audit.log" }
        )
    }

    /// `vault.json`, `audit.log`, `key-status.json` or `keys/<64 lower-case hex>.json`.
    static func isVaultFile(_ path: String) -> Bool {
        if path == "vault.json" || path == "audit.log" || path == Vault.keyStatusFileName { return true }
        guard path.hasPrefix("keys/"), path.hasSuffix(".json") else { return false }
        let id = path.utf8.dropFirst(5).dropLast(5)
        return id.count == 64 && id.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
