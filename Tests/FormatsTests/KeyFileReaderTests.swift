import Foundation
import Formats
import Testing
import TestSupport
import TrustCore

/// Every key form OpenSSL writes, made at test time and read back with the key ID OpenSSL's
/// own public key gives.
enum OpenSSLForm: String, CaseIterable, Sendable {
    case ecSEC1, ecSEC1WithParameters, ecPKCS8, ecPKCS8EncryptedSHA256, ecPKCS8EncryptedSHA1, ecPKCS8EncryptedAES128
    case ecPKCS8EncryptedScrypt, ecLegacyAES256, ecLegacyDES3
    case rsaPKCS8, rsaPKCS1, rsaPKCS1LegacyAES256, rsaPKCS8Encrypted
    case ed25519PKCS8, ed25519PKCS8Encrypted

    var algorithm: KeyAlgorithm {
        switch self {
        case .rsaPKCS8, .rsaPKCS1, .rsaPKCS1LegacyAES256, .rsaPKCS8Encrypted: .rsa
        case .ed25519PKCS8, .ed25519PKCS8Encrypted: .ed25519
        default: .ecdsa
        }
    }

    var encrypted: Bool {
        switch self {
        case .ecPKCS8EncryptedSHA256, .ecPKCS8EncryptedSHA1, .ecPKCS8EncryptedAES128, .ecPKCS8EncryptedScrypt,
            .ecLegacyAES256, .ecLegacyDES3, .rsaPKCS1LegacyAES256, .rsaPKCS8Encrypted, .ed25519PKCS8Encrypted:
            true
        default: false
        }
    }

    var blockType: String {
        switch self {
        case .ecSEC1, .ecSEC1WithParameters, .ecLegacyAES256, .ecLegacyDES3: "EC PRIVATE KEY"
        case .rsaPKCS1, .rsaPKCS1LegacyAES256: "RSA PRIVATE KEY"
        case .ecPKCS8, .rsaPKCS8, .ed25519PKCS8: "PRIVATE KEY"
        default: "ENCRYPTED PRIVATE KEY"
        }
    }

    /// Makes `key.pem` (and `base.pem`) in the fixture directory.
    func make(_ f: OpenSSLFixtures, passphrase: String) throws {
        let out = ["-out", "key.pem"]
        let pass = ["-passout", "pass:\(passphrase)"]
        switch algorithm {
        case .ecdsa: try f.ecKey("base.pem")
        case .rsa: try f.run(["genrsa", "-out", "base.pem", "2048"])
        case .ed25519: try f.run(["genpkey", "-algorithm", "ed25519", "-out", "base.pem"])
        }
        let topk8 = ["pkcs8", "-topk8", "-in", "base.pem"] + out
        switch self {
        case .ecSEC1, .rsaPKCS8, .ed25519PKCS8: try f.shell("cp base.pem key.pem")
        case .ecSEC1WithParameters: try f.run(["ecparam", "-name", "prime256v1", "-genkey"] + out)
        case .ecPKCS8: try f.run(topk8 + ["-nocrypt"])
        case .ecPKCS8EncryptedSHA256, .rsaPKCS8Encrypted, .ed25519PKCS8Encrypted:
            try f.run(topk8 + ["-v2", "aes-256-cbc"] + pass)
        case .ecPKCS8EncryptedSHA1: try f.run(topk8 + ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1"] + pass)
        case .ecPKCS8EncryptedAES128: try f.run(topk8 + ["-v2", "aes-128-cbc"] + pass)
        case .ecPKCS8EncryptedScrypt: try f.run(topk8 + ["-scrypt"] + pass)
        case .ecLegacyAES256: try f.run(["ec", "-in", "base.pem", "-aes256"] + out + pass)
        case .ecLegacyDES3: try f.run(["ec", "-in", "base.pem", "-des3"] + out + pass)
        case .rsaPKCS1: try f.run(["rsa", "-in", "base.pem", "-traditional"] + out)
        case .rsaPKCS1LegacyAES256: try f.run(["rsa", "-in", "base.pem", "-traditional", "-aes256"] + out + pass)
        }
    }
}

@Suite("Reading key files made by OpenSSL")
struct KeyFileReaderTests {
    @Test(arguments: OpenSSLForm.allCases)
    func readsEveryForm(_ form: OpenSSLForm) throws {
        let f = try OpenSSLFixtures()
        try form.make(f, passphrase: "fixture pass")
        let expectedID = try f.keyID(ofPrivateKey: "key.pem", passphrase: form.encrypted ? "fixture pass" : nil)
        let asked = Counter()
        let report = KeyFileReader.read(file: f.path("key.pem")) { request in
            asked.increment()
            #expect(request.role == "delegation")
            return request.attempt == 0 ? Passphrase("fixture pass") : nil
        }
        #expect(report.refusals.isEmpty, "\(report.refusals)")
        let entry = try #require(report.entries.first)
        #expect(report.entries.count == 1)
        #expect(entry.keyID == expectedID)
        #expect(entry.privateKey.algorithm == form.algorithm)
        #expect(entry.blockType == form.blockType)
        #expect(entry.wasEncrypted == form.encrypted)
        #expect(asked.value == (form.encrypted ? 1 : 0))
        #expect(entry.role == "delegation" && entry.gun == nil)
        if form == .ecSEC1WithParameters {
            #expect(report.notes.contains { $0.contains("EC PARAMETERS skipped") })
        }
        // The key really is the private half: a signature verifies under OpenSSL's public key.
        let message = Array("signed".utf8)
        let signature = try entry.privateKey.sign(message)
        let publicKey = try PublicKey(spkiDER: try f.read("key.pem.spki.der"))
        #expect(publicKey.isValidSignature(signature, for: message, method: form.algorithm.signatureMethod))
    }

