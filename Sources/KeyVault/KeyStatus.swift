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
        ])
    }

    init(json: JSONValue, file: String) throws(TrustVaultError) {
        guard json["format"]?.stringValue == Self.format, json["version"]?.intValue == 1 else {
            throw .corrupt("\(file) is not a trustvault key-status file of version 1", recovery: "upgrade trustvault, or move the file away")
        }
        for m in json["retired"]?.objectValue ?? [] {
            guard let gun = m.value["gun"]?.stringValue, let time = m.value["time"]?.stringValue else {
                throw .corrupt("\(file): retired entry \(m.key.prefix(12)) needs \"gun\" and \"time\"")
            }
            retired[m.key] = Retirement(gun: gun, time: time)
        }
        for m in json["root_certificates"]?.objectValue ?? [] {
            var byGUN: [String: String] = [:]
            for g in m.value.objectValue ?? [] {
                guard let id = g.value.stringValue else { throw .corrupt("\(file): certificate IDs must be strings") }
                byGUN[g.key] = id
            }
            rootCertificates[m.key] = byGUN
        }
    }
}

extension Vault {
    var keyStatusPath: String { path + "/key-status.json" }

    /// The key-status book (empty when no ceremony wrote one yet).
    public func keyStatus() throws(TrustVaultError) -> KeyStatusBook {
        guard AtomicFile.exists(keyStatusPath) else { return KeyStatusBook() }
        let bytes = try AtomicFile.read(keyStatusPath, kind: .vaultRecord)
        return try KeyStatusBook(json: try JSONValue(parsing: bytes), file: keyStatusPath)
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
