public import TrustCore
public import Formats
public import SmartCard
internal import Metadata
internal import Foundation

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
    public init(
        role: String, gun: String?, algorithm: KeyAlgorithm, serial: UInt32, slot: PIVSlot = .signature,
        pinPolicy: PIVPINPolicy? = nil, touchPolicy: CardTouchPolicy = .cardDefault, overwrite: Bool = false
    ) {
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
            throw .unsupported(
                "trustvault generates P-256 (ecdsa) or Ed25519 keys on cards, not RSA",
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
            try vault.addCardKey(
                publicKey: publicKey, role: request.role, gun: gun, certificatePEM: nil,
                serial: String(serial), slot: slot.description)
        }
        var notes: [String] = []
        var certificatePEM: String?
        do {
            let signer = CardSigningKey(
                session: session, slot: slot, serial: serial, publicKey: publicKey,
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
        return CardKeyOutcome(
            record: record, pinPolicy: pinPolicy, touchPolicy: request.touchPolicy,
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
        let state = try requireWritable(
            session: session, serial: serial, slot: slot, vault: vault, overwrite: overwrite,
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
            return CardKeyOutcome(
                record: record, pinPolicy: policy, touchPolicy: touchPolicy,
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
            throw TrustVaultError(
                .verificationFailed, "card \(serial) does not report the imported key in slot \(slot)",
                recovery: "do not rely on this card copy")
        }
        return CardKeyOutcome(
            record: record, pinPolicy: policy, touchPolicy: touchPolicy,
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
            throw TrustVaultError(
                .notFound, "card \(serial) has no key in slot \(slot) (or, on firmware before 5.3, no certificate naming it)",
                recovery: "check the slot with 'trustvault card status --serial \(serial)'")
        }
        var certificatePEM: String?
        if let der = try session.readCertificate(slot: slot) {
            guard (try? CardCertificate.publicKey(ofCertificate: der)) == publicKey else {
                throw TrustVaultError(
                    .verificationFailed, "the certificate in slot \(slot) of card \(serial) is not for the slot's key",
                    recovery: "replace it with `trustvault card certificate write --serial \(serial) --slot \(slot) --overwrite`")
            }
            certificatePEM = PEMText.encode(type: "CERTIFICATE", der: der)
        }
        return try vault.addCardKey(
            publicKey: publicKey, role: role, gun: gun, certificatePEM: certificatePEM,
            serial: String(serial), slot: slot.description)
    }
}
