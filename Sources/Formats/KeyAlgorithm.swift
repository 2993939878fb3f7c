/// The key algorithms trustvault generates, stores and signs with.
///
/// Their names are the TUF `keytype` values Notary writes for non-certificate keys.
public enum KeyAlgorithm: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    /// ECDSA on P-256, what notary and docker use by default.
    case ecdsa
    /// Ed25519 (libsodium).
    case ed25519
    /// RSA, at least 2048 bits, signing with RSASSA-PSS.
    case rsa

    /// The `method` value Notary writes into signatures made with this kind of key.
    public var signatureMethod: String {
        switch self {
        case .ecdsa: "ecdsa"
        case .ed25519: "eddsa"
        case .rsa: "rsapss"
        }
    }

    /// The `keytype` of a certificate-wrapped key of this algorithm (root keys), if any.
    public var x509KeyType: String? {
        switch self {
        case .ecdsa: "ecdsa-x509"
        case .rsa: "rsa-x509"
        case .ed25519: nil
        }
    }

    public var description: String { rawValue }
}
