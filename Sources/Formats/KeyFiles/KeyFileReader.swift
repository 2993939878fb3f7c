public import TrustCore
public import Foundation

/// One private key read from a key file, a trust directory or a client bundle, before it goes
/// into the vault.
public struct KeyFileEntry: Sendable {
    public let privateKey: PrivateKey
    /// The role after notary's import rules (headers, then `--role`, then `delegation`).
    public var role: String
    /// The GUN after notary's import rules: set only for `targets`, `snapshot`, `timestamp`.
    public var gun: String?
    /// The `path:` header (base name), when the block had one.
    public var pathHeader: String?
    /// The file the key came from.
    public let source: String
    /// 1-based PEM block index within `source`.
    public let blockIndex: Int
    /// The PEM block type, e.g. `ENCRYPTED PRIVATE KEY`.
    public let blockType: String
    /// Whether the block was encrypted (and a passphrase was used).
    public let wasEncrypted: Bool
    /// The certificate for this key (client bundles, or a `CERTIFICATE` block next to the key).
    public var certificate: CertificateInfo?

    /// The canonical key ID (what `notary key list` shows).
    public var keyID: String { privateKey.publicKey.keyID }
    /// "FILE block N" for messages.
    public var location: String { "\(source) block \(blockIndex)" }
}

/// A block (or a whole file) that could not be imported, with the reason and what to do.
public struct KeyFileRefusal: Sendable, CustomStringConvertible {
    public let source: String
    /// 1-based block index, or nil when the whole file was refused.
    public let blockIndex: Int?
    /// The reason; its message already names the file and block.
    public let error: TrustVaultError

    public init(source: String, blockIndex: Int?, error: TrustVaultError) {
        self.source = source
        self.blockIndex = blockIndex
        self.error = error
    }

    public var description: String { error.description }
}

/// Everything read from one or more inputs: keys, refusals, and informational notes
/// (skipped `EC PARAMETERS`, ignored public keys, certificates expiring soon, …).
public struct KeyFileReport: Sendable {
    public var entries: [KeyFileEntry] = []
    public var refusals: [KeyFileRefusal] = []
    public var notes: [String] = []

    public init() {}

    public mutating func append(_ other: KeyFileReport) {
        entries += other.entries
        refusals += other.refusals
        notes += other.notes
    }

    mutating func refuse(_ source: String, _ block: PEMBlock?, _ error: TrustVaultError) {
        refusals.append(KeyFileRefusal(source: source, blockIndex: block?.index, error: error))
    }
}

/// What a passphrase callback is asked for.
public struct KeyFilePassphraseRequest: Sendable {
    /// The file being read.
    public let source: String
    /// 1-based PEM block index.
    public let blockIndex: Int
    /// The key's role (after the import rules): it chooses the `NOTARY_*`/`DOCKER_*` fallback.
    public let role: String
    /// 0 for the first try; >0 after the previous passphrase was wrong.
    public let attempt: Int
}

/// Supplies passphrases for encrypted blocks. Return nil to give up (e.g. an environment
/// passphrase was wrong and asking again cannot help); throw `.missingSecret` when there is
/// no way to get one.
public typealias KeyFilePassphraseProvider =
    @Sendable (KeyFilePassphraseRequest) throws(TrustVaultError) -> Passphrase?

/// `--role` / `--gun` given on the command line; PEM headers win over them (as in notary).
public struct KeyImportDefaults: Sendable, Hashable {
    public var role: String?
    public var gun: String?
    /// The key-derivation work this import may still spend (shared by its copies).
    public var budget: PBEBudget

    public init(role: String? = nil, gun: String? = nil, budget: PBEBudget = PBEBudget()) {
        self.role = role
        self.gun = gun
        self.budget = budget
    }
}

