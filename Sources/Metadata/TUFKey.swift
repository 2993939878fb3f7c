public import TrustCore
public import Formats
internal import Foundation
public import X509
internal import SwiftASN1

/// A key as it appears in metadata: `{"keytype":T,"keyval":{"private":null,"public":B64}}`.
///
/// `keytype` is `ecdsa`, `rsa`, `ed25519` (bare keys) or `ecdsa-x509`, `rsa-x509` (root keys:
/// `public` holds the Go-encoded PEM of a certificate, leaf first).
public struct TUFKey: Sendable, Hashable {
    public let keyType: String
    public let publicBytes: [UInt8]
    /// The TUF key ID (what metadata and signatures use).
    public let id: String

    public init(keyType: String, publicBytes: [UInt8]) {
        self.keyType = keyType
        self.publicBytes = publicBytes
        self.id = TUFKeyID.compute(keyType: keyType, publicBytes: publicBytes)
    }

    /// A bare key (`ecdsa`, `rsa`, `ed25519`).
    public init(_ publicKey: PublicKey) {
        self.init(keyType: publicKey.tufKeyType, publicBytes: publicKey.tufPublicBytes)
    }

    /// A certificate key (`ecdsa-x509`/`rsa-x509`) from certificate PEM text, which is
    /// re-encoded exactly as Go's `pem.EncodeToMemory` would (notary recomputes the ID that way).
    public init(certificatePEM: String) throws(TrustVaultError) {
        let certs = try Self.parseCertificates(Array(certificatePEM.utf8))
        guard let leaf = certs.first else { throw .corrupt("no certificate in the PEM text") }
        let pub = try Self.publicKey(of: leaf)
        guard let type = pub.algorithm.x509KeyType else {
            throw .unsupported("notary root keys must be ECDSA or RSA certificates, not \(pub.algorithm)")
        }
        var pem = ""
        for c in certs { pem += PEMText.encode(type: "CERTIFICATE", der: try Self.der(of: c)) }
        self.init(keyType: type, publicBytes: Array(pem.utf8))
    }

    public var isCertificate: Bool { keyType == "ecdsa-x509" || keyType == "rsa-x509" }

    public var json: JSONValue { TUFKeyID.keyJSON(keyType: keyType, publicBytes: publicBytes) }

    public init(json: JSONValue, context: String) throws(TrustVaultError) {
        guard let type = json["keytype"]?.stringValue, let keyval = json["keyval"],
            let pub64 = keyval["public"]?.stringValue, let pub = Data(base64Encoded: pub64)
        else { throw .corrupt("\(context): a key needs \"keytype\" and \"keyval\".\"public\" (base64)") }
        if let priv = keyval["private"], !priv.isNull {
            throw .corrupt("\(context): a public key entry carries private key material")
        }
        self.init(keyType: type, publicBytes: Array(pub))
    }

    /// The public key that checks signatures (the leaf certificate's key for x509 types).
    public func publicKey() throws(TrustVaultError) -> PublicKey {
        switch keyType {
        case "ecdsa": return try PublicKey(algorithm: .ecdsa, tufPublicBytes: publicBytes)
        case "rsa": return try PublicKey(algorithm: .rsa, tufPublicBytes: publicBytes)
        case "ed25519": return try PublicKey(algorithm: .ed25519, tufPublicBytes: publicBytes)
        case "ecdsa-x509", "rsa-x509":
            guard let leaf = try certificates().first else { throw .corrupt("key \(id): no certificate in its PEM") }
            let pub = try Self.publicKey(of: leaf)
            guard pub.algorithm.x509KeyType == keyType else {
                throw .corrupt("key \(id) is \(keyType) but its certificate holds a \(pub.algorithm) key")
            }
            return pub
        default:
            throw .unsupported("key \(id) has unsupported keytype \"\(keyType)\"")
        }
    }

    /// The canonical key ID (`notary key list`, `private/<id>.key`): for certificate keys, the
    /// ID of the bare key inside the leaf certificate; otherwise ``id``.
    public func canonicalID() throws(TrustVaultError) -> String {
        isCertificate ? try publicKey().keyID : id
    }

    /// ``canonicalID()`` or, for a key that cannot be parsed, ``id``.
    public var displayID: String { (try? canonicalID()) ?? id }

    /// The certificates in `public` (x509 types only).
    public func certificates() throws(TrustVaultError) -> [Certificate] {
        try Self.parseCertificates(publicBytes).map { $0 }
    }

    /// The leaf certificate's NotAfter (x509 types only).
    public var certificateNotAfter: TUFTime? {
        (try? certificates().first).flatMap { $0.map { TUFTime($0.notValidAfter) } }
    }

    /// Whether `public` is exactly what Go's PEM encoder would write for the parsed certificates.
    public var isGoEncodedPEM: Bool {
        guard let certs = try? Self.parseCertificates(publicBytes) else { return false }
        var pem = ""
        for c in certs {
            guard let der = try? Self.der(of: c) else { return false }
            pem += PEMText.encode(type: "CERTIFICATE", der: der)
        }
        return Array(pem.utf8) == publicBytes
    }

    static func parseCertificates(_ bytes: [UInt8]) throws(TrustVaultError) -> [Certificate] {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let docs = try PEMDocument.parseMultiple(pemString: text)
            guard !docs.isEmpty else { throw TrustVaultError.corrupt("no PEM block") }
            return try docs.map { doc in
                guard doc.discriminator == "CERTIFICATE" else {
                    throw TrustVaultError.corrupt("a \(doc.discriminator) block where a CERTIFICATE was expected")
                }
                return try Certificate(derEncoded: doc.derBytes)
            }
        } catch let e as TrustVaultError {
            throw e
        } catch {
            throw .corrupt("the certificate PEM cannot be parsed (\(error))")
        }
    }

    static func der(of cert: Certificate) throws(TrustVaultError) -> [UInt8] {
        do {
            var s = DER.Serializer()
            try s.serialize(cert)
            return s.serializedBytes
        } catch {
            throw .corrupt("the certificate cannot be re-encoded (\(error))")
        }
    }

    static func publicKey(of cert: Certificate) throws(TrustVaultError) -> PublicKey {
        let spki: [UInt8]
        do {
            var s = DER.Serializer()
            try s.serialize(cert.publicKey)
            spki = s.serializedBytes
        } catch {
            throw .corrupt("the certificate's public key cannot be encoded (\(error))")
        }
        return try PublicKey(spkiDER: spki)
    }
}
