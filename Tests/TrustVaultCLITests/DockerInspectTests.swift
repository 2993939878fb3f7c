import Foundation
import Testing
import TestSupport

/// One repository served by a real https notary-server on loopback (test CA made with openssl),
/// written by the real notary client with tags in `targets`, `targets/releases` and two named
/// delegations; read by the real docker CLI (`docker trust inspect`, client only) and by trustvault.
final class ServedRepository {
    let dir = TemporaryDirectory("docker-inspect")
    let server: NotaryServer
    let gun = "docker.io/acme/app"
    /// A second repository with no tags and no signers (docker's empty case).
    let emptyGUN = "docker.io/acme/empty"
    static let passphrase = "served-passphrase"
    let notaryEnv = [
        "NOTARY_ROOT_PASSPHRASE": passphrase, "NOTARY_TARGETS_PASSPHRASE": passphrase,
        "NOTARY_SNAPSHOT_PASSPHRASE": passphrase, "NOTARY_DELEGATION_PASSPHRASE": passphrase,
    ]
    let docker: String
    /// The digests of the payloads, by payload name.
    var digests: [String: String] = [:]

    func path(_ name: String) -> String { dir.sub(name) }

    init() throws {
        docker = try requireTool("docker", package: "docker CLI at /usr/local/bin/docker")
        let openssl = try requireTool("openssl", package: "openssl")
        let d = dir.path
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: d + "/server.ext", atomically: true, encoding: .utf8)
        for args in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/ca.key",
                "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=trustvault test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/server.key",
                "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1",
            ],
            [
                "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key", "-CAcreateserial",
                "-out", d + "/server.crt", "-days", "2", "-extfile", d + "/server.ext",
            ],
        ] {
            let r = try Run.program(openssl, args)
            guard r.status == 0 else { throw TestFailure("openssl \(args[0]): \(r)") }
        }
        server = try NotaryServer.start(.init(tlsCertificate: d + "/server.crt", tlsKey: d + "/server.key", tlsCA: d + "/ca.crt"))
        // docker trusts the test CA for this server only.
        let tls = d + "/docker/tls/127.0.0.1:\(server.port)"
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: d + "/ca.crt", toPath: tls + "/ca.crt")

        try notary(["init", gun, "-p"])
        try notary(["init", emptyGUN, "-p"])
        for signer in ["alice", "bob", "carol"] {
            let r = try Run.program(
                openssl,
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(signer).key"),
                    "-out", path("\(signer).crt"), "-days", "30", "-subj", "/CN=\(signer)",
                ])
            guard r.status == 0 else { throw TestFailure("openssl for \(signer): \(r)") }
        }
        try notary(["delegation", "add", gun, "targets/releases", path("alice.crt"), path("bob.crt"), "--all-paths", "-p"])
        try notary(["delegation", "add", gun, "targets/alice", path("alice.crt"), "--all-paths", "-p"])
        try notary(["delegation", "add", gun, "targets/bob", path("bob.crt"), path("carol.crt"), "--all-paths", "-p"])
        for signer in ["alice", "bob"] { try notary(["key", "import", path("\(signer).key"), "--role", "targets/\(signer)"]) }
        // v1: the repository key only. v2: released by alice. v3: only in targets/releases.
        // v4: only bob's own role (not released). v5: released, alice and bob. v6: released and
        // alice with one digest, bob with another. v10: sorts after v6 in docker's natural order.
        let tags: [(String, String, [String])] = [
            ("v1", "p1", []), ("v2", "p2", ["targets/releases", "targets/alice"]), ("v3", "p3", ["targets/releases"]),
            ("v4", "p4", ["targets/bob"]), ("v5", "p2", ["targets/releases", "targets/alice", "targets/bob"]),
            ("v6", "p6", ["targets/releases", "targets/alice"]), ("v6", "p7", ["targets/bob"]), ("v10", "p1", ["targets/releases"]),
        ]
        for (tag, payload, roles) in tags {
            let file = path(payload)
            if !FileManager.default.fileExists(atPath: file) { try payload.write(toFile: file, atomically: true, encoding: .utf8) }
            try notary(["add", gun, tag, file, "-p"] + roles.flatMap { ["--roles", $0] })
        }
        for p in ["p1", "p2", "p3", "p4", "p6", "p7"] {
            let r = try Run.program("/usr/bin/sha256sum", [path(p)])
            digests[p] = String(r.stdout.prefix(64))
        }
    }

    deinit { server.stop() }

    @discardableResult
    func notary(_ args: [String]) throws -> ProcessResult {
        let r = try server.notary(path("admin"), args, environment: notaryEnv)
        guard r.status == 0 else { throw TestFailure("notary \(args.joined(separator: " ")): \(r)") }
        return r
    }

    /// The real docker CLI against the served repository, with a fresh trust cache each time.
    func dockerInspect(_ args: [String]) throws -> ProcessResult {
        let config = path("docker")
        try? FileManager.default.removeItem(atPath: config + "/trust")
        return try Run.program(
            docker, ["trust", "inspect"] + args,
            environment: [
                "DOCKER_CONFIG": config, "DOCKER_CONTENT_TRUST_SERVER": server.url,
            ])
    }

    /// The served metadata in notary's cache layout, fetched with curl (the same bytes docker read).
    func fetch(_ name: String, gun: String? = nil) throws -> String {
        let d = path(name)
        let delegations = gun == nil ? ["targets/releases", "targets/alice", "targets/bob"] : []
        try server.fetchMetadata(gun: gun ?? self.gun, roles: ["root", "targets", "snapshot", "timestamp"] + delegations, to: d)
        return d
    }
}

