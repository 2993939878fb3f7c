import Foundation
import Testing
import TestSupport

/// `trustvault tuf sign-event`: an offline key holder in a tuf-on-ci signing event. The signer
/// repository and the event are made by the `tuf-on-ci-sign` package's own `SignerRepository`
/// (Tests/TUFPeers/tuf_on_ci_event.py); the verdicts come from that code (what each owner must
/// still sign) and from python-tuf 7 (thresholds, a client following the new root).
@Suite(
    "tuf-on-ci signing events judged by tuf-on-ci-sign and python-tuf", .tags(.interop), .interop, .enabled(if: TUFOnCIEvent.isAvailable || isCI), .serialized)
struct TUFOnCISignEventTests {
    /// A vault key listed as @alice signs root (as a new-root key and a previous-root key) and
    /// targets; tuf-on-ci then needs nothing more from @alice and still needs @bob, @carol and
    /// @dave; the diff of each file is the signature lines only; after @bob signs with
    /// tuf-on-ci's own code python-tuf follows the new root.
    @Test func vaultKeyHolderSignsRootAndTargets() throws {
        let v = try CLIVault()
        let alice = try v.generate("root")
        let event = try TUFOnCIEvent(vault: v, key: alice)
        for (owner, roles) in [
            ("@alice", ["releases", "root", "targets"]), ("@bob", ["root", "targets"]), ("@carol", ["releases", "root"]), ("@dave", ["root"]),
        ] {
            #expect(try event.unsigned(owner) == roles, "\(owner) before")
        }
        let before = try event.eventFiles()

        let r = try event.signEvent(v, key: alice, extra: ["--yes"])
        #expect(r.status == 0, "\(r)")
        for words in [
            "listed as @alice", "root: version 1 → 2", "root: key added: ", "(@dave, ecdsa-sha2-nistp256)",
            "targets: threshold 1 → 2 (of 2)", "expiry period 365 days → 400 days",
            "targets: version 1 → 2", "signing period 60 days → 30 days", "target added: files/hello.txt: 29 bytes, sha256",
            "signatures present: none", "Known-good root: version 1, root threshold 2 of 3 (verified)",
            "root: 1 of 2 signature(s) from version 1's root keys", "Still missing:", "not yet signed by @bob, @carol, @dave",
            "event/metadata/root_history/2.root.json", "releases: version 1 → 2",
            "target added: releases/app-1.0.tar.gz: 8 bytes, sha256", "releases: 1 of 1 signature(s) — threshold met",
            "note: releases: tuf-on-ci still asks @carol to sign (the threshold is met)",
        ] {
            #expect(r.stdout.contains(words), "stdout should say \(words): \(r.stdout)")
        }

        // tuf-on-ci-sign's own verdict: nothing needed from @alice; the others still owe theirs.
        #expect(try event.unsigned("@alice") == [])
        #expect(try event.status("@alice").contains("\"NO_ACTION\""))
        #expect(try event.unsigned("@bob") == ["root", "targets"])
        #expect(try event.unsigned("@carol") == ["releases", "root"])
        #expect(try event.unsigned("@dave") == ["root"])

        // The git diff: only "sig" lines changed, in place; root_history/2.root.json is root.json.
        let after = try event.eventFiles()
        for name in ["root.json", "targets.json", "releases.json"] {
            let old = before[name]!.components(separatedBy: "\n"), new = after[name]!.components(separatedBy: "\n")
            #expect(old.count == new.count, "\(name): line count")
            let changed = zip(old, new).filter { $0 != $1 }
            #expect(changed.count == 1, "\(name): \(changed)")
            for (o, n) in changed {
                #expect(o.trimmingCharacters(in: .whitespaces) == "\"sig\": \"\"", "\(name): \(o)")
                #expect(n.hasPrefix(o.dropLast(1)) && n.count > o.count + 100, "\(name): \(n)")
            }
            #expect(!after[name]!.hasSuffix("\n"), "tuf-on-ci writes no final newline")
        }
        #expect(after["root_history/2.root.json"] == after["root.json"])

        // python-tuf: @alice's signatures count for both root versions and for targets.
        var judged = try event.judge()
        #expect(judged.contains("\"root_new\": {\"signed\": [\"@alice\"]"), "\(judged)")
        #expect(judged.contains("\"root_previous\": {\"signed\": [\"@alice\"]"), "\(judged)")
        #expect(judged.contains("\"targets\": {\"signed\": [\"@alice\"], \"threshold\": 2, \"unsigned\": [\"@bob\"], \"verified\": false}"), "\(judged)")
        #expect(judged.contains("\"client_follows_new_root\": \"UnsignedMetadataError"), "\(judged)")
        #expect(judged.contains("\"releases\": {\"signed\": [\"@alice\"], \"threshold\": 1, \"unsigned\": [\"@carol\"], \"verified\": true}"), "\(judged)")

        // @bob signs with tuf-on-ci's own signer: the event is complete for python-tuf.
        let bob = try event.peer(["sign", "event/metadata", "known/metadata", "@bob", "keys/bob.pem"])
        #expect(bob.status == 0, "\(bob)")
        judged = try event.judge()
        #expect(judged.contains("\"client_follows_new_root\": \"yes\""), "\(judged)")
        #expect(judged.contains("\"targets\": {\"signed\": [\"@alice\", \"@bob\"], \"threshold\": 2, \"unsigned\": [], \"verified\": true}"), "\(judged)")
        #expect(judged.contains("\"root_history_equal\": true"), "\(judged)")

        // A second run, naming the key by its TUF key ID: nothing left to sign, nothing written.
        let snapshot = treeFingerprint(event.dir.sub("event"))
        let again = try event.signEvent(v, key: String(event.keyIDs["alice"]!.prefix(16)), extra: [])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("nothing to sign"), "\(again)")
        #expect(again.stdout.contains("Complete: every changed role meets its threshold."), "\(again)")
        #expect(again.stdout.contains("note: root: tuf-on-ci still asks @carol, @dave to sign"), "\(again)")
        #expect(treeFingerprint(event.dir.sub("event")) == snapshot)

