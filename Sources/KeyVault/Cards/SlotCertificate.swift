internal import TrustCore
internal import Formats
internal import Metadata
internal import Foundation
internal import X509
internal import SwiftASN1

/// Self-signed certificates for keys in card slots.
///
/// P-256 keys get notary's own certificate form (``RootCertificate``, CN = the role, `root` for
/// root keys as notary's YubiKey store writes). Ed25519 keys (cards with firmware 5.7+) get the
/// same subject, validity and extensions, signed Ed25519 — notary cannot use Ed25519 keys, but
/// yubico-piv-tool, PKCS#11 modules and ykman then see the key.
enum SlotCertificate {
    static func make(commonName: String, signer: any SigningKey, now: Date = Date()) throws(TrustVaultError) -> String {
        if signer.publicKey.algorithm == .ecdsa { return try RootCertificate.make(gun: commonName, signer: signer, now: now) }
        guard signer.publicKey.algorithm == .ed25519 else {
            throw .unsupported("trustvault makes slot certificates for P-256 and Ed25519 keys, not \(signer.publicKey.algorithm)")
        }
        do {
            let name = DistinguishedName([RelativeDistinguishedName(.init(type: .RDNAttributeType.commonName, utf8String: commonName))])
            let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            let cert = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(bytes: Sodium.randomBytes(16)),
                publicKey: Certificate.PublicKey(derEncoded: signer.publicKey.spkiDER),
                notValidBefore: notBefore,
                notValidAfter: notBefore.addingTimeInterval(Double(RootCertificate.validityDays) * 86_400),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ed25519,
                extensions: try Certificate.Extensions {
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.codeSigning])
                    Critical(BasicConstraints.notCertificateAuthority)
                },
                issuerPrivateKey: Certificate.PrivateKey(try Ed25519CardSigner(signer: signer)))
            var serializer = DER.Serializer()
            try serializer.serialize(cert)
            return PEMText.encode(type: "CERTIFICATE", der: serializer.serializedBytes)
        } catch let e as TrustVaultError {
            throw e
        } catch let e as Ed25519CardSigner.Failure {
            throw e.error
        } catch {
            throw .io("the slot certificate for \(commonName) could not be made: \(error)")
        }
    }
}

/// Adapts an Ed25519 ``SigningKey`` (a card slot) to swift-certificates' custom key protocol.
struct Ed25519CardSigner: CustomPrivateKey {
    struct Failure: Error { let error: TrustVaultError }
    let signer: any SigningKey
    let publicKey: Certificate.PublicKey

    init(signer: any SigningKey) throws {
        self.signer = signer
        publicKey = try Certificate.PublicKey(derEncoded: signer.publicKey.spkiDER)
    }

    static func == (a: Self, b: Self) -> Bool { a.signer.publicKey == b.signer.publicKey }
    func hash(into h: inout Hasher) { h.combine(signer.publicKey) }

    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { .ed25519 }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [.ed25519] }

    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        let raw: [UInt8]
        do { raw = try signer.sign(Array(bytes)) } catch { throw Failure(error: error) }
        return try Certificate.Signature(signatureAlgorithm: .ed25519, signatureBytes: ASN1BitString(bytes: raw[...]))
    }

    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    func serialize(into coder: inout DER.Serializer) throws {
        throw Failure(error: .unsupported("a card key cannot be serialised"))
    }
}
