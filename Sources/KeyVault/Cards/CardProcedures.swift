public import TrustCore
public import Formats
public import SmartCard
internal import Metadata
internal import Foundation

/// Where and how the card procedures reach cards and secrets.
///
/// `secrets` supplies `TRUSTVAULT_PIN`, `…_PUK`, `…_MANAGEMENT_KEY` and the new values;
/// `options` carries the safety overrides (`--allow-default-pin`, `--force`); `pcsc` is an open
/// PC/SC context, or nil for a fresh one per card.
public struct CardEnvironment: Sendable {
    public var secrets: SecretSource
    public var options: CardUnlockOptions
    public var pcsc: PCSCContext?
    public init(secrets: SecretSource, options: CardUnlockOptions = .init(), pcsc: PCSCContext? = nil) {
        self.secrets = secrets
        self.options = options
        self.pcsc = pcsc
    }
}

/// What is known about a key slot before anything is written to it.
public enum CardSlotOccupancy: Sendable, Equatable {
    /// The card's metadata says the slot is empty.
    case empty
    /// The slot holds a key; `how` says how that is known (metadata, certificate, vault record).
    case occupied(PublicKey?, how: String)
    /// The card has no metadata, the slot no certificate and the vault no record: a key may or
    /// may not be there.
    case unknown
}

/// A PIV touch policy (`AB` in GENERATE/IMPORT).
public enum CardTouchPolicy: UInt8, Sendable, CaseIterable {
    case cardDefault = 0, never = 1, always = 2, cached = 3
    public init?(name: String) {
        switch name.lowercased() {
        case "never": self = .never
        case "always": self = .always
        case "cached": self = .cached
        default: return nil
        }
    }
    public var name: String {
        switch self {
        case .cardDefault: "default"
        case .never: "never"
        case .always: "always"
        case .cached: "cached"
        }
    }
}

extension PIVPINPolicy {
    /// `never`, `once` or `always`.
    public init?(name: String) {
        switch name.lowercased() {
        case "never": self = .never
        case "once": self = .once
        case "always": self = .always
        default: return nil
        }
    }
}

/// The card procedures behind `trustvault card …`, `key generate --card`, `key copy-to-card` and
/// `key register-card-key`, callable from any Swift program.
///
/// Every procedure runs each check that can fail without the card (arguments, files, vault
/// records, other secrets, the card's serial and slot contents) before the first command that
/// can spend a PIN, PUK or management-key try; factory values are used only where the card
/// reports them as still set (and the caller allowed them).
public enum CardProcedures {
    // MARK: opening

    static func open(_ serial: UInt32, _ env: CardEnvironment) throws(TrustVaultError) -> (PIVSession, PIVCardInfo) {
        try PIVCards.open(serial: serial, context: env.pcsc)
    }

    static func close(_ session: PIVSession, reset: Bool = true) {
        (session.transport as? PCSCCard)?.disconnect(reset: reset)
    }

    /// Turns a failure in the middle of a procedure into an error that says what state the card
    /// (and the vault) are in. The code stays the underlying one (69 for a pulled card).
    static func during(_ state: String, _ body: () throws(TrustVaultError) -> Void) throws(TrustVaultError) {
        do { try body() } catch {
            throw TrustVaultError(error.code, "\(error.message); \(state)", recovery: error.recovery)
        }
    }

    static func during<T>(_ state: String, _ body: () throws(TrustVaultError) -> T) throws(TrustVaultError) -> T {
        do { return try body() } catch {
            throw TrustVaultError(error.code, "\(error.message); \(state)", recovery: error.recovery)
        }
    }

    // MARK: management key

    /// Decodes a hex management key (spaces and colons allowed) into secure memory.
    public static func decodeManagementKey(_ text: SecretBytes, what: String) throws(TrustVaultError) -> SecretBytes {
        var chars: [UInt8] = []
        chars.reserveCapacity(text.count)
        defer { Sodium.wipe(&chars) }
        text.withUnsafeBytes { for c in $0 where c != 0x20 && c != 0x3A { chars.append(c) } }
        guard [32, 48, 64].contains(chars.count) else {
            throw .invalid(
                "the \(what) must have 32, 48 or 64 hex digits, not \(chars.count)",
                recovery: "give it as hex, e.g. 48 digits for a 3DES or AES-192 key")
        }
        var out = [UInt8](repeating: 0, count: chars.count / 2)
        defer { Sodium.wipe(&out) }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        for i in 0..<out.count {
            guard let hi = nibble(chars[2 * i]), let lo = nibble(chars[2 * i + 1]) else {
                throw .invalid("the \(what) is not hex", recovery: "use only the digits 0-9 and a-f")
            }
            out[i] = hi << 4 | lo
        }
        return SecretBytes(copying: out)
    }

