import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// A fresh vault with the interactive KDF profile, removed afterwards.
final class TestVault {
    let dir = TemporaryDirectory("vault-test")
    let vault: Vault
    var path: String { vault.path }

    init() throws {
        vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
    }

    func fingerprint() -> String { treeFingerprint(path, excluding: [".lock"]) }
}

@Suite("Vault key lifecycle")
struct VaultLifecycleTests {
    @Test(arguments: KeyAlgorithm.allCases)
    func generateListUnlockSign(_ algorithm: KeyAlgorithm) throws {
        let t = try TestVault()
        let key = try PrivateKey.generate(algorithm)
        let record = try t.vault.add(key, role: "targets", gun: "example.com/app", passphrase: Passphrase("targets-pass"))
        #expect(record.id == key.publicKey.keyID)
        #expect(record.gun == "example.com/app")
        let listed = try t.vault.records()
        #expect(listed == [record])
        let unlocked = try t.vault.unlock(record, passphrase: Passphrase("targets-pass"))
        let message = Array("signed metadata".utf8)
        let signature = try unlocked.sign(message)
        #expect(record.publicKey.isValidSignature(signature, for: message, method: algorithm.signatureMethod))
    }

    @Test func reopenedVaultReadsTheSameRecords() throws {
        let t = try TestVault()
        let r = try t.vault.add(
            PrivateKey.generate(.ecdsa), role: "targets/releases", gun: "ignored/for/delegations",
            passphrase: Passphrase("delegation"))
        #expect(r.gun == nil, "notary drops the GUN of delegation keys")
        let again = try Vault.open(at: t.path)
        #expect(again.profile == .interactive)
        #expect(try again.record(matching: String(r.id.prefix(10))) == r)
    }

    @Test func rootKeysUseAtLeastTheModerateProfile() throws {
        let t = try TestVault()
        let r = try t.vault.add(PrivateKey.generate(.ecdsa), role: "root", gun: nil, passphrase: Passphrase("root-pass"))
        let doc = try JSONValue(parsing: AtomicFile.read(t.vault.recordPath(r.id)))
        #expect(doc["sealed"]?["kdf"]?["memlimit"]?.intValue == Int64(KDFProfile.moderate.memLimit))
        #expect(doc["sealed"]?["kdf"]?["opslimit"]?.intValue == Int64(KDFProfile.moderate.opsLimit))
    }

    @Test func changePassphraseThenRemove() throws {
        let t = try TestVault()
        let r = try t.vault.add(PrivateKey.generate(.ed25519), role: "delegation", gun: nil, passphrase: Passphrase("old-pass"))
        try t.vault.changePassphrase(r, from: Passphrase("old-pass"), to: Passphrase("new-pass"))
        #expect(throws: TrustVaultError.wrongPassphrase("")) { _ = try t.vault.unlock(r, passphrase: Passphrase("old-pass")) }
        _ = try t.vault.unlock(r, passphrase: Passphrase("new-pass"))
        try t.vault.remove(r)
        #expect(try t.vault.records().isEmpty)
        #expect(throws: TrustVaultError.notFound("")) { _ = try t.vault.record(matching: r.id) }
    }

    @Test func filesAre0600InA0700Directory() throws {
        let t = try TestVault()
        let r = try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "a/b", passphrase: Passphrase("p"))
        func mode(_ p: String) throws -> Int {
            try #require((FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as? NSNumber)?.intValue)
        }
        #expect(try mode(t.path) == 0o700)
        #expect(try mode(t.path + "/keys") == 0o700)
        #expect(try mode(t.path + "/vault.json") == 0o600)
        #expect(try mode(t.vault.recordPath(r.id)) == 0o600)
        #expect(try mode(t.path + "/audit.log") == 0o600)
    }

    @Test func auditLogNamesActionsButNoSecrets() throws {
        let t = try TestVault()
        let r = try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "a/b", passphrase: Passphrase("sekrit-pass"))
        let log = String(decoding: try AtomicFile.read(t.path + "/audit.log"), as: UTF8.self)
        #expect(log.contains("\"action\":\"add\""))
        #expect(log.contains(r.id))
        #expect(!log.contains("sekrit"))
    }
}

@Suite("Vault errors leave the vault unchanged")
struct VaultErrorTests {
    @Test func existingVaultIsRefused() throws {
        let t = try TestVault()
        let before = t.fingerprint()
        #expect(throws: TrustVaultError(.alreadyExists, "")) { try Vault.create(at: t.path, profile: .moderate) }
        #expect(t.fingerprint() == before)
    }

