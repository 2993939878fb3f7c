public import TrustCore
internal import CSodium
internal import Formats

/// How a backup's 32-byte key is protected.
public enum BackupKeyMode: Sendable, Equatable {
    /// Derived from a passphrase with Argon2id (`crypto_pwhash`, ALG_ARGON2ID13).
    case passphrase(opsLimit: UInt64, memLimit: UInt64, salt: [UInt8])
    /// A random key split K-of-N with Shamir's scheme into share files.
    case shares(threshold: Int, count: Int)
}

/// The clear-text header of a backup file (see `docs/backup-format.md`).
public struct BackupHeader: Sendable, Equatable {
    /// The only format version this build writes and reads.
    public static let currentVersion: UInt16 = 1

    public let formatVersion: UInt16
    /// 16 random bytes naming this backup; share files carry it too.
    public let backupID: [UInt8]
    /// Creation time, RFC 3339 UTC (`2026-11-22T16:00:00Z`).
    public let created: String
    public let keyMode: BackupKeyMode
    /// BLAKE2b-128 keyed with the backup key over a fixed label and the backup ID: tells a
    /// wrong passphrase (or a wrong set of shares) apart from a damaged file.
    public let keyCheck: [UInt8]

    public var backupIDHex: String { Hex.encode(backupID) }

    package var json: JSONValue {
        var key: JSONValue
        switch keyMode {
        case let .passphrase(ops, mem, salt):
            key = .obj([
                "mode": .string("passphrase"), "kdf": .string("argon2id13"),
                "opslimit": .integer(Int64(ops)), "memlimit": .integer(Int64(mem)),
                "salt": .string(Hex.encode(salt)),
            ])
        case let .shares(k, n):
            key = .obj([
                "mode": .string("shares"), "scheme": .string("shamir-gf256"),
                "threshold": .integer(Int64(k)), "shares": .integer(Int64(n)),
            ])
        }
        return .obj([
            "format": .string("trustvault-backup"),
            "version": .integer(Int64(formatVersion)),
            "backup_id": .string(backupIDHex),
            "created": .string(created),
            "key": key,
            "key_check": .string(Hex.encode(keyCheck)),
            "cipher": .string("secretstream-xchacha20poly1305"),
            "chunk_size": .integer(Int64(BackupFile.chunkSize)),
        ])
    }

    package init(formatVersion: UInt16, backupID: [UInt8], created: String, keyMode: BackupKeyMode, keyCheck: [UInt8]) {
        self.formatVersion = formatVersion
        self.backupID = backupID
        self.created = created
        self.keyMode = keyMode
        self.keyCheck = keyCheck
    }

    init(json: JSONValue, version: UInt16, file: String) throws(TrustVaultError) {
        func field(_ name: String) throws(TrustVaultError) -> JSONValue {
            guard let v = json[name] else { throw .corrupt("\(file): the backup header has no \"\(name)\" field") }
            return v
        }
        func hexField(_ v: JSONValue?, _ name: String, count: Int) throws(TrustVaultError) -> [UInt8] {
            guard let s = v?.stringValue, let bytes = Hex.decode(s), bytes.count == count else {
                throw .corrupt("\(file): the backup header's \"\(name)\" is not \(count) bytes of hex")
            }
            return bytes
        }
        guard try field("format").stringValue == "trustvault-backup" else {
            throw .corrupt("\(file): the header does not describe a trustvault backup")
        }
        guard try field("version").intValue == Int64(version) else {
            throw .corrupt("\(file): the header's version does not match the file's version field")
        }
        guard try field("cipher").stringValue == "secretstream-xchacha20poly1305",
            try field("chunk_size").intValue == Int64(BackupFile.chunkSize)
        else { throw .unsupported("\(file): the backup uses a cipher or chunk size this trustvault does not know") }
        backupID = try hexField(json["backup_id"], "backup_id", count: BackupFile.backupIDBytes)
        keyCheck = try hexField(json["key_check"], "key_check", count: BackupFile.keyCheckBytes)
        guard let created = try field("created").stringValue else {
            throw .corrupt("\(file): the backup header's \"created\" is not a string")
        }
        self.created = created
        self.formatVersion = version
        let key = try field("key")
        switch key["mode"]?.stringValue {
        case "passphrase":
            guard key["kdf"]?.stringValue == "argon2id13" else {
                throw .corrupt("\(file): the backup header's KDF is not argon2id13, so the file is damaged or not made by trustvault")
            }
            // One of trustvault's profiles, checked before any KDF runs.
            let profile = try KDFProfile.stored(opsLimit: key["opslimit"]?.intValue, memLimit: key["memlimit"]?.intValue, in: file)
            let salt = try hexField(key["salt"], "key.salt", count: SecretSeal.saltBytes)
            keyMode = .passphrase(opsLimit: profile.opsLimit, memLimit: profile.memLimit, salt: salt)
        case "shares":
            guard key["scheme"]?.stringValue == "shamir-gf256",
                let k = key["threshold"]?.intValue, let n = key["shares"]?.intValue,
                k >= 2, k <= n, n <= 255
            else { throw .corrupt("\(file): the backup header's share settings are invalid") }
            keyMode = .shares(threshold: Int(k), count: Int(n))
        default:
            throw .corrupt("\(file): the backup header names no known key mode")
        }
    }
}

