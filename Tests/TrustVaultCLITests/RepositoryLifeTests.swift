import Foundation
import Testing
import TestSupport

/// A repository's life against one real notary-server (shared by the suite; each test its own GUN).
@Suite("Repository life: threshold roots, expiry, dead ends, purge", .tags(.interop), .interop, .enabled(if: notaryPeers), .serialized)
final class RepositoryLifeTests {
    let server: NotaryServer

    init() throws { server = try SharedServers.plain() }

    func online(_ gun: String) -> Online { Online(server: server, gun: gun) }

    @Test func twoOfThreeRootPublishedRotatedAndChained() throws {
        let o = online("example.com/life/threshold")
        let a = try CLIVault(), b = try CLIVault(), c = try CLIVault()
        let ka = try a.generate("root"), kb = try b.generate("root"), kc = try c.generate("root")
        // B and C hand their certificates to A.
        for (v, k, name) in [(b, kb, "b.crt"), (c, kc, "c.crt")] {
            let r = try v.run(["root", "cert", o.gun, "--key", k, "--out", o.path(name)], env: Online.env)
            #expect(r.status == 0, "\(r)")
        }
        // root cert never overwrites a file.
        let certBefore = try Data(contentsOf: URL(fileURLWithPath: o.path("b.crt")))
        expectFailure(try b.run(["root", "cert", o.gun, "--key", kb, "--out", o.path("b.crt")], env: Online.env), status: 73, mentioning: "already exists")
        #expect(try Data(contentsOf: URL(fileURLWithPath: o.path("b.crt"))) == certBefore)
        try server.fetchKey(gun: o.gun, role: "timestamp", to: o.path("timestamp.key"))
        try server.fetchKey(gun: o.gun, role: "snapshot", to: o.path("snapshot.key"))
        let out = o.path("out")
        let initArgs = [
            "repo", "init", o.gun, "--root-key", ka, "--root-key", o.path("b.crt"), "--root-key", o.path("c.crt"),
            "--root-threshold", "2", "--timestamp-key", o.path("timestamp.key"), "--snapshot-key", o.path("snapshot.key"),
            "--out", out, "--server", server.url,
        ]
        // Refusals: a threshold that cannot be met, a key given twice; nothing written, vault unchanged.
        let before = a.fingerprint()
        expectFailure(try a.run(initArgs.map { $0 == "2" ? "4" : $0 }, env: Online.env), status: 64, mentioning: "could never be met", vault: a, before: before)
        expectFailure(
            try a.run(initArgs.map { $0 == o.path("c.crt") ? o.path("b.crt") : $0 }, env: Online.env), status: 64, mentioning: "given twice", vault: a,
            before: before)
        #expect(!FileManager.default.fileExists(atPath: out))
        let r = try a.run(initArgs, env: Online.env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("new root v1: 1 of 2 signatures — needs one more from"), "\(r)")
        #expect(!r.stdout.contains("publish"), "no online command before the threshold is met: \(r)")
        let rootFile = out + "/tuf/" + o.gun + "/metadata/root.json"
        let signed = try b.run(["root", "sign", rootFile, "--key", kb, "--server", server.url], env: Online.env)
        #expect(signed.status == 0, "\(signed)")
        #expect(signed.stdout.contains("new root v1: 2 of 2 signatures — complete"), "\(signed)")
        // The snapshot key is the server's: the complete fragment goes up with trustvault-online.
        #expect(signed.stdout.contains("trustvault-online publish \(out) --server \(server.url)"), "\(signed)")
        try o.notary("out", ["publish", o.gun])
        try o.notary("out", ["add", o.gun, "v1", try o.payload("v1")])
        try o.notary("out", ["publish", o.gun])
        #expect(try o.list(in: "old") == ["v1"])
        let v1 = try o.current("v1") + "/root.json"

        // C's key is rotated to a new key in C's vault; the new root is A, B, C' with threshold 2.
        let kc2 = try c.generate("root")
        let rotOut = o.path("rot")
        let rot = try c.run(
            [
                "repo", "rotate", o.gun, "root", "--new-key", ka, "--new-key", kb, "--new-key", kc2, "--threshold", "2",
                "--current", try o.current("cur1"), "--out", rotOut, "--server", server.url,
            ], env: Online.env)
        #expect(rot.status == 0, "\(rot)")
        #expect(rot.stdout.contains("new root v2: 1 of 2 signatures; previous root v1: 1 of 2 — needs one more from"), "\(rot)")
        let rot2 = rotOut + "/tuf/" + o.gun + "/metadata/root.json"
        // Half-signed: the real server refuses it.
        #expect(try server.upload(gun: o.gun, files: [("root", rot2)]).status == 400)
        let signA = try a.run(["root", "sign", rot2, "--key", ka, "--server", server.url], env: Online.env)
        #expect(signA.status == 0, "\(signA)")
        #expect(signA.stdout.contains("new root v2: 2 of 2 signatures; previous root v1: 2 of 2 — complete"), "\(signA)")
        #expect(signA.stdout.contains("trustvault-online publish \(rotOut) --server \(server.url)"), "\(signA)")
        try o.uploadOut(rotOut)
        // C's vault marks the superseded key retired and shows the certificate ID of the new one.
        let cKeys = try #require(try JSONSerialization.jsonObject(with: Data(try c.run(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(cKeys.first { $0["id"] as? String == kc }?["status"] as? String == "retired", "\(cKeys)")
        let current2 = try #require(cKeys.first { $0["id"] as? String == kc2 })
        #expect(current2["status"] as? String == "current" && ((current2["root_certificate_ids"] as? [String: String])?[o.gun]?.count == 64), "\(current2)")
        let table = try c.run(["key", "list", "--wide"], env: [:])
        #expect(table.stdout.contains("STATUS") && table.stdout.contains("retired") && table.stdout.contains("\(o.gun): "), "\(table)")
        #expect(try o.list(in: "old") == ["v1"])  // trusted v1, follows to v2
        #expect(try o.freshList() == ["v1"])

        // A second rotation (v3: threshold 3 of A, B, C') — then the chain v1 → v2 → v3 verifies offline.
        let rot3Out = o.path("rot3")
        let rot3 = try a.run(
            [
                "repo", "rotate", o.gun, "root", "--new-key", ka, "--new-key", kb, "--new-key", kc2, "--threshold", "3",
                "--current", try o.current("cur2"), "--out", rot3Out,
            ], env: Online.env)
        #expect(rot3.status == 0, "\(rot3)")
        let rot3File = rot3Out + "/tuf/" + o.gun + "/metadata/root.json"
        #expect(try b.run(["root", "sign", rot3File, "--key", kb], env: Online.env).status == 0)
        let last = try c.run(["root", "sign", rot3File, "--key", kc2], env: Online.env)
        #expect(last.stdout.contains("new root v3: 3 of 3 signatures; previous root v2: 2 of 2 — complete"), "\(last)")
        try o.uploadOut(rot3Out)
        #expect(try o.list(in: "old") == ["v1"])
        #expect(try o.freshList() == ["v1"])
        let chain = try o.current("chain")
        try server.fetchMetadata(gun: o.gun, roles: ["2.root"], to: chain)
        let verify = try TrustVaultCLI.run(["verify", chain, "--gun", o.gun, "--root", v1])
        #expect(verify.status == 0 && verify.stdout.contains("through v2 → v3"), "\(verify)")
        // Without 2.root.json the failing step is named.
        try FileManager.default.removeItem(atPath: chain + "/2.root.json")
        let broken = try TrustVaultCLI.run(["verify", chain, "--gun", o.gun, "--root", v1])
        #expect(broken.status == 1 && broken.stderr.contains("2.root.json is missing"), "\(broken)")
    }

