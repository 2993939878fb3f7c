internal import Crypto
internal import Foundation
internal import SwiftASN1
internal import X509

/// YubiKey-style attestation for the emulator: a per-card attestation key (slot F9) with a
/// self-signed certificate (object 5FFF01) that signs certificates for keys generated on the
/// card. Tests that check attestation chains must trust this emulator's own certificate.
enum Attestation {
    static func name(_ cn: String) throws -> DistinguishedName {
        try DistinguishedName { CommonName(cn) }
    }

    static func der(_ cert: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(cert)
        return serializer.serializedBytes
    }

    /// The F9 certificate for the attestation key with `scalar`.
    static func rootCertificate(scalar: [UInt8], serial: UInt32) throws -> [UInt8] {
        let key = try P256.Signing.PrivateKey(rawRepresentation: scalar)
        let subject = try name("trustvault PIV emulator attestation \(serial)")
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(20 * 365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
        return try der(cert)
    }

    /// An attestation certificate for the P-256 key `point` in `slot`, signed by the F9 key.
    static func certificate(
        slot: UInt8, point: [UInt8], pinPolicy: UInt8, touchPolicy: UInt8, state: PIVCardState, rootScalar: [UInt8]
    ) throws -> [UInt8] {
        let issuerKey = try P256.Signing.PrivateKey(rawRepresentation: rootScalar)
        let subjectKey = try P256.Signing.PublicKey(x963Representation: point)
        let now = Date()
        let s = state.serial
        let yubico: [UInt] = [1, 3, 6, 1, 4, 1, 41482, 3]
        let firmwareOID = try ASN1ObjectIdentifier(elements: yubico + [3])
        let serialOID = try ASN1ObjectIdentifier(elements: yubico + [7])
        let policyOID = try ASN1ObjectIdentifier(elements: yubico + [8])
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(subjectKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(20 * 365 * 86400),
            issuer: name("trustvault PIV emulator attestation \(s)"),
            subject: name(String(format: "YubiKey PIV Attestation %02x", slot)),
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Certificate.Extension(oid: firmwareOID, critical: false, value: ArraySlice(state.version))
                Certificate.Extension(
                    oid: serialOID, critical: false,
                    value: ArraySlice([0x02, 0x04, UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)]))
                Certificate.Extension(oid: policyOID, critical: false, value: [pinPolicy, touchPolicy])
            },
            issuerPrivateKey: .init(issuerKey))
        return try der(cert)
    }
}