/// One file of the vault inside a backup.
public struct BackupEntry: Sendable, Equatable, CustomStringConvertible {
    /// Relative to the vault directory, `/`-separated, e.g. `keys/<id>.json`.
    public let path: String
    /// Permission bits as they were in the vault (restored as at most 0600).
    public let mode: UInt32
    public let data: [UInt8]

    public var description: String { "\(path) (\(String(mode, radix: 8)), \(data.count) bytes)" }

    public init(path: String, mode: UInt32, data: [UInt8]) {
        self.path = path
        self.mode = mode
        self.data = data
    }
}

/// Byte layout of a backup file:
///
/// ```
/// "TVBACKUP"                      8 bytes, magic
/// version                         u16 big-endian (1)
/// header length L                 u32 big-endian (≤ 65536)
/// header                          L bytes, canonical JSON (BackupHeader)
/// header digest                   32 bytes, BLAKE2b-256 of everything above
/// secretstream header             24 bytes (crypto_secretstream_xchacha20poly1305)
/// chunks                          repeated: u32 big-endian length c, then c bytes of
///                                 secretstream ciphertext (≤ chunk_size + 17 bytes)
/// ```
///
/// The first chunk is pushed with everything before it (magic through secretstream header)
/// as associated data, so a changed header byte fails authentication even if the digest were
/// recomputed. The last chunk carries `TAG_FINAL` and must be followed by end of file: a
/// truncated file (no final tag) or trailing bytes are refused.
public enum BackupFile {
    static let magic: [UInt8] = Array("TVBACKUP".utf8)
    static let backupIDBytes = 16
    static let keyCheckBytes = 16
    static let headerDigestBytes = 32
    static let chunkSize = 64 * 1024
    static let maxHeaderBytes = 64 * 1024
    /// A vault holds keys and a log, not media; refuse absurd sizes from a tampered file.
    static let maxPayloadBytes = 512 * 1024 * 1024
    static let keyCheckLabel = Array("trustvault backup key check v1".utf8)

    static var streamHeaderBytes: Int { Int(crypto_secretstream_xchacha20poly1305_headerbytes()) }
    static var streamABytes: Int { Int(crypto_secretstream_xchacha20poly1305_abytes()) }

