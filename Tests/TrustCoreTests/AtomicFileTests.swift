import Foundation
import Testing
import TrustCore

@Suite("Atomic files")
struct AtomicFileTests {
    func tempDir() -> String {
        let p = FileManager.default.temporaryDirectory.path + "/atomic-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test func createNeverOverwrites() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.create([1, 2, 3], at: dir + "/f")
        #expect(throws: TrustVaultError(.alreadyExists, "")) { try AtomicFile.create([9], at: dir + "/f") }
        #expect(try AtomicFile.read(dir + "/f") == [1, 2, 3])
        #expect(try AtomicFile.list(dir) == ["f"], "no temporary file is left behind")
    }

    @Test func writeReplacesWithMode0600() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write([1], to: dir + "/f")
        try AtomicFile.write([2, 2], to: dir + "/f")
        #expect(try AtomicFile.read(dir + "/f") == [2, 2])
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/f")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test func staleTemporariesAreHiddenAndCleaned() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/" + AtomicFile.temporaryPrefix + "x", contents: Data([1]))
        #expect(try AtomicFile.list(dir).isEmpty)
        AtomicFile.removeStaleTemporaries(in: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func missingFileIsNotFound() {
        #expect(throws: TrustVaultError.notFound("")) { _ = try AtomicFile.read("/nonexistent/file") }
    }
}
