import Foundation
import Testing
import TestSupport

/// `tuf add-targets DIR --files-from LIST`: thousands of files without thousands of arguments
/// (each command-line argument is parsed on its own, which grows with the square of their
/// number), as `find DIR -type f > LIST` writes the list.
@Suite("tuf add-targets --files-from")
struct TUFFileListTests {
    @Test func aListAddsEveryFileAndABadListChangesNothing() throws {
        let v = try CLIVault()
        let work = TemporaryDirectory("tuf-files-from")
        let repo = work.sub("repo")
        let root = try v.generate("root")
        #expect(try v.run(["tuf", "init", repo, "--root-key", root]).status == 0)
        let files = work.sub("build")
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        var paths: [String] = []
        for i in 0..<2000 {
            let p = files + (i == 7 ? "/with space \(i).bin" : "/f\(i).bin")
            try Data("payload \(i)\n".utf8).write(to: URL(fileURLWithPath: p))
            paths.append(p)
        }
        let extra = work.sub("extra.bin")
        try Data("extra\n".utf8).write(to: URL(fileURLWithPath: extra))
        let list = work.sub("list.txt")
        // A blank line is ignored; the last line break is optional.
        try (paths[..<1000].joined(separator: "\n") + "\n\n" + paths[1000...].joined(separator: "\n")).write(
            toFile: list, atomically: true, encoding: .utf8)

        // Bad lists: one error line, the repository unchanged.
        let before = treeFingerprint(repo)
        try Data([0x61, 0x00, 0x62]).write(to: URL(fileURLWithPath: work.sub("nul.txt")))
        expectFailure(try v.run(["tuf", "add-targets", repo, "--files-from", work.sub("nul.txt")]), status: 65, mentioning: "NUL")
        try Data([0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: work.sub("binary.txt")))
        expectFailure(try v.run(["tuf", "add-targets", repo, "--files-from", work.sub("binary.txt")]), status: 65, mentioning: "UTF-8")
        try "\n\n".write(toFile: work.sub("empty.txt"), atomically: true, encoding: .utf8)
        expectFailure(try v.run(["tuf", "add-targets", repo, "--files-from", work.sub("empty.txt")]), status: 64, mentioning: "lists no files")
        expectFailure(try v.run(["tuf", "add-targets", repo, "--files-from", work.sub("missing.txt")]), status: 66, mentioning: "missing.txt")
        expectFailure(try v.run(["tuf", "add-targets", repo, "--files-from", files]), status: 66, mentioning: "directory")
        try (paths[0] + "\n" + work.sub("not-there.bin") + "\n").write(toFile: work.sub("one-missing.txt"), atomically: true, encoding: .utf8)
        let oneMissing = try v.run(["tuf", "add-targets", repo, "--files-from", work.sub("one-missing.txt")])
        #expect(oneMissing.status != 0 && oneMissing.errorLines.count == 1 && oneMissing.stderr.contains("not-there.bin"), "\(oneMissing)")
        expectFailure(try v.run(["tuf", "add-targets", repo]), status: 64, mentioning: "no files to add")
        #expect(treeFingerprint(repo) == before, "a refused list changed the repository")

        // The list and a named file together.
        let r = try v.run(["tuf", "add-targets", repo, extra, "--files-from", list])
        #expect(r.status == 0, "\(r)")
        #expect(try TrustVaultCLI.run(["tuf", "verify", repo]).status == 0)
        let targets = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: repo + "/metadata/targets.json"))) as? [String: Any]
        let names = ((targets?["signed"] as? [String: Any])?["targets"] as? [String: Any]).map { Set($0.keys) } ?? []
        #expect(names.count == 2001)
        #expect(names.contains("with space 7.bin") && names.contains("f1999.bin") && names.contains("extra.bin"))
    }
}
