import Foundation
import Testing
import TestSupport

/// Bad days against one real notary-server (shared by the suite; each test its own GUN): a
/// removed delegation whose file the server keeps, a CI key replaced and purged. After every
/// step the repository is fetched with `trustvault-online fetch`, verified and inspected, and the
/// tags trustvault shows are the tags the real notary client lists.
@Suite("Revocation: removed and replaced signers, read as notary clients do, reset", .tags(.interop), .interop, .enabled(if: notaryPeers), .serialized)
final class RevocationTests {
    let server: NotaryServer
    let dockerConfig = TemporaryDirectory("revocation-docker-config")

    init() throws { server = try SharedServers.plain() }

    /// `trustvault-online fetch GUN --server URL --out DIR` (a fresh directory each time).
    func fetch(_ o: Online, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (dir: String, result: ProcessResult) {
        let dir = o.path(name)
        let r = try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online", ["fetch", o.gun, "--server", server.url, "--out", dir],
            environment: ["DOCKER_CONFIG": dockerConfig.path])
        #expect(r.status == 0, "fetch: \(r)", sourceLocation: sourceLocation)
        return (dir, r)
    }

    /// The released tags `trustvault inspect --json` shows.
    func inspectedTags(_ dir: String, _ gun: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let r = try TrustVaultCLI.run(["inspect", dir, "--gun", gun, "--json"])
        #expect(r.status == 0, "inspect: \(r)", sourceLocation: sourceLocation)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], sourceLocation: sourceLocation)
        return (json.first?["SignedTags"] as? [[String: Any]] ?? []).compactMap { $0["SignedTag"] as? String }.sorted()
    }

    /// Fetch, verify and inspect after a step. The verdict must be the notary client's: the tags
    /// of the files trustvault trusts are exactly what a fresh `notary list` lists, each file it
    /// names "not trusted" lists nothing in `notary list --roles`, and `inspect` shows only
    /// released tags among them. Returns the fetched directory and verify's output.
    @discardableResult
    func checkAgainstNotary(_ o: Online, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (dir: String, verify: ProcessResult) {
        let (dir, _) = try fetch(o, name, sourceLocation: sourceLocation)
        let verify = try TrustVaultCLI.run(["verify", dir, "--gun", o.gun])
        #expect(verify.status == 0, "verify: \(verify)", sourceLocation: sourceLocation)
        let json = try TrustVaultCLI.run(["verify", dir, "--gun", o.gun, "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], sourceLocation: sourceLocation)
        let checked = (report["checked"] as? [String] ?? []).filter { $0 == "targets.json" || $0.hasPrefix("targets/") }
        var trustedTags: Set<String> = []
        for file in checked {
            let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))) as? [String: Any]
            trustedTags.formUnion(((doc?["signed"] as? [String: Any])?["targets"] as? [String: Any] ?? [:]).keys)
        }
        let notaryTags = try o.freshList(sourceLocation: sourceLocation)
        #expect(trustedTags == Set(notaryTags), "trustvault trusts \(checked); notary lists \(notaryTags)", sourceLocation: sourceLocation)
        for u in report["untrusted"] as? [[String: Any]] ?? [] {
            guard let file = u["file"] as? String else { continue }
            let role = String(file.dropLast(".json".count))
            let r = try o.notary("fresh-" + UUID().uuidString.prefix(6), ["list", o.gun, "--roles", role], env: [:], expectOK: false)
            let rows = r.stdout.split(separator: "\n").dropFirst(2).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            #expect(r.status != 0 || rows.isEmpty, "notary lists nothing from \(role) either: \(r)", sourceLocation: sourceLocation)
        }
        #expect(Set(try inspectedTags(dir, o.gun, sourceLocation: sourceLocation)).isSubset(of: trustedTags), sourceLocation: sourceLocation)
        return (dir, verify)
    }

