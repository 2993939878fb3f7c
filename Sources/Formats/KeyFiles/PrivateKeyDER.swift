public import TrustCore
internal import SwiftASN1
internal import Crypto
internal import Foundation

/// DER encodings of private keys: reading every form notary, docker and OpenSSL write, and
/// writing the two PKCS#8 forms trustvault hands out.
///
/// ```
/// PrivateKeyInfo ::= SEQUENCE {                       -- RFC 5208 / 5958
///     version             INTEGER,                     -- 0 (notary writes 1 for ECDSA)
///     privateKeyAlgorithm AlgorithmIdentifier,
///     privateKey          OCTET STRING,
///     attributes      [0] IMPLICIT Attributes OPTIONAL,
///     publicKey       [1] IMPLICIT BIT STRING OPTIONAL }
///
/// ECPrivateKey ::= SEQUENCE {                          -- SEC1 / RFC 5915
///     version        INTEGER { ecPrivkeyVer1(1) },
///     privateKey     OCTET STRING,
///     parameters [0] ECParameters {{ NamedCurve }} OPTIONAL,
///     publicKey  [1] BIT STRING OPTIONAL }
/// ```
///
/// Error messages say what is wrong with the key, not where it came from; callers prefix the
/// file and block with ``TrustVaultError/located(_:)``.
public enum PrivateKeyDER {
    static let oidECPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let oidRSA: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 1]
    static let oidEd25519: ASN1ObjectIdentifier = [1, 3, 101, 112]
    /// The old GnuPG Ed25519 OID that notary uses in its PKCS#8.
    static let oidNotaryEd25519: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 11591, 15, 1]
    static let oidP256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]

    // MARK: Reading

    /// Parses a PKCS#8 `PrivateKeyInfo` in any of the forms seen in the wild: version 0 or 1,
    /// ECDSA (SEC1 inside), RSA (with or without the NULL parameter), RFC 8410 Ed25519 and
    /// notary's Ed25519 (OID 1.3.6.1.4.1.11591.15.1, 96 bytes `pub ‖ seed ‖ pub`).
    public static func parsePKCS8(_ der: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        let top = try node(der, what: "PKCS#8 PrivateKeyInfo")
        let fields = try children(top, what: "PKCS#8 PrivateKeyInfo")
        guard fields.count >= 3 else { throw .corrupt("the PKCS#8 PrivateKeyInfo has too few fields") }
        let version = try integer(fields[0], what: "PKCS#8 version")
        guard version == 0 || version == 1 else {
            throw .unsupported("PKCS#8 version \(version) is not supported (expected 0 or 1)")
        }
        let algorithm = try children(fields[1], what: "PKCS#8 algorithm identifier")
        guard let first = algorithm.first else { throw .corrupt("the PKCS#8 algorithm identifier is empty") }
        let oid = try objectIdentifier(first, what: "PKCS#8 algorithm")
        var inner = try octets(fields[2], what: "PKCS#8 privateKey")
        defer { Sodium.wipe(&inner) }
        switch oid {
        case oidECPublicKey:
            var curve: ASN1ObjectIdentifier?
            if algorithm.count > 1 {
                if algorithm[1].identifier == .objectIdentifier {
                    curve = try objectIdentifier(algorithm[1], what: "EC curve")
                } else {
                    throw explicitCurveError()
                }
            }
            return try parseSEC1(inner, curve: curve)
        case oidRSA:
            return try parsePKCS1(inner)
        case oidEd25519:
            // CurvePrivateKey ::= OCTET STRING, itself inside the privateKey OCTET STRING.
            var seed = try octets(try node(inner, what: "Ed25519 private key"), what: "Ed25519 private key")
            defer { Sodium.wipe(&seed) }
            guard seed.count == 32 else { throw .corrupt("the Ed25519 private key has \(seed.count) bytes instead of 32") }
            return try ed25519(seed: seed, expectedPublic: [])
        case oidNotaryEd25519:
            return try parseNotaryEd25519(inner)
        default:
            throw .unsupported(
                "the key algorithm \(algorithmName(oid)) is not supported",
                recovery: "notary and trustvault use ECDSA P-256, RSA (2048 bits or more) and Ed25519 keys")
        }
    }

    /// Parses a SEC1 `ECPrivateKey` (`EC PRIVATE KEY` block or inside PKCS#8). The curve must be
    /// P-256; `curve` is the OID from an enclosing PKCS#8 algorithm identifier, if any.
    public static func parseSEC1(_ der: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        try parseSEC1(der, curve: nil)
    }

    static func parseSEC1(_ der: [UInt8], curve outerCurve: ASN1ObjectIdentifier?) throws(TrustVaultError)
        -> PrivateKey
    {
        let fields = try children(try node(der, what: "SEC1 ECPrivateKey"), what: "SEC1 ECPrivateKey")
        guard fields.count >= 2 else { throw .corrupt("the SEC1 ECPrivateKey has too few fields") }
        let version = try integer(fields[0], what: "SEC1 version")
        guard version == 1 else { throw .unsupported("SEC1 ECPrivateKey version \(version) is not supported") }
        var scalar = try octets(fields[1], what: "EC private key")
        defer { Sodium.wipe(&scalar) }
        var curve = outerCurve
        var storedPublic: [UInt8] = []
        for field in fields.dropFirst(2) {
            guard field.identifier.tagClass == .contextSpecific else { continue }
            let tagged = try children(field, what: "SEC1 tagged field")
            guard let value = tagged.first else { continue }
            switch field.identifier.tagNumber {
            case 0:
                guard value.identifier == .objectIdentifier else { throw explicitCurveError() }
                let inner = try objectIdentifier(value, what: "EC curve")
                if let c = curve, c != inner {
                    throw .corrupt("the key names two different curves (\(curveName(c)) and \(curveName(inner)))")
                }
                curve = inner
            case 1:
                do {
                    let bits = try ASN1BitString(derEncoded: value)
                    storedPublic = Array(bits.bytes)
                } catch {
                    throw .corrupt("the EC public key inside the private key is not a BIT STRING")
                }
            default:
                continue
            }
        }
        if let curve, curve != oidP256 {
            throw .unsupported(
                "the ECDSA key is on curve \(curveName(curve)); only P-256 (prime256v1) keys are supported",
                recovery: "generate a P-256 key (openssl ecparam -name prime256v1 -genkey, or notary/docker) instead")
        }
        guard curve != nil || scalar.count <= 32 else {
            throw .unsupported("the ECDSA key names no curve and is not a P-256 key")
        }
        guard scalar.count <= 32, !scalar.isEmpty else {
            throw .unsupported("the ECDSA private key has \(scalar.count) bytes; only P-256 keys are supported")
        }
        var padded = [UInt8](repeating: 0, count: 32 - scalar.count) + scalar
        let key = try PrivateKey(p256Scalar: SecretBytes(consuming: &padded))
        if !storedPublic.isEmpty {
            let actual = try p256Point(of: key.publicKey)
            guard storedPublic == actual else {
                throw .corrupt("the public key stored in the EC private key does not belong to it")
            }
        }
        return key
    }

    /// Parses a PKCS#1 `RSAPrivateKey`; refuses keys under 2048 bits.
    public static func parsePKCS1(_ der: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        let fields = try children(try node(der, what: "PKCS#1 RSAPrivateKey"), what: "PKCS#1 RSAPrivateKey")
        guard fields.count >= 9 else { throw .corrupt("the PKCS#1 RSAPrivateKey has too few fields") }
        guard fields[0].identifier == .integer, fields[1].identifier == .integer,
            case .primitive(let modulus) = fields[1].content
        else { throw .corrupt("the PKCS#1 RSAPrivateKey has no modulus") }
        let version = try integer(fields[0], what: "PKCS#1 version")
        guard version == 0 else {
            throw .unsupported("multi-prime RSA keys (PKCS#1 version \(version)) are not supported")
        }
        let significant = modulus.drop { $0 == 0 }
        let bits = significant.isEmpty ? 0 : (significant.count - 1) * 8 + (8 - (significant.first ?? 0).leadingZeroBitCount)
        guard bits >= 2048 else {
            throw .unsupported(
                "the RSA key has \(bits) bits; notary needs at least 2048",
                recovery: "use an RSA key of 2048 bits or more, or an ECDSA P-256 key")
        }
        var copy = der
        do {
            return try PrivateKey(rsaPKCS1DER: SecretBytes(consuming: &copy))
        } catch {
            throw error.code == .corruptData ? .corrupt("the PKCS#1 RSA private key is invalid") : error
        }
    }

    /// Parses notary's raw Ed25519 form: 96 bytes `pub(32) ‖ seed(32) ‖ pub(32)` (the content
    /// of an `ED25519 PRIVATE KEY` block and of notary's Ed25519 PKCS#8).
    public static func parseNotaryEd25519(_ raw: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        guard raw.count == 96 else {
            throw .corrupt("notary's Ed25519 private key must have 96 bytes, this one has \(raw.count)")
        }
        let pub1 = Array(raw[0..<32])
        let pub2 = Array(raw[64..<96])
        guard pub1 == pub2 else { throw .corrupt("the two copies of the Ed25519 public key in the key differ") }
        return try ed25519(seed: Array(raw[32..<64]), expectedPublic: pub1)
    }

    // MARK: Writing

    /// The PKCS#8 plaintext exactly as notary writes it inside `ENCRYPTED PRIVATE KEY`:
    /// ECDSA with version 1 and Go's full SEC1 (curve OID and public key); RSA with version 0
    /// and no NULL parameter; Ed25519 under notary's OID with 96 bytes `pub ‖ seed ‖ pub`.
    public static func notaryPKCS8(_ key: PrivateKey) throws(TrustVaultError) -> SecretBytes {
        try encode { s in
            try s.appendConstructedNode(identifier: .sequence) { s in
                switch key.algorithm {
                case .ecdsa:
                    try s.serialize(1)
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(oidECPublicKey)
                        try s.serialize(oidP256)
                    }
                    try sec1(key, withCurve: true).withTemporaryArray { try s.serialize(ASN1OctetString(contentBytes: ArraySlice($0))) }
                case .rsa:
                    try s.serialize(0)
                    try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(oidRSA) }
                    try key.exportSecret().withTemporaryArray { try s.serialize(ASN1OctetString(contentBytes: ArraySlice($0))) }
                case .ed25519:
                    try s.serialize(0)
                    try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(oidNotaryEd25519) }
                    let pub = key.publicKey.tufPublicBytes
                    var raw = pub
                    defer { Sodium.wipe(&raw) }
                    raw.reserveCapacity(pub.count * 2 + 32)
                    key.exportSecret().withUnsafeBytes { raw.append(contentsOf: $0) }
                    raw.append(contentsOf: pub)
                    try s.serialize(ASN1OctetString(contentBytes: ArraySlice(raw)))
                }
            }
        }
    }

    /// Standard PKCS#8 as OpenSSL writes it: version 0; ECDSA with the curve in the algorithm
    /// identifier; RSA with the NULL parameter; Ed25519 as RFC 8410.
    public static func standardPKCS8(_ key: PrivateKey) throws(TrustVaultError) -> SecretBytes {
        try encode { s in
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.serialize(0)
                switch key.algorithm {
                case .ecdsa:
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(oidECPublicKey)
                        try s.serialize(oidP256)
                    }
                    try sec1(key, withCurve: false).withTemporaryArray { try s.serialize(ASN1OctetString(contentBytes: ArraySlice($0))) }
                case .rsa:
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.serialize(oidRSA)
                        try s.serialize(ASN1Null())
                    }
                    try key.exportSecret().withTemporaryArray { try s.serialize(ASN1OctetString(contentBytes: ArraySlice($0))) }
                case .ed25519:
                    try s.appendConstructedNode(identifier: .sequence) { s in try s.serialize(oidEd25519) }
                    // CurvePrivateKey ::= OCTET STRING, written by hand (04 20 ‖ seed) into a
                    // buffer that is wiped, rather than by a second serializer left unwiped.
                    var inner: [UInt8] = [0x04, 0x20]
                    defer { Sodium.wipe(&inner) }
                    inner.reserveCapacity(34)
                    key.exportSecret().withUnsafeBytes { inner.append(contentsOf: $0) }
                    try s.serialize(ASN1OctetString(contentBytes: ArraySlice(inner)))
                }
            }
        }
    }

    /// SEC1 `ECPrivateKey` as Go's `x509.MarshalECPrivateKey` writes it (version 1, 32-byte
    /// scalar, `[0]` curve OID, `[1]` uncompressed public point); OpenSSL's PKCS#8 omits `[0]`.
    static func sec1(_ key: PrivateKey, withCurve: Bool) throws -> SecretBytes {
        var s = DER.Serializer()
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(1)
            try key.exportSecret().withTemporaryArray { try s.serialize(ASN1OctetString(contentBytes: ArraySlice($0))) }
            if withCurve {
                try s.serialize(oidP256, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
            }
            try s.serialize(
                ASN1BitString(bytes: ArraySlice(try p256Point(of: key.publicKey))),
                explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific)
        }
        return takeWiping(&s)
    }

    // MARK: Helpers

    private static func encode(_ body: (inout DER.Serializer) throws -> Void) throws(TrustVaultError) -> SecretBytes {
        var s = DER.Serializer()
        do {
            try body(&s)
        } catch let e as TrustVaultError {
            throw e
        } catch {
            throw .io("could not encode the private key: \(error)")
        }
        return takeWiping(&s)
    }

    /// Moves a serializer's bytes into secure memory and wipes its buffer in place: the
    /// serializer is replaced first, so the array is the only reference to its storage.
    private static func takeWiping(_ s: inout DER.Serializer) -> SecretBytes {
        var bytes = s.serializedBytes
        s = DER.Serializer()
        return SecretBytes(consuming: &bytes)
    }

    static func ed25519(seed: [UInt8], expectedPublic: [UInt8]) throws(TrustVaultError) -> PrivateKey {
        var copy = seed
        let key = try PrivateKey(ed25519Seed: SecretBytes(consuming: &copy))
        if !expectedPublic.isEmpty, key.publicKey.tufPublicBytes != expectedPublic {
            throw .corrupt("the Ed25519 public key stored with the private key does not belong to it")
        }
        return key
    }

    /// The uncompressed point `04 ‖ X ‖ Y` of a P-256 public key.
    static func p256Point(of key: PublicKey) throws(TrustVaultError) -> [UInt8] {
        guard let pub = try? P256.Signing.PublicKey(derRepresentation: key.tufPublicBytes) else {
            throw .corrupt("not a P-256 public key")
        }
        return Array(pub.x963Representation)
    }

    static func node(_ der: [UInt8], what: String) throws(TrustVaultError) -> ASN1Node {
        do { return try DER.parse(der) } catch {
            throw .corrupt("the \(what) is not valid DER (damaged, truncated, or decrypted with the wrong passphrase)")
        }
    }

    static func children(_ node: ASN1Node, what: String) throws(TrustVaultError) -> [ASN1Node] {
        guard case .constructed(let nodes) = node.content else { throw .corrupt("the \(what) is not a SEQUENCE") }
        return Array(nodes)
    }

    static func integer(_ node: ASN1Node, what: String) throws(TrustVaultError) -> Int {
        do { return try Int(derEncoded: node) } catch { throw .corrupt("the \(what) is not a small INTEGER") }
    }

    static func octets(_ node: ASN1Node, what: String) throws(TrustVaultError) -> [UInt8] {
        do { return Array(try ASN1OctetString(derEncoded: node).bytes) } catch {
            throw .corrupt("the \(what) is not an OCTET STRING")
        }
    }

    static func objectIdentifier(_ node: ASN1Node, what: String) throws(TrustVaultError) -> ASN1ObjectIdentifier {
        do { return try ASN1ObjectIdentifier(derEncoded: node) } catch {
            throw .corrupt("the \(what) is not an OBJECT IDENTIFIER")
        }
    }

    private static func explicitCurveError() -> TrustVaultError {
        .unsupported(
            "the ECDSA key spells out its curve parameters instead of naming the curve",
            recovery: "convert it: openssl ec -in KEY -param_enc named_curve -out NEWKEY")
    }

    static func curveName(_ oid: ASN1ObjectIdentifier) -> String {
        switch oid {
        case oidP256: "P-256 (prime256v1)"
        case [1, 3, 132, 0, 34]: "P-384 (secp384r1)"
        case [1, 3, 132, 0, 35]: "P-521 (secp521r1)"
        case [1, 3, 132, 0, 33]: "P-224 (secp224r1)"
        case [1, 3, 132, 0, 10]: "secp256k1"
        default: "\(oid)"
        }
    }

    static func algorithmName(_ oid: ASN1ObjectIdentifier) -> String {
        switch oid {
        case [1, 3, 101, 110]: "X25519"
        case [1, 3, 101, 111]: "X448"
        case [1, 3, 101, 113]: "Ed448"
        case [1, 2, 840, 10040, 4, 1]: "DSA"
        case [1, 2, 840, 113549, 1, 1, 10]: "RSA-PSS (id-RSASSA-PSS)"
        default: "with OID \(oid)"
        }
    }

}
