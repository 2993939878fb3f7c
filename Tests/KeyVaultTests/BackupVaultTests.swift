import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// A source vault with a root, a targets and a delegation key (interactive KDF) and a card key record.
final class BackupFixture {
    let dir = TemporaryDirectory("backup-test")
    let vault: Vault
    let passphrases = ["root": "root-pass-1", "delegation": "deleg-pass-0", "targets": "targets-pass-2", "targets/releases": "deleg-pass-3"]
    var records: [KeyRecord] = []

    /// `withRoot` adds a vault root key, sealed with at least the moderate profile (slow): only
    /// the full round-trip test needs it; the others use a delegation key in its place.
    init(withRoot: Bool = false) throws {
        vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
        records.append(
            try vault.add(
                PrivateKey.generate(.ecdsa), role: withRoot ? "root" : "delegation", gun: nil,
                passphrase: Passphrase(passphrases[withRoot ? "root" : "delegation"]!)))
        records.append(try vault.add(PrivateKey.generate(.ed25519), role: "targets", gun: "example.com/app", passphrase: Passphrase(passphrases["targets"]!)))
        records.append(try vault.add(PrivateKey.generate(.ecdsa), role: "targets/releases", gun: nil, passphrase: Passphrase(passphrases["targets/releases"]!)))
        let cardKey = try PrivateKey.generate(.ecdsa)
        records.append(try vault.addCardKey(publicKey: cardKey.publicKey, role: "root", gun: nil, certificatePEM: nil, serial: "12345678", slot: "9c"))
    }

    var ids: [String] { records.map(\.id).sorted() }

    func shareBackup(_ k: Int, _ n: Int, name: String = "vault.tvbackup") throws -> (file: String, shares: [String]) {
        let created = try Backup.create(of: vault, to: dir.sub(name), protection: .shares(threshold: k, count: n, directory: dir.sub("shares-\(name)")))
        return (created.contents.file, created.shareFiles)
    }

    /// The parent of restore targets must be free of vaults and staging directories after a failure.
    func parentHasNoLeftovers(_ target: String) -> Bool {
        let parent = AtomicFile.parent(of: target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return !names.contains(AtomicFile.fileName(of: target)) && !names.contains { $0.hasPrefix(Backup.stagingPrefix) }
    }
}

@Suite("Backup and restore of a vault")
struct BackupVaultTests {
    @Test func sharesBackupRestoresIdenticalKeysThatSign() throws {
        let f = try BackupFixture(withRoot: true)
        let (file, shares) = try f.shareBackup(3, 5)
        #expect(shares.count == 5)
        for path in shares + [file] {
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600, "\(path)")
        }
        let target = f.dir.sub("restored/vault")
        let report = try Backup.restore(file, unlock: .shares([shares[4], shares[1], shares[2]]), into: target)
        #expect(report.createdVault)
        let restored = try Vault.open(at: target)
        #expect(try restored.records().map(\.id).sorted() == f.ids)
        #expect(try restored.records() == (try f.vault.records()))
        // Key files are byte-identical to the source vault's.
        #expect(treeFingerprint(target + "/keys") == treeFingerprint(f.vault.path + "/keys"))
        for record in try restored.records() where record.location == .vault {
            let key = try restored.unlock(record, passphrase: Passphrase(f.passphrases[record.role]!))
            let message = Array("restored \(record.role)".utf8)
            let signature = try key.sign(message)
            #expect(record.publicKey.isValidSignature(signature, for: message, method: record.algorithm.signatureMethod))
        }
        // The card record came back with its serial and slot.
        #expect(try restored.records().contains { $0.location == .card(serial: "12345678", slot: "9c") })
    }

