import Foundation
import Testing
import TestSupport

/// Issue 18, items 4 and 5, against one real notary-server (shared by the suite; each test its
/// own GUN) and the real notary client: no key lost by accident (per-repository key status,
/// `key remove` naming the repositories that still list a key, `repo init` on a GUN that has
/// trust data), and no shared root collapsed unawares (root rotations that remove other holders'
/// keys or lower the threshold, `trustvault-online publish` refusing an under-signed root.json).
/// Commands run as a user types them: relative paths, in the test's working directory.
@Suite("Key safety: no key lost by accident, no shared root collapsed unawares", .tags(.interop), .interop, .enabled(if: notaryPeers), .serialized)
final class KeySafetyTests {
    let server: NotaryServer
    let emptyDockerConfig = TemporaryDirectory("docker-config-empty")

    init() throws { server = try SharedServers.plain() }

    /// `trustvault --vault V ARGS` in the test's directory (relative paths as typed).
    func tv(_ v: CLIVault, _ o: Online, _ args: [String], env: [String: String] = Online.env) throws -> ProcessResult {
        try TrustVaultCLI.run(["--vault", v.path] + args, environment: env, directory: o.dir.path)
    }

    /// `trustvault-online ARGS --server URL` in the test's directory, anonymous (no auth on this server).
    func online(_ o: Online, _ args: [String]) throws -> ProcessResult {
        try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online", args + ["--server", server.url],
            environment: ["DOCKER_CONFIG": emptyDockerConfig.path], directory: o.dir.path)
    }

    func keyList(_ v: CLIVault) throws -> [[String: Any]] {
        let r = try v.run(["key", "list", "--json"], env: [:])
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    }

    /// The bytes the server serves for the GUN's root.json (nil: no trust data).
    func servedRoot(_ o: Online) throws -> Data? {
        let r = try Run.program("/usr/bin/curl", ["-s", "-o", o.path("served-root.json"), "-w", "%{http_code}", server.tufURL(o.gun) + "root.json"])
        guard r.stdout == "200" else { return nil }
        return FileManager.default.contents(atPath: o.path("served-root.json"))
    }

    @Test func aRootKeySharedByTwoRepositoriesIsNotRemovedWhenOneRotatesAway() throws {
        let app = Online(server: server, gun: "example.com/safety/app")
        let web = Online(server: server, gun: "example.com/safety/web")
        let v = try CLIVault()
        let shared = try v.generate("root")
        _ = try app.createRepository(v, rootKey: shared)
        _ = try web.createRepository(v, rootKey: shared)

        // Rotate app's root to a new key; web keeps the shared one.
        let next = try v.generate("root")
        _ = try app.current("cur")
        let rot = try tv(v, app, ["repo", "rotate", app.gun, "root", "--new-key", next, "--current", "cur", "--out", "rot"])
        #expect(rot.status == 0, "\(rot)")
        try app.uploadOut(app.path("rot"))
        #expect(try app.list(in: "old") == ["v1"])
        #expect(try app.freshList() == ["v1"])

        // Retired for app, not in general: web still lists it as its root key.
        let keys = try keyList(v)
        let entry = try #require(keys.first { $0["id"] as? String == shared })
        #expect(entry["status"] as? String == "current", "\(entry)")
        #expect((entry["repositories"] as? [String: [String]]) == [web.gun: ["root"]], "\(entry)")
        #expect((entry["retired_from"] as? [String: String])?.keys.sorted() == [app.gun], "\(entry)")
        let table = try v.run(["key", "list", "--wide"], env: [:])
        #expect(table.stdout.contains("REPOSITORIES") && table.stdout.contains("\(web.gun): root; \(app.gun): retired"), "\(table)")

        // key remove refuses, naming web and what would become impossible; the vault is unchanged.
        let before = v.fingerprint()
        let refused = try tv(v, app, ["key", "remove", shared, "--yes"])
        expectFailure(refused, status: 1, mentioning: "signing root.json of \(web.gun)", vault: v, before: before)
        #expect(refused.stderr.contains("\(web.gun) (root)") && refused.stderr.contains("--repository \(web.gun)"), "\(refused)")
        // Naming another repository is not enough.
        expectFailure(try tv(v, app, ["key", "remove", shared, "--yes", "--repository", app.gun]), status: 1, mentioning: web.gun, vault: v, before: before)
        // Both repositories still work for the real client, and web can still be changed here.
        #expect(try web.freshList() == ["v1"])
        _ = try web.current("web-cur")
        let refresh = try tv(v, web, ["repo", "refresh", web.gun, "--roles", "root", "--current", "web-cur", "--out", "web-refresh"])
        #expect(refresh.status == 0, "\(refresh)")

        // At a terminal, the confirmation names the repository and what is lost; "n" keeps the key.
        let beforeAsking = v.fingerprint()
        let asked = try PromptCLITests().onTerminal(["--vault", v.path, "key", "remove", shared, "--repository", web.gun], typing: ["n"])
        #expect(asked.stdout.contains("\(web.gun) (root) still lists it: signing root.json of \(web.gun) becomes impossible here."), "\(asked)")
        #expect(asked.stdout.contains("Nothing removed.") && v.fingerprint() == beforeAsking, "\(asked)")
        // Named explicitly, the shared root key goes (the note says what is lost).
        let removed = try tv(v, app, ["key", "remove", shared, "--yes", "--repository", web.gun])
        #expect(removed.status == 0, "\(removed)")
        #expect(removed.stdout.contains("note: \(web.gun) still lists it (root); this vault can no longer do: signing root.json of \(web.gun)"), "\(removed)")
    }

    @Test func aDelegationKeyInTheVaultIsKeptUntilItsRoleIsRemoved() throws {
        let o = Online(server: server, gun: "example.com/safety/delegation")
        let v = try CLIVault()
        _ = try o.createRepository(v, rootKey: try v.generate("root"))
        let ci = try v.generate("targets/releases")
        _ = try o.current("c1")
        let add = try tv(v, o, ["delegation", "add", o.gun, "targets/releases", "--key", ci, "--all-paths", "--current", "c1", "--out", "d1"])
        #expect(add.status == 0, "\(add)")
        try o.uploadOut(o.path("d1"))
        #expect(try o.freshList() == ["v1"])

        // The CI key signs for targets/releases of the repository: not removed without naming it.
        let before = v.fingerprint()
        expectFailure(
            try tv(v, o, ["key", "remove", ci, "--yes"]), status: 1, mentioning: "signing tags as targets/releases of \(o.gun)", vault: v, before: before)

        // The role removed (and published): the key is retired for the repository and goes without a name.
        _ = try o.current("c2")
        let removed = try tv(v, o, ["delegation", "remove", o.gun, "targets/releases", "--current", "c2", "--out", "d2"])
        #expect(removed.status == 0, "\(removed)")
        try o.uploadOut(o.path("d2"))
        #expect(try o.freshList() == ["v1"])
        let entry = try #require(try keyList(v).first { $0["id"] as? String == ci })
        #expect(entry["status"] as? String == "retired" && (entry["retired"] as? [String: String])?["gun"] == o.gun, "\(entry)")
        let gone = try tv(v, o, ["key", "remove", ci, "--yes"])
        #expect(gone.status == 0 && !gone.stdout.contains("note:"), "\(gone)")
    }

    @Test func repoInitOnAGUNWithTrustDataIsRefusedAndLeavesNoKey() throws {
        let o = Online(server: server, gun: "example.com/safety/init")
        let v = try CLIVault()
        let root = try v.generate("root")
        _ = try o.createRepository(v, rootKey: root)

        // 1. This vault made trust data for the GUN: a second repo init is refused, nothing made.
        let before = v.fingerprint()
        let again = try tv(
            v, o, ["repo", "init", o.gun, "--root-key", root, "--timestamp-key", "timestamp.key", "--snapshot-key", "snapshot.key", "--out", "again"])
        expectFailure(again, status: 73, mentioning: "already made trust data for \(o.gun)", vault: v, before: before)
        #expect(again.stderr.contains("--replace-existing"), "\(again)")
        #expect(!FileManager.default.fileExists(atPath: o.path("again")))

        // 2. Another vault, told by fetch --keys-only that the server holds trust data for it.
        let w = try CLIVault()
        let wroot = try w.generate("root")
        let keys = try online(o, ["fetch", o.gun, "--out", "keys", "--keys-only"])
        #expect(keys.status == 0, "\(keys)")
        #expect(keys.stdout.contains("warning: \(server.url) already holds trust data for \(o.gun) (root.json v1)"), "\(keys)")
        #expect(FileManager.default.fileExists(atPath: o.path("keys/existing-root.json")))
        let wBefore = w.fingerprint()
        let initArgs = [
            "repo", "init", o.gun, "--root-key", wroot, "--timestamp-key", "keys/timestamp.key", "--snapshot-key", "keys/snapshot.key", "--out", "w-out",
        ]
        let refused = try tv(w, o, initArgs)
        expectFailure(refused, status: 73, mentioning: "the server already holds trust data for \(o.gun) (root.json v1)", vault: w, before: wBefore)
        #expect(!FileManager.default.fileExists(atPath: o.path("w-out")))
        #expect(try keyList(w).count == 1, "no targets key was left behind")

        // Asked explicitly: made, with a note that the server refuses it until its data is deleted —
        // and the server does refuse it; the repository stays as it was for the real client.
        let replaced = try tv(w, o, initArgs + ["--replace-existing"])
        #expect(replaced.status == 0, "\(replaced)")
        #expect(replaced.stdout.contains("it refuses this root v1 until that data is deleted"), "\(replaced)")
        let servedBefore = try servedRoot(o)
        let publish = try online(o, ["publish", "w-out"])
        #expect(publish.status == 1 && publish.errorLines.count == 1, "\(publish)")
        #expect(try servedRoot(o) == servedBefore)
        #expect(try o.freshList() == ["v1"])
    }

    @Test func aTwoOfThreeRootIsNotCollapsedUnawaresAndUnderSignedRootsAreNotPublished() throws {
        let o = Online(server: server, gun: "example.com/safety/threshold")
        let a = try CLIVault(), b = try CLIVault(), c = try CLIVault()
        let ka = try a.generate("root"), kb = try b.generate("root"), kc = try c.generate("root")
        for (v, k, name) in [(b, kb, "b.crt"), (c, kc, "c.crt")] {
            #expect(try tv(v, o, ["root", "cert", o.gun, "--key", k, "--out", name]).status == 0)
        }
        #expect(try online(o, ["fetch", o.gun, "--out", "keys", "--keys-only"]).status == 0)
        let made = try tv(
            a, o,
            [
                "repo", "init", o.gun, "--root-key", ka, "--root-key", "b.crt", "--root-key", "c.crt", "--root-threshold", "2",
                "--timestamp-key", "keys/timestamp.key", "--snapshot-key", "keys/snapshot.key", "--out", "init",
            ])
        #expect(made.status == 0, "\(made)")

        // publish refuses the 1-of-2 root v1 locally, naming whose signatures are missing; nothing reaches the server.
        let early = try online(o, ["publish", "init"])
        expectOneErrorLine(
            early, status: 1,
            mentioning: ["lacks root signatures", "new root v1: 1 of 2 signatures", String(kb.prefix(12)), String(kc.prefix(12)), "nothing was sent"])
        #expect(try servedRoot(o) == nil)
        #expect(try tv(b, o, ["root", "sign", "init/tuf/\(o.gun)/metadata/root.json", "--key", kb]).status == 0)
        let published = try online(o, ["publish", "init"])
        #expect(published.status == 0, "\(published)")
        try o.notary("old", ["list", o.gun], env: [:])

        // recovery.md's 'repo rotate GUN root --new-key NEW' on the 2-of-3 root: said and refused
        // before anything is signed or any passphrase asked (none is given here), vault unchanged.
        let knew = try a.generate("root")
        #expect(try online(o, ["fetch", o.gun, "--out", "cur"]).status == 0)
        let aBefore = a.fingerprint()
        let rotate = ["repo", "rotate", o.gun, "root", "--new-key", knew, "--current", "cur", "--out", "rot"]
        let refused = try tv(a, o, rotate, env: [:])
        expectFailure(refused, status: 1, mentioning: "removes root keys held by other key holders", vault: a, before: aBefore)
        #expect(refused.stderr.contains(String(kb.prefix(12))) && refused.stderr.contains(String(kc.prefix(12))), "\(refused)")
        #expect(refused.stderr.contains("lowers the root threshold from 2 to 1"), "\(refused)")
        #expect(refused.stderr.contains("--remove-key \(kb.prefix(12)) --remove-key \(kc.prefix(12)) --lower-threshold"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: o.path("rot")))
        // Naming only the removals is not enough; a key the rotation keeps cannot be named.
        expectFailure(
            try tv(a, o, rotate + ["--remove-key", kb, "--remove-key", kc], env: [:]), status: 1, mentioning: "lowers the root threshold from 2 to 1", vault: a,
            before: aBefore)
        expectFailure(
            try tv(a, o, rotate + ["--remove-key", knew], env: [:]), status: 64, mentioning: "is not a root key this rotation removes", vault: a,
            before: aBefore)

        // Keeping the other holders needs no flag: A, B and the new key, 2 of 3.
        // The explicit collapse: the change is listed first, then signed by A's old and new keys.
        let explicit = try tv(a, o, rotate + ["--remove-key", kb, "--remove-key", String(kc.prefix(12)), "--lower-threshold"])
        #expect(explicit.status == 0, "\(explicit)")
        #expect(explicit.stdout.contains("root: key removed \(kb) (held by another key holder)"), "\(explicit)")
        #expect(explicit.stdout.contains("root: threshold 2 -> 1 (1 of 1 root keys must sign)"), "\(explicit)")
        #expect(explicit.stdout.contains("previous root v1: 1 of 2 — needs one more from"), "\(explicit)")

        // publish refuses it locally: the previous root's 2-of-3 is not met (previous-root.json beside
        // the fragment, then the server's own root.json when that file is gone); the server is unchanged.
        let servedBefore = try servedRoot(o)
        let local = try online(o, ["publish", "rot"])
        expectOneErrorLine(local, status: 1, mentioning: ["previous root v1: 1 of 2", "nothing was sent"])
        #expect(local.stderr.contains(String(kb.prefix(12))) && local.stderr.contains(String(kc.prefix(12))), "\(local)")
        try FileManager.default.removeItem(atPath: o.path("rot/previous-root.json"))
        let viaServer = try online(o, ["publish", "rot"])
        expectOneErrorLine(viaServer, status: 1, mentioning: ["previous root v1: 1 of 2", "nothing was sent"])
        #expect(try servedRoot(o) == servedBefore)
        try o.notary("old", ["list", o.gun], env: [:])

        // Once B countersigns, it goes up; the previously trusting client and a fresh one follow.
        let signB = try tv(b, o, ["root", "sign", "rot/tuf/\(o.gun)/metadata/root.json", "--key", kb, "--previous", "cur/root.json"])
        #expect(signB.status == 0 && signB.stdout.contains("previous root v1: 2 of 2 — complete"), "\(signB)")
        let up = try online(o, ["publish", "rot"])
        #expect(up.status == 0, "\(up)")
        try o.notary("old", ["list", o.gun], env: [:])
        #expect(try o.freshList() == [])
        // B's vault now knows its key is retired for this repository.
        #expect(try keyList(b).first { $0["id"] as? String == kb }?["status"] as? String == "retired")
    }
}

/// The failure contract for a command with no vault to compare: status, one `error:` line, no crash.
func expectOneErrorLine(_ r: ProcessResult, status: Int32, mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "\(r)", sourceLocation: sourceLocation)
    #expect(r.errorLines.count == 1, "exactly one error line: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    for n in needles { #expect(r.stderr.contains(n), "stderr should mention \(n): \(r.stderr)", sourceLocation: sourceLocation) }
}
