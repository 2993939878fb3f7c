import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// Writes PEM text into a test directory.
private func write(_ text: String, _ dir: TemporaryDirectory, _ name: String) throws -> String {
    let path = dir.sub(name)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A prompter that answers from a list and records the prompts.
final class ScriptedPrompter: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [String]
    private(set) var prompts: [String] = []

    init(_ answers: [String]) { self.answers = answers }

    var prompter: SecretSource.Prompter {
        { prompt, _, _ throws(TrustVaultError) in
            try self.next(prompt)
        }
    }

    private func next(_ prompt: String) throws(TrustVaultError) -> SecretBytes {
        let answer: String? = lock.withLock {
            prompts.append(prompt)
            return answers.isEmpty ? nil : answers.removeFirst()
        }
        guard let answer else { throw TrustVaultError(.missingSecret, "test prompter ran out of answers") }
        return SecretBytes(copying: Array(answer.utf8))
    }
}

@Suite("Vault import and export")
struct KeyImportExportTests {
    let sealing = [
        "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-pw", "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-pw",
        "TRUSTVAULT_ROOT_PASSPHRASE": "root-pw-1",
    ]

    func encryptedFile(
        _ key: PrivateKey, role: String, gun: String? = nil, pass: String, in dir: TemporaryDirectory,
        _ name: String
    ) throws -> String {
        try write(
            try NotaryKeyFile.text(for: key, role: role, gun: gun, includePath: false, passphrase: Passphrase(pass)),
            dir, name)
    }

    @Test func importsSealsUnderTheRolePassphraseAndKeepsRoleAndGUN() throws {
        let t = try TestVault()
        let files = TemporaryDirectory("import-src")
        let targets = try PrivateKey.generate(.ecdsa)
        let signer = try PrivateKey.generate(.ed25519)
        let a = try encryptedFile(targets, role: "targets", gun: "example.com/app", pass: "in", in: files, "a.key")
        let b = try encryptedFile(signer, role: "alice", pass: "in", in: files, "b.key")
        var env = sealing
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "in"
        let outcome = try t.vault.importKeys(from: [a, b], secrets: SecretSource(environment: env))
        #expect(outcome.succeeded)
        #expect(Set(outcome.imported.map(\.id)) == [targets.publicKey.keyID, signer.publicKey.keyID])
        let records = try t.vault.records()
        let targetsRecord = try #require(records.first { $0.role == "targets" })
        #expect(targetsRecord.gun == "example.com/app")
        _ = try t.vault.unlock(targetsRecord, passphrase: Passphrase("targets-pw"))
        let aliceRecord = try #require(records.first { $0.role == "alice" })
        _ = try t.vault.unlock(aliceRecord, passphrase: Passphrase("delegation-pw"))
        #expect(throws: TrustVaultError.wrongPassphrase("")) { try t.vault.unlock(aliceRecord, passphrase: Passphrase("in")) }
    }

    @Test func anyRefusalImportsNothing() throws {
        let t = try TestVault()
        let files = TemporaryDirectory("import-src")
        let good = try encryptedFile(PrivateKey.generate(.ecdsa), role: "alice", pass: "in", in: files, "good.key")
        let other = try encryptedFile(PrivateKey.generate(.ecdsa), role: "bob", pass: "other", in: files, "other.key")
        let timestamp = try encryptedFile(PrivateKey.generate(.ecdsa), role: "timestamp", gun: "a/b", pass: "in", in: files, "ts.key")
        var env = sealing
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "in"
        let before = t.fingerprint()
        let outcome = try t.vault.importKeys(from: [good, other, timestamp], secrets: SecretSource(environment: env))
        #expect(!outcome.succeeded)
        #expect(outcome.imported.isEmpty)
        #expect(outcome.keysRead == 2)
        #expect(outcome.refusals.map(\.error.code) == [.wrongPassphrase, .invalidArgument])
        #expect(outcome.refusals[1].error.message.contains("ts.key block 1"))
        #expect(t.fingerprint() == before)
    }

    @Test func keysAlreadyInTheVaultAreLeftAlone() throws {
        let t = try TestVault()
        let key = try PrivateKey.generate(.ecdsa)
        let existing = try t.vault.add(key, role: "alice", gun: nil, passphrase: Passphrase("delegation-pw"))
        let files = TemporaryDirectory("import-src")
        let file = try encryptedFile(key, role: "bob", pass: "in", in: files, "k.key")
        let before = t.fingerprint()
        var env = sealing
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "in"
        let outcome = try t.vault.importKeys(from: [file], secrets: SecretSource(environment: env))
        #expect(outcome.succeeded && outcome.imported.isEmpty)
        #expect(outcome.alreadyPresent == [existing])
        #expect(outcome.notes.contains { $0.contains("already in the vault as a alice key") })
        #expect(t.fingerprint() == before)
    }