    func signerCertificate(_ o: Online, _ name: String) throws -> (key: String, cert: String) {
        let key = o.path("\(name)-key.pem"), cert = o.path("\(name)-cert.pem")
        let ssl = try Run.program(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                "-days", "365", "-subj", "/CN=\(name)",
            ])
        #expect(ssl.status == 0, "\(ssl)")
        return (key, cert)
    }

    /// The CI side: imports `key` into its own notary trust dir and signs `tag` into `roles`.
    func ciSigns(_ o: Online, trustDir: String, key: String, tag: String, roles: [String], expectOK: Bool = true) throws -> ProcessResult {
        let env = ["NOTARY_DELEGATION_PASSPHRASE": "ci-passphrase"]
        if !FileManager.default.fileExists(atPath: o.path(trustDir) + "/private") {
            try o.notary(trustDir, ["key", "import", key, "--role", "targets/ci"], env: env)
        }
        try o.notary(trustDir, ["add", o.gun, tag, try o.payload(tag)] + roles.flatMap { ["--roles", $0] }, env: env)
        return try o.notary(trustDir, ["publish", o.gun], env: env, expectOK: expectOK)
    }

    /// A repository with tag v1 (repository key), and targets/releases + targets/ci for the CI's
    /// certificate, which signed build-42 into both roles with the notary client.
    func repositoryWithCI(_ o: Online, _ v: CLIVault, ci: (key: String, cert: String)) throws {
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let (c0, _) = try fetch(o, "c0")
        let a1 = o.path("add-releases"), a2 = o.path("add-ci")
        #expect(
            try v.run(["delegation", "add", o.gun, "targets/releases", "--cert", ci.cert, "--all-paths", "--current", c0, "--out", a1], env: Online.env).status
                == 0)
        #expect(
            try v.run(
                ["delegation", "add", o.gun, "targets/ci", "--cert", ci.cert, "--all-paths", "--current", c0, "--pending", a1, "--out", a2], env: Online.env
            ).status == 0)
        try o.uploadOut(a2)
        #expect(try ciSigns(o, trustDir: "ci", key: ci.key, tag: "build-42", roles: ["targets/releases", "targets/ci"]).status == 0)
        #expect(try o.freshList().sorted() == ["build-42", "v1"])
        let (dir, _) = try checkAgainstNotary(o, "signed")
        let policy = try TrustVaultCLI.run(["verify", dir, "--gun", o.gun, "--tag", "build-42", "--require-signer", "ci"])
        #expect(policy.status == 0 && policy.stdout.contains("met, signed by ci"), "\(policy)")
    }

    @Test func aRemovedRoleThatSignedTagsNeverLocksTheRepository() throws {
        let o = Online(server: server, gun: "example.com/revoke/removed")
        let v = try CLIVault()
        let ci = try signerCertificate(o, "ci")
        try repositoryWithCI(o, v, ci: ci)

        // Revoke CI: remove targets/releases whole. The server keeps serving targets/releases.json
        // and listing it in snapshot.json.
        let (c1, _) = try fetch(o, "c1")
        let rm = o.path("rm-releases")
        #expect(try v.run(["delegation", "remove", o.gun, "targets/releases", "--current", c1, "--out", rm], env: Online.env).status == 0)
        try o.uploadOut(rm)
        let (after, verify) = try checkAgainstNotary(o, "after-rm")
        #expect(FileManager.default.fileExists(atPath: after + "/targets/releases.json"), "the server still serves it")
        #expect(verify.stdout.contains("not trusted: targets/releases.json, because no role delegates to it"), "\(verify)")
        // build-42 is still in targets/ci (notary lists it) but no longer released (docker's view).
        #expect(try o.freshList() == ["build-42", "v1"])
        #expect(try inspectedTags(after, o.gun) == ["v1"])
        let policy = try TrustVaultCLI.run(["verify", after, "--gun", o.gun, "--tag", "build-42", "--require-signer", "ci"])
        #expect(policy.status == 1 && policy.stderr.contains("not released"), "\(policy)")
        let json = try TrustVaultCLI.run(["verify", after, "--gun", o.gun, "--json"])
        #expect(json.status == 0 && json.stdout.contains(#""untrusted":[{"file":"targets/releases.json""#), "\(json)")

        // The next ceremony builds on it: remove targets/ci whole too (purge --remove-emptied-roles
        // leads to the same state); both files stay, neither counts, everything verifies.
        let rm2 = o.path("rm-ci")
        let r = try v.run(["delegation", "remove", o.gun, "targets/ci", "--current", after, "--out", rm2], env: Online.env)
        #expect(r.status == 0 && r.stdout.contains("not trusted: targets/releases.json"), "\(r)")
        try o.uploadOut(rm2)
        let (last, verify2) = try checkAgainstNotary(o, "after-rm2")
        #expect(verify2.stdout.contains("not trusted: targets/ci.json") && verify2.stdout.contains("not trusted: targets/releases.json"), "\(verify2)")
        #expect(try o.freshList() == ["v1"])
        // And one more: refresh re-signs targets.json, never the files nobody delegates to.
        let refresh = try v.run(["repo", "refresh", o.gun, "--roles", "targets", "--current", last, "--out", o.path("refresh")], env: Online.env)
        #expect(refresh.status == 0, "\(refresh)")
        try o.uploadOut(o.path("refresh"))
        try checkAgainstNotary(o, "after-refresh")
        // A reset needs the role to be delegated: it says how, and changes nothing.
        let before = v.fingerprint()
        expectFailure(
            try v.run(
                ["delegation", "reset", o.gun, "targets/ci", "--key", "0123abcd", "--keep-none", "--current", last, "--out", o.path("no")], env: Online.env),
            status: 66, mentioning: "targets.json does not delegate to targets/ci", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: o.path("no")))
    }

    @Test func aReplacedCIKeyGetsAFreshFileAndPublishesAgain() throws {
        let o = Online(server: server, gun: "example.com/revoke/replaced")
        let v = try CLIVault()
        let old = try signerCertificate(o, "ci-old")
        try repositoryWithCI(o, v, ci: old)
        let (c1, _) = try fetch(o, "c1")
        let oldID =
            try #require(
                try JSONSerialization.jsonObject(with: Data(TrustVaultCLI.run(["inspect", c1, "--gun", o.gun, "--json"]).stdout.utf8))
                    as? [[String: Any]]
            ).first.flatMap { ($0["Signers"] as? [[String: Any]])?.first { $0["Name"] as? String == "ci" }?["Keys"] as? [[String: Any]] }?
            .first?["ID"] as? String
        let oldKeyID = try #require(oldID)

        // The CI's new key arrives as a client bundle; its key goes into the vault as well.
        let new = try signerCertificate(o, "ci-new")
        let imported = try v.run(
            ["key", "import", new.key, "--role", "targets/ci"], env: Online.env.merging(["TRUSTVAULT_IMPORT_PASSPHRASE": "unused"]) { $1 })
        #expect(imported.status == 0, "\(imported)")
        let newKeyID = imported.lastLine
        // Replace: add the new key to both roles, purge the old one; one upload.
        let p1 = o.path("p1"), p2 = o.path("p2"), p3 = o.path("p3")
        #expect(try v.run(["delegation", "add", o.gun, "targets/ci", "--cert", new.cert, "--current", c1, "--out", p1], env: Online.env).status == 0)
        #expect(
            try v.run(["delegation", "add", o.gun, "targets/releases", "--cert", new.cert, "--current", c1, "--pending", p1, "--out", p2], env: Online.env)
                .status == 0)
        let purge = try v.run(["delegation", "purge", o.gun, "--key", oldKeyID, "--current", c1, "--pending", p2, "--out", p3], env: Online.env)
        #expect(purge.status == 0, "\(purge)")
        try o.uploadOut(p3)

        // Both files are still signed by the purged key only: the notary client skips them, and
        // so does trustvault, naming them; the repository stays fetchable and valid.
        let (c2, verify) = try checkAgainstNotary(o, "c2")
        #expect(try o.freshList() == ["v1"])
        #expect(verify.stdout.contains("not trusted: targets/ci.json, because 0 valid signature(s) from the role's current keys, 1 required"), "\(verify)")
        let (_, fetched) = try fetch(o, "c2-again")
        #expect(fetched.stdout.contains("warning: not trusted: targets/ci.json, because 0 valid signature(s)"), "fetch names it: \(fetched)")
        let policy = try TrustVaultCLI.run(["verify", c2, "--gun", o.gun, "--tag", "build-42", "--require-signer", "ci"])
        #expect(policy.status == 1, "the purged key's tag never counts: \(policy)")
        // The CI's new key cannot publish yet: its client cannot load the old file and the server
        // refuses a new one at version 1.
        let early = try ciSigns(o, trustDir: "ci-early", key: new.key, tag: "build-43", roles: ["targets/ci"], expectOK: false)
        #expect(early.status != 0, "the notary client is stuck before the reset: \(early)")
        // Re-signing the old content is what 'notary witness' does; trustvault's refresh refuses it.
        let before = v.fingerprint()
        expectFailure(
            try v.run(["repo", "refresh", o.gun, "--roles", "targets/ci", "--current", c2, "--out", o.path("witness")], env: Online.env),
            status: 1, mentioning: "delegation reset", vault: v, before: before)

        // Review: build-42 is listed, unverified, with the purged key's signature.
        let review = try v.run(["delegation", "review", o.gun, "targets/ci", "--current", c2])
        #expect(review.status == 0, "\(review)")
        #expect(review.stdout.contains("NOT TRUSTED") && review.stdout.contains("UNVERIFIED tags") && review.stdout.contains("build-42"), "\(review)")
        #expect(review.stdout.contains("not a key of targets/ci any more (removed or replaced): not verified"), "\(review)")
        #expect(review.stdout.contains("\(newKeyID.prefix(12)) (in this vault)"), "\(review)")
        let reviewJSON = try v.run(["delegation", "review", o.gun, "targets/ci", "--current", c2, "--json"])
        let reviewed = try #require(try JSONSerialization.jsonObject(with: Data(reviewJSON.stdout.utf8)) as? [String: Any], "\(reviewJSON)")
        #expect(reviewed["trusted"] as? Bool == false && reviewed["version"] as? Int == 1, "\(reviewed)")
        #expect((reviewed["currentKeys"] as? [[String: Any]])?.first?["id"] as? String == newKeyID, "\(reviewed)")
        #expect((reviewed["tags"] as? [[String: Any]])?.map { $0["name"] as? String } == ["build-42"], "\(reviewed)")
        #expect((reviewed["signatures"] as? [[String: Any]])?.map { $0["status"] as? String } == ["not-a-current-key"], "\(reviewed)")
        // Bad input: one error line, nothing written, the vault unchanged.
        expectFailure(
            try v.run(
                ["delegation", "reset", o.gun, "targets/ci", "--key", newKeyID, "--keep", "build-99", "--current", c2, "--out", o.path("bad")], env: Online.env),
            status: 66, mentioning: "no tag \"build-99\"", vault: v, before: before)
        expectFailure(
            try v.run(["delegation", "reset", o.gun, "targets/ci", "--key", newKeyID, "--current", c2, "--out", o.path("bad")], env: Online.env),
            status: 64, vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: o.path("bad")))

        // Reset: targets/ci starts empty; targets/releases keeps build-42, which the person vouches
        // for after the review (re-signed now by the new key). One upload.
        let r1 = o.path("reset-ci"), r2 = o.path("reset-releases")
        let reset = try v.run(["delegation", "reset", o.gun, "targets/ci", "--key", newKeyID, "--keep-none", "--current", c2, "--out", r1], env: Online.env)
        #expect(reset.status == 0 && reset.stdout.contains("targets/ci.json v2: a fresh file") && reset.stdout.contains("dropped"), "\(reset)")
        let reset2 = try v.run(
            [
                "delegation", "reset", o.gun, "targets/releases", "--key", newKeyID, "--keep", "build-42", "--current", c2, "--pending", r1, "--out", r2,
                "--server", server.url,
            ], env: Online.env)
        #expect(reset2.status == 0 && reset2.stdout.contains("kept (re-signed now): build-42"), "\(reset2)")
        #expect(!reset2.stdout.contains("not trusted: targets/ci.json"), "the pending reset replaced it: \(reset2)")
        #expect(reset2.stdout.contains("trustvault-online publish \(r2) --server \(server.url)"), "\(reset2)")
        let published = try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online", ["publish", r2, "--server", server.url],
            environment: ["DOCKER_CONFIG": dockerConfig.path])
        #expect(published.status == 0, "the real server accepts the fresh files: \(published)")

        let (c3, verify3) = try checkAgainstNotary(o, "c3")
        #expect(!verify3.stdout.contains("not trusted"), "\(verify3)")
        #expect(try o.freshList().sorted() == ["build-42", "v1"])
        #expect(try inspectedTags(c3, o.gun) == ["build-42", "v1"])
        #expect(try o.freshList("targets/ci") == [])
        let unmet = try TrustVaultCLI.run(["verify", c3, "--gun", o.gun, "--tag", "build-42", "--require-signer", "ci"])
        #expect(unmet.status == 1 && unmet.stdout.contains("NOT met"), "build-42 is released but ci never re-signed it: \(unmet)")

        // The CI's new key publishes with the notary client as before.
        #expect(try ciSigns(o, trustDir: "ci-new", key: new.key, tag: "build-43", roles: ["targets/releases", "targets/ci"]).status == 0)
        #expect(try o.freshList("targets/ci") == ["build-43"])
        let (c4, _) = try checkAgainstNotary(o, "c4")
        let met = try TrustVaultCLI.run(["verify", c4, "--gun", o.gun, "--tag", "build-43", "--require-signer", "ci"])
        #expect(met.status == 0 && met.stdout.contains("met, signed by ci"), "\(met)")
        // And the next offline ceremony builds on it.
        let next = try v.run(["delegation", "remove", o.gun, "targets/releases", "--current", c4, "--out", o.path("next")], env: Online.env)
        #expect(next.status == 0, "\(next)")
    }

    @Test func anExpiredDelegationIsSkippedAsNotaryDoesAndRenewed() throws {
        let o = Online(server: server, gun: "example.com/revoke/expired")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let ci = try signerCertificate(o, "ci")
        #expect(try v.run(["key", "import", ci.key, "--role", "targets/ci"], env: Online.env).status == 0)
        let (c0, _) = try fetch(o, "c0")
        #expect(
            try v.run(["delegation", "add", o.gun, "targets/ci", "--cert", ci.cert, "--all-paths", "--current", c0, "--out", o.path("add")], env: Online.env)
                .status == 0)
        try o.uploadOut(o.path("add"))
        #expect(try ciSigns(o, trustDir: "ci", key: ci.key, tag: "build-42", roles: ["targets/ci"]).status == 0)
        // Re-signed as if an hour ago with a lifetime of one hour: targets/ci.json expires in 40 s.
        let (c1, _) = try fetch(o, "c1")
        let faketime = try requireTool("faketime", package: "faketime")
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let made = Date().addingTimeInterval(-3600 + 40)
        var env = Online.env
        env["TZ"] = "UTC"
        let short = try Run.program(
            faketime,
            [
                f.string(from: made), TrustVaultCLI.binary, "--vault", v.path, "repo", "refresh", o.gun,
                "--roles", "targets/ci", "--expires", "targets/ci=1h", "--current", c1, "--out", o.path("short"),
            ], environment: env)
        #expect(short.status == 0, "\(short)")
        try o.uploadOut(o.path("short"))
        #expect(try o.freshList() == ["build-42", "v1"])
        while Date() < made.addingTimeInterval(3600 + 2) { usleep(250_000) }

        // Expired: the notary client skips targets/ci with a warning; trustvault names it.
        let (c2, verify) = try checkAgainstNotary(o, "c2")
        #expect(try o.freshList() == ["v1"])
        #expect(verify.stdout.contains("not trusted: targets/ci.json, because it expired on "), "\(verify)")
        // A ceremony reads it as authentic but expired, and renews it (its key is current).
        let renew = try v.run(["repo", "refresh", o.gun, "--current", c2, "--out", o.path("renew")], env: Online.env)
        #expect(renew.status == 0 && renew.stdout.contains("targets/ci.json"), "\(renew)")
        try o.uploadOut(o.path("renew"))
        let (_, verify2) = try checkAgainstNotary(o, "c3")
        #expect(!verify2.stdout.contains("not trusted"), "\(verify2)")
        #expect(try o.freshList() == ["build-42", "v1"])
    }
}
