import Foundation
import Testing
import TrustCore
import Metadata
@testable import MetadataStore
import TestSupport

/// How a repository directory's target files are read for `tuf verify`: each directory opened and
/// listed once, a name listed as a regular file opened at once, a name not listed not there, and
/// everything else (a symlink, a FIFO, a device, a directory, a name the listing holds under
/// another spelling) looked up first, so it is read, refused or found missing exactly as a
/// lookup by path would.
@Suite struct TargetFileReadingTests {
    /// `targets/` with one file or link of each kind; the bytes of the regular files.
    static func repository(_ work: TemporaryDirectory) throws -> RepositoryStore {
        let targets = work.sub("repo/targets")
        let fm = FileManager.default
        try fm.createDirectory(atPath: targets + "/d/e", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: targets + "/dir.bin", withIntermediateDirectories: true)
        try Data("a".utf8).write(to: URL(fileURLWithPath: targets + "/a.bin"))
        try Data("b".utf8).write(to: URL(fileURLWithPath: targets + "/d/b.bin"))
        try Data("c".utf8).write(to: URL(fileURLWithPath: targets + "/d/e/c.bin"))
        try Data().write(to: URL(fileURLWithPath: targets + "/empty.bin"))
        // A name in decomposed form (e + U+0301): the same string to Swift as the composed é,
        // another name to the file system.
        try Data("decomposed".utf8).write(to: URL(fileURLWithPath: targets + "/e\u{301}.bin"))
        try fm.createSymbolicLink(atPath: targets + "/link.bin", withDestinationPath: "a.bin")
        try fm.createSymbolicLink(atPath: targets + "/zero.bin", withDestinationPath: "/dev/zero")
        try fm.createSymbolicLink(atPath: targets + "/gone.bin", withDestinationPath: "nowhere.bin")
        #expect(mkfifo(targets + "/pipe.bin", 0o600) == 0)
        return RepositoryStore(work.sub("repo"))
    }

    @Test func eachKindOfEntryReadsAsALookupByPathWould() throws {
        let work = TemporaryDirectory("target-files")
        let store = try Self.repository(work)
        // Read twice: the first read of a directory lists it, the second uses the listing.
        for _ in 0..<2 {
            #expect(try store.targetFile("a.bin") == Array("a".utf8))
            #expect(try store.targetFile("d/b.bin") == Array("b".utf8))
            #expect(try store.targetFile("d/e/c.bin") == Array("c".utf8))
            #expect(try store.targetFile("empty.bin") == [])
            #expect(try store.targetFile("link.bin") == Array("a".utf8))
            #expect(try store.targetFile("e\u{301}.bin") == Array("decomposed".utf8))
            // Absent: not in the listing, in a missing directory, or only under another spelling.
            #expect(try store.targetFile("missing.bin") == nil)
            #expect(try store.targetFile("d/missing.bin") == nil)
            #expect(try store.targetFile("nodir/x.bin") == nil)
            #expect(try store.targetFile("\u{e9}.bin") == nil)
            // Refused before anything is read from them, naming what they are.
            for (name, what) in [("zero.bin", "character device"), ("pipe.bin", "FIFO"), ("dir.bin", "a directory"), ("gone.bin", "gone.bin")] {
                do {
                    _ = try store.targetFile(name)
                    Issue.record("\(name) was read")
                } catch {
                    #expect(error.message.contains(what), "\(name): \(error.message)")
                    #expect(error.message.contains(store.targetsDir), "\(name): \(error.message)")
                }
            }
        }
    }

    @Test func aFileReplacedAfterTheListingIsLookedUpAgain() throws {
        let work = TemporaryDirectory("target-files-swap")
        let store = try Self.repository(work)
        #expect(try store.targetFile("a.bin") == Array("a".utf8))
        // b.bin was listed as a regular file; now it is a FIFO, then a symlink to a device.
        let b = store.targetsDir + "/d/b.bin"
        #expect(try store.targetFile("d/b.bin") == Array("b".utf8))
        try FileManager.default.removeItem(atPath: b)
        #expect(mkfifo(b, 0o600) == 0)
        #expect(throws: TrustVaultError.self) { try store.targetFile("d/b.bin") }
        try FileManager.default.removeItem(atPath: b)
        try FileManager.default.createSymbolicLink(atPath: b, withDestinationPath: "/dev/zero")
        #expect(throws: TrustVaultError.self) { try store.targetFile("d/b.bin") }
        // Removed since the listing: not there.
        try FileManager.default.removeItem(atPath: b)
        #expect(try store.targetFile("d/b.bin") == nil)
    }

    /// The listing keeps hashes, not names: every listed name is found, a name not listed is
    /// absent, and a hash shared by a regular file and anything else (a crafted collision) sends
    /// the name to the lookup that refuses what is not a regular file.
    @Test func aListingByHashFindsEveryNameAndTrustsNoCollision() {
        func hash(_ name: String) -> UInt64 {
            var name = name
            return name.withUTF8 { DirectoryHandles.Listing.hash(UnsafeRawBufferPointer($0)) }
        }
        var listing = DirectoryHandles.Listing(capacity: 16)  // grown as names come
        for i in 0..<20_000 { listing.insert(hash(String(format: "t%06d.bin", i)), isRegular: i % 7 != 0) }
        for i in 0..<20_000 {
            #expect(listing.kind(of: String(format: "t%06d.bin", i)) == (i % 7 != 0 ? .regular : .other))
            #expect(listing.kind(of: String(format: "u%06d.bin", i)) == .absent)
        }
        var colliding = DirectoryHandles.Listing(capacity: 2)
        colliding.insert(hash("x.bin"), isRegular: true)
        colliding.insert(hash("x.bin"), isRegular: false)
        #expect(colliding.kind(of: "x.bin") == .other)
    }

    @Test func moreDirectoriesThanAreKeptOpenAreReadByPath() throws {
        let work = TemporaryDirectory("target-files-many")
        let targets = work.sub("repo/targets")
        for i in 0..<80 {
            try FileManager.default.createDirectory(atPath: targets + "/d\(i)", withIntermediateDirectories: true)
            try Data("file \(i)".utf8).write(to: URL(fileURLWithPath: targets + "/d\(i)/f.bin"))
        }
        let store = RepositoryStore(work.sub("repo"))
        for i in 0..<80 {
            #expect(try store.targetFile("d\(i)/f.bin") == Array("file \(i)".utf8))
            #expect(try store.targetFile("d\(i)/g.bin") == nil)
        }
    }
}
