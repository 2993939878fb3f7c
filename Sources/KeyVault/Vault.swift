public import Formats
public import TrustCore
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// A directory of sealed key records on the offline machine.
///
/// Layout (all directories 0700, all files 0600):
///
///     VAULT/vault.json          format version, KDF profile, creation time
///     VAULT/keys/<id>.json      one record per key: public part + sealed private part
///     VAULT/audit.log           one JSON line per change (append-only)
///     VAULT/.lock               flock(2) target serialising writers
///
/// Every change happens under the exclusive lock and through ``AtomicFile``, so concurrent
/// processes never lose an update and a crash leaves each file either old or new.
public final class Vault: Sendable {
    public static let formatVersion: Int64 = 1
    static let keyFormat = "trustvault-key"
    static let vaultFormat = "trustvault-vault"

    public let path: String
    /// The KDF profile recorded in `vault.json`; root keys use at least ``KDFProfile/moderate``.
    public let profile: KDFProfile
    public let created: String
    /// The card sessions this vault's card keys sign through (one PIN entry per card); given by
    /// the caller, so two programs (or two tests) in one process never share a card session.
    public let cardSigners: CardSigners

    var keysDirectory: String { path + "/keys" }
    func recordPath(_ id: String) -> String { keysDirectory + "/" + id + ".json" }

    private init(path: String, profile: KDFProfile, created: String, cardSigners: CardSigners = CardSigners()) {
        self.cardSigners = cardSigners
        self.path = path
        self.profile = profile
        self.created = created
    }

    // MARK: Creating and opening

    /// Creates a new vault at `path`. Refuses an existing vault or a non-empty directory.
    ///
    /// The vault is built in a temporary sibling directory and renamed into place, so an
    /// interrupted `init` leaves nothing that looks like a vault.
    @discardableResult
    public static func create(at path: String, profile: KDFProfile) throws(TrustVaultError) -> Vault {
        let path = normalise(path)
        if AtomicFile.exists(path) {
            if AtomicFile.exists(path + "/vault.json") {
                throw TrustVaultError(
                    .alreadyExists, "a vault already exists at \(path)",
                    recovery: "use it, or pass --vault DIR to create another one")
            }
            guard AtomicFile.isDirectory(path), (try AtomicFile.list(path)).isEmpty else {
                throw TrustVaultError(
                    .alreadyExists, "\(path) exists and is not an empty directory",
                    recovery: "choose another --vault directory")
            }
        }
        let parent = AtomicFile.parent(of: path)
        try AtomicFile.makeDirectories(parent)
        let staging =
            parent + "/" + AtomicFile.temporaryPrefix + AtomicFile.fileName(of: path) + "-"
            + Hex.encode(Sodium.randomBytes(6))
        try AtomicFile.makeDirectory(staging)
        do throws(TrustVaultError) {
            try AtomicFile.makeDirectory(staging + "/keys")
            let created = Timestamp.now()
            let manifest = JSONValue.obj([
                "format": .string(vaultFormat),
                "version": .integer(formatVersion),
                "created": .string(created),
                "kdf": .obj([
                    "profile": .string(profile.name),
                    "algorithm": .string("argon2id13"),
                    "opslimit": .integer(Int64(profile.opsLimit)),
                    "memlimit": .integer(Int64(profile.memLimit)),
                ]),
            ])
            try AtomicFile.create(manifest.canonicalBytes + [0x0A], at: staging + "/vault.json")
            try AtomicFile.create([], at: staging + "/.lock")
            if AtomicFile.isDirectory(path) { _ = rmdir(path) }
            guard rename(staging, path) == 0 else {
                throw AtomicFile.errnoError("cannot create the vault at \(path)", path: path)
            }
            try AtomicFile.syncDirectory(of: path)
            let vault = Vault(path: path, profile: profile, created: created)
            vault.audit("init", ["kdf": .string(profile.name), "opslimit": .integer(Int64(profile.opsLimit))])
            return vault
        } catch {
            removeTree(staging)
            throw error
        }
    }

