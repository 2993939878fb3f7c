import Testing
@testable import TrustCore

@Suite("Argon2id + XChaCha20-Poly1305")
struct SecretSealTests {
    let profile = KDFProfile.interactive

    @Test func sealsAndOpens() throws {
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        let key = try SecretSeal.deriveKey(
            passphrase: Passphrase("correct horse"), salt: salt,
            opsLimit: profile.opsLimit, memLimit: profile.memLimit)
        let secret = SecretBytes(copying: Array("private key bytes".utf8))
        let (nonce, ct) = SecretSeal.seal(secret, key: key, associatedData: Array("ad".utf8))
        let opened = try #require(SecretSeal.open(ct, nonce: nonce, key: key, associatedData: Array("ad".utf8)))
        #expect(opened.constantTimeEquals(secret))
        #expect(SecretSeal.open(ct, nonce: nonce, key: key, associatedData: Array("AD".utf8)) == nil)
        var flipped = ct
        flipped[3] ^= 1
        #expect(SecretSeal.open(flipped, nonce: nonce, key: key, associatedData: Array("ad".utf8)) == nil)
        #expect(SecretSeal.open(Array(ct.prefix(10)), nonce: nonce, key: key, associatedData: Array("ad".utf8)) == nil)
    }

    @Test func wrongPassphraseDerivesAnotherKey() throws {
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        let a = try SecretSeal.deriveKey(
            passphrase: Passphrase("one passphrase"), salt: salt,
            opsLimit: profile.opsLimit, memLimit: profile.memLimit)
        let b = try SecretSeal.deriveKey(
            passphrase: Passphrase("two passphrase"), salt: salt,
            opsLimit: profile.opsLimit, memLimit: profile.memLimit)
        #expect(!a.constantTimeEquals(b))
    }

    @Test func hostileKDFParametersAreRefused() {
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        #expect(throws: TrustVaultError.corrupt("")) {
            _ = try SecretSeal.deriveKey(passphrase: Passphrase("x"), salt: salt, opsLimit: 3, memLimit: 1 << 50)
        }
        #expect(throws: TrustVaultError.corrupt("")) {
            _ = try SecretSeal.deriveKey(passphrase: Passphrase("x"), salt: [1, 2], opsLimit: 3, memLimit: 1 << 20)
        }
    }

    @Test func secretsNeverPrint() {
        let p = Passphrase("hunter22")
        #expect(!"\(p)".contains("hunter"))
        #expect(!String(reflecting: p).contains("hunter"))
        #expect(!"\(p.secret)".contains("hunter"))
    }

    @Test func profilesAreRecordedAndOrdered() {
        #expect(KDFProfile.interactive.memLimit == 64 << 20)
        #expect(KDFProfile.moderate.memLimit == 512 << 20 && KDFProfile.moderate.opsLimit == 4)
        #expect(KDFProfile.sensitive.memLimit == 1 << 30)
        #expect(KDFProfile.interactive.atLeast(.moderate) == .moderate)
        #expect(KDFProfile.sensitive.atLeast(.moderate) == .sensitive)
    }
}
