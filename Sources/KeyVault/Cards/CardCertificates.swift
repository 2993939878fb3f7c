public import TrustCore
public import Formats
public import SmartCard
internal import Foundation

// MARK: - attestation and certificates

/// The card's statement about a slot's key.
public struct CardAttestation: Sendable {
    public var slot: PIVSlot
    public var publicKey: PublicKey
    /// `true`: the card attests that it generated the key; `false`: the card refuses to attest
    /// (imported keys); nil when the card cannot say either way.
    public var generatedOnCard: Bool?
    /// The attestation certificate (DER) and the card's F9 certificate, when generated.
    public var attestation: [UInt8]?
    public var intermediate: [UInt8]?
    /// The attestation certificate names the slot's key and is signed by the F9 certificate.
    public var chainToCard: Bool
    /// The F9 certificate is signed by the CA given (nil: no CA given).
    public var chainToCA: Bool?
    public var pinPolicy: PIVPINPolicy?
    public var touchPolicy: UInt8?
}

extension CardProcedures {
    /// `card attest`: the slot's attestation, checked: the attested key equals the slot's key,
    /// the attestation is signed by the card's F9 certificate, and (with `caDER`) the F9
    /// certificate by that CA. No PIN needed.
    public static func attest(serial: UInt32, slot: PIVSlot, caDER: [UInt8]?, env: CardEnvironment) throws(TrustVaultError)
        -> CardAttestation
    {
        let (session, _) = try open(serial, env)
        defer { close(session, reset: false) }
        let probe = try session.probeSlot(slot)
        var meta: PIVSlotMetadata?
        if case .key(let m) = probe { meta = m }
        if case .empty = probe { throw .notFound("card \(serial) has no key in slot \(slot)") }
        guard let slotKey = try session.slotPublicKey(slot) else {
            throw .notFound("card \(serial) has no key in slot \(slot) that trustvault can read (no metadata, no certificate)")
        }
        guard let attestation = try session.attest(slot: slot) else {
            return CardAttestation(
                slot: slot, publicKey: slotKey, generatedOnCard: meta.map { $0.generatedOnCard } ?? false,
                attestation: nil, intermediate: nil, chainToCard: false, chainToCA: nil,
                pinPolicy: meta?.pinPolicy, touchPolicy: meta?.touchPolicy)
        }
        guard let intermediate = try session.attestationSigningCertificate() else {
            throw .notFound("card \(serial) has no attestation (F9) certificate in object 5FFF01")
        }
        let attestedKey = try? CardCertificate.publicKey(ofCertificate: attestation)
        guard attestedKey == slotKey else {
            throw .verification(
                "the attestation of card \(serial) slot \(slot) names another key than the slot holds",
                recovery: "do not trust this card")
        }
        let toCard = CardCertificate.isSigned(attestation, by: intermediate)
        guard toCard else {
            throw .verification(
                "the attestation of card \(serial) slot \(slot) is not signed by the card's F9 certificate",
                recovery: "do not trust this card")
        }
        var toCA: Bool?
        if let caDER {
            toCA = CardCertificate.isSigned(intermediate, by: caDER)
            if toCA == false {
                throw .verification(
                    "the attestation (F9) certificate of card \(serial) is not signed by the CA given",
                    recovery: "check --ca (e.g. Yubico's PIV attestation root); a card whose chain does not verify is not genuine")
            }
        }
        return CardAttestation(
            slot: slot, publicKey: slotKey, generatedOnCard: true, attestation: attestation,
            intermediate: intermediate, chainToCard: true, chainToCA: toCA,
            pinPolicy: meta?.pinPolicy, touchPolicy: meta?.touchPolicy)
    }

    /// `card certificate export`: the certificate in `slot` (DER), or notFound.
    public static func exportCertificate(serial: UInt32, slot: PIVSlot, env: CardEnvironment) throws(TrustVaultError) -> [UInt8] {
        let (session, _) = try open(serial, env)
        defer { close(session, reset: false) }
        guard let der = try session.readCertificate(slot: slot) else {
            throw .notFound("slot \(slot) of card \(serial) has no certificate")
        }
        return der
    }

    /// `card certificate write`: stores `certificatePEM` (which must certify the slot's key), or
    /// without it a new self-signed certificate (signed on the card: the PIN is needed) for the
    /// key this vault records in the slot. A different certificate already there needs `overwrite`.
    public static func writeCertificate(
        serial: UInt32, slot: PIVSlot, certificatePEM: String?, overwrite: Bool, vault: Vault, env: CardEnvironment
    ) throws(TrustVaultError) -> String {
        let record = try recordedKey(vault: vault, serial: serial, slot: slot)
        var given: [UInt8]?
        if let certificatePEM { given = try Self.der(ofPEM: certificatePEM) }
        let (session, _) = try open(serial, env)
        defer { close(session) }
        var slotKey = try session.slotMetadata(slot)?.publicKey.map { (p: PublicKeyBytes) throws(TrustVaultError) in try PIVSession.publicKey(p) }
        if slotKey == nil { slotKey = record?.publicKey }
        guard let key = slotKey else {
            throw .notFound(
                "cannot tell which key slot \(slot) of card \(serial) holds (no metadata, no vault record)",
                recovery: "record the key first, or use a card with firmware 5.3 or later")
        }
        if let given, (try? CardCertificate.publicKey(ofCertificate: given)) != key {
            throw .invalid("the certificate given is not for the key in slot \(slot) of card \(serial) (\(key.keyID.prefix(12))…)")
        }
        if let existing = try session.readCertificate(slot: slot), existing != given, !overwrite {
            throw TrustVaultError(
                .alreadyExists, "slot \(slot) of card \(serial) already has a certificate",
                recovery: "rerun with --overwrite to replace it")
        }
        guard given != nil || record != nil else {
            throw .notFound(
                "this vault records no key in slot \(slot) of card \(serial), so it cannot make its certificate",
                recovery: "give the certificate with --cert FILE, or register the key first")
        }
        let managementKey = try currentManagementKey(session, env)
        var pem = certificatePEM
        var der = given
        var pin: SecretBytes?
        if der == nil {
            try PIVCards.checkPINBeforeAsking(session: session, serial: serial, options: env.options)
            pin = try currentPIN(session, env)
        }
        try PIVCards.authenticateManagementKey(session: session, serial: serial, key: managementKey, options: env.options)
        if der == nil, let record, let pin {
            try session.verifyPIN(pin)
            let signer = CardSigningKey(session: session, slot: slot, serial: serial, publicKey: key, pinForEachSignature: pin)
            let made = try selfSignedCertificate(role: record.role, signer: signer)
            pem = made
            der = try Self.der(ofPEM: made)
            // Signing may have reset the management-key state on some cards: authenticate again.
            try PIVCards.authenticateManagementKey(session: session, serial: serial, key: managementKey, options: env.options)
        }
        guard let der, let pem else { throw .invalid("no certificate to write") }
        try session.writeCertificate(slot: slot, der: der)
        return pem
    }
}