    @Test func notaryAndDockerVariablesAreFallbacksByRole() throws {
        let t = try TestVault()
        let files = TemporaryDirectory("import-src")
        let root = try encryptedFile(PrivateKey.generate(.ecdsa), role: "root", pass: "docker-root", in: files, "r.key")
        let targets = try encryptedFile(
            PrivateKey.generate(.ecdsa), role: "targets", gun: "a/b", pass: "notary-targets",
            in: files, "t.key")
        let signer = try encryptedFile(PrivateKey.generate(.ecdsa), role: "ci", pass: "docker-repo", in: files, "s.key")
        var env = sealing
        env["DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"] = "docker-root"
        env["NOTARY_TARGETS_PASSPHRASE"] = "notary-targets"
        env["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"] = "docker-repo"
        let outcome = try t.vault.importKeys(from: [root, targets, signer], secrets: SecretSource(environment: env))
        #expect(outcome.succeeded, "\(outcome.refusals)")
        #expect(outcome.imported.count == 3)
    }

    @Test func promptsAreRetriedAndTheLastPassphraseIsReused() throws {
        let t = try TestVault()
        let files = TemporaryDirectory("import-src")
        let a = try encryptedFile(PrivateKey.generate(.ecdsa), role: "alice", pass: "typed", in: files, "a.key")
        let b = try encryptedFile(PrivateKey.generate(.ecdsa), role: "alice", pass: "typed", in: files, "b.key")
        // a typo, then the right one; the second file needs no prompt; then the sealing passphrase.
        let script = ScriptedPrompter(["typo", "typed", "sealing passphrase"])
        let outcome = try t.vault.importKeys(from: [a, b], secrets: SecretSource(environment: [:], prompter: script.prompter))
        #expect(outcome.succeeded, "\(outcome.refusals)")
        #expect(outcome.imported.count == 2)
        #expect(script.prompts.count == 3)
        #expect(script.prompts[0].contains("a.key"))
        #expect(script.prompts[2].contains("alice key"))
    }

    @Test func exportWritesNotaryFilesThatReadBackAndNeverOverwrites() throws {
        let t = try TestVault()
        let key = try PrivateKey.generate(.ecdsa)
        let record = try t.vault.add(key, role: "targets", gun: "example.com/app", passphrase: Passphrase("targets-pw"))
        let out = TemporaryDirectory("export")
        let secrets = SecretSource(environment: ["TRUSTVAULT_TARGETS_PASSPHRASE": "targets-pw", "TRUSTVAULT_EXPORT_PASSPHRASE": "export-pw"])
        let files = try t.vault.exportNotary([record], to: out.sub("bundle.pem"), secrets: secrets)
        #expect(files == [out.sub("bundle.pem")])
        let report = KeyFileReader.read(file: files[0]) { r in r.attempt == 0 ? Passphrase("export-pw") : nil }
        #expect(report.entries.first?.keyID == record.id)
        #expect(report.entries.first?.pathHeader == record.id)
        #expect(report.entries.first?.gun == "example.com/app")
        let dirFiles = try t.vault.exportNotary([record], to: out.sub("frag") + "/", secrets: secrets)
        #expect(dirFiles == [out.sub("frag/private/\(record.id).key")])
        #expect(throws: TrustVaultError(.alreadyExists, "")) {
            try t.vault.exportNotary([record], to: out.sub("frag"), secrets: secrets)
        }
        #expect(throws: TrustVaultError(.alreadyExists, "")) {
            try t.vault.exportNotary([record], to: out.sub("bundle.pem"), secrets: secrets)
        }
        let wrong = SecretSource(environment: ["TRUSTVAULT_TARGETS_PASSPHRASE": "bad", "TRUSTVAULT_EXPORT_PASSPHRASE": "export-pw"])
        #expect(throws: TrustVaultError.wrongPassphrase("")) {
            try t.vault.exportNotary([record], to: out.sub("other.pem"), secrets: wrong)
        }
        #expect(!FileManager.default.fileExists(atPath: out.sub("other.pem")))
    }
}
