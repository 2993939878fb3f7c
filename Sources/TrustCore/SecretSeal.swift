internal import CSodium

/// Passphrase- and key-based authenticated encryption with libsodium:
/// Argon2id (`crypto_pwhash`, ALG_ARGON2ID13) to derive a 32-byte key, and
/// XChaCha20-Poly1305-IETF to encrypt with associated data.
package enum SecretSeal {
    package static let saltBytes = Int(crypto_pwhash_SALTBYTES)
    package static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    package static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    package static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Derives a key from a passphrase with Argon2id.
    package static func deriveKey(
        passphrase: Passphrase, salt: [UInt8], opsLimit: UInt64, memLimit: UInt64
    ) throws(TrustVaultError) -> SecretBytes {
        Sodium.ensureInitialised()
        guard salt.count == saltBytes else {
            throw .corrupt("the KDF salt has \(salt.count) bytes instead of \(saltBytes)")
        }
        guard opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), opsLimit <= KDFProfile.maximumOpsLimit,
            memLimit >= UInt64(crypto_pwhash_MEMLIMIT_MIN), memLimit <= KDFProfile.maximumMemLimit,
            opsLimit * (memLimit >> 20) <= KDFProfile.maximumWork
        else {
            throw .corrupt(
                "the Argon2id parameters (opslimit \(opsLimit), memlimit \(memLimit)) exceed the strongest trustvault profile, so they are damaged or not made by trustvault"
            )
        }
        var status: Int32 = 0
        let key = SecretBytes(count: keyBytes) { out in
            status = passphrase.secret.withBytePointer { pw, pwLen in
                salt.withUnsafeBufferPointer { s in
                    crypto_pwhash(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                        UnsafeRawPointer(pw).assumingMemoryBound(to: CChar.self), UInt64(pwLen),
                        s.baseAddress!, opsLimit, Int(memLimit), crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard status == 0 else {
            throw TrustVaultError(
                .ioFailure, "Argon2id could not allocate \(memLimit / (1024 * 1024)) MiB",
                recovery: "free memory or use a vault with a smaller KDF profile")
        }
        return key
    }

    /// Encrypts `plaintext` under `key` with a fresh random nonce. Returns (nonce, ciphertext‖tag).
    package static func seal(
        _ plaintext: SecretBytes, key: SecretBytes, associatedData: [UInt8]
    ) -> (nonce: [UInt8], ciphertext: [UInt8]) {
        let nonce = Sodium.randomBytes(nonceBytes)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written: UInt64 = 0
        plaintext.withBytePointer { m, mLen in
            key.withBytePointer { k, _ in
                associatedData.withUnsafeBufferPointer { ad in
                    _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                        &ciphertext, &written, m, UInt64(mLen),
                        ad.baseAddress, UInt64(ad.count), nil, nonce, k)
                }
            }
        }
        return (nonce, Array(ciphertext.prefix(Int(written))))
    }

    /// Decrypts and authenticates; `nil` when the key, nonce, data or associated data is wrong.
    package static func open(
        _ ciphertext: [UInt8], nonce: [UInt8], key: SecretBytes, associatedData: [UInt8]
    ) -> SecretBytes? {
        guard nonce.count == nonceBytes, ciphertext.count >= tagBytes else { return nil }
        var ok = false
        let plain = SecretBytes(count: ciphertext.count - tagBytes) { out in
            var written: UInt64 = 0
            ok = key.withBytePointer { k, _ in
                associatedData.withUnsafeBufferPointer { ad in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? nil, &written, nil,
                        ciphertext, UInt64(ciphertext.count),
                        ad.baseAddress, UInt64(ad.count), nonce, k) == 0
                }
            }
        }
        return ok ? plain : nil
    }

    /// A fresh random 32-byte key in secure memory.
    package static func randomKey() -> SecretBytes {
        Sodium.ensureInitialised()
        return SecretBytes(count: keyBytes) { randombytes_buf($0.baseAddress!, $0.count) }
    }
}
