public import TrustCore

/// What ceremonies record about keys beside their records, in `VAULT/key-status.json` (0600):
/// keys a ceremony superseded (`retired`, with the GUN and time), and the certificate IDs under
/// which root keys appear in each repository's root.json (what docker and notary show for root).
///
/// Kept apart from `keys/<id>.json` because a record's public part is bound into its sealed
/// private part; the status is public bookkeeping that a lost file only makes less informative.
public struct KeyStatusBook: Sendable, Equatable {
    public struct Retirement: Sendable, Equatable {
        public var gun: String
        public var time: String
    }
    /// Canonical key ID → when and for which repository it was superseded.
    public var retired: [String: Retirement] = [:]
    /// Canonical root key ID → GUN → the certificate key ID in that repository's root.json.
    public var rootCertificates: [String: [String: String]] = [:]
    public struct CardReset: Sendable, Equatable {
        public var serial: String
        public var time: String
    }
    /// Card key ID → the reset of its card that destroyed it (`card reset`).
    public var cardReset: [String: CardReset] = [:]

    /// What `key list` shows: `card reset` (the key is gone), `retired` (a ceremony superseded
    /// it) or `current`.
    public func state(of id: String) -> String {
        if cardReset[id] != nil { return "card reset" }
        return retired[id] == nil ? "current" : "retired"
    }

    public init() {}

    static let format = "trustvault-key-status"

    var json: JSONValue {
        .obj([
            "format": .string(Self.format),
            "version": .integer(1),
            "retired": .object(retired.map { .init($0.key, .obj(["gun": .string($0.value.gun), "time": .string($0.value.time)])) }),
            "root_certificates": .object(rootCertificates.map { id, byGUN in
                .init(id, .object(byGUN.map { .init($0.key, .string($0.value)) }))
            }),
            "card_reset": .object(cardReset.map { .init($0.key, .obj(["serial": .string($0.value.serial), "time": .string($0.value.time)])) }),
        ])
    }

    /// Reads and validates a key-status file: known format and version, key IDs of 64 lower-case
    /// hex digits, GUNs by the same rules as key records, RFC 3339 times (Go's rules).
    init(parsing bytes: [UInt8], file: String) throws(TrustVaultError) {
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch {
            throw .corrupt("\(file) is not valid JSON (\(error.message)), so it is damaged or not made by trustvault",
                           recovery: "move the file away: it only marks retired keys and root certificate IDs in 'key list'")
        }
        guard json["format"]?.stringValue == Self.format, json["version"]?.intValue == 1 else {
            throw .corrupt("\(file) is not a trustvault key-status file of version 1", recovery: "upgrade trustvault, or move the file away")
        }
        func keyID(_ id: String) throws(TrustVaultError) -> String {
            guard Self.isKeyID(id) else {
                throw .corrupt("\(file): \(Escape.visible(String(id.prefix(80)))) is not a key ID (64 lower-case hex digits)")
            }
            return id
        }
        for m in json["retired"]?.objectValue ?? [] {
            guard let gun = m.value["gun"]?.stringValue, let time = m.value["time"]?.stringValue else {
                throw .corrupt("\(file): retired entry \(m.key.prefix(12)) needs \"gun\" and \"time\"")
            }
            do throws(TrustVaultError) {
                try Names.checkGUN(gun)
                _ = try RFC3339.parse(time)
            } catch { throw error.located(file) }
            retired[try keyID(m.key)] = Retirement(gun: gun, time: time)
        }
        for m in json["root_certificates"]?.objectValue ?? [] {
            var byGUN: [String: String] = [:]
            for g in m.value.objectValue ?? [] {
                guard let id = g.value.stringValue else { throw .corrupt("\(file): certificate IDs must be strings") }
                do throws(TrustVaultError) { try Names.checkGUN(g.key) } catch { throw error.located(file) }
                byGUN[g.key] = try keyID(id)
            }
            rootCertificates[try keyID(m.key)] = byGUN
        }
        for m in json["card_reset"]?.objectValue ?? [] {
            guard let serial = m.value["serial"]?.stringValue, !serial.isEmpty, serial.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                serial.utf8.count <= 10, let time = m.value["time"]?.stringValue
            else {
                throw .corrupt("\(file): card_reset entry \(m.key.prefix(12)) needs a decimal \"serial\" and a \"time\"")
            }
            do throws(TrustVaultError) { _ = try RFC3339.parse(time) } catch { throw error.located(file) }
            cardReset[try keyID(m.key)] = CardReset(serial: serial, time: time)
        }
    }

    static func isKeyID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Both books together (restoring a backup into a vault that has its own book); an entry
    /// already here wins.
    func merged(with other: KeyStatusBook) -> KeyStatusBook {
        var out = self
        out.retired.merge(other.retired) { mine, _ in mine }
        out.rootCertificates.merge(other.rootCertificates) { mine, theirs in mine.merging(theirs) { a, _ in a } }
        out.cardReset.merge(other.cardReset) { mine, _ in mine }
        return out
    }
}

extension Vault {
    static let keyStatusFileName = "key-status.json"
    var keyStatusPath: String { path + "/" + Self.keyStatusFileName }

    /// The key-status book (empty when no ceremony wrote one yet).
    public func keyStatus() throws(TrustVaultError) -> KeyStatusBook {
        guard AtomicFile.exists(keyStatusPath) else { return KeyStatusBook() }
        return try KeyStatusBook(parsing: try AtomicFile.read(keyStatusPath, kind: .vaultRecord), file: keyStatusPath)
    }

    /// Changes the key-status book under the vault lock, atomically.
    public func updateKeyStatus(_ change: (inout KeyStatusBook) -> Void) throws(TrustVaultError) {
        try withLock { () throws(TrustVaultError) in
            var book = try keyStatus()
            let before = book
            change(&book)
            guard book != before else { return }
            try AtomicFile.write(book.json.canonicalBytes, to: keyStatusPath)
            audit("key-status", ["retired": .integer(Int64(book.retired.count))])
        }
    }
}
