import Foundation
import Testing
import TestSupport

/// The online side of a ceremony test: a real notary-server and notary clients.
struct Online {
    let server: NotaryServer
    let gun: String
    let dir = TemporaryDirectory("ceremony")
    static let exportPassphrase = "export-passphrase"
    static let env = CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": exportPassphrase]) { $1 }
    /// What the online operator sets for the key files the vault exported.
    static let notaryEnv = ["NOTARY_TARGETS_PASSPHRASE": exportPassphrase, "NOTARY_SNAPSHOT_PASSPHRASE": exportPassphrase]

    /// On the process's shared plain server (``SharedServers``).
    init(gun: String) throws {
        server = try SharedServers.plain()
        self.gun = gun
    }

    /// On a server the suite shares.
    init(server: NotaryServer, gun: String) {
        self.server = server
        self.gun = gun
    }

    func path(_ name: String) -> String { dir.sub(name) }

    @discardableResult
    func notary(
        _ trustDir: String, _ args: [String], env: [String: String] = Online.notaryEnv, expectOK: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProcessResult {
        let r = try server.notary(path(trustDir), args, environment: env)
        if expectOK { #expect(r.status == 0, "notary \(args.joined(separator: " ")): \(r)", sourceLocation: sourceLocation) }
        return r
    }

    /// A fresh trust dir's `notary list`; returns the tag names.
    func freshList(_ role: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try list(in: "fresh-" + UUID().uuidString.prefix(6), role: role, sourceLocation: sourceLocation)
    }

    func list(in trustDir: String, role: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        var args = ["list", gun]
        if let role { args += ["--roles", role] }
        let r = try notary(trustDir, args, env: [:], sourceLocation: sourceLocation)
        return r.stdout.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { !$0.isEmpty && $0 != "No" }
    }

    /// The server's current metadata in notary's cache layout.
    func current(_ name: String, delegations: [String] = []) throws -> String {
        let d = path(name)
        try server.fetchMetadata(gun: gun, roles: ["root", "targets", "snapshot", "timestamp"] + delegations, to: d)
        return d
    }

    /// Uploads every metadata file of an --out directory as the printed curl line does.
    func uploadOut(_ out: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let meta = out + "/tuf/" + gun + "/metadata"
        var files: [(String, String)] = []
        for role in ["root", "targets", "targets/releases", "targets/ci", "snapshot"] where FileManager.default.fileExists(atPath: meta + "/" + role + ".json")
        {
            files.append((role, meta + "/" + role + ".json"))
        }
        let (status, body) = try server.upload(gun: gun, files: files)
        #expect(status == 200, "upload of \(files.map(\.0)): \(status) \(body)", sourceLocation: sourceLocation)
    }

    /// A file to sign as a target.
    func payload(_ text: String) throws -> String {
        let p = path("payload-\(text)")
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// `repo init` in `vault` → `notary publish` from the out dir (no root key there); returns the out dir.
    func createRepository(_ vault: CLIVault, rootKey: String, serverSnapshot: Bool = true, tag: String? = "v1") throws -> String {
        try server.fetchKey(gun: gun, role: "timestamp", to: path("timestamp.key"))
        var args = ["repo", "init", gun, "--root-key", rootKey, "--timestamp-key", path("timestamp.key"), "--out", path("out"), "--server", server.url]
        if serverSnapshot {
            try server.fetchKey(gun: gun, role: "snapshot", to: path("snapshot.key"))
            args += ["--snapshot-key", path("snapshot.key")]
        }
        let r = try vault.run(args, env: Online.env)
        #expect(r.status == 0, "\(r)")
        // A complete fragment (server-held snapshot) is published with trustvault-online; with
        // an exported snapshot key, notary signs the snapshot.
        #expect(
            r.stdout.contains(
                serverSnapshot
                    ? "trustvault-online publish \(path("out")) --server \(server.url)"
                    : "notary -s \(server.url) -d \(path("out")) publish \(gun)"), "\(r.stdout)")
        // No root key leaves the vault.
        let keys = try FileManager.default.contentsOfDirectory(atPath: path("out") + "/private")
        #expect(!keys.contains(rootKey + ".key"))
        #expect(keys.count == (serverSnapshot ? 1 : 2))
        try notary("out", ["publish", gun])
        if let tag {
            try notary("out", ["add", gun, tag, try payload(tag)])
            try notary("out", ["publish", gun])
        }
        return path("out")
    }
}

let notaryPeers = NotaryServer.isAvailable || isCI

@Suite("Ceremonies against the real notary-server and notary client", .tags(.interop), .interop, .enabled(if: notaryPeers), .serialized)
struct CeremonyTests {
    @Test(arguments: [true, false])
    func offlineInitThenPublishWithoutRootKey(serverSnapshot: Bool) throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let online = try Online(gun: serverSnapshot ? "example.com/acme/app" : "example.com/acme/client-snapshot")
        _ = try online.createRepository(v, rootKey: root, serverSnapshot: serverSnapshot)
        #expect(try online.freshList() == ["v1"])
        // What the server serves verifies offline; inspect shows the tag and the keys.
        let current = try online.current("current")
        let verify = try TrustVaultCLI.run(["verify", current, "--gun", online.gun])
        #expect(verify.status == 0, "\(verify)")
        let inspect = try TrustVaultCLI.run(["inspect", current, "--gun", online.gun])
        #expect(inspect.stdout.contains("v1 ") && inspect.stdout.contains("Root Key:\t"), "\(inspect)")
        // docker's Root Key is the certificate key ID; --expiries shows the vault's ID beside it.
        let expiries = try TrustVaultCLI.run(["inspect", current, "--gun", online.gun, "--expiries"])
        #expect(expiries.stdout.contains("   \(root)\n"), "\(expiries)")
    }

    @Test func delegationsForCISignedWithOpenSSLCertificate() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let online = try Online(gun: "example.com/acme/ci")
        _ = try online.createRepository(v, rootKey: root)
        // The CI team's key and certificate, as a client bundle would carry them.
        let key = online.path("ci-key.pem"), cert = online.path("ci-cert.pem")
        let ssl = try Run.program(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                "-days", "365", "-subj", "/CN=ci",
            ])
        #expect(ssl.status == 0, "\(ssl)")
        for (i, role) in ["targets/releases", "targets/ci"].enumerated() {
            let current = try online.current("current\(i)")
            let out = online.path("deleg\(i)")
            let r = try v.run(
                ["delegation", "add", online.gun, role, "--cert", cert, "--all-paths", "--current", current, "--out", out, "--server", online.server.url],
                env: Online.env)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("trustvault-online publish \(out) --server \(online.server.url)"), "\(r.stdout)")
            try online.uploadOut(out)
        }
        let list = try online.notary("deleglist", ["delegation", "list", online.gun], env: [:])
        #expect(list.stdout.contains("targets/ci") && list.stdout.contains("targets/releases"))
        // The CI side imports its key and signs a tag into its own role.
        let ciEnv = ["NOTARY_DELEGATION_PASSPHRASE": "ci-passphrase"]
        try online.notary("ci", ["key", "import", key, "--role", "targets/ci"], env: ciEnv)
        try online.notary("ci", ["add", online.gun, "build-42", try online.payload("build-42"), "--roles", "targets/ci"], env: ciEnv)
        try online.notary("ci", ["publish", online.gun], env: ciEnv)
        #expect(try online.freshList() == ["build-42", "v1"])
        #expect(try online.freshList("targets/ci") == ["build-42"])
        let current = try online.current("after", delegations: ["targets/ci"])
        let verify = try TrustVaultCLI.run(["verify", current, "--gun", online.gun])
        #expect(verify.status == 0, "\(verify)")
        let inspect = try TrustVaultCLI.run(["inspect", current, "--gun", online.gun, "--json"])
        // build-42 is only in targets/ci (not released), so docker lists ci as a signer but not the tag.
        #expect(inspect.stdout.contains(#""Name": "ci""#) && !inspect.stdout.contains("build-42"), "\(inspect)")
        // Remove the CI signer again.
        let out = online.path("remove")
        let r = try v.run(["delegation", "remove", online.gun, "targets/ci", "--current", try online.current("current9"), "--out", out], env: Online.env)
        #expect(r.status == 0, "\(r)")
        try online.uploadOut(out)
        let after = try online.notary("deleglist2", ["delegation", "list", online.gun], env: [:])
        #expect(!after.stdout.contains("targets/ci") && after.stdout.contains("targets/releases"))
    }

    @Test func lostTargetsKeyIsReplaced() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let online = try Online(gun: "example.com/acme/lost")
        _ = try online.createRepository(v, rootKey: root)
        #expect(try online.list(in: "old") == ["v1"])  // a client that trusts the current root
        // The targets key is lost: gone from the vault and from the online machine.
        let keys = try v.run(["key", "list", "--json"])
        let targetsID = try #require(
            (try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]])?.first { $0["role"] as? String == "targets" }?["id"] as? String
        )
        #expect(try v.run(["key", "remove", targetsID, "--yes", "--repository", online.gun]).status == 0)
        try FileManager.default.removeItem(atPath: online.path("out"))
        let out = online.path("rotated")
        let r = try v.run(
            ["repo", "rotate", online.gun, "targets", "--current", try online.current("current"), "--out", out, "--server", online.server.url], env: Online.env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("metadata/root.json") && r.stdout.contains("metadata/targets.json"), "\(r.stdout)")
        #expect(r.stdout.contains("trustvault-online publish \(out) --server \(online.server.url)"), "\(r.stdout)")
        try online.uploadOut(out)
        #expect(try online.list(in: "old") == ["v1"])
        #expect(try online.freshList() == ["v1"])
        // The online side signs new tags with the new key from the out dir.
        try online.notary("rotated", ["add", online.gun, "v2", try online.payload("v2")])
        try online.notary("rotated", ["publish", online.gun])
        #expect(try online.list(in: "old") == ["v1", "v2"])
        #expect(try online.freshList() == ["v1", "v2"])
    }

    @Test func rootRotationSignedByTwoKeyHolders() throws {
        // The old root key is in one vault, the new one in another: 'repo rotate' on the second,
        // 'root sign' on the first.
        let oldVault = try CLIVault(), newVault = try CLIVault()
        let oldRoot = try oldVault.generate("root"), newRoot = try newVault.generate("root")
        let online = try Online(gun: "example.com/acme/rootrot")
        _ = try online.createRepository(oldVault, rootKey: oldRoot)
        let trustedRoot = try online.current("before") + "/root.json"
        #expect(try online.list(in: "old") == ["v1"])
        let out = online.path("rotated")
        // The old root key is not in this vault: removing it must be named (issue 18).
        let unnamed = try newVault.run(
            ["repo", "rotate", online.gun, "root", "--new-key", newRoot, "--current", try online.current("current"), "--out", out], env: Online.env)
        expectFailure(unnamed, status: 1, mentioning: "--remove-key \(oldRoot.prefix(12))")
        let r = try newVault.run(
            ["repo", "rotate", online.gun, "root", "--new-key", newRoot, "--remove-key", oldRoot, "--current", try online.current("current"), "--out", out],
            env: Online.env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("trustvault root sign"), "a note says the old key holder must sign: \(r)")
        let rootFile = out + "/tuf/" + online.gun + "/metadata/root.json"
        // Uploading with only the new key's signature is refused by the server.
        let (refused, _) = try online.server.upload(gun: online.gun, files: [("root", rootFile)])
        #expect(refused == 400)
        let sign = try oldVault.run(["root", "sign", rootFile, "--key", oldRoot, "--previous", trustedRoot], env: Online.env)
        #expect(sign.status == 0, "\(sign)")
        #expect(sign.stdout.contains("root.json version 2") && sign.stdout.contains("signatures: 1 present, 1 valid"), "\(sign)")
        #expect(sign.stdout.contains("root: key added   \(newRoot)") && sign.stdout.contains("root: key removed \(oldRoot)"), "\(sign)")
        try online.uploadOut(out)
        #expect(try online.list(in: "old") == ["v1"])
        #expect(try online.freshList() == ["v1"])
        let after = try online.current("after")
        let verify = try TrustVaultCLI.run(["verify", after, "--gun", online.gun, "--root", trustedRoot])
        #expect(verify.status == 0, "\(verify)")
        let inspect = try TrustVaultCLI.run(["inspect", after, "--gun", online.gun, "--expiries"])
        #expect(inspect.stdout.contains("   \(newRoot)\n"), "\(inspect)")
    }

    @Test func snapshotKeyMovesToServer() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let online = try Online(gun: "example.com/acme/snap")
        _ = try online.createRepository(v, rootKey: root, serverSnapshot: false)
        let post = try Run.program(
            "/usr/bin/curl", ["-sf", "-X", "POST", "-o", online.path("new-snapshot.key"), online.server.tufURL(online.gun) + "snapshot.key"])
        #expect(post.status == 0)
        let out = online.path("moved")
        let r = try v.run(
            [
                "repo", "rotate", online.gun, "snapshot", "--snapshot-key", online.path("new-snapshot.key"), "--current", try online.current("current"),
                "--out", out,
            ], env: Online.env)
        #expect(r.status == 0, "\(r)")
        try online.uploadOut(out)
        #expect(try online.freshList() == ["v1"])
        // Publishing now works without any snapshot key on the online side.
        try FileManager.default.removeItem(atPath: online.path("out") + "/private")
        let rotatedTargets = online.path("targets-rotated")
        let t = try v.run(["repo", "rotate", online.gun, "targets", "--current", try online.current("current2"), "--out", rotatedTargets], env: Online.env)
        #expect(t.status == 0, "\(t)")
        try online.uploadOut(rotatedTargets)
        try online.notary("targets-rotated", ["add", online.gun, "v2", try online.payload("v2")])
        try online.notary("targets-rotated", ["publish", online.gun])
        #expect(try online.freshList() == ["v1", "v2"])
    }

    @Test func verifyPassesOnServedDataAndFailsOnAFlippedByte() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let online = try Online(gun: "example.com/acme/verify")
        _ = try online.createRepository(v, rootKey: root)
        let current = try online.current("current")
        #expect(try TrustVaultCLI.run(["verify", current, "--gun", online.gun]).status == 0)
        for role in ["root", "targets", "snapshot", "timestamp"] {
            let path = current + "/" + role + ".json"
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            for offset in [10, original.count / 2, original.count - 5] {
                var bytes = [UInt8](original)
                bytes[offset] ^= 0x01
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let r = try TrustVaultCLI.run(["verify", current, "--gun", online.gun])
                #expect(r.status == 1, "\(role) byte \(offset) flipped: \(r)")
                #expect(r.errorLines.count == 1 && r.errorLines[0].count > 20, "a reason: \(r.stderr)")
            }
            try original.write(to: URL(fileURLWithPath: path))
        }
        #expect(try online.freshList() == ["v1"])
    }

    @Test func ceremonyInputErrors() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        let targets = try v.generate("targets", gun: "example.com/x")
        let online = try Online(gun: "example.com/acme/errors")
        try "not json".write(toFile: online.path("bad.key"), atomically: true, encoding: .utf8)
        let before = v.fingerprint()
        // A timestamp key file that is not JSON.
        expectFailure(
            try v.run(
                ["repo", "init", online.gun, "--root-key", root, "--timestamp-key", online.path("bad.key"), "--out", online.path("o1")], env: Online.env),
            status: 65, mentioning: "bad.key", vault: v, before: before)
        try online.server.fetchKey(gun: online.gun, role: "timestamp", to: online.path("ts.key"))
        // Not a root key.
        expectFailure(
            try v.run(
                ["repo", "init", online.gun, "--root-key", targets, "--timestamp-key", online.path("ts.key"), "--out", online.path("o2")], env: Online.env),
            status: 64, mentioning: "not a root key", vault: v, before: before)
        // Wrong root passphrase.
        var wrong = Online.env
        wrong["TRUSTVAULT_ROOT_PASSPHRASE"] = "wrong"
        expectFailure(
            try v.run(["repo", "init", online.gun, "--root-key", root, "--timestamp-key", online.path("ts.key"), "--out", online.path("o3")], env: wrong),
            status: 77, vault: v, before: before)
        // No export passphrase (and no terminal): nothing written, vault unchanged.
        var noExport = Online.env
        noExport["TRUSTVAULT_EXPORT_PASSPHRASE"] = nil
        expectFailure(
            try v.run(["repo", "init", online.gun, "--root-key", root, "--timestamp-key", online.path("ts.key"), "--out", online.path("o5")], env: noExport),
            status: 65, mentioning: "TRUSTVAULT_EXPORT_PASSPHRASE", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: online.path("o5")))
        // Missing current metadata.
        expectFailure(
            try v.run(["repo", "rotate", online.gun, "targets", "--current", online.path("nothing"), "--out", online.path("o4")], env: Online.env),
            status: 66, vault: v, before: before)
        // Verify of a directory without metadata.
        expectFailure(try TrustVaultCLI.run(["verify", online.path("nothing"), "--gun", online.gun]), status: 66)
    }
}

