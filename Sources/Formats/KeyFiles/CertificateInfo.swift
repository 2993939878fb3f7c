public import TrustCore
public import Foundation
internal import X509
internal import SwiftASN1
internal import Crypto
internal import CryptoExtras

/// An X.509 certificate as far as key import needs it: its public key, subject, validity,
/// and its PEM text re-encoded the way Go writes it (notary hashes that text for key IDs).
public struct CertificateInfo: Sendable, Hashable {
    /// The DER encoding.
    public let derBytes: [UInt8]
    /// `-----BEGIN CERTIFICATE-----` text exactly as Go's `pem.EncodeToMemory` writes it.
    public var pemString: String { PEM.encode(PEMBlock(type: "CERTIFICATE", bytes: derBytes)) }
    /// The subject as an RFC 4514-style string, e.g. `CN=alice,O=Example`.
    public let subject: String
    /// The subject's common name, if any.
    public let commonName: String?
    public let notValidBefore: Date
    public let notValidAfter: Date
    /// The certified key, or nil when it is of a kind notary cannot use (e.g. P-384).
    public let publicKey: PublicKey?
    /// A description of the key kind, for messages.
    public let keyDescription: String

    /// Parses a DER certificate.
    public init(derEncoded der: [UInt8]) throws(TrustVaultError) {
        let cert: Certificate
        do { cert = try Certificate(derEncoded: der) } catch {
            throw .corrupt("the certificate is not valid X.509 DER (damaged or truncated)")
        }
        derBytes = der
        subject = cert.subject.description
        var cn: String?
        for rdn in cert.subject {
            for attribute in rdn where attribute.type == .NameAttributes.commonName {
                cn = String(describing: attribute.value)
            }
        }
        commonName = cn
        notValidBefore = cert.notValidBefore
        notValidAfter = cert.notValidAfter
        keyDescription = cert.publicKey.description
        var serializer = DER.Serializer()
        if (try? serializer.serialize(cert.publicKey)) != nil {
            publicKey = CertificateInfo.normalized(spkiDER: serializer.serializedBytes)
        } else {
            publicKey = nil
        }
    }

    /// Every `CERTIFICATE` block of a PEM text, in order.
    public static func parseAll(pem text: [UInt8], source: String) throws(TrustVaultError) -> [CertificateInfo] {
        var out: [CertificateInfo] = []
        for block in try PEM.parse(text, source: source) where block.type == "CERTIFICATE" {
            switch Result(catching: { () throws(TrustVaultError) in try CertificateInfo(derEncoded: block.bytes) }) {
            case .success(let cert): out.append(cert)
            case .failure(let error): throw error.located("\(source) \(block.locationDescription)")
            }
        }
        return out
    }

    /// Whether `key` is the key this certificate certifies.
    public func certifies(_ key: PublicKey) -> Bool {
        guard let publicKey else { return false }
        return publicKey.algorithm == key.algorithm && publicKey.keyID == key.keyID
    }

    /// Refuses an expired or not-yet-valid certificate; returns a warning when it expires
    /// within `warningWindow` (30 days by default).
    public func checkValidity(at now: Date = Date(), warningWindow: TimeInterval = 30 * 86400) throws(TrustVaultError)
        -> String?
    {
        let expiry = CertificateInfo.day(notValidAfter)
        if notValidAfter <= now {
            throw TrustVaultError(
                .verificationFailed, "the certificate for \(subject) expired on \(expiry)",
                recovery: "get a renewed certificate (a new client bundle) and import that")
        }
        if notValidBefore > now {
            throw TrustVaultError(
                .verificationFailed,
                "the certificate for \(subject) is not valid before \(CertificateInfo.day(notValidBefore))",
                recovery: "check this machine's clock, or wait until the certificate becomes valid")
        }
        if notValidAfter.timeIntervalSince(now) < warningWindow {
            let days = Int(notValidAfter.timeIntervalSince(now) / 86400)
            return "the certificate for \(subject) expires on \(expiry) (in \(days) day\(days == 1 ? "" : "s")); renew it soon"
        }
        return nil
    }

    /// The same key with its public bytes re-encoded the way trustvault and notary encode
    /// them, so that key IDs compare equal whatever encoder wrote the certificate.
    static func normalized(spkiDER: [UInt8]) -> PublicKey? {
        guard let parsed = try? PublicKey(spkiDER: spkiDER) else { return nil }
        switch parsed.algorithm {
        case .ecdsa:
            guard let k = try? P256.Signing.PublicKey(derRepresentation: spkiDER) else { return nil }
            return try? PublicKey(algorithm: .ecdsa, tufPublicBytes: Array(k.derRepresentation))
        case .rsa:
            guard let k = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: spkiDER) else { return nil }
            return try? PublicKey(algorithm: .rsa, tufPublicBytes: Array(k.derRepresentation))
        case .ed25519:
            return parsed
        }
    }

    static func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: date)
    }
}
