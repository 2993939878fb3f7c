import Foundation
import Testing
import TrustCore

/// The directories on the way to a path keep the path as written: relative stays relative,
/// `./` and `..` stay, and each prefix is a prefix of the caller's string.
@Suite("Atomic files: paths as written")
struct AtomicFilePrefixTests {
    @Test(arguments: [
        ("out", ["out"]),
        ("./out", ["./out"]),
        ("usb/x/out", ["usb", "usb/x", "usb/x/out"]),
        ("../out", ["..", "../out"]),
        ("../../a/b", ["..", "../..", "../../a", "../../a/b"]),
        ("out/", ["out"]),
        ("usb//out/", ["usb", "usb//out"]),
        ("/tmp/a/b", ["/tmp", "/tmp/a", "/tmp/a/b"]),
        ("/", []),
        ("", []),
        (".", []),
        ("./usb/./out", ["./usb", "./usb/./out"]),
        ("a/../b", ["a", "a/..", "a/../b"]),
    ])
    func prefixesKeepThePathAsWritten(path: String, expected: [String]) {
        let prefixes = AtomicFile.prefixes(of: path)
        #expect(prefixes == expected)
        for p in prefixes { #expect(path.hasPrefix(p), "\(p) is a prefix of \(path)") }
    }

    @Test func makeDirectoriesAndFirstMissingFollowDotDotAsWritten() throws {
        let base = FileManager.default.temporaryDirectory.path + "/prefixes-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base + "/work", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let out = base + "/work/../usb/x/out"
        #expect(AtomicFile.firstMissingDirectory(out) == base + "/work/../usb")
        try AtomicFile.makeDirectories(out + "/")
        #expect(AtomicFile.isDirectory(base + "/usb/x/out"))
        #expect(AtomicFile.firstMissingDirectory(out) == nil)
        try AtomicFile.create([1], at: out + "/file")
        #expect(FileManager.default.contents(atPath: base + "/usb/x/out/file") == Data([1]))
    }
}