        // --json: one object for scripts.
        let json = try event.signEvent(v, key: alice, extra: ["--yes", "--json"])
        #expect(json.status == 0, "\(json)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(object["owners"] as? [String] == ["@alice"] && object["signed"] as? [String] == [] && object["complete"] as? Bool == true, "\(json.stdout)")
        #expect((object["changes"] as? [String] ?? []).contains { $0.contains("target added: files/hello.txt") }, "\(json.stdout)")
        #expect(json.stdout.split(separator: "\n").count == 1)
    }

    /// Bad inputs: one error line, a sysexits status, the vault, the event and the known-good
    /// directory unchanged.
    @Test func badInputsChangeNothing() throws {
        let v = try CLIVault()
        let alice = try v.generate("root")
        let stranger = try v.generate("root")
        let event = try TUFOnCIEvent(vault: v, key: alice)

        func expectUnchanged(_ r: ProcessResult, status: Int32, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let vault = v.fingerprint(), tree = treeFingerprint(event.dir.path)
            expectFailure(r, status: status, mentioning: mentioning, sourceLocation: sourceLocation)
            #expect(v.fingerprint() == vault && treeFingerprint(event.dir.path) == tree, sourceLocation: sourceLocation)
        }
        let vaultBefore = v.fingerprint(), treeBefore = treeFingerprint(event.dir.path)

        // A key the event does not list: the hint names who must sign.
        let notNeeded = try event.signEvent(v, key: stranger, extra: ["--yes"])
        expectUnchanged(notNeeded, status: 64, mentioning: "is not needed in this signing event")
        #expect(notNeeded.stderr.contains("hint: the changed roles are signed by @alice, @bob, @carol, @dave"), "\(notNeeded.stderr)")
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--json"]), status: 64, mentioning: "needs --yes")
        // No terminal and no --yes.
        expectUnchanged(try event.signEvent(v, key: alice, extra: []), status: 1, mentioning: "needs confirmation")
        // At a terminal the review comes first, then the question; "n" signs nothing.
        let tty = try PseudoTerminal.spawn(
            executable: TrustVaultCLI.binary,
            arguments: ["--vault", v.path, "tuf", "sign-event", "event/metadata", "--previous", "known/metadata", "--key", alice],
            environment: CLIVault.env, directory: event.dir.path)
        let review = try tty.expect("[y/N]")
        #expect(review.contains("target added: files/hello.txt") && review.contains("Sign root, targets, releases with key"), "\(review)")
        tty.send("n")
        #expect(try tty.wait() == 1, "\(tty.transcript)")
        #expect(tty.transcript.contains("error: nothing was signed"), "\(tty.transcript)")
        #expect(v.fingerprint() == vaultBefore && treeFingerprint(event.dir.path) == treeBefore)
        // Missing and wrong directories.
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"], previous: "main/metadata"), status: 66, mentioning: "main/metadata does not exist")
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"], previous: "event/metadata"), status: 64, mentioning: "changes nothing")
        #expect(v.fingerprint() == vaultBefore && treeFingerprint(event.dir.path) == treeBefore)

        // A tampered known-good root (both copies, signed part changed): not trusted, nothing signed.
        let known = event.dir.sub("known/metadata")
        let originals = try ["root.json", "root_history/1.root.json"].map { ($0, try String(contentsOfFile: known + "/" + $0, encoding: .utf8)) }
        for (name, text) in originals {
            try text.replacingOccurrences(of: "\"x-tuf-on-ci-expiry-period\": 365", with: "\"x-tuf-on-ci-expiry-period\": 3650")
                .write(toFile: known + "/" + name, atomically: true, encoding: .utf8)
        }
        expectUnchanged(
            try event.signEvent(v, key: alice, extra: ["--yes"]), status: 1,
            mentioning: "known/metadata/root_history/1.root.json: 0 valid signature(s) from its own root keys, 2 required")
        for (name, text) in originals { try text.write(toFile: known + "/" + name, atomically: true, encoding: .utf8) }

        // An online role changed in the event: tuf-on-ci refuses such an event too.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: event.dir.sub("event/metadata/timestamp.json")))
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"]), status: 65, mentioning: "online roles never change")
        try FileManager.default.removeItem(atPath: event.dir.sub("event/metadata/timestamp.json"))

        // A root that skips a version.
        let rootPath = event.dir.sub("event/metadata/root.json")
        let root = try String(contentsOfFile: rootPath, encoding: .utf8)
        try root.replacingOccurrences(of: "\"version\": 2", with: "\"version\": 3").write(toFile: rootPath, atomically: true, encoding: .utf8)
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"]), status: 65, mentioning: "must be 2")
        try root.write(toFile: rootPath, atomically: true, encoding: .utf8)

        // A write that fails half-way (root_history/ is a file, so 2.root.json cannot be written
        // after root.json was): root.json gets its old bytes back.
        let history = event.dir.sub("event/metadata/root_history")
        let saved = event.dir.sub("root_history.saved")
        try FileManager.default.moveItem(atPath: history, toPath: saved)
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: history))
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"]), status: 74, mentioning: "root_history")
        try FileManager.default.removeItem(atPath: history)
        try FileManager.default.moveItem(atPath: saved, toPath: history)

        // A wrong passphrase: nothing written.
        var env = CLIVault.env
        env["TRUSTVAULT_ROOT_PASSPHRASE"] = "not-the-passphrase"
        expectUnchanged(try event.signEvent(v, key: alice, extra: ["--yes"], env: env), status: 77, mentioning: "passphrase")
        #expect(try event.unsigned("@alice") == ["releases", "root", "targets"])

        // A signature on the branch that does not verify is shown as such and not counted; it is
        // kept as it is (its owner signs again), and @alice's signature goes in beside it.
        let targetsPath = event.dir.sub("event/metadata/targets.json")
        let targets = try String(contentsOfFile: targetsPath, encoding: .utf8)
        let bobID = try #require(event.keyIDs["bob"])
        let forged = targets.replacingOccurrences(
            of: "\"keyid\": \"\(bobID)\",\n   \"sig\": \"\"", with: "\"keyid\": \"\(bobID)\",\n   \"sig\": \"3006020101020101\"")
        #expect(forged != targets)
        try forged.write(toFile: targetsPath, atomically: true, encoding: .utf8)
        let signed = try event.signEvent(v, key: alice, extra: ["--yes"])
        #expect(signed.status == 0, "\(signed)")
        #expect(signed.stdout.contains("signatures present: @bob: DOES NOT VERIFY (not counted)"), "\(signed.stdout)")
        #expect(signed.stdout.contains("targets: 1 more signature(s) for version 2; not yet signed by @bob"), "\(signed.stdout)")
        #expect(try String(contentsOfFile: targetsPath, encoding: .utf8).contains("\"sig\": \"3006020101020101\""))
        #expect(try event.unsigned("@alice") == [] && event.unsigned("@bob") == ["root", "targets"])
    }

    /// A real event: sigstore root-signing's `sign/root-v15` after @mnm678 signed
    /// (Tests/Fixtures/tuf-on-ci-sigstore-root-v15). The known-good chain from
    /// root_history/1.root.json (roots 1–4 by go-tuf) verifies; a key the event does not list is
    /// refused with the owners the event needs, and nothing changes.
    @Test func realSigstoreEventNamesItsOwners() throws {
        let v = try CLIVault()
        let stranger = try v.generate("root")
        let work = TemporaryDirectory("sigstore-event")
        for sub in ["known", "event"] {
            try FileManager.default.copyItem(atPath: PythonTUF.packageRoot + "/Tests/Fixtures/tuf-on-ci-sigstore-root-v15/" + sub, toPath: work.sub(sub))
        }
        let before = treeFingerprint(work.path), vault = v.fingerprint()
        let r = try TrustVaultCLI.run(
            ["--vault", v.path, "tuf", "sign-event", "event/metadata", "--previous", "known/metadata", "--key", stranger, "--yes"],
            environment: CLIVault.env, directory: work.path)
        expectFailure(r, status: 64, mentioning: "is not needed in this signing event: no changed role (root, targets) lists it")
        #expect(r.stderr.contains("hint: the changed roles are signed by @mnm678, @santiagotorres, @bobcallaway, @joshuagl, @lance"), "\(r.stderr)")
        #expect(treeFingerprint(work.path) == before && v.fingerprint() == vault)
        // tuf-on-ci-sign agrees on who still owes a signature.
        for (owner, roles) in [("@mnm678", [String]()), ("@lance", ["root", "targets"]), ("@joshuagl", ["root", "targets"])] {
            let status = try Run.program(
                PythonTUF.python,
                [
                    PythonTUF.packageRoot + "/Tests/TUFPeers/tuf_on_ci_event.py", "status",
                    "event/metadata", "known/metadata", owner,
                ], directory: work.path)
            let json = try JSONSerialization.jsonObject(with: Data(status.lastLine.utf8)) as? [String: Any]
            #expect(json?["unsigned"] as? [String] == roles, "\(owner): \(status)")
        }
    }

    /// docs/guide-tuf-on-ci-signing-event.md as written: section 1 (Alice's key), then the
    /// maintainers' part made here — a git remote whose `main` holds the known-good metadata and
    /// whose `sign/add-dave` branch the event, both written by tuf-on-ci-sign with Alice's public
    /// key, and Alice's clone of it — then section 2 (the USB round trip, the push).
    @Test func guideRunsAsWritten() throws {
        let page = "guide-tuf-on-ci-signing-event.md"
        let folder = TemporaryDirectory("guide")
        let runner = GuideRunner()
        let first = try runner.run(page, section: "1.", in: folder.path, server: nil, ca: nil)
        #expect(first.status == 0 && first.transcript.contains("::guide finished::"), "\(page) section 1: \(first)")
        let work = folder.path + "/work"

        // The maintainers: the repository and the event, by tuf-on-ci-sign's own code.
        let maint = TemporaryDirectory("tuf-on-ci-maint")
        let made = try Run.program(
            PythonTUF.python,
            [
                PythonTUF.packageRoot + "/Tests/TUFPeers/tuf_on_ci_event.py", "make", maint.sub("out"),
                "--owner", "@alice=" + work + "/alice.pem",
            ], timeout: 120)
        #expect(made.status == 0, "\(made)")
        let git = try requireTool("git", package: "git")
        func g(_ args: [String], in dir: String) throws {
            let r = try Run.program(
                git, ["-c", "user.name=Maintainer", "-c", "user.email=maintainer@example.com", "-c", "init.defaultBranch=main"] + args,
                environment: ["HOME": maint.path], directory: dir)
            guard r.status == 0 else { throw TestFailure("git \(args): \(r)") }
        }
        let repo = maint.sub("root-signing")
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try g(["init", "--quiet"], in: repo)
        try FileManager.default.copyItem(atPath: maint.sub("out/known/metadata"), toPath: repo + "/metadata")
        try g(["add", "metadata"], in: repo)
        try g(["commit", "--quiet", "-m", "known-good"], in: repo)
        try g(["checkout", "--quiet", "-b", "sign/add-dave"], in: repo)
        try FileManager.default.removeItem(atPath: repo + "/metadata")
        try FileManager.default.copyItem(atPath: maint.sub("out/event/metadata"), toPath: repo + "/metadata")
        try g(["add", "-A", "metadata"], in: repo)
        try g(["commit", "--quiet", "-m", "add @dave"], in: repo)
        try g(["clone", "--quiet", "--bare", repo, maint.sub("remote.git")], in: maint.path)
        try g(["clone", "--quiet", maint.sub("remote.git"), work + "/root-signing"], in: work)

        let second = try runner.run(page, section: "2.", in: folder.path, server: nil, ca: nil)
        #expect(second.status == 0 && second.transcript.contains("::guide finished::"), "\(page) section 2: \(second)")
        #expect(second.transcript.contains("Still missing:"), "\(second)")
        // The pushed branch is the signed event, and tuf-on-ci-sign needs nothing more from @alice.
        let pushed = try Run.program(git, ["--git-dir", maint.sub("remote.git"), "show", "sign/add-dave:metadata/root.json"])
        #expect(pushed.stdout == (try String(contentsOfFile: work + "/event/metadata/root.json", encoding: .utf8)))
        let status = try Run.program(
            PythonTUF.python,
            [
                PythonTUF.packageRoot + "/Tests/TUFPeers/tuf_on_ci_event.py", "status",
                "event/metadata", "known/metadata", "@alice",
            ], directory: work)
        #expect(status.lastLine == "{\"state\": \"NO_ACTION\", \"unsigned\": []}", "\(status)")
        print("guide \(page): \(first.commands + second.commands) commands")
    }

    /// The same event signed by a key on a PIV card (the emulator behind pcscd).
    @Test(.enabled(if: PCSCHarness.shouldRun)) func cardKeySignsTheSameWay() throws {
        let v = try CLIVault()
        let serial: UInt32 = 20_261_202
        try PCSCHarness.with(serials: [serial]) { _ in
            let setup = try v.run(["card", "setup", "--serial", String(serial)], env: CardCLITests.newValues)
            #expect(setup.status == 0, "\(setup)")
            let env = CLIVault.env.merging(CardCLITests.setUp) { a, _ in a }
            let gen = try v.run(["key", "generate", "--role", "root", "--card", String(serial)], env: env)
            #expect(gen.status == 0, "\(gen)")
            let cardKey = gen.lastLine
            let event = try TUFOnCIEvent(vault: v, key: cardKey)
            let r = try event.signEvent(v, key: cardKey, extra: ["--yes"], env: env)
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("card:\(serial)"), "\(r.stdout)")
            #expect(try event.unsigned("@alice") == [])
            #expect(try event.unsigned("@bob") == ["root", "targets"])
            let judged = try event.judge()
            #expect(judged.contains("\"root_new\": {\"signed\": [\"@alice\"]"), "\(judged)")
            #expect(judged.contains("\"targets\": {\"signed\": [\"@alice\"]"), "\(judged)")
        }
    }
}

