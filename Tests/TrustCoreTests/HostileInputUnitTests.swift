import Foundation
import Testing
@testable import TrustCore

@Suite("Input gate, names, dates, escaping, wiping (unit)")
struct HostileInputUnitTests {
    let dir = NSTemporaryDirectory() + "gate-\(UUID().uuidString.prefix(8))"

    init() throws { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }

    @Test func gateRefusesDevicesFIFOsAndSymlinksToThemAtOnce() throws {
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: dir + "/zero", withDestinationPath: "/dev/zero")
        let start = Date()
        for path in [fifo, dir + "/zero", "/dev/zero", "/dev/null", dir] {
            let error = #expect(throws: TrustVaultError.self) { try InputFile.read(path, kind: .keyFile) }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains(path) == true, "\(error?.message ?? "")")
        }
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(InputFile.prefix(fifo, count: 4) == nil)
    }

    @Test func limitIsEnforcedWhileReadingNotFromTheSize() throws {
        let path = dir + "/big"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: InputKind.shareFile.maximumSize + 1)))
        let error = #expect(throws: TrustVaultError.self) { try InputFile.read(path, kind: .shareFile) }
        #expect(error?.code == .corruptData)
        #expect(error?.message.contains("too large") == true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: InputKind.shareFile.maximumSize)))
        #expect(try InputFile.read(path, kind: .shareFile).count == InputKind.shareFile.maximumSize)
    }

    @Test func walkNeverFollowsLoopsOrLeavesTheDirectory() throws {
        let root = dir + "/tree"
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/a/b/file.json"))
        try FileManager.default.createSymbolicLink(atPath: root + "/a/inside.json", withDestinationPath: "b/file.json")
        #expect(try InputFile.walk(root).map(\.relativePath) == ["a", "a/b", "a/b/file.json", "a/inside.json"])
        for (name, target) in [("loop", "."), ("up", ".."), ("out.json", "/etc/hostname"), ("dev", "/dev/zero")] {
            try FileManager.default.createSymbolicLink(atPath: root + "/a/" + name, withDestinationPath: target)
            let error = #expect(throws: TrustVaultError.self) { try InputFile.walk(root) }
            #expect(error?.message.contains(root + "/a/" + name) == true, "\(error?.message ?? "")")
            try FileManager.default.removeItem(atPath: root + "/a/" + name)
        }
    }

    @Test(arguments: [
        "2031-02-31T00:00:00Z", "2030-01-01T00:00:00+25:99", "2030-01-01T00:00:00+01:60", "2030-01-01t00:00:00Z",
        "2030-01-01T00:00:00z", "2030-01-01T24:00:00Z", "2030-01-01T00:00:60Z", "2029-02-29T00:00:00Z", "2030-00-01T00:00:00Z",
    ])
    func rfc3339FollowsGo(bad: String) {
        #expect(throws: TrustVaultError.self) { try RFC3339.parse(bad) }
    }

    @Test func rfc3339AcceptsWhatGoAccepts() throws {
        #expect(try RFC3339.parse("2028-02-29T23:59:59.5+23:59").seconds == RFC3339.parse("2028-02-29T00:00:59Z").seconds)
        #expect(RFC3339.isValid("1970-01-01T00:00:00Z"))
    }

    @Test func namesFollowNotary() throws {
        #expect(Names.isValidDelegationRole("targets/releases"))
        #expect(Names.isValidDelegationRole("targets/a/b-c_d"))
        for bad in ["targets//x", "targets/", "targets/x/", "targets/../x", "targets/X", "targets/" + String(repeating: "a", count: 300), "releases"] {
            #expect(!Names.isValidDelegationRole(bad), "\(bad)")
        }
        #expect(!Names.isSignerName(String(repeating: "a", count: 10_000)))
        #expect(Names.isSignerName("alice"))
        for bad in ["../../etc", "a//b", "/a", "a/", "a b", "a\u{1b}[31m", "", String(repeating: "a", count: 256)] {
            #expect(throws: TrustVaultError.self) { try Names.checkGUN(bad) }
        }
        try Names.checkGUN("docker.io/library/app")
    }

    @Test func escapingMakesControlCharactersVisibleAndInert() throws {
        #expect(Escape.visible("a\u{1b}[31mb\nc\u{7f}\u{9b}\u{202e}d") == "a\\u001b[31mb\\u000ac\\u007f\\u009b\\u202ed")
        #expect(Escape.visible("plain café/x") == "plain café/x")
        #expect(Escape.visibleLines("one\u{1b}\ntwo\tthree") == "one\\u001b\ntwo\tthree")
        // JSON output (canonical JSON leaves DEL, C1 and bidi characters raw) stays valid JSON
        // with the same value after escaping.
        let value = "tag\u{202e}gpj.exe\u{9b}\u{7f}\u{1b}"
        let json = JSONValue.array([.string(value)]).canonicalString
        let shown = Escape.visibleLines(json)
        #expect(!shown.unicodeScalars.contains { Escape.needsEscape($0) })
        #expect(try JSONValue(parsing: shown).arrayValue?.first?.stringValue == value)
    }

    @Test func kdfParametersMustBeAProfile() throws {
        #expect(try KDFProfile.stored(opsLimit: 4, memLimit: 512 << 20, in: "f").name == "moderate")
        for (ops, mem) in [(Int64(64), Int64(4) << 30), (4, 1 << 31), (3, 256 << 20), (0, 0)] {
            let error = #expect(throws: TrustVaultError.self) { try KDFProfile.stored(opsLimit: ops, memLimit: mem, in: "vault.json") }
            #expect(error?.message.contains("not made by trustvault") == true)
        }
        #expect(throws: TrustVaultError.self) {
            try SecretSeal.deriveKey(passphrase: Passphrase("x"), salt: [UInt8](repeating: 0, count: SecretSeal.saltBytes), opsLimit: 64, memLimit: 4 << 30)
        }
    }

    /// The fix for `SecretBytes(consuming:)`: the caller's buffer is wiped in place (same
    /// storage, all zero), not copied first and the copy wiped.
    @Test func consumingWipesTheCallersBufferInPlace() {
        var bytes = (0..<64).map { UInt8($0 + 1) }
        let before = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let secret = SecretBytes(consuming: &bytes)
        let after = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        #expect(before == after, "the wipe must not copy the buffer")
        #expect(bytes.allSatisfy { $0 == 0 })
        #expect(secret.withUnsafeBytes { Array($0) } == (0..<64).map { UInt8($0 + 1) })
    }
}
