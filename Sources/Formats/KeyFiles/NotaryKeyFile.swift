public import TrustCore
internal import SwiftASN1

/// Writes key files exactly as notary 0.7 writes `private/<id>.key` (reference §1.4, §11.1).
///
/// ```
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///     encryptionAlgorithm SEQUENCE {
///         PBES2 (1.2.840.113549.1.5.13),
///         PBES2-params SEQUENCE {
///             keyDerivationFunc SEQUENCE { PBKDF2 (1.2.840.113549.1.5.12),
///                 PBKDF2-params SEQUENCE { salt OCTET STRING (8 bytes), iterationCount 2048 } },
///                 -- no keyLength, no prf: HMAC-SHA1, the only PRF notary can read
///             encryptionScheme SEQUENCE { aes256-CBC (2.16.840.1.101.3.4.1.42), iv OCTET STRING (16) } } },
///     encryptedData OCTET STRING }    -- AES-256-CBC, PKCS#7 padding, of notary's PKCS#8
/// ```
public enum NotaryKeyFile {
    public static let iterations = 2048
    public static let saltLength = 8
    public static let ivLength = 16

    static let oidPBES2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
    static let oidPBKDF2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
    static let oidAES256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]

    /// Whether notary writes a `gun:` header for keys of this role.
    public static func roleCarriesGUN(_ role: String) -> Bool {
        role == "targets" || role == "snapshot" || role == "timestamp"
    }

    /// `EncryptedPrivateKeyInfo` DER of `plaintext` (a PKCS#8 `PrivateKeyInfo`).
    public static func encrypt(pkcs8 plaintext: SecretBytes, passphrase: Passphrase) throws(TrustVaultError) -> [UInt8] {
        let salt = Sodium.randomBytes(saltLength)
        let iv = Sodium.randomBytes(ivLength)
        let key = try OpenSSLCrypto.pbkdf2SHA1(passphrase: passphrase, salt: salt, iterations: iterations, keyLength: 32)
        let ciphertext = try OpenSSLCrypto.aes256CBCEncrypt(key: key, iv: iv, plaintext: plaintext)
        var s = DER.Serializer()
        do {
            try s.appendConstructedNode(identifier: .sequence) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    try s.serialize(oidPBES2)
                    try s.appendConstructedNode(identifier: .sequence) { s in
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            try s.serialize(oidPBKDF2)
                            try s.appendConstructedNode(identifier: .sequence) { s in
                                try s.serialize(ASN1OctetString(contentBytes: ArraySlice(salt)))
                                try s.serialize(iterations)
                            }
                        }
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            try s.serialize(oidAES256CBC)
                            try s.serialize(ASN1OctetString(contentBytes: ArraySlice(iv)))
                        }
                    }
                }
                try s.serialize(ASN1OctetString(contentBytes: ArraySlice(ciphertext)))
            }
        } catch {
            throw .io("could not encode the encrypted key: \(error)")
        }
        return s.serializedBytes
    }

    /// The `ENCRYPTED PRIVATE KEY` block notary would write for `key`.
    ///
    /// - Parameters:
    ///   - role: written as `role:`.
    ///   - gun: written as `gun:` only for `targets`, `snapshot` and `timestamp` keys.
    ///   - path: written as `path:` (export bundles; `notary key import` and
    ///     `docker trust key load` need it on encrypted blocks). Nil for trust-dir files.
    public static func block(
        for key: PrivateKey, role: String, gun: String?, path: String?, passphrase: Passphrase
    ) throws(TrustVaultError) -> PEMBlock {
        guard !passphrase.isEmpty else {
            throw .invalid(
                "an empty passphrase would make notary write the key unencrypted",
                recovery: "set TRUSTVAULT_EXPORT_PASSPHRASE to a non-empty passphrase")
        }
        let der = try encrypt(pkcs8: try PrivateKeyDER.notaryPKCS8(key), passphrase: passphrase)
        var headers = [PEMHeader("role", role)]
        if let gun, !gun.isEmpty, roleCarriesGUN(role) { headers.append(PEMHeader("gun", gun)) }
        if let path { headers.append(PEMHeader("path", path)) }
        return PEMBlock(type: "ENCRYPTED PRIVATE KEY", headers: headers, bytes: der)
    }

    /// The whole text of `private/<id>.key` (no `path:` header), or of a one-key export bundle
    /// (with `path: <id>`).
    public static func text(
        for key: PrivateKey, role: String, gun: String?, includePath: Bool, passphrase: Passphrase
    ) throws(TrustVaultError) -> String {
        PEM.encode(
            try block(
                for: key, role: role, gun: gun, path: includePath ? key.publicKey.keyID : nil, passphrase: passphrase))
    }

    /// Unencrypted standard PKCS#8 (`PRIVATE KEY`, no headers) as OpenSSL writes it.
    public static func unencryptedPKCS8Text(for key: PrivateKey) throws(TrustVaultError) -> String {
        let der = try PrivateKeyDER.standardPKCS8(key)
        return der.withTemporaryArray { PEM.encode(PEMBlock(type: "PRIVATE KEY", bytes: $0)) }
    }
}