    /// Opens an existing vault, checking its format and that no other user can read it.
    public static func open(at path: String, cardSigners: CardSigners = CardSigners()) throws(TrustVaultError) -> Vault {
        let path = normalise(path)
        guard AtomicFile.isDirectory(path) else {
            throw .notFound("no vault at \(path)", recovery: "create one with 'trustvault init' (or pass --vault DIR)")
        }
        // Permission denied is not "not a vault": only a missing vault.json is.
        if try !AtomicFile.existsChecked(path + "/vault.json", what: "cannot open the vault \(path)") {
            throw .notFound(
                "\(path) is not a trustvault vault (no vault.json)",
                recovery: "create one with 'trustvault init', or pass the right --vault DIR")
        }
        try checkPermissions(path)
        let file = path + "/vault.json"
        let (profile, created) = try readManifest(try AtomicFile.read(file, kind: .vaultRecord), file: file)
        return Vault(path: path, profile: profile, created: created, cardSigners: cardSigners)
    }

    /// The one check of a `vault.json` (on disk and inside a backup): format, version, and a KDF
    /// that is exactly one of trustvault's profiles (name, algorithm and parameters).
    static func readManifest(_ bytes: [UInt8], file: String) throws(TrustVaultError) -> (profile: KDFProfile, created: String) {
        let manifest: JSONValue
        do { manifest = try JSONValue(parsing: bytes) } catch {
            throw .corrupt(
                "\(file) is damaged: \(error.message)",
                recovery: "restore the vault from a backup (trustvault backup restore)")
        }
        guard manifest["format"]?.stringValue == vaultFormat else {
            throw .corrupt("\(file) is not a trustvault vault manifest")
        }
        guard let version = manifest["version"]?.intValue, version == formatVersion else {
            throw .unsupported(
                "\(file) has format version \(manifest["version"]?.intValue ?? 0)",
                recovery: "this trustvault reads version \(formatVersion); upgrade trustvault")
        }
        let profile = try KDFProfile.stored(
            opsLimit: manifest["kdf"]?["opslimit"]?.intValue, memLimit: manifest["kdf"]?["memlimit"]?.intValue, in: file)
        guard manifest["kdf"]?["profile"]?.stringValue == profile.name,
            manifest["kdf"]?["algorithm"]?.stringValue == "argon2id13"
        else {
            throw .corrupt(
                "\(file) names an unknown KDF profile or algorithm, so it is damaged or not made by trustvault",
                recovery: "restore the vault from a backup (trustvault backup restore)")
        }
        guard let created = manifest["created"]?.stringValue, RFC3339.isValid(created) else {
            throw .corrupt(
                "\(file) has no valid \"created\" time (RFC 3339)",
                recovery: "restore the vault from a backup (trustvault backup restore)")
        }
        return (profile, created)
    }