    /// Computes the key-check value for `key` and `backupID`.
    static func keyCheck(key: SecretBytes, backupID: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: keyCheckBytes)
        let input = keyCheckLabel + backupID
        key.withBytePointer { k, kLen in
            _ = crypto_generichash(&out, out.count, input, UInt64(input.count), k, kLen)
        }
        return out
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerDigestBytes)
        _ = crypto_generichash(&out, out.count, bytes, UInt64(bytes.count), nil, 0)
        return out
    }

    // MARK: Payload (the plaintext inside the stream)

    /// Payload = u32 big-endian manifest length, canonical JSON manifest
    /// `{"files":[{"mode":384,"path":"…","size":N}, …],"payload":"trustvault-vault-files"}`,
    /// then the files' bytes concatenated in manifest order.
    package static func encodePayload(_ entries: [BackupEntry]) -> [UInt8] {
        let manifest = JSONValue.obj([
            "payload": .string("trustvault-vault-files"),
            "files": .array(
                entries.map {
                    .obj(["path": .string($0.path), "mode": .integer(Int64($0.mode)), "size": .integer(Int64($0.data.count))])
                }),
        ]).canonicalBytes
        var out: [UInt8] = []
        out.reserveCapacity(4 + manifest.count + entries.reduce(0) { $0 + $1.data.count })
        appendBE32(UInt32(manifest.count), to: &out)
        out += manifest
        for e in entries { out += e.data }
        return out
    }

    package static func decodePayload(_ payload: [UInt8], file: String) throws(TrustVaultError) -> [BackupEntry] {
        guard payload.count >= 4 else { throw .corrupt("\(file): the backup's contents are empty") }
        let manifestLength = Int(readBE32(payload, at: 0))
        guard manifestLength <= payload.count - 4 else { throw .corrupt("\(file): the backup's file list is cut short") }
        let manifest: JSONValue
        do { manifest = try JSONValue(parsing: Array(payload[4..<(4 + manifestLength)])) } catch {
            throw .corrupt("\(file): the backup's file list is damaged: \(error.message)")
        }
        guard manifest["payload"]?.stringValue == "trustvault-vault-files", let files = manifest["files"]?.arrayValue else {
            throw .corrupt("\(file): the backup's file list is not in the expected form")
        }
        var offset = 4 + manifestLength
        var entries: [BackupEntry] = []
        var seen = Set<String>()
        for f in files {
            guard let path = f["path"]?.stringValue, let mode = f["mode"]?.intValue, let size = f["size"]?.intValue,
                mode >= 0, mode <= 0o7777, size >= 0, size <= payload.count - offset
            else { throw .corrupt("\(file): an entry of the backup's file list is malformed or larger than the data") }
            try checkRelativePath(path, file: file)
            guard seen.insert(path).inserted else { throw .corrupt("\(file): the backup lists \(path) twice") }
            entries.append(BackupEntry(path: path, mode: UInt32(mode), data: Array(payload[offset..<(offset + Int(size))])))
            offset += Int(size)
        }
        guard offset == payload.count else {
            throw .corrupt("\(file): the backup holds \(payload.count - offset) bytes not named in its file list")
        }
        return entries
    }

    /// A path inside the vault: relative, no `.`/`..`/empty components, no NUL, not hidden temporaries.
    static func checkRelativePath(_ path: String, file: String) throws(TrustVaultError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0), path.utf8.count <= 1024,
            parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(AtomicFile.temporaryPrefix) })
        else { throw .corrupt("\(file): the backup names an unsafe path \"\(path)\"", recovery: "this file was not written by trustvault; do not restore it") }
    }

    // MARK: Seal and open

    /// Builds a whole backup file.
    static func seal(entries: [BackupEntry], header: BackupHeader, key: SecretBytes) -> [UInt8] {
        Sodium.ensureInitialised()
        var out = magic
        appendBE16(header.formatVersion, to: &out)
        let headerBytes = header.json.canonicalBytes
        appendBE32(UInt32(headerBytes.count), to: &out)
        out += headerBytes
        out += digest(out)

        var state = crypto_secretstream_xchacha20poly1305_state()
        var streamHeader = [UInt8](repeating: 0, count: streamHeaderBytes)
        key.withBytePointer { k, _ in
            _ = crypto_secretstream_xchacha20poly1305_init_push(&state, &streamHeader, k)
        }
        out += streamHeader
        let associated = out

        var payload = encodePayload(entries)
        defer { Sodium.wipe(&payload) }
        var offset = 0
        var first = true
        repeat {
            let end = min(offset + chunkSize, payload.count)
            let isLast = end == payload.count
            let tag = isLast ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message()
            var cipher = [UInt8](repeating: 0, count: end - offset + streamABytes)
            var cipherLength: UInt64 = 0
            let ad = first ? associated : []
            payload.withUnsafeBufferPointer { p in
                _ = crypto_secretstream_xchacha20poly1305_push(
                    &state, &cipher, &cipherLength, p.baseAddress.map { $0 + offset }, UInt64(end - offset),
                    ad, UInt64(ad.count), tag)
            }
            appendBE32(UInt32(cipherLength), to: &out)
            out += cipher.prefix(Int(cipherLength))
            offset = end
            first = false
        } while offset < payload.count
        withUnsafeMutableBytes(of: &state) { Sodium.wipe($0.baseAddress!, count: $0.count) }
        return out
    }

    /// Parses the clear part of a backup (no key needed). Returns the header and the offset
    /// of the secretstream header.
    public static func readHeader(_ bytes: [UInt8], file: String) throws(TrustVaultError) -> BackupHeader {
        try parseHeader(bytes, file: file).header
    }

    package static func parseHeader(_ bytes: [UInt8], file: String) throws(TrustVaultError) -> (header: BackupHeader, streamStart: Int) {
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw .corrupt(
                "\(file) is not a trustvault backup (it does not start with TVBACKUP)",
                recovery: "pass the file written by 'trustvault backup create'")
        }
        guard bytes.count >= 14 else { throw .corrupt("\(file): the backup is truncated inside its header") }
        let version = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        guard version == BackupHeader.currentVersion else {
            throw .unsupported(
                "\(file) is a version \(version) backup; this trustvault reads version \(BackupHeader.currentVersion)",
                recovery: "use the trustvault release that wrote the backup, or a newer one")
        }
        let headerLength = Int(readBE32(bytes, at: 10))
        guard headerLength <= maxHeaderBytes else { throw .corrupt("\(file): the backup header length (\(headerLength) bytes) is not plausible") }
        let digestStart = 14 + headerLength
        guard bytes.count >= digestStart + headerDigestBytes + streamHeaderBytes else {
            throw .corrupt("\(file): the backup is truncated inside its header")
        }
        guard sodium_memcmp(digest(Array(bytes[0..<digestStart])), Array(bytes[digestStart..<(digestStart + headerDigestBytes)]), headerDigestBytes) == 0 else {
            throw .corrupt(
                "\(file): the backup header is damaged (its digest does not match)",
                recovery: "use another copy of the backup")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: Array(bytes[14..<digestStart])) } catch {
            throw .corrupt("\(file): the backup header is damaged: \(error.message)")
        }
        let header = try BackupHeader(json: json, version: version, file: file)
        return (header, digestStart + headerDigestBytes)
    }

    /// Checks `key` against the header's key check. Returns false when it does not match.
    static func keyMatches(_ key: SecretBytes, header: BackupHeader) -> Bool {
        let check = keyCheck(key: key, backupID: header.backupID)
        return sodium_memcmp(check, header.keyCheck, keyCheckBytes) == 0
    }

    /// Decrypts and authenticates every chunk; returns the vault files.
    static func open(_ bytes: [UInt8], key: SecretBytes, file: String) throws(TrustVaultError) -> (BackupHeader, [BackupEntry]) {
        let (header, streamStart) = try parseHeader(bytes, file: file)
        let associated = Array(bytes[0..<(streamStart + streamHeaderBytes)])
        var state = crypto_secretstream_xchacha20poly1305_state()
        defer { withUnsafeMutableBytes(of: &state) { Sodium.wipe($0.baseAddress!, count: $0.count) } }
        let initStatus = key.withBytePointer { k, _ in
            bytes.withUnsafeBufferPointer { b in
                crypto_secretstream_xchacha20poly1305_init_pull(&state, b.baseAddress! + streamStart, k)
            }
        }
        guard initStatus == 0 else { throw .corrupt("\(file): the encrypted stream header is invalid") }
        var offset = streamStart + streamHeaderBytes
        var payload: [UInt8] = []
        defer { Sodium.wipe(&payload) }
        var chunkNumber = 0
        var finished = false
        while !finished {
            chunkNumber += 1
            guard offset + 4 <= bytes.count else {
                throw .corrupt(
                    "\(file) is truncated: the encrypted data ends after chunk \(chunkNumber - 1) without its final mark",
                    recovery: "the copy is incomplete; use another copy of the backup")
            }
            let length = Int(readBE32(bytes, at: offset))
            offset += 4
            guard length >= streamABytes, length <= chunkSize + streamABytes else {
                throw .corrupt("\(file): chunk \(chunkNumber) has an impossible length (\(length) bytes)", recovery: "use another copy of the backup")
            }
            guard offset + length <= bytes.count else {
                throw .corrupt("\(file) is truncated inside chunk \(chunkNumber)", recovery: "the copy is incomplete; use another copy of the backup")
            }
            var plain = [UInt8](repeating: 0, count: length - streamABytes)
            var plainLength: UInt64 = 0
            var tag: UInt8 = 0
            let ad = chunkNumber == 1 ? associated : []
            let status = bytes.withUnsafeBufferPointer { b in
                plain.withUnsafeMutableBufferPointer { p in
                    crypto_secretstream_xchacha20poly1305_pull(
                        &state, p.baseAddress, &plainLength, &tag, b.baseAddress! + offset, UInt64(length),
                        ad, UInt64(ad.count))
                }
            }
            guard status == 0 else {
                Sodium.wipe(&plain)
                throw .corrupt(
                    "\(file): chunk \(chunkNumber) (at byte \(offset - 4)) fails authentication: the backup was altered or damaged",
                    recovery: "use another copy of the backup")
            }
            offset += length
            payload += plain.prefix(Int(plainLength))
            Sodium.wipe(&plain)
            guard payload.count <= maxPayloadBytes else { throw .corrupt("\(file): the backup's contents exceed \(maxPayloadBytes) bytes") }
            if tag == crypto_secretstream_xchacha20poly1305_tag_final() {
                finished = true
            } else if tag != crypto_secretstream_xchacha20poly1305_tag_message() {
                throw .corrupt("\(file): chunk \(chunkNumber) carries an unexpected tag")
            }
        }
        guard offset == bytes.count else {
            throw .corrupt(
                "\(file) has \(bytes.count - offset) unexpected bytes after the end of the backup",
                recovery: "use another copy of the backup")
        }
        return (header, try decodePayload(payload, file: file))
    }

    // MARK: Big-endian helpers

    static func appendBE16(_ v: UInt16, to out: inout [UInt8]) {
        out += [UInt8(v >> 8), UInt8(v & 0xFF)]
    }

    static func appendBE32(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func readBE32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}