/// Reads private keys from PEM text in every form notary, docker and OpenSSL write.
///
/// Accepted block types: `ENCRYPTED PRIVATE KEY` (PKCS#8, any PBES scheme OpenSSL knows),
/// `PRIVATE KEY` (PKCS#8 incl. RFC 8410 Ed25519 and notary's Ed25519), `EC PRIVATE KEY` (SEC1),
/// `RSA PRIVATE KEY` (PKCS#1), `ED25519 PRIVATE KEY` (notary); the last three may carry OpenSSL's
/// legacy `Proc-Type`/`DEK-Info` encryption. `EC PARAMETERS` and `PUBLIC KEY` blocks are skipped
/// with a note; a `CERTIFICATE` block is attached to the key it certifies.
///
/// Role and GUN follow notary's `key import` rules (reference §1.6): a legacy
/// `path: tuf_keys/<gun>/<id>` header gives the GUN; a missing `gun:` takes `--gun`; a missing
/// `role:` takes `--role`, else `delegation`; `targets`/`snapshot`/`timestamp` keys must have a
/// GUN; every other role loses its GUN. Unlike notary, an encrypted block needs no `path:`
/// header (the key ID is computed from the key after decryption).
public enum KeyFileReader {
    /// Larger inputs are refused while reading (a bundle of hundreds of keys is < 1 MiB).
    public static let maximumFileSize = InputKind.keyFile.maximumSize

