import Foundation
import Testing
import TestSupport

/// What people expect of a CLI: --version with the commit and build date, manual pages that
/// cover every command and option, completion scripts for bash, zsh and fish, --json on the
/// commands that report a result, a `key list` that fits 100 columns, and progress lines for
/// the slow steps. Commands run with relative paths in a working directory, as typed.
@Suite("trustvault CLI: version, manual, completion, JSON, width, progress")
struct CLIConventionsTests {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var binaries: [(name: String, path: String)] {
        [("trustvault", TrustVaultCLI.binary), ("trustvault-online", TrustVaultCLI.productsDirectory + "/trustvault-online")]
    }

    @Test func versionNamesTheReleaseCommitAndBuildDate() throws {
        let git = Run.which("git")
        let head = try git.map { try Run.program($0, ["-C", Self.packageRoot, "rev-parse", "--short=12", "HEAD"]) }
        for (name, path) in Self.binaries {
            let r = try Run.program(path, ["--version"])
            #expect(r.status == 0, "\(name): \(r)")
            let line = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let pattern = #/^0\.1\.0 \(commit ([0-9a-f]{12}(-modified)?|unknown), built \d{4}-\d{2}-\d{2}\)$/#
            #expect(line.wholeMatch(of: pattern) != nil, "\(name) --version: \(line)")
            if let head, head.status == 0 {
                #expect(line.contains("commit " + head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(name) --version names HEAD: \(line)")
            }
        }
    }

