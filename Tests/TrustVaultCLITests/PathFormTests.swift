import Foundation
import Testing
import TestSupport

/// Paths as people write them: every writing command, run from a working directory with a
/// relative, `./`, nested, `..` and trailing-slash path for each file and directory argument.
/// Each output must land where it was asked for and verify; a failed run (an output that
/// exists, a wrong passphrase) leaves no staging directory or temporary file anywhere.
@Suite("trustvault CLI: paths as people write them")
struct PathFormTests {
    static let gun = "docker.io/acme/app"
    static let env = [
        "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase", "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
        "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase", "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-passphrase",
        "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase", "TRUSTVAULT_IMPORT_PASSPHRASE": "export-passphrase",
        "TRUSTVAULT_BACKUP_PASSPHRASE": "backup-passphrase",
    ]

    /// One form's working directory, vault and commands.
    final class Bench {
        let base = TemporaryDirectory("path-forms")
        let form: PathForm
        let cwd: String
        let vault: String

        init(_ form: PathForm) throws {
            self.form = form
            cwd = form.workingSubdirectory.isEmpty ? base.path : base.sub(form.workingSubdirectory)
            try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
            vault = form.dir("vault")
        }

        /// Where an argument written relative to the working directory lands.
        func at(_ argument: String) -> String { (cwd + "/" + argument as NSString).standardizingPath }
        func exists(_ argument: String) -> Bool { FileManager.default.fileExists(atPath: at(argument)) }

        func run(_ args: [String], env: [String: String] = PathFormTests.env, vault: String? = nil) throws -> ProcessResult {
            try TrustVaultCLI.run(["--vault", vault ?? self.vault] + args, environment: env, directory: cwd)
        }