    /// The card's current management key: `TRUSTVAULT_MANAGEMENT_KEY`; else the factory key when
    /// the card **says** it still has it and factory values are allowed; else a prompt.
    static func currentManagementKey(_ session: PIVSession, _ env: CardEnvironment) throws(TrustVaultError) -> SecretBytes {
        if env.secrets.environment["TRUSTVAULT_MANAGEMENT_KEY"] == nil, env.options.allowDefaultPIN,
            try session.managementKeyInfo()?.isDefault == true
        {
            return SecretBytes(copying: PIVSession.factoryManagementKey)
        }
        return try decodeManagementKey(env.secrets.secret(for: .managementKey), what: "management key")
    }

    /// The card's PIN: `TRUSTVAULT_PIN`; else the factory PIN when the card **says** it still has
    /// it and factory values are allowed; else a prompt.
    static func currentPIN(_ session: PIVSession, _ env: CardEnvironment) throws(TrustVaultError) -> SecretBytes {
        if env.secrets.environment["TRUSTVAULT_PIN"] == nil, env.options.allowDefaultPIN, try session.pinStatus().isDefault == true {
            return SecretBytes(copying: Array(PIVSession.factoryPIN.utf8))
        }
        return try env.secrets.secret(for: .pin)
    }

    // MARK: slot state

    /// What is in `slot` of card `serial`: GET METADATA where the card has it; otherwise the
    /// slot's certificate or this vault's records; otherwise ``CardSlotOccupancy/unknown``.
    public static func occupancy(session: PIVSession, serial: UInt32, slot: PIVSlot, vault: Vault?)
        throws(TrustVaultError) -> CardSlotOccupancy
    {
        switch try session.probeSlot(slot) {
        case .empty: return .empty
        case .key(let m):
            return .occupied(try m.publicKey.map { (p: PublicKeyBytes) throws(TrustVaultError) in try PIVSession.publicKey(p) }, how: "the card's metadata")
        case .unknown: break
        }
        if try session.readCertificate(slot: slot) != nil {
            return .occupied(try? session.slotPublicKey(slot), how: "the certificate in the slot")
        }
        if let vault, let record = try recordedKey(vault: vault, serial: serial, slot: slot) {
            return .occupied(record.publicKey, how: "this vault's record of key \(record.id.prefix(12))…")
        }
        return .unknown
    }

    /// The vault's record of a key in `slot` of card `serial`, if any.
    public static func recordedKey(vault: Vault, serial: UInt32, slot: PIVSlot) throws(TrustVaultError) -> KeyRecord? {
        try vault.records().first { r in
            if case .card(let s, let sl) = r.location { return s == String(serial) && (try? PIVSlot(parsing: sl)) == slot }
            return false
        }
    }

    /// Refuses to write into a slot that holds (or may hold) a key, unless `overwrite`; never
    /// overwrites a key this vault records.
    static func requireWritable(
        session: PIVSession, serial: UInt32, slot: PIVSlot, vault: Vault, overwrite: Bool, allowKey: PublicKey? = nil
    ) throws(TrustVaultError) -> CardSlotOccupancy {
        if let record = try recordedKey(vault: vault, serial: serial, slot: slot), record.publicKey != allowKey {
            throw TrustVaultError(
                .alreadyExists, "slot \(slot) of card \(serial) already holds key \(record.id) (recorded in this vault)",
                recovery: "choose another --slot; trustvault never overwrites a key it records (remove the record first if the key is really gone)")
        }
        let state = try occupancy(session: session, serial: serial, slot: slot, vault: vault)
        switch state {
        case .empty: break
        case .occupied(let key, let how):
            if let key, key == allowKey { break }
            guard overwrite else {
                throw TrustVaultError(
                    .alreadyExists,
                    "slot \(slot) of card \(serial) already holds \(allowKey == nil ? "" : "another ")\(key.map { "key \($0.keyID)" } ?? "a key") (known from \(how))",
                    recovery: "choose another --slot; trustvault never overwrites a key on a card unless given --overwrite")
            }
        case .unknown:
            guard overwrite else {
                throw TrustVaultError(
                    .refused,
                    "cannot tell whether slot \(slot) of card \(serial) is empty: the card has no GET METADATA (firmware before 5.3), the slot has no certificate and this vault records no key there",
                    recovery: "if you are sure the slot holds nothing you need, rerun with --overwrite; otherwise choose another --slot")
            }
        }
        return state
    }

    // MARK: certificates

    /// The common name trustvault puts in a card key's self-signed certificate: `root` for root
    /// keys (as notary's own YubiKey code does), else the role.
    public static func certificateName(role: String) -> String { role }

    /// A self-signed certificate (PEM) for `signer`'s key, made as notary makes certificates.
    public static func selfSignedCertificate(role: String, signer: any SigningKey) throws(TrustVaultError) -> String {
        try SlotCertificate.make(commonName: certificateName(role: role), signer: signer)
    }

    static func der(ofPEM pem: String) throws(TrustVaultError) -> [UInt8] {
        let certs = try CertificateInfo.parseAll(pem: Array(pem.utf8), source: "the certificate")
        guard let first = certs.first else { throw .corrupt("the certificate text holds no CERTIFICATE block") }
        return first.derBytes
    }
}