    @Test(arguments: [OpenSSLForm.ecPKCS8EncryptedSHA256, .ecLegacyAES256, .rsaPKCS1LegacyAES256])
    func wrongPassphraseIsRefused(_ form: OpenSSLForm) throws {
        let f = try OpenSSLFixtures()
        try form.make(f, passphrase: "right one")
        let attempts = Counter()
        let report = KeyFileReader.read(file: f.path("key.pem")) { request in
            attempts.increment()
            return request.attempt < 3 ? Passphrase("wrong \(request.attempt)") : nil
        }
        #expect(report.entries.isEmpty)
        let refusal = try #require(report.refusals.first)
        #expect(refusal.error.code == .wrongPassphrase)
        #expect(refusal.blockIndex == 1)
        #expect(refusal.error.message.contains(f.path("key.pem")))
        #expect(refusal.error.message.contains("block 1"))
        #expect(refusal.error.recovery?.contains("TRUSTVAULT_IMPORT_PASSPHRASE") == true)
        #expect(attempts.value == 4, "three wrong answers, then the provider gives up")
    }

    @Test func retryWithTheRightPassphraseSucceeds() throws {
        let f = try OpenSSLFixtures()
        try OpenSSLForm.ecPKCS8EncryptedSHA256.make(f, passphrase: "second")
        let report = KeyFileReader.read(file: f.path("key.pem")) { request in
            Passphrase(request.attempt == 0 ? "first" : "second")
        }
        #expect(report.refusals.isEmpty)
        #expect(report.entries.count == 1)
    }

    @Test func missingPassphraseIsRefused() throws {
        let f = try OpenSSLFixtures()
        try OpenSSLForm.ecLegacyAES256.make(f, passphrase: "pw")
        let report = KeyFileReader.read(file: f.path("key.pem"), passphrase: noPassphrase)
        #expect(report.refusals.first?.error.code == .missingSecret)
    }

    @Test func otherCurvesAreUnsupported() throws {
        let f = try OpenSSLFixtures()
        try f.ecKey("p384.pem", curve: "secp384r1")
        try f.run(["pkcs8", "-topk8", "-nocrypt", "-in", "p384.pem", "-out", "p384-pkcs8.pem"])
        for name in ["p384.pem", "p384-pkcs8.pem"] {
            let report = KeyFileReader.read(file: f.path(name), passphrase: noPassphrase)
            let error = try #require(report.refusals.first?.error)
            #expect(error.code == .unsupported)
            #expect(error.message.contains("P-384"))
            #expect(error.message.contains(name))
        }
    }

    @Test func explicitCurveParametersAreUnsupportedWithAHint() throws {
        let f = try OpenSSLFixtures()
        try f.ecKey("base.pem")
        try f.run(["ec", "-in", "base.pem", "-param_enc", "explicit", "-out", "explicit.pem"])
        let error = try #require(KeyFileReader.read(file: f.path("explicit.pem"), passphrase: noPassphrase).refusals.first?.error)
        #expect(error.code == .unsupported)
        #expect(error.recovery?.contains("named_curve") == true)
    }

