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
            throw .invalid("the \(what) must have 32, 48 or 64 hex digits, not \(chars.count)",
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
        case .key(let m): return .occupied(try m.publicKey.map { (p: PublicKeyBytes) throws(TrustVaultError) in try PIVSession.publicKey(p) }, how: "the card's metadata")
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

// MARK: - keys

/// A request to make a key on a card.
public struct CardKeyRequest: Sendable {
    public var role: String
    public var gun: String?
    public var algorithm: KeyAlgorithm
    public var serial: UInt32
    public var slot: PIVSlot
    /// nil: `always` for root keys, `once` for the others.
    public var pinPolicy: PIVPINPolicy?
    public var touchPolicy: CardTouchPolicy
    public var overwrite: Bool
    public init(role: String, gun: String?, algorithm: KeyAlgorithm, serial: UInt32, slot: PIVSlot = .signature,
                pinPolicy: PIVPINPolicy? = nil, touchPolicy: CardTouchPolicy = .cardDefault, overwrite: Bool = false) {
        self.role = role
        self.gun = gun
        self.algorithm = algorithm
        self.serial = serial
        self.slot = slot
        self.pinPolicy = pinPolicy
        self.touchPolicy = touchPolicy
        self.overwrite = overwrite
    }
    public var effectivePINPolicy: PIVPINPolicy { pinPolicy ?? (role == "root" ? .always : .once) }
}

/// The outcome of putting a key on a card.
public struct CardKeyOutcome: Sendable {
    public var record: KeyRecord
    public var pinPolicy: PIVPINPolicy
    public var touchPolicy: CardTouchPolicy
    /// The certificate now in the slot (PEM), if one was written.
    public var certificatePEM: String?
    /// Things the user should know (e.g. no certificate for an Ed25519 key).
    public var notes: [String]
    /// `true` when the key was already in the slot and nothing was written.
    public var alreadyThere: Bool
}

extension CardProcedures {
    /// `key generate --card`: a new key in `request.slot`, recorded in `vault`, with a
    /// self-signed certificate in the slot (CN = role; `root` for root keys).
    ///
    /// Order: arguments and vault records, card serial, PIN state, slot contents, then the
    /// management key and PIN are read; management-key authentication and VERIFY come before
    /// GENERATE, so a wrong secret changes nothing. The key is recorded as soon as the card
    /// returns it; a failure after that says the key exists and how to finish.
    public static func generateKey(_ request: CardKeyRequest, vault: Vault, env: CardEnvironment)
        throws(TrustVaultError) -> CardKeyOutcome
    {
        guard request.algorithm != .rsa else {
            throw .unsupported("trustvault generates P-256 (ecdsa) or Ed25519 keys on cards, not RSA",
                               recovery: "drop --algorithm or use --algorithm ecdsa")
        }
        let gun = try KeyRole.normalise(role: request.role, gun: request.gun)
        let serial = request.serial, slot = request.slot
        let pinPolicy = request.effectivePINPolicy
        let needsPIN = pinPolicy != .never
        let (session, _) = try open(serial, env)
        defer { close(session) }
        if needsPIN { try PIVCards.checkPINBeforeAsking(session: session, serial: serial, options: env.options) }
        _ = try requireWritable(session: session, serial: serial, slot: slot, vault: vault, overwrite: request.overwrite)
        let managementKey = try currentManagementKey(session, env)
        let pin: SecretBytes? = needsPIN ? try currentPIN(session, env) : nil
        if let pin { try PIVCards.refuseDefaultPIN(pin, serial: serial, options: env.options) }

        let nothing = "nothing was changed on card \(serial) or in the vault"
        try during(nothing) { () throws(TrustVaultError) in
            try PIVCards.authenticateManagementKey(session: session, serial: serial, key: managementKey, options: env.options)
            if let pin { try session.verifyPIN(pin) }
        }
        let publicKey = try during(
            "slot \(slot) of card \(serial) may or may not hold a new key now; nothing was recorded in the vault (check with `trustvault card status --serial \(serial)`, then rerun, with --overwrite if the slot shows no key you need)"
        ) { () throws(TrustVaultError) -> PublicKey in
            request.algorithm == .ed25519
                ? try session.generateEd25519(slot: slot, pinPolicy: pinPolicy, touchPolicy: request.touchPolicy.rawValue)
                : try session.generateP256(slot: slot, pinPolicy: pinPolicy, touchPolicy: request.touchPolicy.rawValue)
        }
        let record = try during(
            "card \(serial) slot \(slot) now holds key \(publicKey.keyID) but the vault could not record it; record it with `trustvault key register-card-key --card \(serial) --slot \(slot) --role \(request.role)`"
        ) { () throws(TrustVaultError) -> KeyRecord in
            try vault.addCardKey(publicKey: publicKey, role: request.role, gun: gun, certificatePEM: nil,
                                 serial: String(serial), slot: slot.description)
        }
        var notes: [String] = []
        var certificatePEM: String?
        do {
            let signer = CardSigningKey(session: session, slot: slot, serial: serial, publicKey: publicKey,
                                        pinForEachSignature: pinPolicy == .always ? pin : nil)
            try during(
                "key \(record.id) was generated in card \(serial) slot \(slot) and recorded in the vault, but its certificate was not written; write it with `trustvault card certificate write --serial \(serial) --slot \(slot)`"
            ) { () throws(TrustVaultError) in
                let pem = try selfSignedCertificate(role: request.role, signer: signer)
                try session.writeCertificate(slot: slot, der: der(ofPEM: pem))
                certificatePEM = pem
            }
        }
        if request.touchPolicy == .always || request.touchPolicy == .cached {
            notes.append("touch policy \(request.touchPolicy.name): touch the card when it blinks, for every signature")
        }
        return CardKeyOutcome(record: record, pinPolicy: pinPolicy, touchPolicy: request.touchPolicy,
                              certificatePEM: certificatePEM, notes: notes, alreadyThere: false)
    }

    /// `key copy-to-card`: imports a vault P-256 key into a card slot with its certificate (the
    /// record's certificate, else a self-signed one made by the vault key). No PIN is needed.
    public static func copyKey(
        keyID: String, serial: UInt32, slot: PIVSlot = .signature, pinPolicy: PIVPINPolicy? = nil,
        touchPolicy: CardTouchPolicy = .cardDefault, overwrite: Bool = false, vault: Vault, env: CardEnvironment
    ) throws(TrustVaultError) -> CardKeyOutcome {
        let record = try vault.record(matching: keyID)
        guard case .vault = record.location else {
            throw .invalid("key \(record.id.prefix(12)) is already on a card (\(record.location)); keys cannot leave a card")
        }
        guard record.algorithm == .ecdsa else {
            throw .unsupported("only P-256 (ecdsa) keys can be put on a PIV card; key \(record.id.prefix(12)) is \(record.algorithm)")
        }
        let policy = pinPolicy ?? (record.role == "root" ? .always : .once)
        // The passphrase first: a wrong one must not cost a management-key attempt.
        let key = try vault.unlock(record, secrets: env.secrets)
        let certificatePEM: String
        if let pem = record.certificatePEM { certificatePEM = pem } else { certificatePEM = try selfSignedCertificate(role: record.role, signer: key) }
        let certificateDER = try der(ofPEM: certificatePEM)
        let (session, _) = try open(serial, env)
        defer { close(session) }
        let state = try requireWritable(session: session, serial: serial, slot: slot, vault: vault, overwrite: overwrite,
                                        allowKey: record.publicKey)
        let managementKey = try currentManagementKey(session, env)
        try during("nothing was changed on card \(serial)") { () throws(TrustVaultError) in
            try PIVCards.authenticateManagementKey(session: session, serial: serial, key: managementKey, options: env.options)
        }
        if case .occupied(let k, _) = state, k == record.publicKey {
            // Already there: make sure the certificate is too.
            if try session.readCertificate(slot: slot) == nil {
                try session.writeCertificate(slot: slot, der: certificateDER)
            }
            return CardKeyOutcome(record: record, pinPolicy: policy, touchPolicy: touchPolicy,
                                  certificatePEM: certificatePEM, notes: [], alreadyThere: true)
        }
        try during("slot \(slot) of card \(serial) may or may not hold the key now (the vault key is unchanged); rerun the copy, with --overwrite") {
            () throws(TrustVaultError) in
            try session.importP256(slot: slot, scalar: key.exportSecret(), pinPolicy: policy, touchPolicy: touchPolicy.rawValue)
        }
        try during("card \(serial) slot \(slot) holds the key but not yet its certificate; rerun the copy to write it") {
            () throws(TrustVaultError) in
            try session.writeCertificate(slot: slot, der: certificateDER)
        }
        guard try session.slotPublicKey(slot) == record.publicKey else {
            throw TrustVaultError(.verificationFailed, "card \(serial) does not report the imported key in slot \(slot)",
                                  recovery: "do not rely on this card copy")
        }
        return CardKeyOutcome(record: record, pinPolicy: policy, touchPolicy: touchPolicy,
                              certificatePEM: certificatePEM, notes: [], alreadyThere: false)
    }

    /// `key register-card-key`: records a key already on a card (public key from metadata or
    /// the slot's certificate; the certificate is kept when it matches). No PIN needed.
    public static func registerKey(serial: UInt32, slot: PIVSlot, role: String, gun: String?, vault: Vault, env: CardEnvironment)
        throws(TrustVaultError) -> KeyRecord
    {
        let gun = try KeyRole.normalise(role: role, gun: gun)
        let (session, _) = try open(serial, env)
        defer { close(session, reset: false) }
        guard let publicKey = try session.slotPublicKey(slot) else {
            throw TrustVaultError(.notFound, "card \(serial) has no key in slot \(slot) (or, on firmware before 5.3, no certificate naming it)",
                                  recovery: "check the slot with 'trustvault card status --serial \(serial)'")
        }
        var certificatePEM: String?
        if let der = try session.readCertificate(slot: slot) {
            guard (try? CardCertificate.publicKey(ofCertificate: der)) == publicKey else {
                throw TrustVaultError(.verificationFailed, "the certificate in slot \(slot) of card \(serial) is not for the slot's key",
                                      recovery: "replace it with `trustvault card certificate write --serial \(serial) --slot \(slot) --overwrite`")
            }
            certificatePEM = PEMText.encode(type: "CERTIFICATE", der: der)
        }
        return try vault.addCardKey(publicKey: publicKey, role: role, gun: gun, certificatePEM: certificatePEM,
                                    serial: String(serial), slot: slot.description)
    }
}