    @Test func missingVaultIsNotFound() throws {
        let dir = TemporaryDirectory()
        let e = try #require(throws: TrustVaultError.self) { try Vault.open(at: dir.sub("nope")) }
        #expect(e.code == .notFound)
        #expect(e.recovery?.contains("trustvault init") == true)
    }

    @Test func wrongPassphraseAndDuplicateAndUnknownKey() throws {
        let t = try TestVault()
        let key = try PrivateKey.generate(.ecdsa)
        let r = try t.vault.add(key, role: "targets", gun: "a/b", passphrase: Passphrase("right-pass"))
        let before = t.fingerprint()
        #expect(throws: TrustVaultError.wrongPassphrase("")) { _ = try t.vault.unlock(r, passphrase: Passphrase("wrong-pass")) }
        #expect(throws: TrustVaultError.wrongPassphrase("")) {
            try t.vault.changePassphrase(r, from: Passphrase("wrong-pass"), to: Passphrase("whatever1"))
        }
        #expect(throws: TrustVaultError(.alreadyExists, "")) {
            try t.vault.add(key, role: "targets", gun: "a/b", passphrase: Passphrase("x"))
        }
        #expect(throws: TrustVaultError.notFound("")) { _ = try t.vault.record(matching: "abcdef") }
        #expect(throws: TrustVaultError.invalid("")) { _ = try t.vault.record(matching: "not-hex!") }
        #expect(throws: TrustVaultError.invalid("")) {
            try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: nil, passphrase: Passphrase("x"))
        }
        #expect(throws: TrustVaultError.invalid("")) {
            try t.vault.add(PrivateKey.generate(.ecdsa), role: "Bad Role", gun: nil, passphrase: Passphrase("x"))
        }
        #expect(t.fingerprint().replacingOccurrences(of: "\n", with: "").count > 0)
        // The audit log is the only file an error may not touch either.
        #expect(t.fingerprint() == before)
    }

    @Test func groupOrWorldAccessIsRefusedWithTheFix() throws {
        let t = try TestVault()
        let r = try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "a/b", passphrase: Passphrase("p"))
        chmod(t.vault.recordPath(r.id), 0o644)
        let e = try #require(throws: TrustVaultError.self) { try Vault.open(at: t.path) }
        #expect(e.code == .insecurePermissions)
        #expect(e.recovery?.contains("chmod -R go-rwx") == true)
        chmod(t.vault.recordPath(r.id), 0o600)
        chmod(t.path, 0o750)
        #expect(throws: TrustVaultError(.insecurePermissions, "")) { try Vault.open(at: t.path) }
        chmod(t.path, 0o700)
        _ = try Vault.open(at: t.path)
    }
}

/// Each part of a stored key record that tampering could touch.
enum RecordPart: String, CaseIterable, Sendable {
    case format, version, id, role, gun, algorithm, publicKey, certificate, location, created
    case opslimit, memlimit, salt, nonce, ciphertext, cipher, kdfAlgorithm, truncated, empty, garbage
}

@Suite("Tampering with every part of a key record")
struct TamperTests {
    static func tamper(_ part: RecordPart, _ bytes: [UInt8]) throws -> [UInt8] {
        var doc = try JSONValue(parsing: bytes)
        func flipB64(_ s: String) -> String {
            var d = Array(Data(base64Encoded: s) ?? Data())
            d[d.count / 2] ^= 0x01
            return Data(d).base64EncodedString()
        }
        switch part {
        case .format: doc["format"] = .string("trustvault-other")
        case .version: doc["version"] = .integer(2)
        case .id: doc["public"]?["id"] = .string(String(repeating: "a", count: 64))
        case .role: doc["public"]?["role"] = .string("root")
        case .gun: doc["public"]?["gun"] = .string("evil.example/app")
        case .algorithm: doc["public"]?["algorithm"] = .string("ed25519")
        case .publicKey:
            let v = flipB64(doc["public"]?["public_key"]?.stringValue ?? "")
            doc["public"]?["public_key"] = .string(v)
        case .certificate: doc["public"]?["certificate"] = .string("-----BEGIN CERTIFICATE-----\n")
        case .location: doc["public"]?["location"] = .obj(["type": .string("card"), "serial": .string("1"), "slot": .string("9c")])
        case .created: doc["public"]?["created"] = .string("2001-01-01T00:00:00Z")
        case .opslimit: doc["sealed"]?["kdf"]?["opslimit"] = .integer(3)
        case .memlimit: doc["sealed"]?["kdf"]?["memlimit"] = .integer(1 << 25)
        case .salt:
            let v = flipB64(doc["sealed"]?["kdf"]?["salt"]?.stringValue ?? "")
            doc["sealed"]?["kdf"]?["salt"] = .string(v)
        case .nonce:
            let v = flipB64(doc["sealed"]?["nonce"]?.stringValue ?? "")
            doc["sealed"]?["nonce"] = .string(v)
        case .ciphertext:
            let v = flipB64(doc["sealed"]?["ciphertext"]?.stringValue ?? "")
            doc["sealed"]?["ciphertext"] = .string(v)
        case .cipher: doc["sealed"]?["cipher"] = .string("aes256gcm")
        case .kdfAlgorithm: doc["sealed"]?["kdf"]?["algorithm"] = .string("scrypt")
        case .truncated: return Array(bytes.prefix(bytes.count / 2))
        case .empty: return []
        case .garbage: return Sodium.randomBytes(300)
        }
        return doc.canonicalBytes
    }

