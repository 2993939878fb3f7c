public import TrustCore
public import Formats
public import Foundation
public import X509
internal import SwiftASN1
internal import Crypto

/// The self-signed certificate notary wraps a repository's root key in (`ecdsa-x509`).
///
/// Made exactly as notary 0.7 makes it (`utils.NewCertificate`): subject = issuer = `CN=<GUN>`
/// (PrintableString when Go would choose it, else UTF8String), a random serial below 2^128,
/// NotBefore = now, NotAfter = now + 3650 days (UTCTime), and the extensions KeyUsage
/// (critical; digitalSignature, keyEncipherment), ExtendedKeyUsage codeSigning,
/// BasicConstraints (critical; CA:FALSE), in that order; signed ecdsa-with-SHA256.
///
/// The signature goes through ``SigningKey`` so a key on a card can sign its own certificate.
public enum RootCertificate {
    /// Notary's root certificate validity.
    public static let validityDays = 3650

    /// Creates the certificate and returns its Go-style PEM text.
    public static func make(
        gun: String, signer: any SigningKey, now: Date = Date(), validityDays: Int = RootCertificate.validityDays
    ) throws(TrustVaultError) -> String {
        guard signer.publicKey.algorithm == .ecdsa else {
            throw .unsupported(
                "root certificates can only be made for ECDSA P-256 keys (this key is \(signer.publicKey.algorithm))",
                recovery: "generate the root key with --algorithm ecdsa")
        }
        guard !gun.isEmpty else { throw .invalid("the GUN is empty") }
        do {
            let name = DistinguishedName([
                RelativeDistinguishedName(try commonName(gun))
            ])
            let serial = Sodium.randomBytes(16)
            let extensions = try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.codeSigning])
                Critical(BasicConstraints.notCertificateAuthority)
            }
            let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
            let cert = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(bytes: serial),
                publicKey: Certificate.PublicKey(derEncoded: signer.publicKey.spkiDER),
                notValidBefore: notBefore,
                notValidAfter: notBefore.addingTimeInterval(Double(validityDays) * 86_400),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(CertificateSigner(signer: signer)))
            return PEMText.encode(type: "CERTIFICATE", der: try TUFKey.der(of: cert))
        } catch let e as TrustVaultError {
            throw e
        } catch let e as SignerFailure {
            throw e.error
        } catch {
            throw .io("the root certificate for \(gun) could not be made: \(error)")
        }
    }

    /// Go's `asn1` marshals a string as PrintableString when every byte is in its set
    /// (letters, digits, space and `'()+,-./:=?`), otherwise as UTF8String.
    static func commonName(_ gun: String) throws -> RelativeDistinguishedName.Attribute {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?".utf8)
        if gun.utf8.allSatisfy({ allowed.contains($0) }) {
            return try .init(type: .RDNAttributeType.commonName, printableString: gun)
        }
        return .init(type: .RDNAttributeType.commonName, utf8String: gun)
    }

    /// The common name of a certificate's subject, if any.
    public static func commonName(of cert: Certificate) -> String? {
        for rdn in cert.subject {
            for attr in rdn where attr.type == .RDNAttributeType.commonName {
                return String(attr.value)
            }
        }
        return nil
    }
}

struct SignerFailure: Error { let error: TrustVaultError }

/// Adapts a ``SigningKey`` (vault or card) to swift-certificates' custom key protocol.
struct CertificateSigner: CustomPrivateKey {
    let signer: any SigningKey

    static func == (a: Self, b: Self) -> Bool { a.signer.publicKey == b.signer.publicKey }
    func hash(into h: inout Hasher) { h.combine(signer.publicKey) }

    var publicKey: Certificate.PublicKey {
        // The key was validated as P-256 SPKI when the PublicKey was made.
        (try? Certificate.PublicKey(derEncoded: signer.publicKey.spkiDER)) ?? Self.unreachableKey
    }
    private static let unreachableKey = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)

    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { .ecdsaWithSHA256 }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { [.ecdsaWithSHA256] }

    func signSynchronously(
        bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm
    ) throws -> Certificate.Signature {
        guard signatureAlgorithm == .ecdsaWithSHA256 else {
            throw SignerFailure(error: .unsupported("only ecdsa-with-SHA256 certificates can be signed"))
        }
        let raw: [UInt8]
        do { raw = try signer.sign(Array(bytes)) } catch { throw SignerFailure(error: error) }
        let sig = try P256.Signing.ECDSASignature(rawRepresentation: raw)
        let der = Array(sig.derRepresentation)
        return try Certificate.Signature(signatureAlgorithm: .ecdsaWithSHA256, signatureBytes: ASN1BitString(bytes: der[...]))
    }

    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    func serialize(into coder: inout DER.Serializer) throws {
        throw SignerFailure(error: .unsupported("a signing key behind SigningKey cannot be serialised"))
    }
    init(signer: any SigningKey) { self.signer = signer }
}
