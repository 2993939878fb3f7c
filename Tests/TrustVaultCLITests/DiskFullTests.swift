import Foundation
import Testing
import TestSupport

/// Every command that writes, run against a full disk (a small tmpfs, filled up): exit 74
/// (EX_IOERR) with one `error:` line, the vault byte-for-byte unchanged, and nothing left behind
/// on the full file system (no temporary file, no half-written --out). Needs root to mount the
/// tmpfs (CI runs as root); without it the test fails, it does not skip.
@Suite("Full disk: every writing command", .tags(.durability), .durability, .serialized)
struct DiskFullTests {
    /// Lists every entry (hidden ones too) under `root` with its size: stray output shows up here.
    static func listing(_ root: String) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for case let rel as String in fm.enumerator(atPath: root)! {
            let size = ((try? fm.attributesOfItem(atPath: root + "/" + rel))?[.size] as? NSNumber)?.intValue ?? -1
            out.append("\(rel) \(size)")
        }
        return out.sorted()
    }

    @Test func writingCommandsOnAFullDiskFailWith74AndLeaveNothing() throws {
        guard getuid() == 0 else { throw TestFailure("mounting a tmpfs needs root (CI runs as root)") }
        let dir = TemporaryDirectory("disk-full")
        let v = try CLIVault()
        let root = try v.generate("root")
        let pwKey = try v.generate("targets/pw")
        let gun = "example.com/full/base"
        let (repoRoot, repo) = try CeremonyOfflineErrorTests.repository(v, dir, gun: gun)
        let removedLater = try v.generate("targets/removed-after-backup")  // so that a merge has a key to add
        let shares = dir.sub("shares")
        try FileManager.default.createDirectory(atPath: shares, withIntermediateDirectories: true)
        let backup = dir.sub("base.tvbackup")
        #expect(try v.run(["backup", "create", "--out", backup, "--shares", "2/3", "--share-dir", shares]).status == 0)
        let shareFiles = try FileManager.default.contentsOfDirectory(atPath: shares).sorted().prefix(2).map { shares + "/" + $0 }
        let keyFile = dir.sub("import.pem")
        #expect(try Run.program("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyFile]).status == 0)
        let pubFile = dir.sub("ci.pub")
        #expect(try Run.program("/usr/bin/openssl", ["pkey", "-in", keyFile, "-pubout", "-out", pubFile]).status == 0)
        #expect(try v.run(["key", "remove", removedLater, "--yes"]).status == 0)
        // A TUF repository with a target and a delegation, for the tuf ceremonies.
        let tufBase = dir.sub("tuf-base")
        let payload = dir.sub("payload.txt"), payload2 = dir.sub("payload2.txt"), payload3 = dir.sub("payload3.txt")
        try "payload\n".write(toFile: payload, atomically: true, encoding: .utf8)
        try "payload 2\n".write(toFile: payload2, atomically: true, encoding: .utf8)
        try "payload 3\n".write(toFile: payload3, atomically: true, encoding: .utf8)
        for args in [
            ["tuf", "init", tufBase, "--root-key", root], ["tuf", "add-targets", tufBase, payload],
            ["tuf", "delegate", tufBase, "team-x", "--key", pubFile, "--paths", "team-x/*"],
        ] {
            let r = try v.run(args)
            #expect(r.status == 0, "\(r)")
        }
        let rootFile = repo + "/tuf/" + gun + "/metadata/root.json"

        // The tmpfs: the vault copied onto it, then filled to the last byte.
        let mount = dir.sub("full")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try Run.program("/bin/mount", ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", mount])
        guard mounted.status == 0 else { throw TestFailure("mount tmpfs failed: \(mounted)") }
        defer { _ = try? Run.program("/bin/umount", [mount]) }
        let vault = mount + "/vault"
        #expect(try Run.program("/bin/cp", ["-a", v.path, vault]).status == 0)
        let tuf = mount + "/tuf"
        #expect(try Run.program("/bin/cp", ["-a", tufBase, tuf]).status == 0)
        let fill = try #require(
            FileHandle(
                forWritingAtPath: {
                    FileManager.default.createFile(atPath: mount + "/filler", contents: nil); return mount + "/filler"
                }()))
        let chunk = Data(count: 4096)
        while (try? fill.write(contentsOf: chunk)) != nil {}
        try? fill.close()

        let env = CLIVault.env.merging([
            "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase", "TRUSTVAULT_NEW_PASSPHRASE": "new-passphrase-1",
            "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-passphrase",
        ]) { $1 }
        let commands: [(String, [String])] = [
            ("init", ["--vault", mount + "/new-vault", "init", "--kdf", "interactive"]),
            ("key generate", ["--vault", vault, "key", "generate", "--role", "targets/full"]),
            ("key import", ["--vault", vault, "key", "import", keyFile, "--role", "targets/imported"]),
            ("key passwd", ["--vault", vault, "key", "passwd", pwKey]),
            ("backup restore (new vault)", ["--vault", mount + "/restored", "backup", "restore", backup, "--share", shareFiles[0], "--share", shareFiles[1]]),
            ("backup restore (merge)", ["--vault", vault, "backup", "restore", backup, "--share", shareFiles[0], "--share", shareFiles[1]]),
            ("backup create --out", ["--vault", vault, "backup", "create", "--out", mount + "/b.tvbackup", "--shares", "2/3", "--share-dir", mount]),
            (
                "repo init --out",
                [
                    "--vault", vault, "repo", "init", "example.com/full/new", "--root-key", root, "--timestamp-key", dir.sub("ts.key"), "--snapshot-key",
                    dir.sub("ts.key"), "--out", mount + "/repo",
                ]
            ),
            // The vault full, --out on a disk with space: the new key cannot be sealed, so the
            // metadata and key files already written to --out must go again.
            (
                "repo init (only the vault full)",
                [
                    "--vault", vault, "repo", "init", "example.com/full/other", "--root-key", root, "--timestamp-key", dir.sub("ts.key"), "--snapshot-key",
                    dir.sub("ts.key"), "--out", dir.sub("out-elsewhere"),
                ]
            ),
            (
                "repo rotate targets (only the vault full)",
                ["--vault", vault, "repo", "rotate", gun, "targets", "--current", repo, "--out", dir.sub("rotated-elsewhere")]
            ),
            ("repo rotate targets --out", ["--vault", vault, "repo", "rotate", gun, "targets", "--current", repo, "--out", mount + "/rotated"]),
            (
                "delegation add --out",
                [
                    "--vault", vault, "delegation", "add", gun, "targets/releases", "--key-file", pubFile, "--all-paths", "--current", repo, "--out",
                    mount + "/deleg",
                ]
            ),
            ("repo rotate root --out", ["--vault", vault, "repo", "rotate", gun, "root", "--current", repo, "--out", mount + "/rot-root"]),
            (
                "repo rotate root (only the vault full)",
                ["--vault", vault, "repo", "rotate", gun, "root", "--current", repo, "--out", dir.sub("rotated-elsewhere")]
            ),
            ("repo rotate snapshot --out", ["--vault", vault, "repo", "rotate", gun, "snapshot", "--current", repo, "--out", mount + "/rot-snap"]),
            (
                "repo rotate snapshot (only the vault full)",
                ["--vault", vault, "repo", "rotate", gun, "snapshot", "--current", repo, "--out", dir.sub("rotated-elsewhere")]
            ),
            ("repo refresh --out", ["--vault", vault, "repo", "refresh", gun, "--roles", "targets", "--current", repo, "--out", mount + "/refresh"]),
            ("root sign --out", ["--vault", vault, "root", "sign", rootFile, "--key", repoRoot, "--out", mount + "/signed-root.json"]),
            ("tuf init", ["--vault", vault, "tuf", "init", mount + "/tuf-new", "--root-key", root]),
            ("tuf init (only the vault full)", ["--vault", vault, "tuf", "init", dir.sub("tuf-elsewhere"), "--root-key", root]),
            // Two files: the target files are written as one batch.
            ("tuf add-targets", ["--vault", vault, "tuf", "add-targets", tuf, payload2, payload3]),
            ("tuf remove-targets", ["--vault", vault, "tuf", "remove-targets", tuf, "payload.txt"]),
            ("tuf delegate", ["--vault", vault, "tuf", "delegate", tuf, "team-a", "--key", pubFile, "--paths", "team-a/*"]),
            ("tuf delegate --remove", ["--vault", vault, "tuf", "delegate", tuf, "team-x", "--remove"]),
            ("tuf refresh", ["--vault", vault, "tuf", "refresh", tuf]),
            ("tuf rotate", ["--vault", vault, "tuf", "rotate", tuf, "targets"]),
            ("tuf rotate (only the vault full)", ["--vault", vault, "tuf", "rotate", tufBase, "targets"]),
            ("tuf sign", ["--vault", vault, "tuf", "sign", tuf + "/metadata/1.root.json", "--key", root]),
            ("key export --out", ["--vault", vault, "key", "export", pwKey, "--out", mount + "/export.key"]),
            ("key remove", ["--vault", vault, "key", "remove", pwKey, "--yes"]),
        ]
        var table: [String] = []
        let tufBaseFiles = Self.listing(tufBase)
        for (name, args) in commands {
            let before = treeFingerprint(vault, excluding: [".lock"])
            let files = Self.listing(mount)
            let result = try Run.start(TrustVaultCLI.binary, args, environment: env).wait(timeout: 60)
            table.append("\(name): exit \(result.status): \(result.errorLines.first ?? "")")
            if name == "key remove" && result.status == 0 {
                // Removing frees space: it may succeed on a full disk; then the key must be gone whole.
                #expect(!treeFingerprint(vault, excluding: [".lock"]).contains(pwKey))
                continue
            }
            #expect(result.status == 74, "\(name): \(result)")
            #expect(result.errorLines.count == 1, "\(name): \(result.stderr)")
            #expect(result.stderr.contains("No space left") || result.stderr.contains("space"), "\(name): \(result.stderr)")
            #expect(treeFingerprint(vault, excluding: [".lock"]) == before, "\(name): the vault must be unchanged")
            #expect(
                !FileManager.default.fileExists(atPath: dir.sub("out-elsewhere")) && !FileManager.default.fileExists(atPath: dir.sub("rotated-elsewhere")),
                "\(name): --out left behind")
            #expect(Self.listing(mount) == files, "\(name): stray output on the full disk: \(Set(Self.listing(mount)).symmetricDifference(files))")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("tuf-elsewhere")), "\(name): a TUF repository left behind")
            #expect(Self.listing(tufBase) == tufBaseFiles, "\(name): the TUF repository beside the full vault changed")
        }
        print("full disk:\n" + table.joined(separator: "\n"))
        // Once space is back, the same vault works and every key opens.
        try FileManager.default.removeItem(atPath: mount + "/filler")
        #expect(try TrustVaultCLI.run(["--vault", vault, "key", "generate", "--role", "targets/after"], environment: env).status == 0)
    }
}
