internal import COpenSSL
internal import TrustCore

/// One-block ECB with the management key (3DES via OpenSSL's des-ede3, AES-128/192/256).
enum ManagementKeyCipher {
    static func apply(_ algorithm: ManagementKeyAlgorithm, key: SecretBytes, _ input: [UInt8], encrypt: Bool)
        throws(TrustVaultError) -> [UInt8]
    {
        let cipher: OpaquePointer?
        switch algorithm {
        case .tripleDES: cipher = EVP_des_ede3_ecb()
        case .aes128: cipher = EVP_aes_128_ecb()
        case .aes192: cipher = EVP_aes_192_ecb()
        default: cipher = EVP_aes_256_ecb()
        }
        guard key.count == algorithm.keyLength, input.count == algorithm.blockSize else {
            throw .invalid(
                "a \(algorithm) management key has \(algorithm.keyLength) bytes (\(algorithm.keyLength * 2) hex digits)")
        }
        guard let cipher, let ctx = EVP_CIPHER_CTX_new() else { throw .io("OpenSSL has no \(algorithm) cipher") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: input.count + 32)
        var n: Int32 = 0
        var m: Int32 = 0
        let ok: Bool = key.withBytePointer { k, _ in
            guard EVP_CipherInit_ex(ctx, cipher, nil, k, nil, encrypt ? 1 : 0) == 1 else { return false }
            EVP_CIPHER_CTX_set_padding(ctx, 0)
            guard EVP_CipherUpdate(ctx, &out, &n, input, Int32(input.count)) == 1 else { return false }
            return out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + Int(n), &m) } == 1
        }
        guard ok, Int(n + m) == input.count else { throw .io("the \(algorithm) block operation failed in OpenSSL") }
        return Array(out.prefix(input.count))
    }
}