    /// `trustvault --vault V ARGS` with the clock at `date` (faketime; the clock runs on from there).
    func atTime(_ date: Date, _ v: CLIVault, _ args: [String]) throws -> ProcessResult {
        let faketime = try requireTool("faketime", package: "faketime")
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var env = Online.env
        env["TZ"] = "UTC"
        return try Run.program(faketime, [f.string(from: date), TrustVaultCLI.binary, "--vault", v.path] + args, environment: env)
    }

    @Test func expiredRepositoryMadeLongAgoIsRefreshedAndItsLostTargetsKeyReplaced() throws {
        let o = online("example.com/life/expired")
        let v = try CLIVault()
        let root = try v.generate("root")
        try server.fetchKey(gun: o.gun, role: "timestamp", to: o.path("timestamp.key"))
        try server.fetchKey(gun: o.gun, role: "snapshot", to: o.path("snapshot.key"))
        // Made 3649 days ago with targets.json set to last 3649 days: targets.json expires 40 s from
        // now; root.json and its certificate (notary's 10 years) expire tomorrow. The real server
        // accepts the upload while everything is valid.
        let made = Date().addingTimeInterval(-3649 * 86_400 + 40)
        let out = o.path("out")
        let r = try atTime(
            made, v,
            [
                "repo", "init", o.gun, "--root-key", root, "--timestamp-key", o.path("timestamp.key"),
                "--snapshot-key", o.path("snapshot.key"), "--expires", "targets=3649d", "--out", out,
            ])
        #expect(r.status == 0, "\(r)")
        let meta = out + "/tuf/" + o.gun + "/metadata/"
        let up = try server.upload(gun: o.gun, files: [("root", meta + "root.json"), ("targets", meta + "targets.json")])
        #expect(up.status == 200, "\(up)")
        #expect(try o.list(in: "old") == [])  // a client that trusts root v1
        let expiry = made.addingTimeInterval(3649 * 86_400)
        while Date() < expiry.addingTimeInterval(2) { usleep(250_000) }  // poll the clock until it has expired
        let stale = try o.notary("stale", ["list", o.gun], env: [:], expectOK: false)
        #expect(stale.status != 0, "a fresh client refuses the expired repository: \(stale)")

        // notary-server itself refuses expired uploads: a targets.json signed (today) to expire in the past.
        let cur = try o.current("cur")
        let past = try atTime(
            Date().addingTimeInterval(-2 * 86_400), v,
            [
                "repo", "refresh", o.gun, "--roles", "targets", "--expires", "targets=1d", "--current", cur, "--out", o.path("past"),
            ])
        #expect(past.status == 0 && past.stdout.contains("expired"), "\(past)")
        let refused = try server.upload(gun: o.gun, files: [("targets", o.path("past") + "/tuf/" + o.gun + "/metadata/targets.json")])
        #expect(refused.status == 400, "\(refused)")

        // The targets key is lost.
        let keys = try JSONSerialization.jsonObject(with: Data(try v.run(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]]
        let targetsID = try #require(keys?.first { $0["role"] as? String == "targets" }?["id"] as? String)
        // key remove names the repository that still lists it (issue 18); removed when named.
        let unnamed = try v.run(["key", "remove", targetsID, "--yes"])
        #expect(unnamed.status == 1 && unnamed.stderr.contains("signing targets.json of \(o.gun)"), "\(unnamed)")
        #expect(try v.run(["key", "remove", targetsID, "--yes", "--repository", o.gun]).status == 0)

        // Refresh what this vault can: root.json and its certificate that expires tomorrow (same key, new certificate).
        let refreshed = o.path("refreshed")
        let f = try v.run(["repo", "refresh", o.gun, "--current", cur, "--out", refreshed, "--server", server.url], env: Online.env)
        #expect(f.status == 0, "\(f)")
        #expect(f.stdout.contains("new certificate") && f.stdout.contains("targets.json expires within the window, but its key is not in this vault"), "\(f)")
        #expect(f.stdout.contains("trustvault-online publish \(refreshed) --server \(server.url)"), "\(f)")
        // Then, on top of that output (not uploaded), replace the lost targets key; one upload.
        let rotated = o.path("rotated")
        let t = try v.run(
            ["repo", "rotate", o.gun, "targets", "--current", cur, "--pending", refreshed, "--out", rotated, "--server", server.url], env: Online.env)
        #expect(t.status == 0 && t.stdout.contains("expired") && t.stdout.contains("carries on the pending output"), "\(t)")
        let rootV2 = try String(contentsOfFile: rotated + "/tuf/" + o.gun + "/metadata/root.json", encoding: .utf8)
        #expect(rootV2.contains(#""version":2"#), "root changed twice offline, uploaded once as v2")
        try o.uploadOut(rotated)
        #expect(try o.freshList() == [])
        #expect(try o.list(in: "old") == [])
        try o.notary("rotated", ["add", o.gun, "v2", try o.payload("v2")])
        try o.notary("rotated", ["publish", o.gun])
        #expect(try o.freshList() == ["v2"])
        #expect(try o.list(in: "old") == ["v2"])
        let now = try o.current("now")
        #expect(try TrustVaultCLI.run(["verify", now, "--gun", o.gun]).status == 0)
    }

    /// An OpenSSL certificate for a CI signer; returns (key, cert) paths.
    func signerCertificate(_ o: Online, _ name: String) throws -> (String, String) {
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

    @Test func noStuckDelegationsAndAStuckOneRepairedOffline() throws {
        let o = online("example.com/life/stuck")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let (_, cert) = try signerCertificate(o, "ci")
        let add = o.path("add")
        #expect(
            try v.run(
                ["delegation", "add", o.gun, "targets/releases", "--cert", cert, "--all-paths", "--current", try o.current("c0"), "--out", add], env: Online.env
            ).status == 0)
        try o.uploadOut(add)
        let listed = try o.notary("dl", ["delegation", "list", o.gun], env: [:])
        let keyID = try #require(
            listed.stdout.split(separator: "\n").first { $0.contains("targets/releases") }?
                .split(separator: " ").first { $0.count == 64 }.map(String.init), "\(listed)")
        // Removing the role's last key is refused: one error line, vault and --out untouched.
        let before = v.fingerprint()
        let refused = try v.run(
            ["delegation", "remove", o.gun, "targets/releases", "--key", keyID, "--current", try o.current("c1"), "--out", o.path("rm")], env: Online.env)
        expectFailure(refused, status: 64, mentioning: "without keys", vault: v, before: before)
        #expect(refused.stderr.contains("hint: remove the whole role instead"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: o.path("rm")))

        // A repository already stuck (made by the online side with notary and the targets key).
        let stuck = try o.notary("out", ["delegation", "remove", o.gun, "targets/releases", keyID, "--publish"], env: Online.notaryEnv, expectOK: false)
        let current = try o.current("c2")
        let text = try String(contentsOfFile: current + "/targets.json", encoding: .utf8)
        #expect(stuck.status == 0 && text.contains(#""keyids":null,"name":"targets/releases""#), "notary leaves the role without keys: \(stuck) \(text)")
        // The notary client reads it (the role is skipped), and so does trustvault, with a warning.
        let verifyStuck = try TrustVaultCLI.run(["verify", current, "--gun", o.gun])
        #expect(
            verifyStuck.status == 0 && verifyStuck.stdout.contains("targets/releases has threshold 1 with 0 key(s), so nobody can sign for it"),
            "\(verifyStuck)")
        #expect(try o.freshList() == ["v1"])
        // Offline repair: add the key back (or remove the whole role).
        let repaired = o.path("repaired")
        let r = try v.run(["delegation", "add", o.gun, "targets/releases", "--cert", cert, "--current", current, "--out", repaired], env: Online.env)
        #expect(r.status == 0 && r.stdout.contains("nobody can sign for it"), "\(r)")
        try o.uploadOut(repaired)
        let after = try o.current("c3")
        #expect(try TrustVaultCLI.run(["verify", after, "--gun", o.gun]).status == 0)
        #expect(try o.freshList() == ["v1"])
    }

    @Test func aKeyInTwoDelegationsIsPurgedInOneUpload() throws {
        let o = online("example.com/life/purge")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let (aliceKey, alice) = try signerCertificate(o, "alice")
        let (_, bob) = try signerCertificate(o, "bob")
        let add = o.path("add")
        #expect(
            try v.run(
                [
                    "delegation", "add", o.gun, "targets/releases", "--cert", alice, "--cert", bob, "--all-paths", "--current", try o.current("c0"), "--out",
                    add,
                ], env: Online.env
            ).status == 0)
        try o.uploadOut(add)
        let add2 = o.path("add2")
        #expect(
            try v.run(
                ["delegation", "add", o.gun, "targets/alice", "--cert", alice, "--all-paths", "--current", try o.current("c1"), "--out", add2], env: Online.env
            ).status == 0)
        try o.uploadOut(add2)
        // Alice signs a tag into her role.
        let ciEnv = ["NOTARY_DELEGATION_PASSPHRASE": "alice-passphrase"]
        try o.notary("alice", ["key", "import", aliceKey, "--role", "targets/alice"], env: ciEnv)
        try o.notary("alice", ["add", o.gun, "a1", try o.payload("a1"), "--roles", "targets/alice"], env: ciEnv)
        try o.notary("alice", ["publish", o.gun], env: ciEnv)
        let listed = try o.notary("dl", ["delegation", "list", o.gun], env: [:])
        let aliceID = try #require(
            listed.stdout.split(separator: "\n").first { $0.contains("targets/alice") }?
                .split(separator: " ").first { $0.count == 64 }.map(String.init), "\(listed)")
        let current = try o.current("c2", delegations: ["targets/alice"])
        // Without --remove-emptied-roles the purge would leave targets/alice without keys: refused.
        let before = v.fingerprint()
        let refused = try v.run(["delegation", "purge", o.gun, "--key", aliceID, "--current", current, "--out", o.path("p0")], env: Online.env)
        expectFailure(refused, status: 64, mentioning: "targets/alice without keys", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: o.path("p0")))
        let out = o.path("purged")
        let r = try v.run(
            ["delegation", "purge", o.gun, "--key", aliceID, "--remove-emptied-roles", "--current", current, "--out", out, "--server", o.server.url],
            env: Online.env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("targets/releases: key removed") && r.stdout.contains("targets/alice: removed"), "\(r)")
        #expect(r.stdout.contains("trustvault-online publish \(out) --server \(o.server.url)"), "\(r)")
        try o.uploadOut(out)  // one upload
        let after = try o.notary("dl2", ["delegation", "list", o.gun], env: [:])
        #expect(!after.stdout.contains(aliceID) && !after.stdout.contains("targets/alice") && after.stdout.contains("targets/releases"), "\(after)")
        #expect(try o.freshList() == ["v1"])  // alice's tag no longer counts
    }

    @Test func threeChangesPreparedOfflineGoUpInOneUpload() throws {
        let o = online("example.com/life/chained")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        #expect(try o.list(in: "old") == ["v1"])
        let (_, alice) = try signerCertificate(o, "alice")
        let (_, bob) = try signerCertificate(o, "bob")
        let current = try o.current("c0")  // fetched once
        // Nothing expires soon: refresh refuses (one error line, vault and --out untouched).
        let before0 = v.fingerprint()
        expectFailure(
            try v.run(["repo", "refresh", o.gun, "--current", current, "--out", o.path("r0")], env: Online.env),
            status: 64, mentioning: "nothing", vault: v, before: before0)
        #expect(!FileManager.default.fileExists(atPath: o.path("r0")))
        let o1 = o.path("o1"), o2 = o.path("o2"), o3 = o.path("o3")
        #expect(
            try v.run(["delegation", "add", o.gun, "targets/releases", "--cert", alice, "--all-paths", "--current", current, "--out", o1], env: Online.env)
                .status == 0)
        let rot = try v.run(["repo", "rotate", o.gun, "targets", "--current", current, "--pending", o1, "--out", o2], env: Online.env)
        #expect(rot.status == 0 && rot.stdout.contains("carries on the pending output"), "\(rot)")
        let last = try v.run(
            [
                "delegation", "add", o.gun, "targets/ci", "--cert", bob, "--all-paths", "--current", current, "--pending", o2, "--out", o3, "--server",
                o.server.url,
            ], env: Online.env)
        #expect(last.status == 0, "\(last)")
        // A pending output that does not follow the server's versions is refused.
        let before = v.fingerprint()
        expectFailure(
            try v.run(
                [
                    "delegation", "add", o.gun, "targets/x", "--cert", bob, "--all-paths", "--current", try o.current("c-later"), "--pending", o3, "--pending",
                    o1, "--out", o.path("bad"),
                ], env: Online.env),
            status: 1, vault: v, before: before)
        let meta = o3 + "/tuf/" + o.gun + "/metadata/"
        let targets = try String(contentsOfFile: meta + "targets.json", encoding: .utf8)
        #expect(
            targets.contains(#""version":4"#) && targets.contains("targets/releases") && targets.contains("targets/ci"),
            "targets v4 (the server has v3) with both roles: \(targets)")
        #expect(
            last.stdout.contains("  \(meta)root.json\n  \(meta)targets.json\n")
                && last.stdout.contains("trustvault-online publish \(o3) --server \(o.server.url)"), "\(last)")
        try o.uploadOut(o3)  // the one upload
        let dl = try o.notary("dl", ["delegation", "list", o.gun], env: [:])
        #expect(dl.stdout.contains("targets/releases") && dl.stdout.contains("targets/ci"), "\(dl)")
        #expect(try o.list(in: "old") == ["v1"])
        #expect(try o.freshList() == ["v1"])
        // The online side signs with the new targets key carried in o3/private.
        try o.notary("o3", ["add", o.gun, "v2", try o.payload("v2")])
        try o.notary("o3", ["publish", o.gun])
        #expect(try o.freshList() == ["v1", "v2"])
    }

    @Test func aVaultHeldSnapshotKeyIsReplacedByANewVaultKey() throws {
        let o = online("example.com/life/snapshot")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"), serverSnapshot: false)
        let out = o.path("snap")
        let r = try v.run(["repo", "rotate", o.gun, "snapshot", "--current", try o.current("c0"), "--out", out, "--server", o.server.url], env: Online.env)
        #expect(
            r.status == 0 && r.stdout.contains("New snapshot key in the vault") && r.stdout.contains("metadata/snapshot.json")
                && r.stdout.contains("trustvault-online publish \(out) --server \(o.server.url)"), "\(r)")
        try o.uploadOut(out)
        #expect(try o.list(in: "old") == ["v1"])
        #expect(try o.freshList() == ["v1"])
        // The online machine (trust dir "out", which has the targets key) gets the new snapshot key file.
        for name in try FileManager.default.contentsOfDirectory(atPath: out + "/private") {
            try FileManager.default.copyItem(atPath: out + "/private/" + name, toPath: o.path("out") + "/private/" + name)
        }
        try o.notary("out", ["add", o.gun, "v2", try o.payload("v2")])  // signs the snapshot with the new key
        try o.notary("out", ["publish", o.gun])
        #expect(try o.freshList() == ["v1", "v2"])
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(try v.run(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(keys.filter { $0["role"] as? String == "snapshot" }.compactMap { $0["status"] as? String }.sorted() == ["current", "retired"], "\(keys)")

        // repo rotate GUN root without --new-key makes the new root key here, as notary does.
        let rr = o.path("rr")
        let rot = try v.run(["repo", "rotate", o.gun, "root", "--current", try o.current("c1"), "--out", rr, "--server", o.server.url], env: Online.env)
        #expect(
            rot.status == 0 && rot.stdout.contains("New root key in the vault")
                && rot.stdout.contains("trustvault-online publish \(rr) --server \(o.server.url)"), "\(rot)")
        try o.uploadOut(rr)
        #expect(try o.list(in: "old") == ["v1", "v2"])
        #expect(try o.freshList() == ["v1", "v2"])
        let after = try #require(try JSONSerialization.jsonObject(with: Data(try v.run(["key", "list", "--json"]).stdout.utf8)) as? [[String: Any]])
        #expect(after.filter { $0["role"] as? String == "root" }.compactMap { $0["status"] as? String }.sorted() == ["current", "retired"], "\(after)")
    }

    @Test func aDelegationWhoseKeyIsInTheVaultIsRefreshed() throws {
        let o = online("example.com/life/refresh-delegation")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let kid = try v.generate("targets/releases")
        let add = o.path("add")
        #expect(
            try v.run(
                ["delegation", "add", o.gun, "targets/releases", "--key", kid, "--all-paths", "--current", try o.current("c0"), "--out", add], env: Online.env
            ).status == 0)
        try o.uploadOut(add)
        // The release signer (online) signs a tag into the role with an exported copy of the key.
        let export = try v.run(["key", "export", kid, "--out", o.path("rel") + "/"], env: Online.env)
        #expect(export.status == 0, "\(export)")
        let relEnv = ["NOTARY_DELEGATION_PASSPHRASE": Online.exportPassphrase]
        try o.notary("rel", ["add", o.gun, "r1", try o.payload("r1"), "--roles", "targets/releases"], env: relEnv)
        try o.notary("rel", ["publish", o.gun], env: relEnv)
        let current = try o.current("c1", delegations: ["targets/releases"])
        let out = o.path("refreshed")
        let r = try v.run(
            ["repo", "refresh", o.gun, "--roles", "targets/releases", "--expires", "delegations=1y", "--current", current, "--out", out], env: Online.env)
        #expect(r.status == 0, "\(r)")
        let text = try String(contentsOfFile: out + "/tuf/" + o.gun + "/metadata/targets/releases.json", encoding: .utf8)
        #expect(text.contains(#""version":2"#) && text.contains(#""r1""#), "\(text)")
        try o.uploadOut(out)
        #expect(try o.freshList("targets/releases") == ["r1"])
        let after = try o.current("c2", delegations: ["targets/releases"])
        #expect(try TrustVaultCLI.run(["verify", after, "--gun", o.gun]).status == 0)
    }
}