    /// Reads one file. Never throws: a file that cannot be read is a refusal in the report.
    public static func read(
        file path: String, defaults: KeyImportDefaults = KeyImportDefaults(), now: Date = Date(),
        passphrase: KeyFilePassphraseProvider
    ) -> KeyFileReport {
        var bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, kind: .keyFile) } catch {
            var report = KeyFileReport()
            report.refuse(path, nil, error)
            return report
        }
        // The file's text may be an unencrypted key: wiped once it is parsed.
        defer { Sodium.wipe(&bytes) }
        return read(bytes: bytes, source: path, defaults: defaults, now: now, passphrase: passphrase)
    }

    /// Reads PEM text; `source` names it in messages.
    public static func read(
        bytes: [UInt8], source: String, defaults: KeyImportDefaults = KeyImportDefaults(), now: Date = Date(),
        passphrase: KeyFilePassphraseProvider
    ) -> KeyFileReport {
        var report = KeyFileReport()
        let blocks: [PEMBlock]
        switch Result(catching: { () throws(TrustVaultError) in try PEM.parse(bytes, source: source) }) {
        case .success(let b): blocks = b
        case .failure(let error):
            report.refuse(source, nil, error)
            return report
        }
        // The whole file's key-derivation work, before any of it is done: thousands of costly
        // blocks are refused at once rather than after minutes.
        let work = blocks.reduce(0) { total, block in
            block.type == "ENCRYPTED PRIVATE KEY" ? total + ((try? PBEParameters.check(block.bytes)) ?? 0) : total
        }
        if let error = defaults.budget.refusal(for: work, source: source) {
            report.refuse(source, nil, error)
            return report
        }
        guard !blocks.isEmpty else {
            let looksDER = bytes.first == 0x30
            report.refuse(
                source, nil,
                .corrupt(
                    "\(source): no PEM block found\(bytes.isEmpty ? " (the file is empty)" : "")",
                    recovery: looksDER
                        ? "the file looks like binary DER; convert it: openssl pkey -inform DER -in \(source) -out key.pem"
                        : "give a PEM key file (-----BEGIN … PRIVATE KEY-----), a trust directory or a client bundle"))
            return report
        }
        var certificates: [(PEMBlock, CertificateInfo)] = []
        for block in blocks {
            let place = "\(source) \(block.locationDescription)"
            switch block.type {
            case "EC PARAMETERS":
                report.notes.append("\(place): EC PARAMETERS skipped (curve parameters, not a key)")
            case "PUBLIC KEY":
                report.notes.append("\(place): PUBLIC KEY skipped (only private keys are imported)")
            case "CERTIFICATE":
                switch Result(catching: { () throws(TrustVaultError) in try CertificateInfo(derEncoded: block.bytes) }) {
                case .success(let cert): certificates.append((block, cert))
                case .failure(let error): report.refuse(source, block, error.located(place))
                }
            case "ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ED25519 PRIVATE KEY":
                let result = Result(catching: { () throws(TrustVaultError) in
                    try readKeyBlock(block, source: source, defaults: defaults, passphrase: passphrase)
                })
                switch result {
                case .success(let entry): report.entries.append(entry)
                case .failure(let error): report.refuse(source, block, withRecovery(error).located(place))
                }
            default:
                report.refuse(
                    source, block,
                    .unsupported(
                        "\(place): unsupported PEM block type \"\(block.type)\"",
                        recovery: "give private keys as PRIVATE KEY, ENCRYPTED PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY or ED25519 PRIVATE KEY blocks"))
            }
        }
        // Attach certificates to the keys they certify.
        for (block, cert) in certificates {
            let place = "\(source) \(block.locationDescription)"
            guard
                let i = report.entries.indices.first(where: {
                    cert.certifies(report.entries[$0].privateKey.publicKey)
                })
            else {
                report.notes.append("\(place): certificate for \(cert.subject) matches no key in the file; ignored")
                continue
            }
            switch Result(catching: { () throws(TrustVaultError) in try cert.checkValidity(at: now) }) {
            case .success(let warning):
                if let warning { report.notes.append("\(place): \(warning)") }
                report.entries[i].certificate = cert
            case .failure(let error):
                report.refuse(source, block, error.located(place))
            }
        }
        if report.entries.isEmpty && report.refusals.isEmpty {
            let kinds = Set(blocks.map(\.type)).sorted().joined(separator: ", ")
            report.refuse(
                source, nil,
                .notFound(
                    "\(source): no private key in the file (it holds: \(kinds))",
                    recovery: "give the private key file; public keys and certificates alone cannot be imported"))
        }
        return report
    }

    /// Decrypts (if needed) and parses one key block, then applies the role/GUN rules.
    static func readKeyBlock(
        _ original: PEMBlock, source: String, defaults: KeyImportDefaults, passphrase: KeyFilePassphraseProvider
    ) throws(TrustVaultError) -> KeyFileEntry {
        var block = original
        let (role, gun, path) = try resolveRoleAndGUN(block, defaults: defaults)
        let encrypted = block.type == "ENCRYPTED PRIVATE KEY" || block.isLegacyEncrypted
        let key: PrivateKey
        if encrypted {
            if block.isLegacyEncrypted, block[header: "DEK-Info"] == nil {
                throw .corrupt("the block says Proc-Type: 4,ENCRYPTED but has no DEK-Info header")
            }
            // Cost caps first: no passphrase is asked for and no KDF runs for a hostile file.
            if block.type == "ENCRYPTED PRIVATE KEY" {
                try defaults.budget.spend(try PBEParameters.check(block.bytes), source: source)
            }
            var attempt = 0
            var lastError: TrustVaultError?
            var found: PrivateKey?
            while found == nil, attempt < 5 {
                let request = KeyFilePassphraseRequest(source: source, blockIndex: block.index, role: role, attempt: attempt)
                guard let pass = try passphrase(request) else { break }
                switch Result(catching: { () throws(TrustVaultError) in try decryptAndParse(block, passphrase: pass) }) {
                case .success(let k): found = k
                case .failure(let error) where error.code == .wrongPassphrase:
                    lastError = error
                    attempt += 1
                case .failure(let error): throw error
                }
            }
            guard let found else {
                throw lastError ?? .wrongPassphrase("no passphrase was given for the encrypted key")
            }
            key = found
        } else {
            key = try parsePlain(block.type, block.bytes)
        }
        block.bytes = []
        return KeyFileEntry(
            privateKey: key, role: role, gun: gun, pathHeader: path, source: source, blockIndex: original.index,
            blockType: original.type, wasEncrypted: encrypted, certificate: nil)
    }

    /// notary's role/GUN rules for one block (see the type's documentation).
    public static func resolveRoleAndGUN(_ block: PEMBlock, defaults: KeyImportDefaults) throws(TrustVaultError)
        -> (role: String, gun: String?, path: String?)
    {
        var gun = nonEmpty(block[header: "gun"])
        var path = nonEmpty(block[header: "path"])
        if let raw = path, raw.contains("/") {
            let parts = raw.split(separator: "/").map(String.init)
            let dir = parts.dropLast().joined(separator: "/")
            if dir.hasPrefix("tuf_keys") {
                let legacyGUN = String(dir.dropFirst("tuf_keys".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                if !legacyGUN.isEmpty { gun = legacyGUN }
            }
            path = parts.last
        }
        if gun == nil { gun = nonEmpty(defaults.gun) }
        let role = nonEmpty(block[header: "role"]) ?? nonEmpty(defaults.role) ?? "delegation"
        switch role {
        case "targets", "snapshot", "timestamp":
            guard gun != nil else {
                throw .invalid(
                    "the \(role) key has no gun: header, so it is unknown which repository it belongs to",
                    recovery: "give the repository name with --gun GUN")
            }
        default:
            gun = nil
        }
        return (role, gun, path)
    }

    static func decryptAndParse(_ block: PEMBlock, passphrase: Passphrase) throws(TrustVaultError) -> PrivateKey {
        if block.type == "ENCRYPTED PRIVATE KEY" {
            let inner = try OpenSSLCrypto.decryptPKCS8(block.bytes, passphrase: passphrase)
            return try inner.withTemporaryArray { (der: inout [UInt8]) throws(TrustVaultError) in try PrivateKeyDER.parsePKCS8(der) }
        }
        guard let dek = block[header: "DEK-Info"] else { throw .corrupt("the encrypted block has no DEK-Info header") }
        let plain = try OpenSSLCrypto.decryptLegacyPEM(block.bytes, dekInfo: dek, passphrase: passphrase)
        switch Result(catching: { () throws(TrustVaultError) in
            try plain.withTemporaryArray { (der: inout [UInt8]) throws(TrustVaultError) in try parsePlain(block.type, der) }
        }) {
        case .success(let key): return key
        case .failure(let error) where error.code != .corruptData: throw error
        case .failure:
            // CBC padding happens to check out for about one wrong passphrase in 256.
            throw .wrongPassphrase(
                "the passphrase does not decrypt the key (or the encrypted data is damaged)",
                recovery: "check TRUSTVAULT_IMPORT_PASSPHRASE (or the NOTARY_*/DOCKER_CONTENT_TRUST_* variable for the key's role)")
        }
    }

    static func parsePlain(_ type: String, _ der: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        switch type {
        case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY": return try PrivateKeyDER.parsePKCS8(der)
        case "EC PRIVATE KEY": return try PrivateKeyDER.parseSEC1(der)
        case "RSA PRIVATE KEY": return try PrivateKeyDER.parsePKCS1(der)
        case "ED25519 PRIVATE KEY": return try PrivateKeyDER.parseNotaryEd25519(der)
        default: throw .unsupported("unsupported key block type \(type)")
        }
    }

    /// Adds a generic "what to do" to errors from the DER parsers, which only say what is wrong.
    static func withRecovery(_ error: TrustVaultError) -> TrustVaultError {
        guard error.recovery == nil else { return error }
        switch error.code {
        case .corruptData:
            return TrustVaultError(
                error.code, error.message,
                recovery: "the key file is damaged or truncated; copy it again from where it came from")
        case .unsupported:
            return TrustVaultError(
                error.code, error.message,
                recovery: "notary and trustvault use ECDSA P-256, RSA (2048 bits or more) and Ed25519 keys")
        default:
            return error
        }
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