    @Test func smallRSAKeysAreUnsupported() throws {
        let f = try OpenSSLFixtures()
        try f.run(["genrsa", "-out", "small.pem", "1024"])
        let error = try #require(KeyFileReader.read(file: f.path("small.pem"), passphrase: noPassphrase).refusals.first?.error)
        #expect(error.code == .unsupported)
        #expect(error.message.contains("1024 bits"))
    }

    @Test func garbageTruncatedAndEmptyFilesAreRefused() throws {
        let f = try OpenSSLFixtures()
        try OpenSSLForm.ecPKCS8EncryptedSHA1.make(f, passphrase: "pw")
        let full = try f.read("key.pem")
        try f.write("half.pem", Array(full.prefix(full.count / 2)))
        // Keep BEGIN/END but drop body lines: the DER inside is cut short.
        let lines = String(decoding: full, as: UTF8.self).split(separator: "\n")
        try f.write("cut-body.pem", ([lines[0], lines[1]] + [lines[lines.count - 1]]).joined(separator: "\n") + "\n")
        try f.write("garbage.pem", randomGarbage(300))
        try f.write("text.pem", "this is not a key\n")
        try f.write("empty.pem", [])
        try f.write("der.der", [0x30, 0x82, 0x01, 0x00, 0x02])
        for name in ["half.pem", "cut-body.pem", "garbage.pem", "text.pem", "empty.pem", "der.der"] {
            let report = KeyFileReader.read(file: f.path(name), passphrase: fixedPassphrase("pw"))
            #expect(report.entries.isEmpty, "\(name)")
            let error = try #require(report.refusals.first?.error, "\(name)")
            #expect(error.code == .corruptData, "\(name): \(error)")
            #expect(error.message.contains(name), "\(name): \(error)")
            #expect(error.recovery != nil, "\(name): \(error)")
        }
        let der = KeyFileReader.read(file: f.path("der.der"), passphrase: noPassphrase)
        #expect(der.refusals.first?.error.recovery?.contains("openssl pkey -inform DER") == true)
    }

    @Test func oversizedFilesAreRefusedUnread() throws {
        let f = try OpenSSLFixtures()
        try f.write("huge.pem", [UInt8](repeating: 0x41, count: KeyFileReader.maximumFileSize + 1))
        let error = try #require(KeyFileReader.read(file: f.path("huge.pem"), passphrase: noPassphrase).refusals.first?.error)
        #expect(error.code == .corruptData && error.message.contains("too large"))
    }

    @Test func publicKeysAloneAreNotFound() throws {
        let f = try OpenSSLFixtures()
        try f.ecKey("k.pem")
        try f.run(["pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem"])
        let error = try #require(KeyFileReader.read(file: f.path("pub.pem"), passphrase: noPassphrase).refusals.first?.error)
        #expect(error.code == .notFound)
        #expect(error.message.contains("PUBLIC KEY"))
    }

    @Test func multiBlockBundleNamesEachRefusedBlock() throws {
        let f = try OpenSSLFixtures()
        try f.ecKey("a.pem")
        try f.ecKey("b.pem")
        try f.run(["pkcs8", "-topk8", "-in", "b.pem", "-v2", "aes-256-cbc", "-passout", "pass:pw", "-out", "b-enc.pem"])
        try f.shell("cat a.pem b-enc.pem a.pem > bundle.pem && printf -- '-----BEGIN X509 CRL-----\\nAAAA\\n-----END X509 CRL-----\\n' >> bundle.pem")
        let report = KeyFileReader.read(file: f.path("bundle.pem"), passphrase: fixedPassphrase("wrong"))
        #expect(report.entries.count == 2)
        #expect(report.refusals.map(\.blockIndex) == [2, 4])
        #expect(report.refusals[0].error.code == .wrongPassphrase)
        #expect(report.refusals[1].error.code == .unsupported)
        #expect(report.refusals[1].error.message.contains("X509 CRL"))
    }

    @Test func certificateBlockIsAttachedToItsKey() throws {
        let f = try OpenSSLFixtures()
        try f.ecKey("k.pem")
        try f.run(["req", "-new", "-x509", "-key", "k.pem", "-subj", "/CN=signer", "-days", "400", "-out", "c.pem"])
        try f.shell("cat c.pem k.pem > both.pem")
        let report = KeyFileReader.read(file: f.path("both.pem"), passphrase: noPassphrase)
        #expect(report.refusals.isEmpty)
        let entry = try #require(report.entries.first)
        #expect(entry.certificate?.commonName == "signer")
        let certDER = try PEM.parse(try f.read("c.pem"), source: "c.pem")[0].bytes
        #expect(entry.certificate?.derBytes == certDER)
    }

