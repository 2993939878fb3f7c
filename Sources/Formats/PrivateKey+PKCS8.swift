internal import TrustCore
internal import Crypto
internal import CryptoExtras

extension PrivateKey {
    /// DER `302e020100300506032b657004220420`: the PKCS#8 prefix of an RFC 8410 Ed25519 key.
    static let ed25519PKCS8Prefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    /// Unencrypted PKCS#8 `PRIVATE KEY` PEM as OpenSSL writes it (RFC 8410 for Ed25519).
    ///
    /// Only for `key export --format pem --i-understand-this-is-unencrypted`: the returned
    /// string holds the secret and cannot be wiped.
    public func unencryptedPKCS8PEM() -> String {
        switch backing {
        case .p256(let k): return k.pemRepresentation
        case .rsa(let k): return k.pkcs8PEMRepresentation
        case .ed25519:
            var der = PrivateKey.ed25519PKCS8Prefix
            defer { Sodium.wipe(&der) }
            exportSecret().withUnsafeBytes { der.append(contentsOf: $0) }
            return PEMText.encode(type: "PRIVATE KEY", der: der)
        }
    }
}
