public import TrustCore
internal import Crypto
internal import CryptoExtras
internal import CSodium
internal import Foundation

/// Anything that can make Notary signatures: a vault key in memory, or a key on a card.
public protocol SigningKey: Sendable {
    /// The public half; its algorithm decides the signature method.
    var publicKey: PublicKey { get }
    /// Signs `message` as Notary does: ECDSA raw r‖s over SHA-256, Ed25519, or RSASSA-PSS
    /// with SHA-256 and a 32-byte salt.
    func sign(_ message: [UInt8]) throws(TrustVaultError) -> [UInt8]
    /// Signs bytes inside a larger buffer (a file's signed part), without a copy where it can.
    func sign(_ message: ArraySlice<UInt8>) throws(TrustVaultError) -> [UInt8]
}

extension SigningKey {
    public func sign(_ message: ArraySlice<UInt8>) throws(TrustVaultError) -> [UInt8] { try sign(Array(message)) }
}

/// A private key held in memory for the duration of one operation.
///
/// The secret lives in swift-crypto's wiped storage (P-256, RSA) or in `sodium_malloc`ed
/// memory (Ed25519). ``exportSecret()`` yields the compact form that the vault seals:
/// the 32-byte P-256 scalar, the 32-byte Ed25519 seed, or the PKCS#1 DER of an RSA key.
public struct PrivateKey: SigningKey, CustomStringConvertible {
    enum Backing: @unchecked Sendable {
        case p256(P256.Signing.PrivateKey)
        /// libsodium's 64-byte secret key (seed ‖ public key).
        case ed25519(SecretBytes, publicKey: [UInt8])
        case rsa(_RSA.Signing.PrivateKey)
    }

    let backing: Backing
    public let publicKey: PublicKey

    public var algorithm: KeyAlgorithm { publicKey.algorithm }

    private init(_ backing: Backing) throws(TrustVaultError) {
        self.backing = backing
        switch backing {
        case .p256(let k):
            publicKey = try PublicKey(algorithm: .ecdsa, tufPublicBytes: Array(k.publicKey.derRepresentation))
        case .ed25519(_, let pub):
            publicKey = try PublicKey(algorithm: .ed25519, tufPublicBytes: pub)
        case .rsa(let k):
            publicKey = try PublicKey(algorithm: .rsa, tufPublicBytes: Array(k.publicKey.derRepresentation))
        }
    }

    /// A new random key. RSA keys have 2048 bits unless `rsaBits` says more.
    public static func generate(_ algorithm: KeyAlgorithm, rsaBits: Int = 2048) throws(TrustVaultError) -> PrivateKey {
        switch algorithm {
        case .ecdsa:
            return try PrivateKey(.p256(P256.Signing.PrivateKey()))
        case .ed25519:
            Sodium.ensureInitialised()
            var pub = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
            let sk = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { out in
                _ = crypto_sign_keypair(&pub, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            return try PrivateKey(.ed25519(sk, publicKey: pub))
        case .rsa:
            guard rsaBits >= 2048 else { throw .invalid("RSA keys must have at least 2048 bits") }
            do {
                return try PrivateKey(.rsa(_RSA.Signing.PrivateKey(keySize: .init(bitCount: rsaBits))))
            } catch let e as TrustVaultError {
                throw e
            } catch {
                throw .io("RSA key generation failed: \(error)")
            }
        }
    }

    /// Rebuilds a key from the compact secret form (see ``exportSecret()``).
    public init(algorithm: KeyAlgorithm, secret: SecretBytes) throws(TrustVaultError) {
        switch algorithm {
        case .ecdsa:
            let key: P256.Signing.PrivateKey
            do {
                key = try secret.withUnsafeBytes { try P256.Signing.PrivateKey(rawRepresentation: $0) }
            } catch {
                throw .corrupt("the stored P-256 private key is invalid")
            }
            try self.init(.p256(key))
        case .ed25519:
            guard secret.count == Int(crypto_sign_SEEDBYTES) else {
                throw .corrupt("the stored Ed25519 seed has \(secret.count) bytes instead of 32")
            }
            try self.init(ed25519Seed: secret)
        case .rsa:
            let key: _RSA.Signing.PrivateKey
            do {
                key = try secret.withUnsafeBytes { try _RSA.Signing.PrivateKey(unsafeDERRepresentation: $0) }
            } catch {
                throw .corrupt("the stored RSA private key is invalid")
            }
            guard key.keySizeInBits >= 2048 else {
                throw .unsupported("the RSA key has \(key.keySizeInBits) bits; notary needs at least 2048")
            }
            try self.init(.rsa(key))
        }
    }

    /// An Ed25519 key from its 32-byte seed.
    public init(ed25519Seed seed: SecretBytes) throws(TrustVaultError) {
        guard seed.count == Int(crypto_sign_SEEDBYTES) else { throw .corrupt("an Ed25519 seed has 32 bytes") }
        Sodium.ensureInitialised()
        var pub = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        let sk = SecretBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { out in
            seed.withBytePointer { s, _ in
                _ = crypto_sign_seed_keypair(&pub, out.baseAddress!.assumingMemoryBound(to: UInt8.self), s)
            }
        }
        try self.init(.ed25519(sk, publicKey: pub))
    }

    /// A P-256 key from its 32-byte big-endian scalar.
    public init(p256Scalar scalar: SecretBytes) throws(TrustVaultError) {
        try self.init(algorithm: .ecdsa, secret: scalar)
    }

    /// An RSA key from PKCS#1 `RSAPrivateKey` DER.
    public init(rsaPKCS1DER der: SecretBytes) throws(TrustVaultError) {
        try self.init(algorithm: .rsa, secret: der)
    }

    /// The compact secret the vault seals: P-256 scalar (32 bytes), Ed25519 seed (32 bytes)
    /// or RSA PKCS#1 DER.
    public func exportSecret() -> SecretBytes {
        switch backing {
        case .p256(let k):
            var raw = [UInt8](k.rawRepresentation)
            return SecretBytes(consuming: &raw)
        case .ed25519(let sk, _):
            return SecretBytes(count: Int(crypto_sign_SEEDBYTES)) { out in
                sk.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(32))) }
            }
        case .rsa(let k):
            var der = [UInt8](k.derRepresentation)
            return SecretBytes(consuming: &der)
        }
    }

    public func sign(_ message: [UInt8]) throws(TrustVaultError) -> [UInt8] { try sign(message[...]) }

    public func sign(_ message: ArraySlice<UInt8>) throws(TrustVaultError) -> [UInt8] {
        switch backing {
        case .p256(let k):
            do { return Array(try k.signature(for: message).rawRepresentation) } catch {
                throw .io("ECDSA signing failed: \(error)")
            }
        case .ed25519(let sk, _):
            var sig = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
            sk.withBytePointer { s, _ in
                message.withUnsafeBufferPointer { m in
                    _ = crypto_sign_detached(&sig, nil, m.baseAddress, UInt64(m.count), s)
                }
            }
            return sig
        case .rsa(let k):
            do { return Array(try k.signature(for: message, padding: .PSS).rawRepresentation) } catch {
                throw .io("RSA-PSS signing failed: \(error)")
            }
        }
    }

    public var description: String { "PrivateKey(\(algorithm), \(publicKey.keyID.prefix(12))…, redacted)" }
}