        @discardableResult
        func ok(
            _ args: [String], env: [String: String] = PathFormTests.env, vault: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> ProcessResult {
            let r = try run(args, env: env, vault: vault)
            #expect(r.status == 0, "[\(form.name)] trustvault \(args.joined(separator: " ")) in \(cwd): \(r)", sourceLocation: sourceLocation)
            return r
        }

        /// A run that must fail with one error line, leaving no debris and `absent` absent.
        func refused(
            _ args: [String], status: Int32, env: [String: String] = PathFormTests.env, absent: String? = nil,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let r = try run(args, env: env)
            #expect(r.status == status, "[\(form.name)] trustvault \(args.joined(separator: " ")): \(r)", sourceLocation: sourceLocation)
            #expect(r.errorLines.count == 1, "[\(form.name)] one error line: \(r.stderr)", sourceLocation: sourceLocation)
            if let absent { #expect(!exists(absent), "[\(form.name)] \(absent) must not exist", sourceLocation: sourceLocation) }
            noDebris(sourceLocation: sourceLocation)
        }

        func noDebris(sourceLocation: SourceLocation = #_sourceLocation) {
            let left = PathForms.debris(under: base.path)
            #expect(left.isEmpty, "[\(form.name)] staging debris left: \(left)", sourceLocation: sourceLocation)
        }

        func verify(_ out: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try TrustVaultCLI.run(["verify", out, "--gun", PathFormTests.gun], directory: cwd)
            #expect(r.status == 0, "[\(form.name)] verify \(out): \(r)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: PathForm.all)
    func notaryCommandsWriteWhereAsked(form: PathForm) throws {
        let b = try Bench(form)
        let f = form, gun = Self.gun
        // init --vault, key generate
        try b.ok(["init", "--kdf", "interactive"])
        #expect(b.exists(f.dir("vault") + "/vault.json"))
        let root = try b.ok(["key", "generate", "--role", "root"]).lastLine
        let root2 = try b.ok(["key", "generate", "--role", "root"]).lastLine
        let ci = try b.ok(["key", "generate", "--role", "targets/ci"]).lastLine

        // key export (file, directory, public, unencrypted) and key import into a second vault.
        try b.ok(["key", "export", ci, "--out", f.file("ci.key")])
        #expect(b.exists(f.file("ci.key")))
        try b.ok(["key", "export", ci, "--out", f.dir("exported") + "/"])
        #expect(b.exists(f.dir("exported") + "/private/\(ci).key"))
        try b.ok(["key", "export", root, "--format", "public", "--out", f.file("root.pub")])
        try b.ok(["key", "export", ci, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", f.file("ci.pem")])
        try b.refused(["key", "export", ci, "--out", f.file("ci.key")], status: 73)
        let second = f.dir("vault2")
        try b.ok(["init", "--kdf", "interactive"], vault: second)
        try b.ok(["key", "import", f.file("ci.key")], vault: second)
        try b.ok(["init", "--kdf", "interactive"], vault: f.dir("vault3"))
        try b.ok(["key", "import", f.dir("exported")], vault: f.dir("vault3"))

        // The server's keys, as fetched next to the vault.
        try PathForms.timestampKey(in: (b.at(f.file("keys/x")) as NSString).deletingLastPathComponent, name: "timestamp.key")
        try PathForms.timestampKey(in: (b.at(f.file("keys/x")) as NSString).deletingLastPathComponent, name: "snapshot.key")
        let ts = f.file("keys/timestamp.key"), snap = f.file("keys/snapshot.key")

        // repo init; again into the same --out is refused without debris.
        try b.ok(["repo", "init", gun, "--root-key", root, "--timestamp-key", ts, "--snapshot-key", snap, "--out", f.dir("init")])
        #expect(b.exists(f.dir("init") + "/tuf/\(gun)/metadata/root.json"))
        #expect(b.exists(f.dir("init") + "/private"))
        try b.verify(f.dir("init"))
        try b.refused(["repo", "init", gun, "--root-key", root, "--timestamp-key", ts, "--snapshot-key", snap, "--out", f.dir("init")], status: 73)
        // A wrong passphrase (for a GUN this vault has no trust data for: a second init of `gun`
        // is refused before any passphrase is asked): nothing at --out, no debris.
        var wrong = Self.env
        wrong["TRUSTVAULT_ROOT_PASSPHRASE"] = "not the root passphrase"
        try b.refused(
            ["repo", "init", gun + "-never", "--root-key", root, "--timestamp-key", ts, "--snapshot-key", snap, "--out", f.dir("never")],
            status: 77, env: wrong, absent: f.dir("never"))

        // root cert, repo rotate root, root sign
        try b.ok(["root", "cert", gun, "--key", root2, "--out", f.file("root2.crt")])
        #expect(b.exists(f.file("root2.crt")))
        try b.ok(["repo", "rotate", gun, "root", "--new-key", root2, "--current", f.dir("init"), "--out", f.dir("rotated")])
        let rotatedRoot = f.dir("rotated") + "/tuf/\(gun)/metadata/root.json"
        #expect(b.exists(rotatedRoot))
        try b.ok(["root", "sign", rotatedRoot, "--key", root, "--out", f.file("resigned.json")])
        #expect(b.exists(f.file("resigned.json")))
        try b.refused(
            ["repo", "rotate", gun, "root", "--new-key", root2, "--current", f.dir("init"), "--out", f.dir("never")],
            status: 77, env: wrong, absent: f.dir("never"))

        // repo rotate targets, repo refresh
        try b.ok(["repo", "rotate", gun, "targets", "--current", f.dir("init"), "--out", f.dir("targets-rotated")])
        try b.verify(f.dir("targets-rotated"))
        try b.ok(["repo", "refresh", gun, "--current", f.dir("init"), "--out", f.dir("refreshed"), "--roles", "targets"])
        #expect(b.exists(f.dir("refreshed") + "/tuf/\(gun)/metadata/targets.json"))
        try b.refused(["repo", "refresh", gun, "--current", f.dir("init"), "--out", f.dir("refreshed"), "--roles", "targets"], status: 73)

        // delegation add (a vault key and a key file), --pending, remove, purge
        try b.ok(["delegation", "add", gun, "targets/ci", "--key", ci, "--all-paths", "--current", f.dir("init"), "--out", f.dir("deleg")])
        #expect(b.exists(f.dir("deleg") + "/tuf/\(gun)/metadata/targets.json"))
        try b.refused(["delegation", "add", gun, "targets/ci", "--key", ci, "--all-paths", "--current", f.dir("init"), "--out", f.dir("deleg")], status: 73)
        try b.ok([
            "delegation", "add", gun, "targets/qa", "--key-file", f.file("root.pub"), "--paths", "qa/", "--current", f.dir("init"),
            "--pending", f.dir("deleg"), "--out", f.dir("deleg2"),
        ])
        try b.ok(["delegation", "remove", gun, "targets/ci", "--current", f.dir("init"), "--pending", f.dir("deleg"), "--out", f.dir("removed")])
        try b.ok([
            "delegation", "purge", gun, "--key", ci, "--remove-emptied-roles", "--current", f.dir("init"), "--pending", f.dir("deleg"), "--out",
            f.dir("purged"),
        ])
        var wrongTargets = Self.env
        wrongTargets["TRUSTVAULT_TARGETS_PASSPHRASE"] = "not the targets passphrase"
        try b.refused(
            ["delegation", "remove", gun, "targets/ci", "--current", f.dir("init"), "--pending", f.dir("deleg"), "--out", f.dir("never")],
            status: 77, env: wrongTargets, absent: f.dir("never"))

        // backup create (passphrase, shares), restore into a new vault
        try b.ok(["backup", "create", "--out", f.file("vault.tvbackup")])
        #expect(b.exists(f.file("vault.tvbackup")))
        try b.refused(["backup", "create", "--out", f.file("vault.tvbackup")], status: 73)
        try b.ok(["backup", "create", "--out", f.file("shared.tvbackup"), "--shares", "2/3", "--share-dir", f.dir("shares")])
        #expect(b.exists(f.dir("shares")))
        try b.ok(["backup", "verify", f.file("vault.tvbackup")])
        let restored = f.dir("restored-vault")
        try b.ok(["init", "--kdf", "interactive"], vault: restored)
        try b.ok(["backup", "restore", f.file("vault.tvbackup")], vault: restored)
        b.noDebris()
    }

    @Test(arguments: PathForm.all)
    func tufCommandsWriteWhereAsked(form: PathForm) throws {
        let b = try Bench(form)
        let f = form
        try b.ok(["init", "--kdf", "interactive"])
        let root = try b.ok(["key", "generate", "--role", "root"]).lastLine
        let team = try b.ok(["key", "generate", "--role", "targets/team-a", "--algorithm", "ed25519"]).lastLine
        let repo = f.dir("tuf-repo")
        try b.ok(["tuf", "init", repo, "--root-key", root])
        #expect(b.exists(repo + "/metadata/1.root.json"))
        try b.refused(["tuf", "init", repo, "--root-key", root], status: 73)
        try FileManager.default.createDirectory(atPath: (b.at(f.file("dist/x")) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "payload\n".write(toFile: b.at(f.file("dist/app-1.0.tar.gz")), atomically: true, encoding: .utf8)
        try b.ok(["tuf", "add-targets", repo, f.file("dist/app-1.0.tar.gz")])
        try b.ok(["tuf", "delegate", repo, "team-a", "--key", team, "--paths", "team-a/*"])
        try b.ok(["tuf", "rotate", repo, "timestamp"])
        try b.ok(["tuf", "refresh", repo])
        try b.ok(["tuf", "rotate", repo, "root"])
        try b.ok(["tuf", "sign", repo + "/metadata/2.root.json", "--key", root])
        var wrong = Self.env
        wrong["TRUSTVAULT_ROOT_PASSPHRASE"] = "not the root passphrase"
        let before = treeFingerprint(b.at(repo))
        let r = try b.run(["tuf", "rotate", repo, "root"], env: wrong)
        #expect(r.status == 77 && r.errorLines.count == 1, "\(r)")
        #expect(treeFingerprint(b.at(repo)) == before, "[\(f.name)] a failed rotation leaves the repository unchanged")
        let verify = try TrustVaultCLI.run(["tuf", "verify", repo], directory: b.cwd)
        #expect(verify.status == 0, "[\(f.name)] \(verify)")
        b.noDebris()
    }
}