    /// Every command and every long option the parser knows is in the committed manual page
    /// (a cheap currency check; `Scripts/gen-man.sh --check` compares byte for byte).
    @Test func manualPagesCoverEveryCommandAndOption() throws {
        for (name, path) in Self.binaries {
            let dump = try Run.program(path, ["--experimental-dump-help"])
            #expect(dump.status == 0, "\(dump)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
            let page = try String(contentsOfFile: Self.packageRoot + "/docs/man/\(name).1", encoding: .utf8)
            // mdoc writes an option as `Fl -name` (rendered --name), short and long as `Fl h , -help`.
            let text = page.replacingOccurrences(of: "Fl -", with: "--").replacingOccurrences(of: " , -", with: " , --")
            var missing: [String] = []
            func walk(_ command: [String: Any], path: [String]) {
                let commandName = command["commandName"] as? String ?? ""
                let here = path + [commandName]
                if path.count > 0, !text.contains(commandName) { missing.append(here.joined(separator: " ")) }
                for argument in command["arguments"] as? [[String: Any]] ?? [] {
                    for n in argument["names"] as? [[String: Any]] ?? [] where n["kind"] as? String == "long" {
                        let option = "--" + (n["name"] as? String ?? "")
                        if !text.contains(option) { missing.append(here.joined(separator: " ") + " " + option) }
                    }
                }
                for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub, path: here) }
            }
            walk(try #require(json["command"] as? [String: Any]), path: [])
            #expect(missing.isEmpty, "docs/man/\(name).1 is out of date (run Scripts/gen-man.sh): missing \(missing)")
        }
    }

    @Test func completionScriptsForBashZshAndFishAreDocumented() throws {
        let readme = try String(contentsOfFile: Self.packageRoot + "/README.md", encoding: .utf8)
        for (name, path) in Self.binaries {
            for shell in ["bash", "zsh", "fish"] {
                let r = try Run.program(path, ["--generate-completion-script", shell])
                #expect(r.status == 0 && r.stdout.contains(name) && r.stdout.count > 200, "\(name) \(shell): \(r.status)")
            }
        }
        for shell in ["bash", "zsh", "fish"] {
            #expect(readme.contains("trustvault --generate-completion-script \(shell) > "), "README: one-line install for \(shell)")
        }
        #expect(readme.contains("install -m 0644 docs/man/*.1 /usr/local/share/man/man1/"))
    }

    @Test func keyListFits100ColumnsWideAndJSONHaveTheDetails() throws {
        let v = try CLIVault()
        let gun = "registry.example.com/a-rather-long-team-name/and-an-even-longer-application-name"
        let root = try v.generate("root")
        let targets = try v.generate("targets", gun: gun)
        let signer = try v.generate("targets/releases-of-the-platform-team-with-a-long-name")
        let list = try v.run(["key", "list"], env: [:])
        #expect(list.status == 0, "\(list)")
        for line in list.stdout.split(separator: "\n") {
            #expect(line.count <= 100, "\(line.count) columns: \(line)")
        }
        for id in [root, targets, signer] { #expect(list.stdout.contains(id.prefix(16)), "\(list.stdout)") }
        #expect(list.stdout.contains("KEY ID") && list.stdout.contains("current"), "\(list.stdout)")
        // A short ID from the table is accepted where a key ID is asked for.
        let exported = try v.run(["key", "export", String(root.prefix(16)), "--format", "public", "--out", v.dir.sub("root.pub")], env: [:])
        #expect(exported.status == 0, "\(exported)")
        let wide = try v.run(["key", "list", "--wide"], env: [:])
        for id in [root, targets, signer] { #expect(wide.stdout.contains(id), "\(wide.stdout)") }
        #expect(wide.stdout.contains(gun) && wide.stdout.contains("ROOT CERTIFICATE IDS"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try v.run(["key", "list", "--json"], env: [:]).stdout.utf8)) as? [[String: Any]])
        #expect(json.count == 3 && json.allSatisfy { $0["id"] is String && $0["role"] != nil && $0["gun"] != nil && $0["location"] as? String == "vault" })
    }

    @Test func tufVerifyAndBackupVerifyPrintJSON() throws {
        let v = try CLIVault()
        let work = v.dir.path
        let root = try v.generate("root")
        func run(_ args: [String], env: [String: String] = CLIVault.env) throws -> ProcessResult {
            try TrustVaultCLI.run(["--vault", "vault"] + args, environment: env, directory: work)
        }
        let made = try run(["tuf", "init", "repo", "--root-key", root])
        #expect(made.status == 0, "\(made)")
        let verified = try run(["tuf", "verify", "repo", "--json"], env: [:])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.split(separator: "\n").count == 1, "one JSON line: \(verified.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])
        #expect(report["valid"] as? Bool == true && report["directory"] as? String == "repo", "\(report)")
        #expect((report["passed"] as? [String])?.isEmpty == false && (report["problems"] as? [String]) == [], "\(report)")

        // A damaged timestamp: the report says valid=false with the problem, plus one error line.
        let timestamp = work + "/repo/metadata/timestamp.json"
        var bytes = try String(contentsOfFile: timestamp, encoding: .utf8)
        bytes = bytes.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 7").replacingOccurrences(of: "\"version\":1", with: "\"version\":7")
        try bytes.write(toFile: timestamp, atomically: true, encoding: .utf8)
        let broken = try run(["tuf", "verify", "repo", "--json"], env: [:])
        #expect(broken.status == 1 && broken.errorLines.count == 1, "\(broken)")
        let brokenReport = try #require(try JSONSerialization.jsonObject(with: Data(broken.stdout.utf8)) as? [String: Any], "\(broken)")
        #expect(brokenReport["valid"] as? Bool == false && (brokenReport["problems"] as? [String])?.isEmpty == false, "\(brokenReport)")

        let backupEnv = ["TRUSTVAULT_BACKUP_PASSPHRASE": "backup-passphrase"]
        let created = try run(["backup", "create", "--out", "vault.tvbackup"], env: backupEnv)
        #expect(created.status == 0, "\(created)")
        let checked = try run(["backup", "verify", "vault.tvbackup", "--json"], env: backupEnv)
        #expect(checked.status == 0, "\(checked)")
        #expect(checked.stderr.contains("deriving the backup key from its passphrase (Argon2id, 1024 MiB)…"), "\(checked)")
        #expect(checked.stdout.split(separator: "\n").count == 1, "progress stays off stdout: \(checked.stdout)")
        let backup = try #require(try JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any], "\(checked)")
        #expect(backup["valid"] as? Bool == true && backup["file"] as? String == "vault.tvbackup", "\(backup)")
        #expect((backup["keys"] as? [[String: Any]])?.contains { $0["id"] as? String == root } == true, "\(backup)")
        #expect((backup["key"] as? [String: Any])?["mode"] as? String == "passphrase", "\(backup)")
        let wrong = try run(["backup", "verify", "vault.tvbackup", "--json"], env: ["TRUSTVAULT_BACKUP_PASSPHRASE": "not-the-passphrase"])
        #expect(wrong.status == 77 && wrong.errorLines.count == 1 && wrong.stdout.isEmpty, "\(wrong)")
    }

    /// Sealing keys at the moderate profile takes about a second each: `key import` of a trust
    /// directory says which key it seals ("sealing key 2 of 3 …") on stderr, stdout unchanged.
    @Test func slowStepsPrintProgressOnStderr() throws {
        let source = try CLIVault()
        let ids = [
            try source.generate("targets", gun: "docker.io/acme/app"), try source.generate("snapshot", gun: "docker.io/acme/app"),
            try source.generate("targets/releases"),
        ]
        let exportEnv = CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"]) { $1 }
        let work = source.dir.path
        let exported = try TrustVaultCLI.run(["--vault", "vault", "key", "export"] + ids + ["--out", "trust/"], environment: exportEnv, directory: work)
        #expect(exported.status == 0, "\(exported)")
        let initR = try TrustVaultCLI.run(["--vault", "moderate", "init", "--kdf", "moderate"], directory: work)
        #expect(initR.status == 0, "\(initR)")
        let importEnv = CLIVault.env.merging(["TRUSTVAULT_IMPORT_PASSPHRASE": "export-passphrase"]) { $1 }
        let imported = try TrustVaultCLI.run(["--vault", "moderate", "key", "import", "trust"], environment: importEnv, directory: work)
        #expect(imported.status == 0, "\(imported)")
        for n in 1...3 { #expect(imported.stderr.contains("sealing key \(n) of 3 ("), "\(imported)") }
        #expect(!imported.stdout.contains("sealing"), "progress stays off stdout")
        // A root key is sealed and unlocked at the moderate profile at least: generate and tuf init say so.
        let root = try TrustVaultCLI.run(["--vault", "moderate", "key", "generate", "--role", "root"], environment: CLIVault.env, directory: work)
        #expect(root.status == 0 && root.stderr.contains("sealing the new root key"), "\(root)")
        let tuf = try TrustVaultCLI.run(
            ["--vault", "moderate", "tuf", "init", "repo", "--root-key", root.lastLine], environment: CLIVault.env, directory: work)
        #expect(tuf.status == 0 && tuf.stderr.contains("unlocking the root key"), "\(tuf)")
    }
}
