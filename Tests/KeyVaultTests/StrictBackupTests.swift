import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// Backups sealed with the right key but holding more (or other) than a vault: restore and
/// verify accept exactly the files a vault consists of, with mode 600.
@Suite("Strict backups: exactly the files of a vault")
struct StrictBackupTests {
    /// Seals `entries` as a passphrase-less (random-key) backup, as an attacker holding the
    /// backup key could; returns the file and the key's shares.
    func seal(_ f: BackupFixture, _ entries: [BackupEntry], name: String) throws -> (String, [String]) {
        // Reuse a real share backup's header and key, so only the contents differ.
        let (file, shares) = try f.shareBackup(2, 3, name: name + ".orig")
        let header = try Backup.header(of: file)
        let key = try Backup.backupKey(header: header, unlock: .shares(Array(shares.prefix(2))), file: file)
        let out = f.dir.sub(name)
        try Data(BackupFile.seal(entries: entries, header: header, key: key)).write(to: URL(fileURLWithPath: out))
        return (out, shares)
    }

    @Test func extraFilesJunkPathsAndOtherModesAreRefused() throws {
        let f = try BackupFixture()
        let good = try f.vault.withLock { () throws(TrustVaultError) in try Backup.collect(f.vault) }
        let record = try #require(good.first { $0.path.hasPrefix("keys/") })
        let cases: [(String, [BackupEntry])] = [
            ("extra", good + [BackupEntry(path: "notes.txt", mode: 0o600, data: Array("hi".utf8))]),
            ("nested", good + [BackupEntry(path: "keys/sub/x.json", mode: 0o600, data: record.data)]),
            ("badname", good + [BackupEntry(path: "keys/ABC.json", mode: 0o600, data: record.data)]),
            ("setuid", good.map { $0.path == record.path ? BackupEntry(path: $0.path, mode: 0o4700, data: $0.data) : $0 }),
            ("junk", good + (0..<50).map { BackupEntry(path: "junk/\($0)", mode: 0o600, data: []) }),
        ]
        for (name, entries) in cases {
            let (file, shares) = try seal(f, entries, name: name)
            let target = f.dir.sub("restored-" + name)
            let error = #expect(throws: TrustVaultError.self) {
                try Backup.restore(file, unlock: .shares(Array(shares.prefix(2))), into: target)
            }
            #expect(error?.code == .corruptData, "\(name): \(String(describing: error))")
            #expect(error?.message.contains(file) == true)
            #expect(f.parentHasNoLeftovers(target), "\(name)")
            #expect(throws: TrustVaultError.self) { try Backup.verify(file, unlock: .shares(Array(shares.prefix(2)))) }
        }
        // The unaltered contents, sealed the same way, restore.
        let (file, shares) = try seal(f, good, name: "good")
        let report = try Backup.restore(file, unlock: .shares(Array(shares.prefix(2))), into: f.dir.sub("restored-good"))
        #expect(report.added.count == f.records.count)
    }
}

@Suite("Counts from input are bounded: keys per import")
struct ImportCountTests {
    /// 257 unencrypted keys in one file would mean 257 Argon2id sealings: refused before any.
    @Test func tooManyNewKeysInOneImportAreRefusedBeforeSealing() throws {
        let dir = TemporaryDirectory("import-count")
        let vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
        var text = ""
        for _ in 0...Vault.maximumKeysPerImport { text += try NotaryKeyFile.unencryptedPKCS8Text(for: PrivateKey.generate(.ed25519)) }
        try text.write(toFile: dir.sub("many.pem"), atomically: true, encoding: .utf8)
        let before = treeFingerprint(vault.path, excluding: [".lock"])
        let start = Date()
        let error = #expect(throws: TrustVaultError.self) {
            try vault.importKeys(
                from: [dir.sub("many.pem")], defaults: KeyImportDefaults(role: "targets/ci"),
                secrets: SecretSource(environment: ["TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-pass"]))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("many.pem") == true)
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(treeFingerprint(vault.path, excluding: [".lock"]) == before)
    }
}
