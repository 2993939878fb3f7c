import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// The one transaction every ceremony commits through: on failure everything it did is undone
/// (new vault keys, the key-status book, files written in place, staged directories); on success
/// a staged directory replaces the old one whole.
@Suite("Ceremony transaction")
struct CeremonyTransactionTests {
    static func tree(_ dir: String) -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        for case let rel as String in fm.enumerator(atPath: dir) ?? FileManager.DirectoryEnumerator() {
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir)
            out[rel] = isDir.boolValue ? "/" : (try? String(contentsOfFile: dir + "/" + rel, encoding: .utf8)) ?? "?"
        }
        return out
    }

    /// A repository directory with metadata/ and targets/ as a TUF ceremony finds it.
    static func repository(_ dir: TemporaryDirectory) throws -> String {
        let repo = dir.sub("repo")
        try FileManager.default.createDirectory(atPath: repo + "/metadata", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo + "/targets", withIntermediateDirectories: true)
        try "root v1".write(toFile: repo + "/metadata/1.root.json", atomically: true, encoding: .utf8)
        try "targets v1".write(toFile: repo + "/metadata/targets.json", atomically: true, encoding: .utf8)
        try "old target".write(toFile: repo + "/targets/app.txt", atomically: true, encoding: .utf8)
        return repo
    }

    @Test func aFailureUndoesKeysBookFilesAndStaging() throws {
        let t = try TestVault()
        let dir = TemporaryDirectory("transaction-fail")
        let repo = try Self.repository(dir)
        let vaultBefore = treeFingerprint(t.path, excluding: [".lock", "audit.log"])
        let filesBefore = Self.tree(dir.sub("."))
        #expect(throws: TrustVaultError.self) {
            try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
                try tx.addKey(try PrivateKey.generate(.ecdsa), role: "targets", gun: "example.com/app", passphrase: Passphrase("p"))
                try tx.updateKeyStatus {
                    $0.record(gun: "example.com/app", roles: ["targets": [String(repeating: "ab", count: 32)]], time: "2026-01-01T00:00:00Z")
                }
                try tx.stage(repo + "/metadata")
                try tx.write(Array("targets v2".utf8), to: repo + "/metadata/targets.json")
                try tx.create(Array("root v2".utf8), at: repo + "/metadata/2.root.json")
                try tx.write(Array("new target".utf8), to: repo + "/targets/app.txt")
                try tx.write(Array("added".utf8), to: repo + "/targets/sub/added.txt")
                try tx.makeDirectories(dir.sub("made/deeper"))
                throw TrustVaultError.io("a step fails (a full disk)")
            }
        }
        #expect(treeFingerprint(t.path, excluding: [".lock", "audit.log"]) == vaultBefore, "the new key and the key-status change are gone")
        #expect(Self.tree(dir.sub(".")) == filesBefore, "every file and directory is as it was, no staging copy left")
    }

    @Test func aBatchOfFilesIsWrittenWholeOrUndoneWhole() throws {
        let t = try TestVault()
        let dir = TemporaryDirectory("transaction-batch")
        let repo = try Self.repository(dir)
        let before = Self.tree(dir.sub("."))
        func files(_ n: Int, _ text: String) -> [(path: String, bytes: [UInt8])] {
            // app.txt twice: written once with its last bytes, its old bytes back on rollback.
            [(repo + "/targets/app.txt", Array("first \(text) app".utf8))]
                + (0..<n).map { (repo + "/targets/new/f\($0).txt", Array("\(text) \($0)".utf8)) } + [(repo + "/targets/app.txt", Array("\(text) app".utf8))]
        }
        // A rename that fails half-way (a directory where the 31st file goes): the files renamed
        // before it get their old bytes (or their absence) back, no temporary is left.
        try FileManager.default.createDirectory(atPath: repo + "/targets/new/f30.txt", withIntermediateDirectories: true)
        let blocked = Self.tree(dir.sub("."))
        #expect(throws: TrustVaultError.self) {
            try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
                try tx.write(files: files(50, "batch"))
            }
        }
        #expect(Self.tree(dir.sub(".")) == blocked, "every file as it was, no temporary left")
        try FileManager.default.removeItem(atPath: repo + "/targets/new")
        #expect(Self.tree(dir.sub(".")) == before)
        // A later step fails: the whole batch is undone, the replaced file restored.
        #expect(throws: TrustVaultError.self) {
            try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
                try tx.write(files: files(50, "batch"))
                throw TrustVaultError.io("a step fails (a full disk)")
            }
        }
        #expect(Self.tree(dir.sub(".")) == before, "every file and directory as it was")
        // Committed: every file whole, nothing else beside them.
        try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
            try tx.write(files: files(50, "batch"))
        }
        var expected = before
        expected["repo/targets/new"] = "/"
        for f in files(50, "batch") { expected[String(f.path.dropFirst(dir.path.count + 1))] = String(decoding: f.bytes, as: UTF8.self) }
        #expect(Self.tree(dir.sub(".")) == expected)
    }

    @Test func successReplacesTheStagedDirectoryWhole() throws {
        let t = try TestVault()
        let dir = TemporaryDirectory("transaction-ok")
        let repo = try Self.repository(dir)
        let record = try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) -> KeyRecord in
            let r = try tx.addKey(try PrivateKey.generate(.ecdsa), role: "targets", gun: "example.com/app", passphrase: Passphrase("p"))
            try tx.stage(repo + "/metadata")
            try tx.write(Array("targets v2".utf8), to: repo + "/metadata/targets.json")
            try tx.create(Array("root v2".utf8), at: repo + "/metadata/2.root.json")
            // Until the commit the directory readers see is untouched.
            #expect((try? String(contentsOfFile: repo + "/metadata/targets.json", encoding: .utf8)) == "targets v1")
            #expect(!FileManager.default.fileExists(atPath: repo + "/metadata/2.root.json"))
            try tx.write(Array("new target".utf8), to: repo + "/targets/app.txt")
            return r
        }
        #expect(try t.vault.records().map(\.id) == [record.id])
        #expect(
            Self.tree(dir.sub(".")) == [
                "repo": "/", "repo/metadata": "/", "repo/targets": "/",
                "repo/metadata/1.root.json": "root v1", "repo/metadata/2.root.json": "root v2",
                "repo/metadata/targets.json": "targets v2", "repo/targets/app.txt": "new target",
            ])
    }

    @Test func createRefusesAnExistingFileUnderItsOwnName() throws {
        let t = try TestVault()
        let dir = TemporaryDirectory("transaction-exists")
        let repo = try Self.repository(dir)
        let before = Self.tree(dir.sub("."))
        do {
            try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
                try tx.stage(repo + "/metadata")
                try tx.create(Array("again".utf8), at: repo + "/metadata/1.root.json")
            }
            Issue.record("an existing root version was replaced")
        } catch {
            #expect(error.code == .alreadyExists)
            #expect(error.message == repo + "/metadata/1.root.json already exists")
        }
        #expect(Self.tree(dir.sub(".")) == before)
    }

    @Test func aNewDirectoryAppearsByOneRename() throws {
        let t = try TestVault()
        let dir = TemporaryDirectory("transaction-new")
        try CeremonyTransaction.run(vault: t.vault) { (tx: CeremonyTransaction) throws(TrustVaultError) in
            try tx.stage(dir.sub("new/metadata"))
            try tx.create(Array("root v1".utf8), at: dir.sub("new/metadata/1.root.json"))
            #expect(!FileManager.default.fileExists(atPath: dir.sub("new/metadata")))
        }
        #expect(Self.tree(dir.sub("new")) == ["metadata": "/", "metadata/1.root.json": "root v1"])
    }
}
