import Foundation
import Testing
import TestSupport

/// A demo vault driven through the real `trustvault` binary.
struct CLIVault {
    let dir = TemporaryDirectory("cli-vault")
    var path: String { dir.sub("vault") }
    static let env = [
        "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase",
        "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
        "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase",
        "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-passphrase",
    ]

    init(kdf: String = "interactive") throws {
        let r = try TrustVaultCLI.run(["--vault", dir.sub("vault"), "init", "--kdf", kdf])
        guard r.status == 0 else { throw TestFailure("init failed: \(r)") }
    }

    @discardableResult
    func run(_ args: [String], env: [String: String] = CLIVault.env, stdin: String? = nil) throws -> ProcessResult {
        try TrustVaultCLI.run(["--vault", path] + args, environment: env, stdin: stdin)
    }

    func generate(_ role: String, gun: String? = nil, algorithm: String = "ecdsa") throws -> String {
        var args = ["key", "generate", "--role", role, "--algorithm", algorithm]
        if let gun { args += ["--gun", gun] }
        let r = try run(args)
        guard r.status == 0 else { throw TestFailure("key generate failed: \(r)") }
        return r.lastLine
    }

    func fingerprint() -> String { treeFingerprint(path, excluding: [".lock"]) }
}

/// Checks the failure contract: the expected status, exactly one `error:` line, and no change.
func expectFailure(
    _ result: ProcessResult, status: Int32, mentioning needle: String? = nil, vault: CLIVault? = nil,
    before: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    #expect(result.errorLines.count == 1, "exactly one error line: \(result.stderr)", sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
    if let needle {
        #expect(result.stderr.contains(needle), "stderr should mention \(needle): \(result.stderr)", sourceLocation: sourceLocation)
    }
    if let vault, let before {
        #expect(vault.fingerprint() == before, "the vault must be byte-for-byte unchanged", sourceLocation: sourceLocation)
    }
}

@Suite("trustvault CLI: the vault")
struct VaultCLITests {
    @Test func lifecycle() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let targets = try v.generate("targets", gun: "docker.io/acme/app")
        let ci = try v.generate("targets/releases", algorithm: "ed25519")
        let rsa = try v.generate("alice", algorithm: "rsa")
        for id in [root, targets, ci, rsa] { #expect(id.count == 64 && id.allSatisfy(\.isHexDigit)) }

        let list = try v.run(["key", "list"], env: [:])
        #expect(list.status == 0)
        #expect(list.stdout.contains(root.prefix(16)) && list.stdout.contains("docker.io/acme/app"))
        #expect(try v.run(["key", "list", "--wide"], env: [:]).stdout.contains(root))

        let json = try v.run(["key", "list", "--json"], env: [:])
        let items = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 4)
        let rootItem = try #require(items.first { $0["id"] as? String == root })
        #expect(rootItem["role"] as? String == "root")
        #expect(rootItem["gun"] is NSNull)
        #expect(rootItem["algorithm"] as? String == "ecdsa")
        #expect(rootItem["location"] as? String == "vault")
        #expect(items.first { $0["id"] as? String == targets }?["gun"] as? String == "docker.io/acme/app")

        // Public export, then unencrypted PEM only with the explicit flag.
        let pub = v.dir.sub("root.pub")
        #expect(try v.run(["key", "export", root, "--format", "public", "--out", pub]).status == 0)
        #expect(try String(contentsOfFile: pub, encoding: .utf8).hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let refused = try v.run(["key", "export", targets, "--format", "pem", "--out", v.dir.sub("t.pem")])
        expectFailure(refused, status: 64, mentioning: "i-understand-this-is-unencrypted")
        let pem = v.dir.sub("t.pem")
        #expect(try v.run(["key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", pem]).status == 0)
        #expect(try String(contentsOfFile: pem, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let mode = try FileManager.default.attributesOfItem(atPath: pem)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        // The exported key is the same key: OpenSSL derives the same public key.
        let spki = try Run.program(requireTool("openssl", package: "openssl"), ["pkey", "-in", pem, "-pubout", "-outform", "DER"])
        #expect(spki.status == 0)