    @Test func passphraseBackupRoundTripAndWrongPassphrase() throws {
        let f = try BackupFixture()
        let file = f.dir.sub("p.tvbackup")
        let created = try Backup.create(of: f.vault, to: file, protection: .passphrase(Passphrase("backup passphrase"), profile: .interactive))
        #expect(created.shareFiles.isEmpty)
        let target = f.dir.sub("r")
        let error = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .passphrase(Passphrase("not it")), into: target)
        }
        #expect(error.code == .wrongPassphrase)
        #expect(error.message.contains(file))
        #expect(f.parentHasNoLeftovers(target))
        #expect(throws: TrustVaultError.self) { try Backup.restore(file, unlock: .shares([]), into: target) }
        let contents = try Backup.verify(file, unlock: .passphrase(Passphrase("backup passphrase")))
        #expect(contents.keys.map(\.id).sorted() == f.ids)
        #expect(contents.hasAuditLog)
        _ = try Backup.restore(file, unlock: .passphrase(Passphrase("backup passphrase")), into: target)
        #expect(try Vault.open(at: target).records().map(\.id).sorted() == f.ids)
    }

    @Test func truncatedBackupIsRefusedWithoutAVault() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3)
        let bytes = try AtomicFile.read(file)
        for cut in [1, 14, 100, bytes.count / 2, bytes.count - 17, bytes.count - 1] {
            let bad = f.dir.sub("cut-\(cut)")
            try AtomicFile.create(Array(bytes.prefix(cut)), at: bad)
            let target = f.dir.sub("t-\(cut)")
            let error = try #require(throws: TrustVaultError.self) {
                try Backup.restore(bad, unlock: .shares(Array(shares.prefix(2))), into: target)
            }
            #expect(error.code == .corruptData, "cut \(cut): \(error)")
            #expect(error.message.contains(bad))
            #expect(f.parentHasNoLeftovers(target))
        }
    }

    /// Flipped bytes anywhere (sampled: all header bytes, then every 7th byte) are refused.
    @Test func flippedBytesAreRefusedWithoutAVault() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3)
        let bytes = try AtomicFile.read(file)
        let headerEnd = try BackupFile.parseHeader(bytes, file: file).streamStart + BackupFile.streamHeaderBytes
        let positions = Array(0..<headerEnd) + Array(stride(from: headerEnd, to: bytes.count, by: 7)) + [bytes.count - 1]
        let target = f.dir.sub("flip-target")
        for position in positions {
            var bad = bytes
            bad[position] ^= 0x20
            let badFile = f.dir.sub("flip")
            try AtomicFile.write(bad, to: badFile)
            #expect(throws: TrustVaultError.self, "flip at \(position)") {
                try Backup.restore(badFile, unlock: .shares(Array(shares.prefix(2))), into: target)
            }
        }
        #expect(f.parentHasNoLeftovers(target))
    }

    @Test func tooFewSharesSayHowManyMore() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(3, 5)
        let target = f.dir.sub("t")
        let error = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .shares([shares[0]]), into: target)
        }
        #expect(error.message.contains("needs 3 of its 5 shares; 1 given, 2 more needed"))
        let none = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .passphrase(Passphrase("x")), into: target)
        }
        #expect(none.code == .missingSecret)
        #expect(f.parentHasNoLeftovers(target))
    }

    @Test func damagedShareIsNamedByFileAndLine() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3)
        var text = String(decoding: try AtomicFile.read(shares[1]), as: UTF8.self)
        // Retype line 4 with one wrong digit.
        let line4 = try #require(text.split(separator: "\n").first { $0.hasPrefix(" 4: ") })
        var chars = Array(line4)
        chars[5] = chars[5] == "f" ? "e" : "f"
        text = text.replacingOccurrences(of: String(line4), with: String(chars))
        let damaged = f.dir.sub("damaged-share.txt")
        try AtomicFile.create(Array(text.utf8), at: damaged)
        let target = f.dir.sub("t")
        let error = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .shares([shares[0], damaged]), into: target)
        }
        #expect(error.code == .corruptData)
        #expect(error.message.contains(damaged))
        #expect(error.message.contains("share line 4"))
        #expect(f.parentHasNoLeftovers(target))
    }

    @Test func sharesFromAnotherBackupAreNamed() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3, name: "one.tvbackup")
        let (_, otherShares) = try f.shareBackup(2, 3, name: "two.tvbackup")
        let target = f.dir.sub("t")
        let error = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .shares([shares[0], otherShares[1]]), into: target)
        }
        #expect(error.message.contains(otherShares[1]))
        #expect(error.message.contains("belongs to backup"))
        #expect(f.parentHasNoLeftovers(target))
        // The same share twice is not two shares.
        #expect(throws: TrustVaultError.self) { try Backup.verify(file, unlock: .shares([shares[0], shares[0]])) }
    }

    @Test func mergeAddsMissingKeysAndNeverOverwrites() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 2)
        // A second vault that already has one of the keys (under a changed passphrase) and a key of its own.
        let other = try Vault.create(at: f.dir.sub("other"), profile: .interactive)
        let own = try other.add(PrivateKey.generate(.ecdsa), role: "targets", gun: "other.example/app", passphrase: Passphrase("own"))
        let restoredFirst = try Backup.restore(file, unlock: .shares(shares), into: f.dir.sub("tmp-full"))
        _ = restoredFirst
        let shared = f.records[0]
        let sharedBytes = try AtomicFile.read(f.dir.sub("tmp-full") + "/keys/\(shared.id).json")
        try AtomicFile.create(sharedBytes, at: other.path + "/keys/\(shared.id).json")
        try other.changePassphrase(shared, from: Passphrase(f.passphrases["delegation"]!), to: Passphrase("changed"))
        let changedBytes = try AtomicFile.read(other.path + "/keys/\(shared.id).json")
        let vaultJSON = try AtomicFile.read(other.path + "/vault.json")

        let report = try Backup.restore(file, unlock: .shares(shares), into: other.path)
        #expect(!report.createdVault)
        #expect(Set(report.added.map(\.id)) == Set(f.ids).subtracting([shared.id]))
        #expect(report.keptExisting.contains("keys/\(shared.id).json"))
        // The vault's own version of the shared key and its settings are untouched.
        #expect(try AtomicFile.read(other.path + "/keys/\(shared.id).json") == changedBytes)
        #expect(try AtomicFile.read(other.path + "/vault.json") == vaultJSON)
        #expect(try other.unlock(shared, passphrase: Passphrase("changed")).publicKey == shared.publicKey)
        #expect(Set(try other.records().map(\.id)) == Set(f.ids + [own.id]))
        // Restoring again adds nothing.
        let again = try Backup.restore(file, unlock: .shares(shares), into: other.path)
        #expect(again.added.isEmpty)
    }

    /// docs/recovery.md, "Forgotten key passphrase": remove the record, restore an older backup
    /// into the same vault, and the key opens again with the passphrase it had then.
    @Test func forgottenPassphraseRecoveryProcedure() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3)
        let key = f.records[1]
        try f.vault.changePassphrase(key, from: Passphrase(f.passphrases["targets"]!), to: Passphrase("since forgotten"))
        try f.vault.remove(key)
        let report = try Backup.restore(file, unlock: .shares([shares[0], shares[2]]), into: f.vault.path)
        #expect(report.added.map(\.id) == [key.id])
        let unlocked = try f.vault.unlock(key, passphrase: Passphrase(f.passphrases["targets"]!))
        #expect(unlocked.publicKey == key.publicKey)
    }

    @Test func mergeRefusesAConflictingRecordAndChangesNothing() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 2)
        let other = try Vault.create(at: f.dir.sub("other"), profile: .interactive)
        _ = try other.add(PrivateKey.generate(.ecdsa), role: "delegation", gun: nil, passphrase: Passphrase("x"))
        // A file named like one of the backup's keys but holding another key.
        let impostor = try other.records()[0]
        let impostorBytes = try AtomicFile.read(other.path + "/keys/\(impostor.id).json")
        try AtomicFile.create(impostorBytes, at: other.path + "/keys/\(f.records[1].id).json")
        let before = treeFingerprint(other.path, excluding: [".lock"])
        let error = try #require(throws: TrustVaultError.self) {
            try Backup.restore(file, unlock: .shares(shares), into: other.path)
        }
        #expect(error.code == .alreadyExists)
        #expect(error.message.contains(f.records[1].id))
        #expect(treeFingerprint(other.path, excluding: [".lock"]) == before)
    }

    @Test func restoreTargetsThatAreRefusedOrAccepted() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 2)
        // A non-empty directory that is not a vault.
        let junk = f.dir.sub("junk")
        try AtomicFile.makeDirectory(junk)
        try AtomicFile.create([1], at: junk + "/notes.txt")
        #expect(throws: TrustVaultError.self) { try Backup.restore(file, unlock: .shares(shares), into: junk) }
        #expect(try AtomicFile.list(junk) == ["notes.txt"])
        // An empty directory receives the vault; a stale staging directory is cleaned up.
        let empty = f.dir.sub("empty")
        try AtomicFile.makeDirectory(empty)
        try AtomicFile.makeDirectory(f.dir.sub(Backup.stagingPrefix + "empty-0123456789ab"))
        // A sibling target's staging directory ("empty-x") is not touched.
        try AtomicFile.makeDirectory(f.dir.sub(Backup.stagingPrefix + "empty-x-0123456789ab"))
        _ = try Backup.restore(file, unlock: .shares(shares), into: empty)
        #expect(!AtomicFile.exists(f.dir.sub(Backup.stagingPrefix + "empty-0123456789ab")))
        #expect(AtomicFile.exists(f.dir.sub(Backup.stagingPrefix + "empty-x-0123456789ab")))
        Vault.removeTree(f.dir.sub(Backup.stagingPrefix + "empty-x-0123456789ab"))
        #expect(try Vault.open(at: empty).records().count == f.records.count)
        #expect(f.parentHasNoLeftovers(f.dir.sub("never-made")))
    }

    @Test func createRefusesOverwritesAndBadSplits() throws {
        let f = try BackupFixture()
        let (file, _) = try f.shareBackup(2, 3)
        let before = try AtomicFile.read(file)
        #expect(throws: TrustVaultError.self) {
            try Backup.create(of: f.vault, to: file, protection: .shares(threshold: 2, count: 3, directory: f.dir.sub("s2")))
        }
        #expect(try AtomicFile.read(file) == before)
        // Share files already in the share directory: nothing is written at all.
        try AtomicFile.makeDirectory(f.dir.sub("taken"))
        try AtomicFile.create([], at: f.dir.sub("taken/second.tvbackup.share-2-of-3.txt"))
        #expect(throws: TrustVaultError.self) {
            try Backup.create(of: f.vault, to: f.dir.sub("second.tvbackup"), protection: .shares(threshold: 2, count: 3, directory: f.dir.sub("taken")))
        }
        #expect(!AtomicFile.exists(f.dir.sub("second.tvbackup")))
        #expect(try AtomicFile.list(f.dir.sub("taken")) == ["second.tvbackup.share-2-of-3.txt"])
        for (k, n) in [(1, 3), (4, 3), (2, 256)] {
            let out = f.dir.sub("bad-\(k)-\(n)")
            #expect(throws: TrustVaultError.invalid("")) {
                try Backup.create(of: f.vault, to: out, protection: .shares(threshold: k, count: n, directory: f.dir.sub("s-\(k)-\(n)")))
            }
            #expect(!AtomicFile.exists(out))
        }
        #expect(throws: TrustVaultError.self) {
            try Backup.create(of: f.vault, to: f.vault.path + "/inside", protection: .passphrase(Passphrase("p"), profile: .interactive))
        }
    }

    /// Inside the encryption, key records are still sealed: no private key bytes appear in the
    /// decrypted payload; descriptions never show share bytes; both operations are audited.
    @Test func nothingLeaksAndOperationsAreAudited() throws {
        let f = try BackupFixture()
        let key = try PrivateKey.generate(.ed25519)
        let record = try f.vault.add(key, role: "targets", gun: "leak.example/app", passphrase: Passphrase("p"))
        let (file, shares) = try f.shareBackup(2, 2)
        let contents = try Backup.verify(file, unlock: .shares(shares))
        let secret = key.exportSecret().withUnsafeBytes { Array($0) }
        #expect(secret.count >= 32)
        for entry in contents.entries {
            let data = entry.data
            let found =
                data.count >= secret.count
                && (0...(data.count - secret.count)).contains {
                    data[$0..<($0 + secret.count)].elementsEqual(secret)
                }
            #expect(!found, "private key bytes in \(entry.path)")
            let text = String(decoding: data, as: UTF8.self)
            #expect(
                !text.contains(Data(secret).base64EncodedString()) && !text.contains(Hex.encode(secret)),
                "encoded private key in \(entry.path)")
        }
        #expect(contents.keys.contains(record))
        let share = try BackupShare.parse(String(decoding: try AtomicFile.read(shares[0]), as: UTF8.self), file: shares[0])
        let hexValue = share.value.map { String($0, radix: 16) }.joined()
        #expect("\(share)".contains("redacted") && !"\(share)".contains(hexValue))
        #expect(!"\(share.shamirShare)".contains(hexValue))
        let sourceLog = String(decoding: try AtomicFile.read(f.vault.path + "/audit.log"), as: UTF8.self)
        #expect(sourceLog.contains("\"action\":\"backup\"") && sourceLog.contains(contents.header.backupIDHex))
        let target = f.dir.sub("audited")
        _ = try Backup.restore(file, unlock: .shares(shares), into: target)
        let targetLog = String(decoding: try AtomicFile.read(target + "/audit.log"), as: UTF8.self)
        #expect(targetLog.split(separator: "\n").last?.contains("\"action\":\"restore\"") == true)
    }

    @Test func verifyReportsTheBackupAndWritesNothing() throws {
        let f = try BackupFixture()
        let (file, shares) = try f.shareBackup(2, 3)
        let before = treeFingerprint(f.dir.path)
        let contents = try Backup.verify(file, unlock: .shares([shares[2], shares[0]]))
        #expect(contents.keys.map(\.id).sorted() == f.ids)
        #expect(contents.paths.contains("vault.json"))
        #expect(treeFingerprint(f.dir.path) == before)
    }
}