    @Test func notaryEd25519FormsAreRead() throws {
        let key = try PrivateKey.generate(.ed25519)
        let pub = key.publicKey.tufPublicBytes
        let raw = pub + key.exportSecret().withUnsafeBytes { Array($0) } + pub
        let text = PEM.encode(PEMBlock(type: "ED25519 PRIVATE KEY", headers: [PEMHeader("role", "targets/ci")], bytes: raw))
        let report = KeyFileReader.read(bytes: Array(text.utf8), source: "ed.pem", passphrase: noPassphrase)
        #expect(report.entries.first?.keyID == key.publicKey.keyID)
        #expect(report.entries.first?.role == "targets/ci")
        // notary's PKCS#8 (OID 1.3.6.1.4.1.11591.15.1) as a plain PRIVATE KEY block
        let pkcs8 = PEM.encode(PEMBlock(type: "PRIVATE KEY", bytes: try PrivateKeyDER.notaryPKCS8(key).withUnsafeBytes { Array($0) }))
        #expect(
            KeyFileReader.read(bytes: Array(pkcs8.utf8), source: "p", passphrase: noPassphrase).entries.first?.keyID
                == key.publicKey.keyID)
        // A damaged copy (the two public keys differ) is refused.
        var bad = raw
        bad[95] ^= 1
        let badText = PEM.encode(PEMBlock(type: "ED25519 PRIVATE KEY", bytes: bad))
        #expect(
            KeyFileReader.read(bytes: Array(badText.utf8), source: "b", passphrase: noPassphrase).refusals.first?.error.code
                == .corruptData)
    }

    @Test func standardPKCS8OutputIsReadByOpenSSL() throws {
        let f = try OpenSSLFixtures()
        for algorithm in KeyAlgorithm.allCases {
            let key = try PrivateKey.generate(algorithm)
            try f.write("std-\(algorithm).pem", try NotaryKeyFile.unencryptedPKCS8Text(for: key))
            #expect(try f.keyID(ofPrivateKey: "std-\(algorithm).pem") == key.publicKey.keyID, "\(algorithm)")
        }
    }
}

@Suite("notary's role and GUN rules on import")
struct ImportRuleTests {
    func resolve(_ headers: [(String, String)], role: String? = nil, gun: String? = nil) throws -> (String, String?, String?) {
        let block = PEMBlock(type: "PRIVATE KEY", headers: headers.map { PEMHeader($0.0, $0.1) }, bytes: [])
        let r = try KeyFileReader.resolveRoleAndGUN(block, defaults: KeyImportDefaults(role: role, gun: gun))
        return (r.role, r.gun, r.path)
    }

    @Test func headersWinOverFlags() throws {
        let r = try resolve([("role", "targets"), ("gun", "a/b")], role: "snapshot", gun: "c/d")
        #expect(r.0 == "targets" && r.1 == "a/b")
    }

    @Test func flagsFillMissingHeaders() throws {
        let r = try resolve([], role: "snapshot", gun: "c/d")
        #expect(r.0 == "snapshot" && r.1 == "c/d")
    }

    @Test func missingRoleBecomesDelegationAndDropsTheGUN() throws {
        let r = try resolve([("gun", "a/b")])
        #expect(r.0 == "delegation" && r.1 == nil)
    }

    @Test func rootAndDelegationKeysLoseTheirGUN() throws {
        #expect(try resolve([("role", "root"), ("gun", "a/b")]).1 == nil)
        #expect(try resolve([("role", "targets/releases")], gun: "a/b").1 == nil)
        #expect(try resolve([("role", "alice")], gun: "a/b").1 == nil)
    }

    @Test func repositoryKeysNeedAGUN() throws {
        for role in ["targets", "snapshot", "timestamp"] {
            let error = try #require(throws: TrustVaultError.self) { try resolve([("role", role)]) }
            #expect(error.code == .invalidArgument)
            #expect(error.recovery?.contains("--gun") == true)
        }
    }

    @Test func legacyPathGivesTheGUN() throws {
        let r = try resolve([("role", "targets"), ("path", "tuf_keys/example.com/legacy/0123abcd")])
        #expect(r.1 == "example.com/legacy" && r.2 == "0123abcd")
        let plain = try resolve([("role", "root"), ("path", "root_keys/0123_root")])
        #expect(plain.2 == "0123_root")
    }
}

/// A thread-safe counter for callbacks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

func randomGarbage(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255) } }