/// A tuf-on-ci signer repository in a temporary folder (the folder is the working directory of
/// every command, so paths are relative): `known/metadata` (main), `event/metadata` (the event
/// branch), `keys/` (the other owners' private keys), `alice.pem` (the vault key's public half).
struct TUFOnCIEvent {
    static var isAvailable: Bool {
        PythonTUF.isAvailable && (try? Run.program(PythonTUF.python, ["-c", "import tuf_on_ci_sign"]).status) == 0
    }

    let dir = TemporaryDirectory("tuf-on-ci")
    var keyIDs: [String: String] = [:]

    init(vault: CLIVault, key: String) throws {
        guard Self.isAvailable else {
            throw TestFailure("tuf-on-ci-sign is missing from .venv-tools: run Scripts/install-python-tools.sh")
        }
        _ = try vault.exportPublic(key, to: dir.sub("alice.pem"))
        let r = try peer(["make", "out", "--owner", "@alice=alice.pem"])
        guard r.status == 0 else { throw TestFailure("tuf_on_ci_event.py make failed: \(r)") }
        for sub in ["known", "event", "keys"] {
            try FileManager.default.moveItem(atPath: dir.sub("out/\(sub)"), toPath: dir.sub(sub))
        }
        let ids = try JSONSerialization.jsonObject(with: Data(r.lastLine.utf8)) as? [String: String] ?? [:]
        keyIDs = ids
    }