    /// The vault directory to use: `--vault`, else `TRUSTVAULT_HOME`, else `~/.trustvault`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let home = environment["TRUSTVAULT_HOME"], !home.isEmpty { return home }
        let userHome = environment["HOME"] ?? NSHomeDirectory()
        return userHome + "/.trustvault"
    }

    static func normalise(_ path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        if !p.hasPrefix("/") { p = FileManager.default.currentDirectoryPath + "/" + p }
        return p
    }

    /// Refuses a vault whose directory or files other users can access.
    static func checkPermissions(_ path: String) throws(TrustVaultError) {
        var offenders: [String] = []
        func check(_ p: String) {
            guard let (mode, owner) = AtomicFile.ownership(p) else { return }
            if mode & 0o077 != 0 || owner != AtomicFile.currentUser { offenders.append(p) }
        }
        check(path)
        for name in (try? AtomicFile.list(path)) ?? [] { check(path + "/" + name) }
        for name in (try? AtomicFile.list(path + "/keys")) ?? [] { check(path + "/keys/" + name) }
        guard offenders.isEmpty else {
            let list = offenders.prefix(3).joined(separator: ", ") + (offenders.count > 3 ? ", …" : "")
            throw TrustVaultError(
                .insecurePermissions,
                "refusing to open the vault: other users can access \(list)",
                recovery: "run 'chmod -R go-rwx \(path)' (and make sure you own it), then retry")
        }
    }

    // MARK: Reading

    /// Every key record, sorted by role then ID. Needs no passphrase.
    public func records() throws(TrustVaultError) -> [KeyRecord] {
        var out: [KeyRecord] = []
        for name in try AtomicFile.list(keysDirectory) where name.hasSuffix(".json") {
            out.append(try loadFile(keysDirectory + "/" + name).record)
        }
        return out.sorted { ($0.role, $0.id) < ($1.role, $1.id) }
    }

    /// The record whose ID equals `idOrPrefix`, or the only one that starts with it.
    public func record(matching idOrPrefix: String) throws(TrustVaultError) -> KeyRecord {
        let wanted = idOrPrefix.lowercased()
        guard !wanted.isEmpty, wanted.allSatisfy(\.isHexDigit) else {
            throw .invalid("\"\(idOrPrefix)\" is not a key ID", recovery: "key IDs are hex; see 'trustvault key list'")
        }
        if wanted.count == 64, AtomicFile.exists(recordPath(wanted)) {
            return try loadFile(recordPath(wanted)).record
        }
        let matches = try records().filter { $0.id.hasPrefix(wanted) }
        switch matches.count {
        case 1: return matches[0]
        case 0:
            throw .notFound("no key \(idOrPrefix) in the vault at \(path)", recovery: "see 'trustvault key list'")
        default:
            throw .invalid("\(idOrPrefix) matches \(matches.count) keys", recovery: "give more digits of the key ID")
        }
    }

    // MARK: Changing (each under the exclusive lock)

    /// Seals `key` under `passphrase` and adds it. Refuses a key that is already in the vault.
    @discardableResult
    public func add(
        _ key: PrivateKey, role: String, gun: String?, certificatePEM: String? = nil, passphrase: Passphrase
    ) throws(TrustVaultError) -> KeyRecord {
        let gun = try KeyRole.normalise(role: role, gun: gun)
        let record = KeyRecord(
            role: role, gun: gun, publicKey: key.publicKey, certificatePEM: certificatePEM,
            location: .vault, created: Timestamp.now())
        let kdf = role == "root" ? profile.atLeast(.moderate) : profile
        if kdf.memLimit > KDFProfile.interactive.memLimit {
            StepProgress.note("sealing the new \(role) key\(gun.map { " for " + $0 } ?? "") (\(record.id.prefix(12)))…")
        }
        let sealed = try SealedKey.seal(key.exportSecret(), record: record, passphrase: passphrase, profile: kdf)
        try withLock { () throws(TrustVaultError) in
            try write(record: record, sealed: sealed, create: true)
            audit("add", ["id": .string(record.id), "role": .string(role)])
        }
        return record
    }

    /// Records a key whose private half lives on a PIV card.
    @discardableResult
    public func addCardKey(
        publicKey: PublicKey, role: String, gun: String?, certificatePEM: String?, serial: String, slot: String
    ) throws(TrustVaultError) -> KeyRecord {
        let gun = try KeyRole.normalise(role: role, gun: gun)
        let record = KeyRecord(
            role: role, gun: gun, publicKey: publicKey, certificatePEM: certificatePEM,
            location: .card(serial: serial, slot: slot), created: Timestamp.now())
        try withLock { () throws(TrustVaultError) in
            try write(record: record, sealed: nil, create: true)
            audit("add-card-key", ["id": .string(record.id), "role": .string(role), "card": .string(serial)])
        }
        return record
    }

    /// Decrypts a vault key. Throws `.wrongPassphrase` when the passphrase does not open it.
    public func unlock(_ record: KeyRecord, passphrase: Passphrase) throws(TrustVaultError) -> PrivateKey {
        guard case .vault = record.location else {
            throw .invalid(
                "key \(record.id.prefix(12)) lives on a card (\(record.location))",
                recovery: "insert the card; card keys sign on the card")
        }
        let (stored, sealed) = try loadFile(recordPath(record.id))
        guard let sealed else { throw .corrupt("\(recordPath(record.id)) has no sealed private key") }
        if sealed.memLimit > KDFProfile.interactive.memLimit {
            StepProgress.note("unlocking the \(stored.role) key\(stored.gun.map { " for " + $0 } ?? "") (\(stored.id.prefix(12)))…")
        }
        let secret = try sealed.open(record: stored, passphrase: passphrase, file: recordPath(record.id))
        let key = try PrivateKey(algorithm: stored.algorithm, secret: secret)
        guard key.publicKey == stored.publicKey else {
            throw .corrupt("\(recordPath(record.id)): the private key does not belong to the record's public key")
        }
        return key
    }

    /// Re-seals a key under a new passphrase (atomically replacing its record).
    public func changePassphrase(
        _ record: KeyRecord, from old: Passphrase, to new: Passphrase
    ) throws(TrustVaultError) {
        try withLock { () throws(TrustVaultError) in
            let key = try unlock(record, passphrase: old)
            let (stored, _) = try loadFile(recordPath(record.id))
            let kdf = stored.role == "root" ? profile.atLeast(.moderate) : profile
            let sealed = try SealedKey.seal(key.exportSecret(), record: stored, passphrase: new, profile: kdf)
            try write(record: stored, sealed: sealed, create: false)
            audit("passwd", ["id": .string(record.id)])
        }
    }

    /// Removes a key record for good.
    public func remove(_ record: KeyRecord) throws(TrustVaultError) {
        try withLock { () throws(TrustVaultError) in
            guard AtomicFile.exists(recordPath(record.id)) else {
                throw .notFound("no key \(record.id) in the vault at \(path)")
            }
            try AtomicFile.remove(recordPath(record.id))
            audit("remove", ["id": .string(record.id), "role": .string(record.role)])
        }
    }

    /// Runs `body` holding the vault's exclusive lock (waits up to 30 s for other processes).
    public func withLock<T>(_ body: () throws(TrustVaultError) -> T) throws(TrustVaultError) -> T {
        let lock = try VaultLock(path: path + "/.lock")
        defer { lock.release() }
        AtomicFile.removeStaleTemporaries(in: keysDirectory)
        AtomicFile.removeStaleTemporaries(in: path)
        return try body()
    }

    // MARK: Files

    func write(record: KeyRecord, sealed: SealedKey?, create: Bool) throws(TrustVaultError) {
        let document = JSONValue.obj([
            "format": .string(Self.keyFormat),
            "version": .integer(Self.formatVersion),
            "public": record.json,
            "sealed": sealed?.json ?? .null,
        ])
        let bytes = document.canonicalBytes + [0x0A]
        if create {
            do { try AtomicFile.create(bytes, at: recordPath(record.id)) } catch  where error.code == .alreadyExists {
                throw TrustVaultError(
                    .alreadyExists, "key \(record.id) is already in the vault",
                    recovery: "see 'trustvault key list'")
            }
        } else {
            try AtomicFile.write(bytes, to: recordPath(record.id))
        }
    }

    func loadFile(_ file: String) throws(TrustVaultError) -> (record: KeyRecord, sealed: SealedKey?) {
        let bytes = try AtomicFile.read(file, kind: .vaultRecord)
        return try Self.decodeRecord(bytes, file: file, fileName: AtomicFile.fileName(of: file))
    }

    /// Appends one line to the audit log (best effort: a failed append never fails an operation
    /// that already completed). Never contains secrets.
    func audit(_ action: String, _ details: KeyValuePairs<String, JSONValue>) {
        var entry = JSONValue.obj(["time": .string(Timestamp.now()), "action": .string(action)])
        for (k, v) in details { entry[k] = v }
        let line = entry.canonicalBytes + [0x0A]
        let fd = Glibc.open(path + "/audit.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        _ = fsync(fd)
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// An exclusive `flock(2)` on the vault's lock file.
final class VaultLock {
    private let fd: Int32

    init(path: String, timeoutSeconds: Double = 30) throws(TrustVaultError) {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw AtomicFile.errnoError("cannot open the vault lock \(path)", path: path) }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(fd)
                throw TrustVaultError(
                    .busy, "another trustvault process is using the vault (\(path))",
                    recovery: "wait for it to finish and retry")
            }
            usleep(20_000)
        }
        self.fd = fd
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// RFC 3339 timestamps in UTC, second precision.
public enum Timestamp {
    public static func now() -> String { format(Date()) }

    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