        // Passphrase change: the old one stops working, the new one works.
        var env = CLIVault.env
        env["TRUSTVAULT_NEW_PASSPHRASE"] = "new-targets-passphrase"
        #expect(try v.run(["key", "passwd", targets], env: env).lastLine == targets)
        expectFailure(
            try v.run(["key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", v.dir.sub("t2.pem")]),
            status: 77, mentioning: "passphrase")
        env["TRUSTVAULT_TARGETS_PASSPHRASE"] = "new-targets-passphrase"
        #expect(
            try v.run(["key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", v.dir.sub("t3.pem")], env: env)
                .status == 0)

        // Remove needs --yes without a terminal.
        expectFailure(try v.run(["key", "remove", ci]), status: 64, mentioning: "--yes")
        #expect(try v.run(["key", "remove", ci, "--yes"]).status == 0)
        #expect(!(try v.run(["key", "list"], env: [:]).stdout.contains(ci)))
    }

    @Test func everyErrorIsOneLineWithTheRightStatusAndNoChange() throws {
        let v = try CLIVault()
        let targets = try v.generate("targets", gun: "example.com/app")
        let before = v.fingerprint()
        let out = v.dir.sub("never.pem")

        var wrong = CLIVault.env
        wrong["TRUSTVAULT_TARGETS_PASSPHRASE"] = "wrong passphrase"
        expectFailure(
            try v.run(["key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out], env: wrong),
            status: 77, mentioning: String(targets.prefix(12)), vault: v, before: before)
        var newPass = wrong
        newPass["TRUSTVAULT_NEW_PASSPHRASE"] = "another passphrase"
        expectFailure(try v.run(["key", "passwd", targets], env: newPass), status: 77, vault: v, before: before)
        expectFailure(try v.run(["key", "passwd", "abcdef0123"]), status: 66, mentioning: "abcdef0123", vault: v, before: before)
        expectFailure(try v.run(["key", "remove", "abcdef0123", "--yes"]), status: 66, vault: v, before: before)
        expectFailure(try v.run(["key", "generate", "--role", "targets"]), status: 64, mentioning: "--gun", vault: v, before: before)
        expectFailure(
            try v.run(["key", "generate", "--role", "root"], env: [:]), status: 65,
            mentioning: "TRUSTVAULT_ROOT_PASSPHRASE", vault: v, before: before)
        expectFailure(try v.run(["key", "generate", "--role", "root", "--algorithm", "dsa"]), status: 64, vault: v, before: before)
        expectFailure(try v.run(["init"]), status: 73, mentioning: "already exists", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: out))

        // No vault at all.
        let missing = try TrustVaultCLI.run(["--vault", v.dir.sub("missing"), "key", "list"])
        expectFailure(missing, status: 66, mentioning: "trustvault init")

        // Tampered and truncated record files: named, exit 65 (bad data) or 77, vault unchanged.
        let record = v.path + "/keys/\(targets).json"
        let original = try Data(contentsOf: URL(fileURLWithPath: record))
        try Data(original.prefix(original.count / 2)).write(to: URL(fileURLWithPath: record))
        let truncatedFP = v.fingerprint()
        expectFailure(try v.run(["key", "list"]), status: 65, mentioning: "\(targets).json", vault: v, before: truncatedFP)
        var tampered = original
        let index =
            try #require(String(decoding: original, as: UTF8.self).range(of: "\"ciphertext\":\"")).upperBound.utf16Offset(
                in: String(decoding: original, as: UTF8.self)) + 4
        tampered[index] = tampered[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try tampered.write(to: URL(fileURLWithPath: record))
        let tamperedFP = v.fingerprint()
        expectFailure(
            try v.run(["key", "export", targets, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out]),
            status: 77, mentioning: "modified", vault: v, before: tamperedFP)

        // Group-readable files: refused with the fix.
        try original.write(to: URL(fileURLWithPath: record))
        chmod(record, 0o644)
        expectFailure(try v.run(["key", "list"]), status: 77, mentioning: "other users", vault: nil)
        #expect(try v.run(["key", "list"]).stderr.contains("chmod -R go-rwx"))
    }

    @Test func concurrentWritersNeverLoseAKey() throws {
        let v = try CLIVault()
        let writers = 8
        var processes: [RunningProcess] = []
        for i in 0..<writers {
            let role = i % 2 == 0 ? "targets/team\(i)" : "signer\(i)"
            processes.append(
                try Run.start(
                    TrustVaultCLI.binary, ["--vault", v.path, "key", "generate", "--role", role],
                    environment: CLIVault.env))
        }
        var ids: [String] = []
        for p in processes {
            let r = try p.wait()
            #expect(r.status == 0, "\(r)")
            ids.append(r.lastLine)
        }
        let listed = try v.run(["key", "list", "--json"], env: [:])
        for id in ids { #expect(listed.stdout.contains(id)) }
        let audit = try String(contentsOfFile: v.path + "/audit.log", encoding: .utf8)
        #expect(audit.split(separator: "\n").count == writers + 1, "every change is in the audit log, none interleaved")
    }

    @Test func killedWritersNeverLeaveAHalfWrittenVault() throws {
        let v = try CLIVault()
        let key = try v.generate("targets", gun: "example.com/crash")
        var passphrases = ["targets-passphrase"]
        var survivors: [String] = [key]
        for round in 0..<24 {
            let old = passphrases.last!
            let new = "passphrase-\(round)"
            var env = CLIVault.env
            env["TRUSTVAULT_TARGETS_PASSPHRASE"] = old
            env["TRUSTVAULT_NEW_PASSPHRASE"] = new
            let args =
                round % 3 == 2
                ? ["--vault", v.path, "key", "generate", "--role", "targets/crash\(round)"]
                : ["--vault", v.path, "key", "passwd", key]
            let p = try Run.start(TrustVaultCLI.binary, args, environment: env)
            usleep(UInt32.random(in: 0...450_000))
            p.kill9()
            // The vault must still open, and every record must be whole and unlock.
            let list = try v.run(["key", "list", "--json"], env: [:])
            #expect(list.status == 0, "round \(round): \(list)")
            let json = try #require(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            survivors = json.compactMap { $0["id"] as? String }
            #expect(survivors.contains(key))
            // The passwd either happened or it did not: exactly one of old/new unlocks.
            let probe = { (pass: String) throws -> Bool in
                var e = CLIVault.env
                e["TRUSTVAULT_TARGETS_PASSPHRASE"] = pass
                let out = v.dir.sub("probe-\(UUID().uuidString.prefix(6)).pem")
                return try v.run(["key", "export", key, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out], env: e).status == 0
            }
            if round % 3 != 2, try probe(new) { passphrases.append(new) } else { #expect(try probe(old), "round \(round)") }
        }
        // Every delegation key that made it in unlocks with its passphrase.
        for id in survivors where id != key {
            let out = v.dir.sub("d-\(id.prefix(8)).pem")
            #expect(try v.run(["key", "export", id, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out]).status == 0)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: v.path + "/keys").filter { $0.hasPrefix(".tmp-") }
        _ = leftovers  // temporaries may remain after a kill; they are invisible and cleaned by the next writer
        #expect(try v.run(["key", "generate", "--role", "targets/after"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: v.path + "/keys").filter { $0.hasPrefix(".tmp-") }.isEmpty)
    }

    @Test func helpExistsForEveryCommand() throws {
        for args in [
            ["--help"], ["init", "--help"], ["key", "--help"], ["key", "generate", "--help"], ["key", "list", "--help"],
            ["key", "export", "--help"], ["key", "passwd", "--help"], ["key", "remove", "--help"],
        ] {
            let r = try TrustVaultCLI.run(args)
            #expect(r.status == 0 && r.stdout.contains("USAGE"), "\(args): \(r)")
        }
    }
}

@Suite("trustvault CLI: terminal prompts")
struct PromptCLITests {
    /// Runs trustvault on a pseudo-terminal (util-linux `script`), typing `lines` with pauses.
    func onTerminal(_ args: [String], typing lines: [String]) throws -> ProcessResult {
        let script = try requireTool("script", package: "util-linux")
        let command = ([TrustVaultCLI.binary] + args).map { "'\($0)'" }.joined(separator: " ")
        let feeder = lines.map { "sleep 0.6; printf '%s\\n' '\($0)'" }.joined(separator: "; ") + "; sleep 2"
        return try Run.program("/bin/sh", ["-c", "(\(feeder)) | \(script) -qec \"\(command)\" /dev/null"])
    }

    @Test func newPassphrasesAreAskedTwiceWithoutEchoAndAtLeast8Characters() throws {
        let v = try CLIVault()
        let r = try onTerminal(
            ["--vault", v.path, "key", "generate", "--role", "targets/tty"],
            typing: ["short", "first passphrase", "different one", "typed passphrase", "typed passphrase"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("at least 8 characters"))
        #expect(r.stdout.contains("differ"))
        #expect(!r.stdout.contains("typed passphrase"), "the passphrase must not be echoed")
        let id = try #require(r.stdout.split(whereSeparator: \.isNewline).last.map { $0.trimmingCharacters(in: .whitespaces) })
        // The typed passphrase is the one that unlocks the key.
        let out = v.dir.sub("tty.pem")
        var env = CLIVault.env
        env["TRUSTVAULT_DELEGATION_PASSPHRASE"] = "typed passphrase"
        #expect(try v.run(["key", "export", id, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out], env: env).status == 0)
    }
}