    func peer(_ args: [String]) throws -> ProcessResult {
        try Run.program(PythonTUF.python, [PythonTUF.packageRoot + "/Tests/TUFPeers/tuf_on_ci_event.py"] + args, directory: dir.path, timeout: 120)
    }

    func status(_ owner: String) throws -> String {
        let r = try peer(["status", "event/metadata", "known/metadata", owner])
        guard r.status == 0 else { throw TestFailure("status failed: \(r)") }
        return r.lastLine
    }

    /// The roles tuf-on-ci-sign says `owner` must still sign.
    func unsigned(_ owner: String) throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(status(owner).utf8)) as? [String: Any]
        return json?["unsigned"] as? [String] ?? ["?"]
    }

    func judge() throws -> String {
        let r = try peer(["judge", "event/metadata", "known/metadata"])
        guard r.status == 0 else { throw TestFailure("judge failed: \(r)") }
        return r.lastLine
    }

    /// `trustvault tuf sign-event event/metadata --previous known/metadata --key KEY`, run in the folder.
    func signEvent(_ v: CLIVault, key: String, extra: [String], previous: String = "known/metadata", env: [String: String] = CLIVault.env) throws
        -> ProcessResult
    {
        try TrustVaultCLI.run(
            ["--vault", v.path, "tuf", "sign-event", "event/metadata/", "--previous", previous, "--key", key] + extra,
            environment: env, directory: dir.path)
    }

    /// The event's files, by path under `event/metadata/`.
    func eventFiles() throws -> [String: String] {
        var out: [String: String] = [:]
        let base = dir.sub("event/metadata")
        for rel in FileManager.default.enumerator(atPath: base)?.compactMap({ $0 as? String }) ?? [] where rel.hasSuffix(".json") {
            out[rel] = try String(contentsOfFile: base + "/" + rel, encoding: .utf8)
        }
        return out
    }
}
