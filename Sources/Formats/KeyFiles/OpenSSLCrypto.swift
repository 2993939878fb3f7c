public import TrustCore
internal import COpenSSL

/// The password-based encryption of key files, done by OpenSSL's libcrypto.
///
/// This is the only file in `Formats` that imports `COpenSSL`. It decrypts PKCS#8
/// `EncryptedPrivateKeyInfo` (any scheme OpenSSL knows: PBES2 with PBKDF2-HMAC-SHA1/SHA-2 or
/// scrypt, AES/3DES-CBC, and the old PBES1/PKCS#12 schemes) and OpenSSL's legacy PEM encryption
/// (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`), and provides PBKDF2 and AES-256-CBC for writing
/// notary's key files.
public enum OpenSSLCrypto {
    /// Decrypts a DER `EncryptedPrivateKeyInfo` and returns the DER `PrivateKeyInfo` inside.
    ///
    /// - Throws: `.corruptData` when the DER is not an `EncryptedPrivateKeyInfo`,
    ///   `.unsupported` for schemes OpenSSL does not know, `.wrongPassphrase` otherwise.
    public static func decryptPKCS8(_ der: [UInt8], passphrase: Passphrase) throws(TrustVaultError) -> SecretBytes {
        try PBEParameters.check(der)  // cost caps before OpenSSL derives anything
        ERR_clear_error()
        defer { ERR_clear_error() }
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { buf -> OpaquePointer? in
            guard let base = buf.baseAddress else { return nil }
            var p: UnsafePointer<UInt8>? = base
            return d2i_X509_SIG(nil, &p, buf.count)
        }
        guard let sig else {
            throw .corrupt("the encrypted PKCS#8 structure is not valid DER (damaged or truncated)")
        }
        defer { X509_SIG_free(sig) }
        let p8 = passphrase.secret.withBytePointer { pass, count in
            UnsafeRawPointer(pass).withMemoryRebound(to: CChar.self, capacity: max(count, 1)) {
                PKCS8_decrypt(sig, $0, Int32(count))
            }
        }
        guard let p8 else {
            if let reason = unsupportedReason() {
                throw .unsupported(
                    "the key is encrypted with a scheme that cannot be decrypted here (\(reason))",
                    recovery: "re-encrypt it: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEWKEY")
            }
            throw wrongPassphrase()
        }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        let length = i2d_PKCS8_PRIV_KEY_INFO(p8, nil)
        guard length > 0 else { throw .corrupt("the decrypted private key could not be re-encoded") }
        return SecretBytes(count: Int(length)) { out in
            var q: UnsafeMutablePointer<UInt8>? = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
            _ = i2d_PKCS8_PRIV_KEY_INFO(p8, &q)
        }
    }

    /// Decrypts the body of a PEM block with OpenSSL's legacy encryption headers.
    ///
    /// - Parameters:
    ///   - body: the decoded base64 body (ciphertext).
    ///   - dekInfo: the `DEK-Info` header value, e.g. `AES-256-CBC,0A1B…`.
    public static func decryptLegacyPEM(
        _ body: [UInt8], dekInfo: String, passphrase: Passphrase
    ) throws(TrustVaultError) -> SecretBytes {
        ERR_clear_error()
        defer { ERR_clear_error() }
        var info = EVP_CIPHER_INFO()
        var header = Array("Proc-Type: 4,ENCRYPTED\nDEK-Info: \(dekInfo)\n".utf8CString)
        let parsed = header.withUnsafeMutableBufferPointer { PEM_get_EVP_CIPHER_INFO($0.baseAddress, &info) }
        guard parsed == 1, info.cipher != nil else {
            throw .unsupported(
                "the legacy PEM encryption \"\(dekInfo.split(separator: ",").first ?? "")\" is not supported",
                recovery: "re-encrypt the key: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEWKEY")
        }
        guard !body.isEmpty else { throw .corrupt("the encrypted key is empty") }
        var data = body
        var length = data.count
        let ok = passphrase.secret.withBytePointer { pass, count -> Int32 in
            var ref = PassphraseRef(base: pass, count: count)
            return withUnsafeMutablePointer(to: &ref) { refPointer in
                data.withUnsafeMutableBufferPointer { buf in
                    PEM_do_header(
                        &info, buf.baseAddress, &length,
                        { out, size, _, user in
                            guard let out, let user else { return -1 }
                            let ref = user.assumingMemoryBound(to: PassphraseRef.self).pointee
                            let n = min(Int(size), ref.count)
                            UnsafeMutableRawPointer(out).copyMemory(from: ref.base, byteCount: n)
                            return Int32(n)
                        }, refPointer)
                }
            }
        }
        guard ok == 1, length > 0, length <= data.count else {
            Sodium.wipe(&data)
            throw wrongPassphrase()
        }
        var plain = Array(data[0..<length])
        Sodium.wipe(&data)
        return SecretBytes(consuming: &plain)
    }