    @Test(arguments: RecordPart.allCases)
    func tamperedRecordNeverUnlocks(_ part: RecordPart) throws {
        let t = try TestVault()
        let r = try t.vault.add(
            PrivateKey.generate(.ecdsa), role: "targets", gun: "example.com/app",
            passphrase: Passphrase("the-passphrase"))
        let file = t.vault.recordPath(r.id)
        try AtomicFile.write(Self.tamper(part, AtomicFile.read(file)), to: file)
        let error = try #require(throws: TrustVaultError.self) {
            let vault = try Vault.open(at: t.path)
            let stored = try vault.record(matching: r.id)
            _ = try vault.unlock(stored, passphrase: Passphrase("the-passphrase"))
        }
        #expect([.corruptData, .unsupported, .wrongPassphrase, .invalidArgument].contains(error.code), "\(part): \(error)")
        #expect(error.message.contains(r.id.prefix(12)) || error.message.contains("keys/"), "the message names the key or file: \(error.message)")
    }

    @Test func aRecordCopiedOverAnotherKeyIsRefused() throws {
        let t = try TestVault()
        let a = try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "x/y", passphrase: Passphrase("pass-a"))
        let b = try t.vault.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "x/y", passphrase: Passphrase("pass-a"))
        try AtomicFile.write(AtomicFile.read(t.vault.recordPath(a.id)), to: t.vault.recordPath(b.id))
        #expect(throws: TrustVaultError.corrupt("")) { _ = try t.vault.records() }
    }
}

@Suite("Secret sources")
struct SecretSourceTests {
    @Test func rolePassphrasesComeFromTheirVariables() throws {
        let s = SecretSource(environment: [
            "TRUSTVAULT_ROOT_PASSPHRASE": "r", "TRUSTVAULT_DELEGATION_PASSPHRASE": "d",
            "NOTARY_TARGETS_PASSPHRASE": "nt", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "docker",
        ])
        #expect(try s.secret(for: .key(role: "root")).withUnsafeBytes { Array($0) } == Array("r".utf8))
        #expect(try s.secret(for: .key(role: "targets/releases")).withUnsafeBytes { Array($0) } == Array("d".utf8))
        #expect(try s.secret(for: .key(role: "alice")).withUnsafeBytes { Array($0) } == Array("d".utf8))
        #expect(try s.secret(for: .importFile(role: "targets", file: "f")).withUnsafeBytes { Array($0) } == Array("nt".utf8))
        #expect(try s.secret(for: .importFile(role: "ci", file: "f")).withUnsafeBytes { Array($0) } == Array("docker".utf8))
    }

    @Test func noVariableAndNoTerminalIsAClearError() {
        let e = #expect(throws: TrustVaultError.self) {
            _ = try SecretSource(environment: [:]).secret(for: .key(role: "targets"))
        }
        #expect(e?.code == .missingSecret)
        #expect(e?.message.contains("TRUSTVAULT_TARGETS_PASSPHRASE") == true)
        #expect(throws: TrustVaultError(.missingSecret, "")) {
            _ = try SecretSource(environment: ["TRUSTVAULT_BACKUP_PASSPHRASE": ""]).secret(for: .backup)
        }
    }
}
