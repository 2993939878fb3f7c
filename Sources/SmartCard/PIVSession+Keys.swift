public import TrustCore
public import Formats
internal import Crypto
internal import Foundation

// The PIV session's key, certificate and signing commands (the session itself and its APDU
// exchange: PIVSession.swift).

extension PIVSession {
    // MARK: keys

    /// Builds the notary public key for a card EC point.
    public static func publicKey(_ key: PublicKeyBytes) throws(TrustVaultError) -> PublicKey {
        if key.algorithm == 0xE0 { return try PublicKey(algorithm: .ed25519, tufPublicBytes: key.point) }
        guard key.algorithm == 0x11, let k = try? P256.Signing.PublicKey(x963Representation: key.point) else {
            throw .unsupported(
                String(format: "the card key uses algorithm 0x%02X; trustvault signs with P-256 keys", key.algorithm))
        }
        return try PublicKey(algorithm: .ecdsa, tufPublicBytes: Array(k.derRepresentation))
    }

    /// Generates a P-256 key in `slot` (needs the management key) and returns its public key.
    public func generateP256(slot: PIVSlot, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0)
        throws(TrustVaultError) -> PublicKey
    {
        var template: [UInt8] = TLV.encode(0x80, [0x11])
        if pinPolicy != .default { template += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { template += TLV.encode(0xAB, [touchPolicy]) }
        let data = try expectOK("key generation in slot \(slot)", ins: 0x47, p1: 0x00, p2: slot.rawValue, data: TLV.encode(0xAC, template))
        guard let outer = TLV.parse(data), let inner = TLV.find([0x7F, 0x49], in: outer).flatMap(TLV.parse),
            let point = TLV.find([0x86], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed public key for slot \(slot)") }
        return try Self.publicKey(PublicKeyBytes(algorithm: 0x11, point: point))
    }

    /// Generates an Ed25519 key in `slot` (YubiKey 5.7+; needs the management key).
    public func generateEd25519(slot: PIVSlot, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0) throws(TrustVaultError) -> PublicKey {
        var template: [UInt8] = TLV.encode(0x80, [0xE0])
        if pinPolicy != .default { template += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { template += TLV.encode(0xAB, [touchPolicy]) }
        let r = try send(ins: 0x47, p1: 0x00, p2: slot.rawValue, data: TLV.encode(0xAC, template))
        if r.sw == 0x6A80 {
            throw .unsupported(
                "\(place) cannot generate Ed25519 keys (YubiKey firmware 5.7 or later can)",
                recovery: "use --algorithm ecdsa (P-256)")
        }
        guard r.sw == 0x9000 else { throw cardError("key generation in slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let inner = TLV.find([0x7F, 0x49], in: outer).flatMap(TLV.parse),
            let point = TLV.find([0x86], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed public key for slot \(slot)") }
        return try Self.publicKey(PublicKeyBytes(algorithm: 0xE0, point: point))
    }

    /// Ed25519 over the whole `message` (GENERAL AUTHENTICATE with P1 `E0`, chained when long).
    public func signEd25519(slot: PIVSlot, message: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let sig = try signDigest(slot: slot, algorithm: 0xE0, digest: message)
        guard sig.count == 64 else { throw TrustVaultError(.cardError, "\(place) returned a malformed Ed25519 signature") }
        return sig
    }

    /// Imports a P-256 private key (its 32-byte scalar) into `slot` (needs the management key).
    public func importP256(slot: PIVSlot, scalar: SecretBytes, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0)
        throws(TrustVaultError)
    {
        guard scalar.count == 32 else { throw .invalid("a P-256 private key has 32 bytes") }
        var data = Self.secretBuffer(capacity: 48)
        defer { Sodium.wipe(&data) }
        data += [0x06, 0x20]  // TLV tag 06, length 32, then the scalar, appended in place
        scalar.withUnsafeBytes { data.append(contentsOf: $0) }
        if pinPolicy != .default { data += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { data += TLV.encode(0xAB, [touchPolicy]) }
        try expectOK("the key import into slot \(slot)", ins: 0xFE, p1: 0x11, p2: slot.rawValue, data: data, expectsData: false)
    }

    /// What GET METADATA says about a key slot.
    public enum SlotProbe: Sendable {
        /// The card has metadata and the slot holds no key.
        case empty
        /// The card has metadata and the slot holds this key.
        case key(PIVSlotMetadata)
        /// The card has no GET METADATA (YubiKey before 5.3, other PIV cards): the slot's state
        /// cannot be read from the card itself.
        case unknown
    }

    /// Asks the card about `slot` with GET METADATA (`6A88` = empty; `6D00`/`6E00`/`6A81` = the
    /// card has no metadata command).
    public func probeSlot(_ slot: PIVSlot) throws(TrustVaultError) -> SlotProbe {
        let r = try send(ins: 0xF7, p1: 0x00, p2: slot.rawValue)
        switch r.sw {
        case 0x9000:
            guard let m = Self.parseSlotMetadata(r.data) else {
                throw TrustVaultError(.cardError, "\(place) sent malformed metadata for slot \(slot)")
            }
            return .key(m)
        case 0x6A88, 0x6A82: return .empty
        case 0x6D00, 0x6E00, 0x6A81, 0x6A86, 0x6A80: return .unknown
        default: throw cardError("the metadata of slot \(slot)", r.sw)
        }
    }

    /// Whether the card answers GET METADATA (YubiKey 5.3+).
    public func hasMetadata() throws(TrustVaultError) -> Bool {
        let r = try send(ins: 0xF7, p1: 0x00, p2: 0x80)
        return r.sw == 0x9000
    }

    static func parseSlotMetadata(_ data: [UInt8]) -> PIVSlotMetadata? {
        guard let tlvs = TLV.parse(data), let alg = TLV.find([0x01], in: tlvs)?.first else { return nil }
        let policy = TLV.find([0x02], in: tlvs) ?? []
        var pub: PublicKeyBytes?
        if let pk = TLV.find([0x04], in: tlvs), let inner = TLV.parse(pk), let point = TLV.find([0x86], in: inner) {
            pub = PublicKeyBytes(algorithm: alg, point: point)
        }
        return PIVSlotMetadata(
            algorithm: alg, pinPolicy: PIVPINPolicy(rawValue: policy.first ?? 0),
            touchPolicy: policy.count > 1 ? policy[1] : 0,
            generatedOnCard: TLV.find([0x03], in: tlvs)?.first == 1, publicKey: pub)
    }

    /// GET METADATA for a key slot; `nil` if empty or if the card has no metadata command.
    public func slotMetadata(_ slot: PIVSlot) throws(TrustVaultError) -> PIVSlotMetadata? {
        let r = try send(ins: 0xF7, p1: 0x00, p2: slot.rawValue)
        guard r.sw == 0x9000, let tlvs = TLV.parse(r.data), let alg = TLV.find([0x01], in: tlvs)?.first else {
            return nil
        }
        let policy = TLV.find([0x02], in: tlvs) ?? []
        var pub: PublicKeyBytes?
        if let pk = TLV.find([0x04], in: tlvs), let inner = TLV.parse(pk), let point = TLV.find([0x86], in: inner) {
            pub = PublicKeyBytes(algorithm: alg, point: point)
        }
        return PIVSlotMetadata(
            algorithm: alg, pinPolicy: PIVPINPolicy(rawValue: policy.first ?? 0),
            touchPolicy: policy.count > 1 ? policy[1] : 0,
            generatedOnCard: TLV.find([0x03], in: tlvs)?.first == 1, publicKey: pub)
    }

    /// The public key in `slot`: from metadata, else from the slot's certificate; `nil` if neither.
    public func slotPublicKey(_ slot: PIVSlot) throws(TrustVaultError) -> PublicKey? {
        if let m = try slotMetadata(slot), let pub = m.publicKey { return try Self.publicKey(pub) }
        guard let der = try readCertificate(slot: slot) else { return nil }
        return try? CardCertificate.publicKey(ofCertificate: der)
    }

    // MARK: certificates

    /// The DER certificate stored for `slot`, or `nil` if there is none.
    public func readCertificate(slot: PIVSlot) throws(TrustVaultError) -> [UInt8]? {
        let r = try send(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: TLV.encode(0x5C, slot.certificateObject))
        if r.sw == 0x6A82 { return nil }
        guard r.sw == 0x9000 else { throw cardError("reading the certificate of slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let object = TLV.find([0x53], in: outer) else {
            throw TrustVaultError(.corruptData, "the certificate object of slot \(slot) on \(place) is malformed")
        }
        if object.isEmpty { return nil }
        guard let inner = TLV.parse(object), let cert = TLV.find([0x70], in: inner) else {
            throw TrustVaultError(.corruptData, "the certificate object of slot \(slot) on \(place) is malformed")
        }
        if TLV.find([0x71], in: inner)?.first == 0x01 {
            throw .unsupported("the certificate in slot \(slot) is gzip-compressed; trustvault reads uncompressed ones")
        }
        return cert
    }

    /// Stores `der` as the certificate of `slot` (`70 … 71 01 00 FE 00`; needs the management key).
    public func writeCertificate(slot: PIVSlot, der: [UInt8]) throws(TrustVaultError) {
        let object = TLV.encode(0x70, der) + TLV.encode(0x71, [0x00]) + TLV.encode(0xFE, [])
        let data = TLV.encode(0x5C, slot.certificateObject) + TLV.encode(0x53, object)
        try expectOK("storing the certificate of slot \(slot)", ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data, expectsData: false)
    }

    /// Removes the certificate of `slot` (PUT DATA with an empty object; needs the management key).
    public func deleteCertificate(slot: PIVSlot) throws(TrustVaultError) {
        let data = TLV.encode(0x5C, slot.certificateObject) + TLV.encode(0x53, [])
        try expectOK("deleting the certificate of slot \(slot)", ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data, expectsData: false)
    }

    /// The card's own attestation (F9) certificate from object `5FFF01`, or `nil` if absent.
    public func attestationSigningCertificate() throws(TrustVaultError) -> [UInt8]? {
        let r = try send(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: TLV.encode(0x5C, [0x5F, 0xFF, 0x01]))
        if r.sw == 0x6A82 { return nil }
        guard r.sw == 0x9000, let outer = TLV.parse(r.data), let object = TLV.find([0x53], in: outer),
            let inner = TLV.parse(object), let cert = TLV.find([0x70], in: inner)
        else { throw cardError("reading the attestation certificate (5FFF01)", r.sw == 0x9000 ? 0x6F00 : r.sw) }
        return cert
    }

    // MARK: signing

    /// ECDSA over a digest computed by the host (GENERAL AUTHENTICATE); returns the card's DER
    /// signature unchanged.
    public func signDigest(slot: PIVSlot, algorithm: UInt8 = 0x11, digest: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let body = TLV.encode(0x82, []) + TLV.encode(0x81, digest)
        let r = try send(ins: 0x87, p1: algorithm, p2: slot.rawValue, data: TLV.encode(0x7C, body))
        if r.sw == 0x6982 {
            throw TrustVaultError(
                .wrongPIN, "\(place) wants the PIN verified before signing with slot \(slot)",
                recovery: "give the PIN (TRUSTVAULT_PIN or the prompt)")
        }
        if r.sw == 0x6A80 || r.sw == 0x6A88 {
            throw TrustVaultError(
                .notFound, "\(place) has no \(algorithm == 0xE0 ? "Ed25519" : "P-256") key in slot \(slot)",
                recovery: "check the slot, or generate a key with `trustvault key generate --card`")
        }
        guard r.sw == 0x9000 else { throw cardError("signing with slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let inner = TLV.find([0x7C], in: outer).flatMap(TLV.parse),
            let sig = TLV.find([0x82], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed signature") }
        return sig
    }

    /// Signs `message` as notary does: SHA-256, ECDSA on the card, DER converted to raw r‖s.
    public func signP256(slot: PIVSlot, message: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let digest = Array(SHA256.hash(data: message))
        let der = try signDigest(slot: slot, digest: digest)
        guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: der) else {
            throw TrustVaultError(.cardError, "\(place) returned a signature that is not DER ECDSA")
        }
        return Array(sig.rawRepresentation)
    }
}
