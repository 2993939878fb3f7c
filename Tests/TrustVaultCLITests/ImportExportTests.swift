import Foundation
import Testing
import TestSupport

/// Keys in and out of the vault, checked against the real docker CLI, notary and OpenSSL.
@Suite("trustvault CLI: key import and export with the real peers", .tags(.interop), .interop)
struct ImportExportTests {
    static let exportPass = "export-passphrase"

    /// Keys from `docker trust key generate` import with the IDs docker gave them (the file
    /// names), their signer roles, and the docker passphrase variable as fallback.
    @Test func dockerGeneratedKeysImportWithTheSameIDs() throws {
        let p = try Peers()
        let dockerEnv = ["DOCKER_CONFIG": p.path("docker"), "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "docker-pass"]
        for name in ["alice", "ci-bot"] {
            try p.run(p.docker, ["trust", "key", "generate", name, "--dir", p.dir.path], env: dockerEnv)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: p.path("docker/trust/private"))
        let dockerIDs = Set(files.filter { $0.hasSuffix(".key") }.map { String($0.dropLast(4)) })
        #expect(dockerIDs.count == 2)

        let v = try CLIVault()
        var env = CLIVault.env
        env["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"] = "docker-pass"  // no TRUSTVAULT_IMPORT_PASSPHRASE
        let r = try v.run(["key", "import", p.path("docker/trust")], env: env)
        #expect(r.status == 0, "\(r)")
        #expect(Set(keyIDLines(r)) == dockerIDs)
        let listed = try listedKeys(v)
        #expect(Set(listed.compactMap { $0["id"] as? String }) == dockerIDs)
        #expect(Set(listed.compactMap { $0["role"] as? String }) == ["alice", "ci-bot"])
        #expect(listed.allSatisfy { $0["gun"] is NSNull })
        // The .pub file docker wrote alongside is not a private key: refused, vault unchanged.
        let before = v.fingerprint()
        let pub = try v.run(["key", "import", p.path("alice.pub")], env: env)
        expectFailure(pub, status: 66, mentioning: "alice.pub", vault: v, before: before)
    }

    /// Keys made by `notary init` (root, targets and snapshot of a repository) import with the
    /// IDs `notary key list` shows, keeping role and GUN; both from the trust directory and from
    /// a `notary key export` bundle; passphrases through the NOTARY_* fallbacks.
    @Test func notaryInitKeysImportWithTheSameIDs() throws {
        let p = try Peers()
        let server = try SharedServers.plain()
        let notaryEnv = [
            "NOTARY_ROOT_PASSPHRASE": "n-root", "NOTARY_TARGETS_PASSPHRASE": "n-targets",
            "NOTARY_SNAPSHOT_PASSPHRASE": "n-snapshot",
        ]
        try p.run(p.notary, ["-s", server.url, "-d", p.path("notary"), "init", "example.com/app"], env: notaryEnv)
        let theirs = try p.notaryKeys(trustDir: p.path("notary"))
        #expect(Set(theirs.map(\.role)) == ["root", "targets", "snapshot"])
        try p.run(p.notary, ["-d", p.path("notary"), "key", "export", "-o", p.path("all.pem")], env: notaryEnv)

        for input in [p.path("notary"), p.path("all.pem")] {
            let v = try CLIVault()
            let r = try v.run(["key", "import", input], env: CLIVault.env.merging(notaryEnv) { $1 })
            #expect(r.status == 0, "\(r)")
            #expect(Set(keyIDLines(r)) == Set(theirs.map(\.id)))
            let listed = try listedKeys(v)
            for key in theirs {
                let mine = try #require(listed.first { $0["id"] as? String == key.id })
                #expect(mine["role"] as? String == key.role)
                #expect((mine["gun"] as? String ?? "") == key.gun)
            }
        }
    }

    /// `notary key generate -o NAME` writes an encrypted key without a `path:` header, which
    /// `notary key import` itself cannot read back (upstream #1473); trustvault imports it with
    /// the ID notary printed and the role from its header.
    @Test func notaryKeyGenerateOutputImports() throws {
        let p = try Peers()
        let env = ["NOTARY_DELEGATION_PASSPHRASE": "n-deleg"]
        try p.run(
            p.notary,
            [
                "-d", p.path("n"), "key", "generate", "ecdsa", "--role", "targets/releases",
                "-o", p.path("releases"),
            ], env: env)
        // notary writes the public key next to it (releases.pem, with a role: header OpenSSL
        // does not accept): its ID, computed by OpenSSL, is the key's ID.
        try p.shell("grep -v ': ' releases.pem > releases-pub.pem")
        let id = try p.opensslKeyID(privateKey: "releases-pub.pem", isPublic: true)
        #expect(try !p.read("releases-key.pem").contains("path:"))
        let v = try CLIVault()
        let r = try v.run(["key", "import", p.path("releases-key.pem")], env: CLIVault.env.merging(env) { $1 })
        #expect(r.status == 0, "\(r)")
        #expect(keyIDLines(r) == [id])
        #expect(try listedKeys(v).first?["role"] as? String == "targets/releases")

        // Without -o the key goes into the trust dir; the ID notary prints is the one imported.
        let generated = try p.run(p.notary, ["-d", p.path("n2"), "key", "generate", "ecdsa", "--role", "targets/ci"], env: env)
        let printed = try #require(generated.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(printed.count == 64, "\(generated)")
        let v2 = try CLIVault()
        let r2 = try v2.run(["key", "import", p.path("n2")], env: CLIVault.env.merging(env) { $1 })
        #expect(keyIDLines(r2) == [printed], "\(r2)")
    }

    /// What trustvault exports is imported by `notary key import`, listed with the right role
    /// and GUN, and really decrypts in notary (`notary key passwd` must unlock it).
    @Test func notaryImportsWhatTrustvaultExports() throws {
        let p = try Peers()
        let v = try CLIVault()
        let root = try v.generate("root")
        let targets = try v.generate("targets", gun: "example.com/app")
        let snapshot = try v.generate("snapshot", gun: "example.com/app")
        let releases = try v.generate("targets/releases", algorithm: "ed25519")
        let alice = try v.generate("alice", algorithm: "rsa")
        let expected = [
            root: ("root", ""), targets: ("targets", "example.com/app"), snapshot: ("snapshot", "example.com/app"),
            releases: ("targets/releases", ""), alice: ("alice", ""),
        ]
        var env = CLIVault.env
        env["TRUSTVAULT_EXPORT_PASSPHRASE"] = Self.exportPass
        let out = p.path("bundle.pem")
        let r = try v.run(["key", "export", root, targets, snapshot, releases, alice, "--out", out], env: env)
        #expect(r.status == 0, "\(r)")
        #expect(p.mode(out) == 0o600)
        let text = try p.read("bundle.pem")
        #expect(text.components(separatedBy: "-----BEGIN ENCRYPTED PRIVATE KEY-----").count == 6)
        #expect(text.components(separatedBy: "path: ").count == 6)

        let notaryEnv = [
            "NOTARY_ROOT_PASSPHRASE": Self.exportPass, "NOTARY_TARGETS_PASSPHRASE": Self.exportPass,
            "NOTARY_SNAPSHOT_PASSPHRASE": Self.exportPass, "NOTARY_DELEGATION_PASSPHRASE": Self.exportPass,
        ]
        try p.run(p.notary, ["-d", p.path("n1"), "key", "import", out], env: notaryEnv)
        let listed = try p.notaryKeys(trustDir: p.path("n1"))
        #expect(listed.count == 5)
        for key in listed {
            let want = try #require(expected[key.id], "notary lists an unexpected key \(key.id)")
            #expect(key.role == want.0 && key.gun == want.1, "\(key)")
            let unlocked = try p.run(p.notary, ["-d", p.path("n1"), "key", "passwd", key.id], env: notaryEnv)
            #expect(unlocked.stdout.contains("Successfully updated passphrase"), "\(unlocked)")
        }
        // The check above is meaningful: with a wrong passphrase notary cannot unlock the key.
        var wrong = notaryEnv
        wrong["NOTARY_ROOT_PASSPHRASE"] = "wrong"
        let refused = try p.run(p.notary, ["-d", p.path("n1"), "key", "passwd", root], env: wrong, expectSuccess: false)
        #expect(refused.status != 0)

        // Directory output: a trust-dir fragment notary reads as it is.
        let d = try v.run(["key", "export", targets, releases, "--out", p.path("fragment") + "/"], env: env)
        #expect(d.status == 0, "\(d)")
        for id in [targets, releases] {
            let file = p.path("fragment/private/\(id).key")
            #expect(p.mode(file) == 0o600)
            #expect(try !p.read("fragment/private/\(id).key").contains("path:"))
        }
        let fragmentKeys = try p.notaryKeys(trustDir: p.path("fragment"))
        #expect(Set(fragmentKeys.map(\.id)) == [targets, releases])
        #expect(fragmentKeys.first { $0.id == targets }?.gun == "example.com/app")
        try p.run(p.notary, ["-d", p.path("fragment"), "key", "passwd", releases], env: notaryEnv)

        // Exports never overwrite.
        let again = try v.run(["key", "export", root, "--out", out], env: env)
        expectFailure(again, status: 73, mentioning: "already exists")
        #expect(try p.read("bundle.pem") == text)
    }

    /// `notary init --rootkey FILE` (which reads only encrypted files, with the root passphrase)
    /// accepts an exported root key, and `notary publish` signs root.json with it.
    @Test func notaryInitAndPublishWithAnExportedRootKey() throws {
        let p = try Peers()
        let server = try SharedServers.plain()
        let v = try CLIVault()
        let root = try v.generate("root")
        var env = CLIVault.env
        env["TRUSTVAULT_EXPORT_PASSPHRASE"] = Self.exportPass
        #expect(try v.run(["key", "export", root, "--out", p.path("root.pem")], env: env).status == 0)
        let notaryEnv = [
            "NOTARY_ROOT_PASSPHRASE": Self.exportPass, "NOTARY_TARGETS_PASSPHRASE": "t",
            "NOTARY_SNAPSHOT_PASSPHRASE": "s",
        ]
        let trust = p.path("notary")
        let initialised = try p.run(
            p.notary,
            [
                "-s", server.url, "-d", trust, "init", "example.com/offline-root",
                "--rootkey", p.path("root.pem"),
            ], env: notaryEnv)
        #expect(initialised.stdout.contains(root), "\(initialised)")
        try p.run(p.notary, ["-s", server.url, "-d", trust, "publish", "example.com/offline-root"], env: notaryEnv)
        let keys = try p.notaryKeys(trustDir: trust)
        #expect(keys.contains { $0.id == root && $0.role == "root" })
        // A fresh client sees the published repository.
        let fresh = try p.run(p.notary, ["-s", server.url, "-d", p.path("fresh"), "list", "example.com/offline-root"])
        #expect(fresh.status == 0, "\(fresh)")
    }

    /// `docker trust key load` accepts the export, and the key file really appears in docker's
    /// trust directory (docker reports success even when it writes nothing) and decrypts.
    @Test func dockerLoadsWhatTrustvaultExports() throws {
        let p = try Peers()
        let v = try CLIVault()
        let signer = try v.generate("ci-bot")
        var env = CLIVault.env
        env["TRUSTVAULT_EXPORT_PASSPHRASE"] = Self.exportPass
        let r = try v.run(["key", "export", signer, "--out", p.path("ci-bot.pem")], env: env)
        #expect(r.status == 0, "\(r)")
        let dockerEnv = ["DOCKER_CONFIG": p.path("docker"), "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": Self.exportPass]
        let load = try p.run(p.docker, ["trust", "key", "load", p.path("ci-bot.pem"), "--name", "ci-bot"], env: dockerEnv)
        #expect(load.stdout.contains("Successfully imported"), "\(load)")
        let loaded = p.path("docker/trust/private/\(signer).key")
        #expect(FileManager.default.fileExists(atPath: loaded), "docker must really have written private/\(signer).key")
        let content = try String(contentsOfFile: loaded, encoding: .utf8)
        #expect(content.contains("role: ci-bot") && !content.contains("path:"))
        // notary's key store (which docker uses) unlocks it with the export passphrase.
        let unlocked = try p.run(
            p.notary, ["-d", p.path("docker/trust"), "key", "passwd", signer],
            env: ["NOTARY_DELEGATION_PASSPHRASE": Self.exportPass])
        #expect(unlocked.stdout.contains("Successfully updated passphrase"), "\(unlocked)")
        // And the round trip back into a vault gives the same key ID.
        let v2 = try CLIVault()
        var importEnv = CLIVault.env
        importEnv["TRUSTVAULT_IMPORT_PASSPHRASE"] = Self.exportPass
        let back = try v2.run(["key", "import", p.path("docker/trust")], env: importEnv)
        #expect(keyIDLines(back) == [signer], "\(back)")
    }

    /// OpenSSL's key forms import in one run, each with the ID computed by OpenSSL alone.
    @Test func openSSLFormsImportWithTheirIDs() throws {
        let p = try Peers()
        let pw = ["-passout", "pass:openssl-pass"]
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-out", "ec-with-params.pem"])
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem"])
        try p.openssl(["pkcs8", "-topk8", "-in", "ec.pem", "-v2", "aes-256-cbc", "-out", "ec-pkcs8-sha256.pem"] + pw)
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec2.pem"])
        try p.openssl(["ec", "-in", "ec2.pem", "-aes256", "-out", "ec-legacy.pem"] + pw)
        try p.openssl(["genrsa", "-out", "rsa.pem", "2048"])
        try p.openssl(["rsa", "-in", "rsa.pem", "-traditional", "-out", "rsa-pkcs1.pem"])
        try p.openssl(["genpkey", "-algorithm", "ed25519", "-out", "ed25519.pem"])
        try p.openssl(["genpkey", "-algorithm", "ed25519", "-out", "ed2.pem"])
        try p.openssl(
            [
                "pkcs8", "-topk8", "-in", "ed2.pem", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1",
                "-out", "ed25519-enc.pem",
            ] + pw)
        let files = [
            "ec-with-params.pem", "ec-pkcs8-sha256.pem", "ec-legacy.pem", "rsa-pkcs1.pem", "ed25519.pem",
            "ed25519-enc.pem",
        ]
        var expected: Set<String> = []
        for file in files {
            let encrypted = file.contains("sha256") || file.contains("legacy") || file.contains("enc")
            expected.insert(try p.opensslKeyID(privateKey: file, passphrase: encrypted ? "openssl-pass" : nil))
        }
        let v = try CLIVault()
        var env = CLIVault.env
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "openssl-pass"
        let r = try v.run(["key", "import", "--role", "targets/ci"] + files.map { p.path($0) }, env: env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("EC PARAMETERS skipped"))
        #expect(Set(keyIDLines(r)) == expected)
        let listed = try listedKeys(v)
        #expect(listed.count == files.count)
        #expect(listed.allSatisfy { $0["role"] as? String == "targets/ci" })
        // Importing the same files again changes nothing and succeeds.
        let before = v.fingerprint()
        let again = try v.run(["key", "import", "--role", "targets/ci"] + files.map { p.path($0) }, env: env)
        #expect(again.status == 0 && again.stdout.contains("Already in the vault"), "\(again)")
        #expect(keyIDLines(again).isEmpty)
        #expect(v.fingerprint() == before)
    }

    /// A client bundle (zip) becomes a delegation key that keeps its certificate.
    @Test func clientBundleBecomesADelegationKeyWithItsCertificate() throws {
        let p = try Peers()
        try p.makeClientBundle()
        let expectedID = try p.opensslKeyID(privateKey: "bundle/key.pem")
        let v = try CLIVault()
        let r = try v.run(["key", "import", p.path("bundle.zip"), "--role", "ci-bot"])
        #expect(r.status == 0, "\(r)")
        #expect(keyIDLines(r) == [expectedID])
        #expect(r.stdout.contains("with its certificate"))
        let listed = try listedKeys(v)
        #expect(listed.first?["role"] as? String == "ci-bot")
        #expect(listed.first?["certificate"] as? Bool == true)
        let pub = try v.run(["key", "export", expectedID, "--format", "public", "--out", p.path("ci-bot.crt")])
        #expect(pub.status == 0, "\(pub)")
        #expect(try p.read("ci-bot.crt") == p.read("bundle/cert.pem"))
    }

    /// Mismatched bundles, garbage, truncated files and wrong passphrases are each refused with
    /// the file named, a non-zero status, and the vault byte-for-byte unchanged; a run mixing a
    /// good and a bad input imports nothing.
    @Test func badInputsAreRefusedAndTheVaultIsUnchanged() throws {
        let p = try Peers()
        let v = try CLIVault()
        _ = try v.generate("root")
        try p.makeClientBundle(name: "mixed")
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "mixed/key.pem"])
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "good.pem"])
        try p.openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "other.pem"])
        try p.openssl([
            "pkcs8", "-topk8", "-in", "other.pem", "-v2", "aes-256-cbc", "-passout", "pass:right",
            "-out", "encrypted.pem",
        ])
        let encrypted = try p.read("encrypted.pem")
        try p.write("truncated.pem", String(encrypted.prefix(encrypted.count / 2)))
        try p.write("garbage.pem", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n")
        try Data((0..<512).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: p.path("random.bin")))
        var env = CLIVault.env
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "wrong"

        let cases: [(inputs: [String], status: Int32, mention: String)] = [
            ([p.path("mixed")], 1, "does not belong to"),
            ([p.path("garbage.pem")], 65, "garbage.pem block 1"),
            ([p.path("random.bin")], 65, "random.bin"),
            ([p.path("truncated.pem")], 65, "truncated"),
            ([p.path("encrypted.pem")], 77, "encrypted.pem block 1"),
            ([p.path("good.pem"), p.path("encrypted.pem")], 77, "nothing was imported"),
        ]
        for c in cases {
            let before = v.fingerprint()
            let auditBefore = try? String(contentsOfFile: v.path + "/audit.log", encoding: .utf8)
            let r = try v.run(["key", "import"] + c.inputs, env: env)
            expectFailure(r, status: c.status, mentioning: c.mention, vault: v, before: before)
            #expect(r.stderr.contains("refused: "), "\(r.stderr)")
            #expect(r.stderr.contains("nothing was imported"))
            #expect((try? String(contentsOfFile: v.path + "/audit.log", encoding: .utf8)) == auditBefore)
            #expect(keyIDLines(r).isEmpty)
        }
        #expect(try listedKeys(v).count == 1)
        // With the right passphrase the same two files import.
        env["TRUSTVAULT_IMPORT_PASSPHRASE"] = "right"
        let ok = try v.run(["key", "import", p.path("good.pem"), p.path("encrypted.pem")], env: env)
        #expect(ok.status == 0, "\(ok)")
        #expect(keyIDLines(ok).count == 2)
    }
}