    /// PBKDF2 with HMAC-SHA1 (PKCS#5 v2.0's default PRF, which notary always uses).
    public static func pbkdf2SHA1(
        passphrase: Passphrase, salt: [UInt8], iterations: Int, keyLength: Int
    ) throws(TrustVaultError) -> SecretBytes {
        var ok: Int32 = 0
        let key = SecretBytes(count: keyLength) { out in
            ok = passphrase.secret.withBytePointer { pass, count in
                UnsafeRawPointer(pass).withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { p in
                    PKCS5_PBKDF2_HMAC(
                        p, Int32(count), salt, Int32(salt.count), Int32(iterations), EVP_sha1(), Int32(keyLength),
                        out.baseAddress?.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard ok == 1 else { throw .io("PBKDF2 key derivation failed in OpenSSL") }
        return key
    }

    /// AES-256-CBC with PKCS#7 padding.
    public static func aes256CBCEncrypt(key: SecretBytes, iv: [UInt8], plaintext: SecretBytes) throws(TrustVaultError)
        -> [UInt8]
    {
        guard key.count == 32, iv.count == 16 else { throw .invalid("AES-256-CBC needs a 32-byte key and a 16-byte IV") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .io("OpenSSL could not allocate a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var total: Int32 = 0
        let ok: Bool = key.withBytePointer { k, _ in
            plaintext.withBytePointer { p, count in
                out.withUnsafeMutableBufferPointer { o in
                    guard EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nil, k, iv) == 1 else { return false }
                    var n: Int32 = 0
                    guard EVP_EncryptUpdate(ctx, o.baseAddress, &n, p, Int32(count)) == 1 else { return false }
                    var m: Int32 = 0
                    guard EVP_EncryptFinal_ex(ctx, o.baseAddress.map { $0 + Int(n) }, &m) == 1 else { return false }
                    total = n + m
                    return true
                }
            }
        }
        guard ok else { throw .io("AES-256-CBC encryption failed in OpenSSL") }
        return Array(out[0..<Int(total)])
    }

    /// Random bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) throws(TrustVaultError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else { throw .io("OpenSSL's random generator failed") }
        return out
    }

    private struct PassphraseRef {
        let base: UnsafePointer<UInt8>
        let count: Int
    }

    private static func wrongPassphrase() -> TrustVaultError {
        .wrongPassphrase(
            "the passphrase does not decrypt the key (or the encrypted data is damaged)",
            recovery:
                "set TRUSTVAULT_IMPORT_PASSPHRASE (or the NOTARY_*/DOCKER_CONTENT_TRUST_* variable for the key's role) to the key file's passphrase")
    }

    /// The text of an "unsupported algorithm" error in OpenSSL's queue, if that is why it failed.
    private static func unsupportedReason() -> String? {
        let unsupported: Set<Int32> = [
            EVP_R_UNSUPPORTED_CIPHER, EVP_R_UNSUPPORTED_KEY_SIZE, EVP_R_UNSUPPORTED_PRIVATE_KEY_ALGORITHM,
            EVP_R_UNKNOWN_PBE_ALGORITHM, EVP_R_UNSUPPORTED_KEYLENGTH, EVP_R_UNSUPPORTED_KEY_DERIVATION_FUNCTION,
            EVP_R_UNSUPPORTED_PRF, EVP_R_UNSUPPORTED_SALT_TYPE, EVP_R_UNSUPPORTED_ALGORITHM, EVP_R_UNKNOWN_CIPHER,
        ]
        var found: String?
        while case let e = ERR_get_error(), e != 0 {
            if ERR_GET_LIB(e) == ERR_LIB_EVP, unsupported.contains(ERR_GET_REASON(e)), found == nil {
                found = ERR_reason_error_string(e).map { String(cString: $0) } ?? "unsupported algorithm"
            }
        }
        return found
    }
}
