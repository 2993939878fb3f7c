internal import COpenSSL
internal import Crypto
internal import Foundation

/// The few primitives the emulated card needs: one-block 3DES/AES for the management key and
/// ECDSA over a digest computed by the host (which swift-crypto does not expose).
enum EmulatorCrypto {
    /// Encrypts or decrypts exactly one block with the management-key algorithm `algorithm`.
    static func block(_ algorithm: UInt8, key: [UInt8], _ input: [UInt8], encrypt: Bool) -> [UInt8]? {
        let cipher: OpaquePointer?
        switch (algorithm, key.count) {
        case (0x03, 24): cipher = EVP_des_ede3_ecb()
        case (0x08, 16): cipher = EVP_aes_128_ecb()
        case (0x0A, 24): cipher = EVP_aes_192_ecb()
        case (0x0C, 32): cipher = EVP_aes_256_ecb()
        default: return nil
        }
        guard let cipher, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_CipherInit_ex(ctx, cipher, nil, key, nil, encrypt ? 1 : 0) == 1 else { return nil }
        EVP_CIPHER_CTX_set_padding(ctx, 0)
        var out = [UInt8](repeating: 0, count: input.count + 32)
        var n: Int32 = 0
        guard EVP_CipherUpdate(ctx, &out, &n, input, Int32(input.count)) == 1 else { return nil }
        var m: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(n), &m) }
        guard ok == 1 else { return nil }
        return Array(out.prefix(Int(n + m)))
    }

    static func blockSize(_ algorithm: UInt8) -> Int { algorithm == 0x03 ? 8 : 16 }

    static func keyLength(_ algorithm: UInt8) -> Int? {
        switch algorithm {
        case 0x03, 0x0A: 24
        case 0x08: 16
        case 0x0C: 32
        default: nil
        }
    }

    /// A new EC key for PIV algorithm `0x11` (P-256) or `0x14` (P-384): (scalar, 04‖X‖Y).
    static func generateEC(_ algorithm: UInt8) -> (scalar: [UInt8], point: [UInt8])? {
        switch algorithm {
        case 0x11:
            let k = P256.Signing.PrivateKey()
            return (Array(k.rawRepresentation), Array(k.publicKey.x963Representation))
        case 0x14:
            let k = P384.Signing.PrivateKey()
            return (Array(k.rawRepresentation), Array(k.publicKey.x963Representation))
        default:
            return nil
        }
    }

    /// The uncompressed point of the key with `scalar`, or `nil` if the scalar is invalid.
    static func publicPoint(_ algorithm: UInt8, scalar: [UInt8]) -> [UInt8]? {
        switch algorithm {
        case 0x11: (try? P256.Signing.PrivateKey(rawRepresentation: scalar)).map { Array($0.publicKey.x963Representation) }
        case 0x14: (try? P384.Signing.PrivateKey(rawRepresentation: scalar)).map { Array($0.publicKey.x963Representation) }
        default: nil
        }
    }

    /// ECDSA over `digest` (as given by the host), DER-encoded as a card returns it.
    static func signDigest(_ algorithm: UInt8, scalar: [UInt8], digest: [UInt8]) -> [UInt8]? {
        let der: [UInt8]
        switch algorithm {
        case 0x11:
            guard let k = try? P256.Signing.PrivateKey(rawRepresentation: scalar) else { return nil }
            der = Array(k.derRepresentation)
        case 0x14:
            guard let k = try? P384.Signing.PrivateKey(rawRepresentation: scalar) else { return nil }
            der = Array(k.derRepresentation)
        default:
            return nil
        }
        let pkey: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_AutoPrivateKey(nil, &p, buf.count)
        }
        guard let pkey else { return nil }
        defer { EVP_PKEY_free(pkey) }
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_sign_init(ctx) == 1 else { return nil }
        var len = 0
        guard EVP_PKEY_sign(ctx, nil, &len, digest, digest.count) == 1 else { return nil }
        var sig = [UInt8](repeating: 0, count: len)
        guard EVP_PKEY_sign(ctx, &sig, &len, digest, digest.count) == 1 else { return nil }
        return Array(sig.prefix(len))
    }

    static func random(_ n: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
}
