import Foundation
import Testing
import TestSupport

/// Secrets as people supply them: prompts that name each key, the key being replaced asked first,
/// three tries per key at a terminal, a passphrase per key unattended, the same rules for a new
/// passphrase typed or from the environment, and every export of private key material audited.
@Suite("trustvault CLI: passphrases as people supply them")
struct PassphrasePromptTests {
    static let gun = "docker.io/acme/app"
    static let oldPass = "old root passphrase"
    static let newPass = "new root passphrase"
    static let base = [
        "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase", "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase",
        "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase",
    ]

    /// A vault with two root keys under different passphrases and a repository made with the
    /// first (its output doubles as the current metadata offline).
    struct TwoRoots {
        let v: CLIVault
        let old: String
        let new: String
        var dir: String { v.dir.path }

        init() throws {
            v = try CLIVault()
            old = try v.generate("root", env: ["TRUSTVAULT_ROOT_PASSPHRASE": PassphrasePromptTests.oldPass])
            new = try v.generate("root", env: ["TRUSTVAULT_ROOT_PASSPHRASE": PassphrasePromptTests.newPass])
            let ts = try PathForms.timestampKey(in: v.dir.path)
            let r = try TrustVaultCLI.run(
                ["--vault", v.path, "repo", "init", gun, "--root-key", old, "--timestamp-key", ts, "--snapshot-key", ts, "--out", "current"],
                environment: PassphrasePromptTests.base.merging(["TRUSTVAULT_ROOT_PASSPHRASE": PassphrasePromptTests.oldPass]) { $1 },
                directory: v.dir.path)
            guard r.status == 0 else { throw TestFailure("repo init failed: \(r)") }
        }

        var rotate: [String] { ["--vault", v.path, "repo", "rotate", gun, "root", "--new-key", new, "--current", "current", "--out", "out"] }
    }

    @Test func perKeyVariablesUnlockTwoRootKeysUnattended() throws {
        let t = try TwoRoots()
        // One role variable cannot open both keys: the error names the variable and the key.
        let before = t.v.fingerprint()
        let one = try TrustVaultCLI.run(t.rotate, environment: Self.base.merging(["TRUSTVAULT_ROOT_PASSPHRASE": Self.oldPass]) { $1 }, directory: t.dir)
        expectFailure(one, status: 77, mentioning: "TRUSTVAULT_ROOT_PASSPHRASE", vault: t.v, before: before)
        #expect(one.stderr.contains(String(t.new.prefix(12))), "\(one)")
        #expect(one.stderr.contains("TRUSTVAULT_PASSPHRASE_\(t.new.prefix(12))"), "the hint names the per-key variable: \(one)")
        #expect(!FileManager.default.fileExists(atPath: t.v.dir.sub("out")))

        // A per-key variable for the new key, the role variable for the old one (per-key beats role).
        var env = Self.base
        env["TRUSTVAULT_ROOT_PASSPHRASE"] = Self.oldPass
        env["TRUSTVAULT_PASSPHRASE_\(t.new.prefix(12))"] = Self.newPass
        let r = try TrustVaultCLI.run(t.rotate, environment: env, directory: t.dir)
        #expect(r.status == 0, "\(r)")
        #expect(try Self.rootSignatures(t.v.dir.sub("out")) == 2, "signed by the old and the new root key")

        // Both per-key (one from a file, given relative to the working directory), a longer
        // prefix in upper case, no role variable.
        let t2 = try TwoRoots()
        try FileManager.default.createDirectory(atPath: t2.v.dir.sub("secrets"), withIntermediateDirectories: true)
        try (Self.oldPass + "\n").write(toFile: t2.v.dir.sub("secrets/old.pass"), atomically: true, encoding: .utf8)
        var env2 = Self.base
        env2["TRUSTVAULT_PASSPHRASE_\(t2.old.prefix(20).uppercased())_FILE"] = "secrets/old.pass"
        env2["TRUSTVAULT_PASSPHRASE_\(t2.new.prefix(12))"] = Self.newPass
        let r2 = try TrustVaultCLI.run(t2.rotate, environment: env2, directory: t2.dir)
        #expect(r2.status == 0, "\(r2)")
        #expect(try Self.rootSignatures(t2.v.dir.sub("out")) == 2)
    }