/// Bad inputs to the offline ceremonies; no server needed (the timestamp key file is made here).
@Suite("Ceremony input errors (offline)")
struct CeremonyOfflineErrorTests {
    static func repository(_ v: CLIVault, _ dir: TemporaryDirectory, gun: String) throws -> (root: String, out: String) {
        let root = try v.generate("root")
        var random = [UInt8](repeating: 0, count: 32)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        let keyJSON = #"{"keytype":"ed25519","keyval":{"public":""# + Data(random).base64EncodedString() + #"","private":null}}"#
        try keyJSON.write(toFile: dir.sub("ts.key"), atomically: true, encoding: .utf8)
        let r = try v.run(
            ["repo", "init", gun, "--root-key", root, "--timestamp-key", dir.sub("ts.key"), "--snapshot-key", dir.sub("ts.key"), "--out", dir.sub("repo")],
            env: Online.env)
        #expect(r.status == 0, "\(r)")
        return (root, dir.sub("repo"))
    }

    @Test func delegationAddRejectsBadKeysRolesAndTamperedMetadata() throws {
        let v = try CLIVault()
        let dir = TemporaryDirectory("deleg-errors")
        let gun = "example.com/acme/errors"
        let (_, repo) = try Self.repository(v, dir, gun: gun)
        let ed = dir.sub("ed.pem"), ec = dir.sub("ec.pem"), ecPub = dir.sub("ec.pub")
        #expect(try Run.program("/usr/bin/openssl", ["genpkey", "-algorithm", "ed25519", "-out", dir.sub("ed.key")]).status == 0)
        #expect(try Run.program("/usr/bin/openssl", ["pkey", "-in", dir.sub("ed.key"), "-pubout", "-out", ed]).status == 0)
        #expect(try Run.program("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec]).status == 0)
        #expect(try Run.program("/usr/bin/openssl", ["pkey", "-in", ec, "-pubout", "-out", ecPub]).status == 0)
        try "not a key".write(toFile: dir.sub("junk.pem"), atomically: true, encoding: .utf8)
        let before = v.fingerprint()
        func add(_ args: [String], out: String) throws -> ProcessResult {
            try v.run(["delegation", "add", gun] + args + ["--current", repo, "--out", dir.sub(out)], env: Online.env)
        }
        expectFailure(try add(["targets/ci", "--key-file", ed, "--all-paths"], out: "o1"), status: 65, mentioning: "Ed25519", vault: v, before: before)
        expectFailure(
            try add(["targets/ci", "--key-file", dir.sub("junk.pem"), "--all-paths"], out: "o2"), status: 65, mentioning: "junk.pem", vault: v, before: before)
        expectFailure(try add(["targets/ci", "--cert", ecPub, "--all-paths"], out: "o3"), status: 65, mentioning: "ec.pub", vault: v, before: before)
        expectFailure(try add(["releases", "--key-file", ecPub, "--all-paths"], out: "o4"), status: 64, mentioning: "releases", vault: v, before: before)
        expectFailure(
            try add(["targets/ci", "--key-file", ecPub, "--all-paths", "--threshold", "2"], out: "o5"), status: 64, mentioning: "threshold", vault: v,
            before: before)
        expectFailure(try add(["targets/ci", "--key-file", dir.sub("missing.pem"), "--all-paths"], out: "o6"), status: 66, vault: v, before: before)
        // The good case works, and refuses to overwrite its output.
        #expect(try add(["targets/ci", "--key-file", ecPub, "--all-paths"], out: "ok").status == 0)
        expectFailure(try add(["targets/ci", "--key-file", ecPub, "--all-paths"], out: "ok"), status: 73, vault: v, before: v.fingerprint())
        // Tampered current metadata is refused with the reason.
        let targets = repo + "/tuf/" + gun + "/metadata/targets.json"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: targets)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: targets))
        expectFailure(
            try add(["targets/x", "--key-file", ecPub, "--all-paths"], out: "o7"), status: 1, mentioning: "does not verify", vault: v, before: v.fingerprint())
    }

    @Test func rootSignAndVerifyRejectBadInput() throws {
        let v = try CLIVault()
        let dir = TemporaryDirectory("rootsign-errors")
        let gun = "example.com/acme/rootsign"
        let (root, repo) = try Self.repository(v, dir, gun: gun)
        let rootFile = repo + "/tuf/" + gun + "/metadata/root.json"
        let targets = try v.generate("targets", gun: gun)
        let otherRoot = try v.generate("root")
        let before = v.fingerprint()
        expectFailure(
            try v.run(["root", "sign", rootFile, "--key", targets], env: Online.env), status: 64, mentioning: "not a root key", vault: v, before: before)
        expectFailure(
            try v.run(["root", "sign", rootFile, "--key", otherRoot], env: Online.env), status: 64, mentioning: "not among the root keys", vault: v,
            before: before)
        try "{}".write(toFile: dir.sub("empty.json"), atomically: true, encoding: .utf8)
        expectFailure(try v.run(["root", "sign", dir.sub("empty.json"), "--key", root], env: Online.env), status: 65, vault: v, before: before)
        // Signing again with the same key keeps exactly one signature of it.
        #expect(try v.run(["root", "sign", rootFile, "--key", root, "--out", dir.sub("again.json")], env: Online.env).status == 0)
        let again = try String(contentsOfFile: dir.sub("again.json"), encoding: .utf8)
        #expect(again.components(separatedBy: "\"keyid\"").count == 2)
        #expect(!again.hasSuffix("\n"))
        // verify: the repository is valid; a trusted root of a newer version is not satisfied by it.
        #expect(try TrustVaultCLI.run(["verify", repo, "--gun", gun]).status == 0)
        expectFailure(try TrustVaultCLI.run(["verify", repo, "--gun", "example.com/acme/other"]), status: 66, mentioning: "no root.json")
        expectFailure(
            try TrustVaultCLI.run(["verify", repo + "/tuf/" + gun + "/metadata", "--gun", "example.com/acme/other"]),
            status: 1, mentioning: "does not match the GUN")
        let newer = again.replacingOccurrences(of: "\"version\":1}", with: "\"version\":7}")
        try newer.write(toFile: dir.sub("newer.json"), atomically: true, encoding: .utf8)
        expectFailure(
            try TrustVaultCLI.run(["verify", repo, "--gun", gun, "--root", dir.sub("newer.json")]), status: 1, mentioning: "older than the trusted root")
    }
}