@Suite("Backups carry the key-status book (retired keys, root certificate IDs)")
struct BackupKeyStatusTests {
    @Test func keyStatusSurvivesRestoreAndMergesIntoAnExistingVault() throws {
        let f = try BackupFixture()
        let retired = f.records[1].id
        let certificateID = String(repeating: "ab", count: 32)
        try f.vault.updateKeyStatus { book in
            book.retired[retired] = .init(gun: "example.com/app", time: "2026-11-26T12:00:00Z")
            book.rootCertificates[f.records[3].id] = ["example.com/app": certificateID]
        }
        let (file, shares) = try f.shareBackup(2, 3)

        // A fresh restore: the book comes back as it was.
        let target = f.dir.sub("restored/vault")
        _ = try Backup.restore(file, unlock: .shares(Array(shares.prefix(2))), into: target)
        let restored = try Vault.open(at: target)
        #expect(try restored.keyStatus() == (try f.vault.keyStatus()))

        // A merge into a vault with a book of its own keeps both.
        let other = try Vault.create(at: f.dir.sub("other"), profile: .interactive)
        let own = String(repeating: "cd", count: 32)
        try other.updateKeyStatus { $0.retired[own] = .init(gun: "example.com/other", time: "2026-11-01T00:00:00Z") }
        _ = try Backup.restore(file, unlock: .shares(Array(shares.suffix(2))), into: other.path)
        let merged = try other.keyStatus()
        #expect(merged.retired.keys.sorted() == [retired, own].sorted())
        #expect(merged.rootCertificates[f.records[3].id] == ["example.com/app": certificateID])
    }

    @Test func aDamagedKeyStatusBookIsNamed() throws {
        let f = try BackupFixture()
        try f.vault.updateKeyStatus { $0.retired[f.records[1].id] = .init(gun: "example.com/app", time: "2026-11-26T12:00:00Z") }
        let path = f.vault.path + "/key-status.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "2026-11-26T12:00:00Z", with: "2026-02-31T12:00:00Z")
        try Array(text.utf8).withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        #expect { try f.vault.keyStatus() } throws: { error in
            (error as? TrustVaultError)?.message.contains("key-status.json") == true
        }
    }
}