let dockerPeers = (NotaryServer.isAvailable && Run.which("docker") != nil && Run.which("openssl") != nil) || isCI

@Suite("inspect and verify against docker trust inspect and an https notary-server", .tags(.interop), .interop, .enabled(if: dockerPeers), .serialized)
struct DockerInspectTests {
    /// One served repository for the whole check (building it takes a dozen notary publishes).
    @Test func inspectMatchesDockerRefusesUnverifiedDataAndEvaluatesPolicy() throws {
        let repo = try ServedRepository()
        let current = try repo.fetch("current")
        try repositoryAndTagViewsAreByteIdenticalToDocker(repo, current)
        try unverifiedDataIsRefused(repo, current)
        try policyPerTeamShape(repo, current)
        try verifyNamesWhatItCheckedAndWhatIsAbsent(repo, current)
        try untrustedDelegationsAreSkippedAsDockerSkipsThem(repo)  // last: it changes the repository
    }

    func repositoryAndTagViewsAreByteIdenticalToDocker(_ repo: ServedRepository, _ current: String) throws {
        // docker trust inspect needs no engine: only the notary server.
        for tag in [nil, "v1", "v2", "v3", "v4", "v5", "v6", "v10", "missing"] as [String?] {
            let name = tag.map { repo.gun + ":" + $0 } ?? repo.gun
            let tagArgs = tag.map { ["--tag", $0] } ?? []
            let dockerPretty = try repo.dockerInspect(["--pretty", name])
            #expect(dockerPretty.status == 0, "docker trust inspect --pretty \(name): \(dockerPretty)")
            let ours = try TrustVaultCLI.run(["inspect", current, "--gun", repo.gun] + tagArgs)
            #expect(ours.status == 0, "\(ours)")
            #expect(ours.stdout == dockerPretty.stdout, "pretty view of \(name) differs:\n--- docker\n\(dockerPretty.stdout)--- trustvault\n\(ours.stdout)")

            let dockerJSON = try repo.dockerInspect([name])
            #expect(dockerJSON.status == 0, "docker trust inspect \(name): \(dockerJSON)")
            let oursJSON = try TrustVaultCLI.run(["inspect", current, "--gun", repo.gun, "--json"] + tagArgs)
            #expect(oursJSON.status == 0, "\(oursJSON)")
            let a = try JSONSerialization.jsonObject(with: Data(dockerJSON.stdout.utf8)) as? NSArray
            let b = try JSONSerialization.jsonObject(with: Data(oursJSON.stdout.utf8)) as? NSArray
            #expect(a != nil && a == b, "JSON of \(name) differs:\n--- docker\n\(dockerJSON.stdout)--- trustvault\n\(oursJSON.stdout)")
            #expect(oursJSON.stdout == dockerJSON.stdout, "JSON bytes of \(name) differ")
        }
        // An initialized repository with nothing signed.
        let empty = try repo.fetch("empty", gun: repo.emptyGUN)
        for (args, tagArgs) in [
            (["--pretty", repo.emptyGUN], [String]()), (["--pretty", repo.emptyGUN + ":v1"], ["--tag", "v1"]),
            ([repo.emptyGUN], ["--json"]),
        ] {
            let docker = try repo.dockerInspect(args)
            let ours = try TrustVaultCLI.run(["inspect", empty, "--gun", repo.emptyGUN] + tagArgs)
            #expect(docker.status == 0 && ours.status == 0, "\(docker)\n\(ours)")
            #expect(ours.stdout == docker.stdout, "empty repository, \(args):\n--- docker\n\(docker.stdout)--- trustvault\n\(ours.stdout)")
        }
        #expect(
            try TrustVaultCLI.run(["inspect", empty, "--gun", repo.emptyGUN]).stdout.hasPrefix("\nNo signatures for \(repo.emptyGUN)\n\n\nAdministrative keys"))
        // What docker showed, spelled out: released tags only, named signers over "Repo Admin".
        let pretty = try TrustVaultCLI.run(["inspect", current, "--gun", repo.gun]).stdout
        let d = repo.digests
        func row(_ tag: String, _ payload: String, _ signers: String) -> String {
            tag + String(repeating: " ", count: 13 - tag.count) + d[payload]! + "   " + signers + "\n"
        }
        #expect(pretty.contains(row("v1", "p1", "(Repo Admin)")))
        #expect(pretty.contains(row("v2", "p2", "alice")))
        #expect(pretty.contains(row("v3", "p3", "(Repo Admin)")))
        #expect(!pretty.contains("v4 "))
        #expect(pretty.contains(row("v5", "p2", "alice, bob")))
        #expect(pretty.contains(row("v6", "p6", "alice") + row("v10", "p1", "(Repo Admin)")))
        #expect(pretty.contains("\nSIGNER    KEYS\n"))
        // The Root Key line is the certificate key ID root.json lists; --expiries adds the vault's ID.
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: current + "/root.json"))) as? [String: Any]
        let signed = root?["signed"] as? [String: Any]
        let rootID = try #require(((signed?["roles"] as? [String: Any])?["root"] as? [String: Any])?["keyids"] as? [String]).first!
        #expect(pretty.contains("  Root Key:\t\(rootID)\n"))
        let keyList = try repo.notary(["key", "list"]).stdout
        let rootLine = try #require(keyList.split(separator: "\n").first { $0.hasPrefix("root ") })
        let canonical = try #require(rootLine.split(separator: " ").first { $0.count == 64 }.map(String.init))
        #expect(canonical != rootID)
        let expiries = try TrustVaultCLI.run(["inspect", current, "--gun", repo.gun, "--expiries"])
        #expect(expiries.status == 0, "\(expiries)")
        #expect(expiries.stdout.contains("\(rootID)   \(canonical)\n"), "\(expiries.stdout)\n\(keyList)")
        #expect(expiries.stdout.contains("targets/bob "))
    }

    func unverifiedDataIsRefused(_ repo: ServedRepository, _ current: String) throws {
        // A tag added by hand to targets.json: no valid signature, so an error, never a row.
        let forged = repo.path("forged")
        try FileManager.default.copyItem(atPath: current, toPath: forged)
        let targetsPath = forged + "/targets.json"
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: targetsPath))) as? [String: Any])
        var signed = try #require(doc["signed"] as? [String: Any])
        var targets = try #require(signed["targets"] as? [String: Any])
        targets["evil"] = targets["v1"]
        signed["targets"] = targets
        doc["signed"] = signed
        try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes]).write(to: URL(fileURLWithPath: targetsPath))
        for args in [["inspect", forged, "--gun", repo.gun], ["inspect", forged, "--gun", repo.gun, "--json"], ["verify", forged, "--gun", repo.gun]] {
            let r = try TrustVaultCLI.run(args)
            #expect(r.status == 1, "\(args): \(r)")
            #expect(r.errorLines.count == 1 && r.errorLines[0].contains("targets.json"), "\(r)")
            #expect(!r.stdout.contains("evil"))
        }

        // Another repository's name: the root certificate's CN does not match; both root key IDs named.
        let foreign = try TrustVaultCLI.run(["inspect", current, "--gun", "docker.io/acme/other"])
        #expect(foreign.status == 1 && foreign.stdout.isEmpty, "\(foreign)")
        #expect(foreign.errorLines.count == 1 && foreign.errorLines[0].contains("does not match the GUN"), "\(foreign)")
        #expect(foreign.errorLines.first?.contains("root.json: root key ") == true && foreign.stderr.contains("(vault key ID "))

        // A delegation snapshot.json lists but the directory lacks: an error naming the file to fetch.
        let partial = repo.path("partial")
        try FileManager.default.copyItem(atPath: current, toPath: partial)
        try FileManager.default.removeItem(atPath: partial + "/targets/bob.json")
        for args in [["inspect", partial, "--gun", repo.gun], ["verify", partial, "--gun", repo.gun]] {
            let r = try TrustVaultCLI.run(args)
            #expect(r.status == 66, "\(args): \(r)")
            #expect(r.errorLines.count == 1 && r.errorLines[0].contains("targets/bob.json is listed in snapshot.json"), "\(r)")
            #expect(r.stderr.contains("_trust/tuf/targets/bob.json"))
        }
        #expect(try TrustVaultCLI.run(["inspect", partial, "--gun", repo.gun]).stdout.isEmpty)
    }

    func policyPerTeamShape(_ repo: ServedRepository, _ current: String) throws {
        func verify(_ tag: String, _ teams: [String], json: Bool = false) throws -> ProcessResult {
            try TrustVaultCLI.run(
                ["verify", current, "--gun", repo.gun, "--tag", tag] + teams.flatMap { ["--require-signer", $0] } + (json ? ["--json"] : []))
        }
        // One signer.
        var r = try verify("v2", ["alice"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("policy: team 1 (alice): met, signed by alice"))
        r = try verify("v2", ["bob"])
        #expect(r.status == 1 && r.errorLines.count == 1 && r.errorLines[0].contains("team 1 (bob)"), "\(r)")
        #expect(r.stdout.contains("policy: team 1 (bob): NOT met"))
        // Two teams.
        r = try verify("v5", ["alice", "bob"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("team 1 (alice): met, signed by alice") && r.stdout.contains("team 2 (bob): met, signed by bob"))
        r = try verify("v2", ["alice", "bob"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("team 1 (alice): met") && r.stdout.contains("team 2 (bob): NOT met"))
        // A team of two: either signer suffices; neither fails.
        r = try verify("v2", ["bob,alice"])
        #expect(r.status == 0 && r.stdout.contains("team 1 (bob, alice): met, signed by alice"), "\(r)")
        r = try verify("v3", ["alice,bob"])
        #expect(r.status == 1 && r.stdout.contains("team 1 (alice, bob): NOT met"), "\(r)")
        // A tag only in targets/releases (signed with alice's and bob's keys) meets no team.
        #expect(r.stdout.contains("released in targets/releases"))
        // Nor does the repository key alone.
        r = try verify("v1", ["alice"])
        #expect(r.status == 1 && r.stdout.contains("released in targets)"), "\(r)")
        // A signer who signed another digest than the released one does not count.
        r = try verify("v6", ["bob"])
        #expect(r.status == 1 && r.stdout.contains("targets/bob signed another digest \(repo.digests["p7"]!)"), "\(r)")
        // targets/releases cannot be named as a team.
        r = try verify("v3", ["releases"])
        #expect(r.status == 64 && r.errorLines.count == 1, "\(r)")
        // A tag that does not exist, and one only bob's own role has (docker pull refuses both).
        for tag in ["v99", "v4"] {
            r = try verify(tag, ["bob"])
            #expect(r.status == 1 && r.errorLines.count == 1 && r.errorLines[0].contains("\(repo.gun):\(tag) is not released"), "\(r)")
        }
        // JSON for machines.
        r = try verify("v2", ["alice", "bob,carol"], json: true)
        #expect(r.status == 1)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let policy = doc?["policy"] as? [String: Any]
        #expect(policy?["met"] as? Bool == false && policy?["digest"] as? String == repo.digests["p2"])
        let teams = policy?["teams"] as? [[String: Any]]
        #expect(teams?.map { $0["met"] as? Bool } == [true, false])
        #expect(teams?.first?["signedBy"] as? [String] == ["alice"])
        #expect(doc?["valid"] as? Bool == false)
    }

    func verifyNamesWhatItCheckedAndWhatIsAbsent(_ repo: ServedRepository, _ current: String) throws {
        let r = try TrustVaultCLI.run(["verify", current, "--gun", repo.gun])
        #expect(r.status == 0, "\(r)")
        #expect(
            r.stdout.contains(
                "checked 7 file(s): root.json, targets.json, targets/releases.json, targets/alice.json, targets/bob.json, snapshot.json, timestamp.json"),
            "\(r.stdout)")
        #expect(r.stdout.contains("lists 5 file(s); hashes of the 5 present match"))
        // Only some delegation files fetched: the count says so and the absent one is named.
        let partial = repo.path("partial2")
        try repo.server.fetchMetadata(gun: repo.gun, roles: ["root", "targets", "snapshot", "timestamp", "targets/alice"], to: partial)
        let p = try TrustVaultCLI.run(["verify", partial, "--gun", repo.gun])
        #expect(p.status == 66, "\(p)")
        #expect(
            p.stdout.contains(
                "lists 5 file(s); hashes of the 3 present match (root.json, targets.json, targets/alice.json); not in the directory: targets/bob.json, targets/releases.json"
            ), "\(p.stdout)")
        #expect(p.stdout.contains("checked 5 file(s)"))
        #expect(p.stdout.contains("absent: targets/bob.json") && p.stdout.contains("absent: targets/releases.json"))
    }
}