    /// The signatures on the root.json a rotation wrote into `out`.
    static func rootSignatures(_ out: String) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/tuf/\(gun)/metadata/root.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (json["signatures"] as? [Any])?.count ?? 0
    }

    @Test func promptsNameEachKeyReplacedFirstAndAllowThreeTries() throws {
        let t = try TwoRoots()
        let tty = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: t.rotate, environment: Self.base, directory: t.dir)
        let first = try tty.expect("Passphrase for root key \(t.old.prefix(12))… of \(Self.gun) (vault, being replaced): ")
        #expect(!first.contains(String(t.new.prefix(12))), "the key being replaced is asked for first: \(tty.transcript)")
        tty.send("not the passphrase")
        try tty.expect("does not unlock it")
        try tty.expect("Passphrase for root key \(t.old.prefix(12))… of \(Self.gun) (vault, being replaced): ")
        tty.send(Self.oldPass)
        try tty.expect("Passphrase for root key \(t.new.prefix(12))… of \(Self.gun) (vault, new): ")
        tty.send(Self.newPass)
        let status = try tty.wait()
        #expect(status == 0, "\(tty.transcript)")
        #expect(try Self.rootSignatures(t.v.dir.sub("out")) == 2)
        #expect(!tty.transcript.contains(Self.oldPass) && !tty.transcript.contains("not the passphrase"), "nothing typed is echoed")
        #expect(FileManager.default.fileExists(atPath: t.v.dir.sub("out/tuf/\(Self.gun)/metadata/root.json")))
    }

    @Test func threeWrongAnswersEndWith77AndChangeNothing() throws {
        let t = try TwoRoots()
        let before = t.v.fingerprint()
        let tty = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: t.rotate, environment: Self.base, directory: t.dir)
        try tty.expect("(vault, being replaced): ")
        tty.send(Self.oldPass)
        for _ in 0..<3 {
            try tty.expect("Passphrase for root key \(t.new.prefix(12))… of \(Self.gun) (vault, new): ")
            tty.send("wrong answer")
        }
        let status = try tty.wait()
        #expect(status == 77, "\(tty.transcript)")
        #expect(tty.transcript.components(separatedBy: "error:").count == 2, "one error line: \(tty.transcript)")
        #expect(t.v.fingerprint() == before, "the vault is unchanged")
        #expect(!FileManager.default.fileExists(atPath: t.v.dir.sub("out")))
        #expect(PathForms.debris(under: t.dir).isEmpty)
    }

    @Test func newPassphrasesFollowOneRuleTypedOrFromTheEnvironment() throws {
        let v = try CLIVault()
        let targets = try v.generate("targets", gun: Self.gun)
        let before = v.fingerprint()
        let cases: [([String], [String: String], String)] = [
            (["key", "export", targets, "--out", "t.key"], CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "x"]) { $1 }, "TRUSTVAULT_EXPORT_PASSPHRASE"),
            (["key", "passwd", targets], CLIVault.env.merging(["TRUSTVAULT_NEW_PASSPHRASE": "short"]) { $1 }, "TRUSTVAULT_NEW_PASSPHRASE"),
            (["key", "generate", "--role", "root"], ["TRUSTVAULT_ROOT_PASSPHRASE": "1234567"], "TRUSTVAULT_ROOT_PASSPHRASE"),
            (["backup", "create", "--out", "b.tvbackup"], ["TRUSTVAULT_BACKUP_PASSPHRASE": "abc"], "TRUSTVAULT_BACKUP_PASSPHRASE"),
        ]
        for (args, env, variable) in cases {
            let r = try TrustVaultCLI.run(["--vault", v.path] + args, environment: env, directory: v.dir.path)
            expectFailure(r, status: 64, mentioning: variable, vault: v, before: before)
            #expect(r.stderr.contains("8 characters"), "\(r)")
        }
        #expect(!FileManager.default.fileExists(atPath: v.dir.sub("t.key")) && !FileManager.default.fileExists(atPath: v.dir.sub("b.tvbackup")))
        // Eight characters are enough.
        let ok = try TrustVaultCLI.run(
            ["--vault", v.path, "key", "export", targets, "--out", "t.key"],
            environment: CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "12345678"]) { $1 }, directory: v.dir.path)
        #expect(ok.status == 0, "\(ok)")
    }

    @Test func everyPrivateKeyExportIsAuditedAndUnencryptedAsksFirst() throws {
        let v = try CLIVault()
        let targets = try v.generate("targets", gun: Self.gun)
        func audit() throws -> [String] {
            try String(contentsOfFile: v.path + "/audit.log", encoding: .utf8).split(separator: "\n").map(String.init).filter { $0.contains("\"export\"") }
        }
        let pem = ["--vault", v.path, "key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--out", "t.pem"]
        // Unattended without --yes: refused, nothing written.
        let before = v.fingerprint()
        expectFailure(try TrustVaultCLI.run(pem, environment: CLIVault.env, directory: v.dir.path), status: 64, mentioning: "--yes", vault: v, before: before)
        // At a terminal: asked; "n" writes nothing, "y" writes and audits.
        let no = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: pem, environment: CLIVault.env, directory: v.dir.path)
        try no.expect("UNENCRYPTED")
        no.send("n")
        #expect(try no.wait() == 0, "\(no.transcript)")
        #expect(!FileManager.default.fileExists(atPath: v.dir.sub("t.pem")))
        #expect(try audit().isEmpty)
        let yes = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: pem, environment: CLIVault.env, directory: v.dir.path)
        try yes.expect("UNENCRYPTED")
        yes.send("y")
        #expect(try yes.wait() == 0, "\(yes.transcript)")
        #expect(FileManager.default.fileExists(atPath: v.dir.sub("t.pem")))
        #expect(try audit().count == 1 && audit()[0].contains("pem-unencrypted") && audit()[0].contains(targets))

        // Encrypted exports and the online key files a ceremony writes are audited too.
        let env = CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"]) { $1 }
        #expect(try TrustVaultCLI.run(["--vault", v.path, "key", "export", targets, "--out", "t.key"], environment: env, directory: v.dir.path).status == 0)
        #expect(try audit().count == 2)
        let root = try v.generate("root")
        let ts = try PathForms.timestampKey(in: v.dir.path)
        let initR = try TrustVaultCLI.run(
            ["--vault", v.path, "repo", "init", Self.gun, "--root-key", root, "--timestamp-key", ts, "--out", "out"],
            environment: env, directory: v.dir.path)
        #expect(initR.status == 0, "\(initR)")
        let last = try #require(try audit().last)
        #expect(try audit().count == 3 && last.contains("notary-online") && last.contains(Self.gun))
    }
}
