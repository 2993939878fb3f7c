import Foundation
import Testing
import TestSupport

/// `trustvault tuf verify` on TUF 1.0 repositories that other tools wrote — sigstore's
/// root-signing (go-tuf, then tuf-on-ci), a go-tuf repository, python-tuf's own test repository
/// (`Tests/Fixtures/tuf-real/`, sources in its README) and repositories python-tuf's Metadata API
/// writes (`Tests/TUFPeers/make_repository.py`) — each judged beside python-tuf 7's client.
/// Every test runs as a user types: in a working directory, with relative paths.
@Suite(.tags(.interop), .interop, .serialized) struct RealTUFRepositoryTests {
    static let fixtures = PythonTUF.packageRoot + "/Tests/Fixtures/tuf-real"
    /// sigstore's timestamp.json in the fixture expires 2026-08-28; its root 15 on 2026-11-20.
    static let sigstoreDay = "2026-08-22 12:00:00"

    /// A copy of a fixture as `NAME` inside a fresh working directory.
    func workCopy(_ fixture: String, as name: String) throws -> TemporaryDirectory {
        let work = TemporaryDirectory("tuf-real")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + fixture, toPath: work.sub(name))
        return work
    }

    /// `trustvault ARGS` in `dir`, with the clock at `at` (faketime) when given.
    func trustvault(_ args: [String], in dir: String, at: String? = nil) throws -> ProcessResult {
        guard let at else { return try TrustVaultCLI.run(args, directory: dir) }
        let faketime = try requireTool("faketime", package: "faketime")
        return try Run.program(faketime, [at, TrustVaultCLI.binary] + args, environment: ["TZ": "UTC"], directory: dir)
    }

    /// python-tuf's ngclient on `repo` from `trustedRoot` (clock at `at` when given): refresh, and
    /// download `target` when given.
    func pythonTUF(_ repo: String, trustedRoot: String, target: String? = nil, at: String? = nil) throws -> ProcessResult {
        let server = try HTTPServer(directory: repo)
        defer { server.stop() }
        let scratch = TemporaryDirectory("tuf-real-client")
        var args = [PythonTUF.packageRoot + "/Tests/TUFPeers/tuf_client.py", server.url, trustedRoot, scratch.sub("cache")]
        if let target {
            args += [target, scratch.sub("dl")]
            try FileManager.default.createDirectory(atPath: scratch.sub("dl"), withIntermediateDirectories: true)
        }
        guard let at else { return try Run.program(PythonTUF.python, args, timeout: 120) }
        let faketime = try requireTool("faketime", package: "faketime")
        return try Run.program(faketime, [at, PythonTUF.python] + args, environment: ["TZ": "UTC"], timeout: 120)
    }

    /// A repository python-tuf's Metadata API writes (see make_repository.py).
    func madeByPythonTUF(_ work: TemporaryDirectory, _ name: String, role: String, _ flags: [String] = []) throws -> String {
        let made = try PythonTUF.script("make_repository.py", [work.sub(name), role] + flags)
        #expect(made.status == 0, "\(made)")
        return work.sub(name)
    }

    /// sigstore's root-signing from its first root: roots 1–4 carry hex-encoded ECDSA points and
    /// fractional, non-UTC expiry times (go-tuf), 5–15 PEM keys (tuf-on-ci). trustvault follows
    /// the whole chain; python-tuf cannot start below root 5 (it does not read those keys).
    @Test func sigstoreRootSigningFromTheFirstRoot() throws {
        let work = try workCopy("sigstore-root-signing", as: "sigstore")
        let tofu = try trustvault(["tuf", "verify", "sigstore"], in: work.path, at: Self.sigstoreDay)
        #expect(tofu.status == 0, "\(tofu)")
        #expect(tofu.stdout.contains("ok: 5.root.json: signed by root version 4's keys and by its own"))
        #expect(tofu.stdout.contains("ok: 15.root.json: signed by root version 14's keys and by its own"))
        #expect(tofu.stdout.contains("ok: 8.registry.npmjs.org.json version 8"))
        #expect(tofu.stdout.contains("Verified: sigstore"))
        let pinned = try trustvault(["tuf", "verify", "sigstore", "--root", "sigstore/metadata/1.root.json"], in: work.path, at: Self.sigstoreDay)
        #expect(pinned.status == 0, "\(pinned)")

        let fromFirst = try pythonTUF(work.sub("sigstore"), trustedRoot: work.sub("sigstore/metadata/1.root.json"), at: Self.sigstoreDay)
        #expect(fromFirst.status == 1 && fromFirst.stdout.contains("refused"), "python-tuf cannot read root 1's keys: \(fromFirst)")
        let fromFifth = try pythonTUF(
            work.sub("sigstore"), trustedRoot: work.sub("sigstore/metadata/5.root.json"),
            target: "trusted_root.json", at: Self.sigstoreDay)
        #expect(fromFifth.status == 0 && fromFifth.stdout.contains("root version 15"), "\(fromFifth)")

        // Months later the same bytes are out of date: the verdict names expiry, never tampering.
        let later = try trustvault(["tuf", "verify", "sigstore"], in: work.path, at: "2026-12-01 12:00:00")
        #expect(later.status == 1)
        #expect(later.stderr.contains("expired") && !later.stderr.contains("file changed"), "\(later)")
        #expect(!later.stdout.contains("Verified"))

        // A changed target file fails under both clients.
        let targets = work.sub("sigstore/targets")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: targets).first { $0.hasSuffix(".trusted_root.json") })
        try Data("{}".utf8).write(to: URL(fileURLWithPath: targets + "/" + file))
        let tampered = try trustvault(["tuf", "verify", "sigstore"], in: work.path, at: Self.sigstoreDay)
        #expect(tampered.status == 1 && tampered.stderr.contains("trusted_root.json"), "\(tampered)")
        #expect(!tampered.stdout.contains("Verified"))
        let py = try pythonTUF(
            work.sub("sigstore"), trustedRoot: work.sub("sigstore/metadata/5.root.json"),
            target: "trusted_root.json", at: Self.sigstoreDay)
        #expect(py.status == 1, "\(py)")
    }

    /// go-tuf lists targets by sha512 only and stores them as `targets/<sha512>.<name>` (consistent
    /// snapshots). Every target file overwritten: both clients refuse, naming the file.
    @Test func goTufRepositoryWithSha512TargetFiles() throws {
        let work = try workCopy("go-tuf-consistent-sha512", as: "repo")
        let ok = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(ok.status == 0 && ok.stdout.contains("ok: 5.root.json") && ok.stdout.contains("Verified: repo"), "\(ok)")
        #expect(!ok.stdout.contains("served elsewhere"))
        let py = try pythonTUF(work.sub("repo"), trustedRoot: work.sub("repo/metadata/1.root.json"), target: "3")
        #expect(py.status == 0, "\(py)")

        let targets = work.sub("repo/targets")
        let files = try FileManager.default.contentsOfDirectory(atPath: targets)
        #expect(files.count == 6)
        for f in files { try Data("x".utf8).write(to: URL(fileURLWithPath: targets + "/" + f)) }
        let bad = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(bad.status == 1, "\(bad)")
        #expect(!bad.stdout.contains("Verified") && !bad.stdout.contains("served elsewhere"))
        for name in ["0", "1", "2", "3", "4", "5"] { #expect(bad.stderr.contains("target \(name) ("), "target \(name): \(bad.stderr)") }
        #expect(bad.stderr.contains("sha512"))
        let pyBad = try pythonTUF(work.sub("repo"), trustedRoot: work.sub("repo/metadata/1.root.json"), target: "3")
        #expect(pyBad.status == 1 && pyBad.stdout.contains("LengthOrHashMismatchError"), "\(pyBad)")
    }

    /// go-tuf's root-rotation test repositories: the same verdict as python-tuf on each.
    @Test(arguments: [
        ("Published2Times_keyrotated", true),
        ("Published2Times_keyrotated_invalidNewRootSignature", false),
        ("Published2Times_keyrotated_invalidOldRootSignature", true),
    ])
    func goTufRootRotation(_ name: String, _ accepted: Bool) throws {
        let work = try workCopy("go-tuf-root-rotation/" + name, as: "repo")
        let r = try trustvault(["tuf", "verify", "repo"], in: work.path)
        let py = try pythonTUF(work.sub("repo"), trustedRoot: work.sub("repo/metadata/1.root.json"))
        #expect((r.status == 0) == accepted, "\(r)")
        #expect((py.status == 0) == accepted, "\(py)")
        if accepted {
            #expect(r.stdout.contains("ok: 2.root.json: signed by root version 1's keys and by its own"))
            #expect(py.stdout.contains("root version 2"))
        } else {
            #expect(r.stderr.contains("2.root.json: 0 valid signature(s) from the keys of root version 1"), "\(r)")
            #expect(r.stderr.contains("a client stops at root version 1"))
        }
    }

    /// python-tuf's own test repository (an RSA root key, ed25519 role keys, role1 → role2).
    @Test func pythonTufTestRepository() throws {
        let work = try workCopy("python-tuf-repository-data", as: "repo")
        let ok = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(ok.status == 0 && ok.stdout.contains("ok: role2.json version 1"), "\(ok)")
        let py = try pythonTUF(work.sub("repo"), trustedRoot: work.sub("repo/metadata/1.root.json"), target: "file3.txt")
        #expect(py.status == 0, "\(py)")
        try Data("changed\n".utf8).write(to: URL(fileURLWithPath: work.sub("repo/targets/file3.txt")))
        let bad = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(bad.status == 1 && bad.stderr.contains("file3.txt"), "\(bad)")
        let pyBad = try pythonTUF(work.sub("repo"), trustedRoot: work.sub("repo/metadata/1.root.json"), target: "file3.txt")
        #expect(pyBad.status == 1, "\(pyBad)")
    }

    /// A delegated role named `../a`: python-tuf fetches `metadata/..%2Fa.json`; trustvault reads
    /// the same file and never `DIR/a.json` (outside metadata/), where a decoy lies.
    @Test func roleNamesAreNeverUsedAsPaths() throws {
        let work = TemporaryDirectory("tuf-real")
        let repo = try madeByPythonTUF(work, "repo", role: "../a")
        #expect(FileManager.default.fileExists(atPath: repo + "/metadata/..%2Fa.json"))
        try Data("not metadata".utf8).write(to: URL(fileURLWithPath: repo + "/a.json"))
        let ok = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(ok.status == 0 && ok.stdout.contains("ok: ..%2Fa.json version 1"), "\(ok)")
        // python-tuf's Metadata API accepts the encoded file as role ../a, signed as targets.json
        // delegates it.
        let api = try PythonTUF.script("tuf_metadata_api.py", ["verify-delegate", repo + "/metadata/targets.json", repo + "/metadata/..%2Fa.json", "../a"])
        #expect(api.status == 0, "\(api)")
        // python-tuf's client asks for /metadata/..%2Fa.json; python's http.server decodes the
        // name and serves /a.json, outside metadata/ — the decoy, which python-tuf refuses.
        // A role name like this cannot be served safely by a static server that decodes %2F.
        let py = try pythonTUF(repo, trustedRoot: repo + "/metadata/1.root.json", target: "a/file.txt")
        #expect(py.status == 1 && py.stdout.contains("refused"), "\(py)")

        // The encoded file changed: both refuse (trustvault names the file it read).
        let path = repo + "/metadata/..%2Fa.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let moved = text.replacingOccurrences(of: #""expires": "20"#, with: #""expires": "21"#)
        #expect(moved != text)
        try Data(moved.utf8).write(to: URL(fileURLWithPath: path))
        let bad = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(bad.status == 1 && bad.stderr.contains("..%2Fa.json"), "\(bad)")
    }

    /// Target paths are untrusted too: one that climbs out of targets/ is named and never read,
    /// even when the file it points at would match.
    @Test func targetPathsNeverLeaveTheTargetsDirectory() throws {
        let work = TemporaryDirectory("tuf-real")
        let repo = try madeByPythonTUF(work, "repo", role: "team", ["--target-path=../outside.txt"])
        try FileManager.default.copyItem(atPath: repo + "/targets/file.txt", toPath: repo + "/outside.txt")
        let r = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(r.status == 1 && !r.stdout.contains("Verified"), "\(r)")
        #expect(r.stderr.contains("target path \"../outside.txt\" would leave repo/targets; not read"), "\(r)")
    }

    /// `tuf delegate` makes only role names whose file name needs no encoding (the same on disk,
    /// in python-tuf's request and behind any web server); others get one error line and the
    /// repository stays as it was.
    @Test func tufDelegateRefusesNamesThatNeedEncoding() throws {
        let v = try CLIVault()
        let run = { (args: [String]) throws -> ProcessResult in
            try TrustVaultCLI.run(["--vault", v.path] + args, environment: CLIVault.env, directory: v.dir.path)
        }
        let root = try v.generate("root")
        #expect(try run(["tuf", "init", "repo", "--root-key", root]).status == 0)
        let key = try v.generate("team")
        let before = treeFingerprint(v.dir.sub("repo"))
        for name in ["team@x", "a b", "../a", "é"] {
            let r = try run(["tuf", "delegate", "repo", name, "--key", key, "--paths", "a/*"])
            #expect(r.status == 64 && r.errorLines.count == 1 && r.stderr.contains("is not a usable delegated role name"), "\(name): \(r)")
        }
        #expect(treeFingerprint(v.dir.sub("repo")) == before)
        let ok = try run(["tuf", "delegate", "repo", "team-a.v2~x", "--key", key, "--paths", "a/*"])
        #expect(ok.status == 0, "\(ok)")
    }

    /// A delegated role is reported only after its delegator verified: with targets.json's
    /// signature spoiled, its (valid) delegated role gets no `ok:` line.
    @Test func delegatedRoleReportedOnlyAfterItsDelegatorVerified() throws {
        let work = TemporaryDirectory("tuf-real")
        let repo = try madeByPythonTUF(work, "repo", role: "team", ["--break-delegator"])
        let r = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(r.status == 1)
        #expect(!r.stdout.contains("team.json") && !r.stdout.contains("Verified"), "\(r)")
        #expect(r.stderr.contains("team.json: not checked, because its delegator targets.json did not verify"), "\(r)")
        #expect(r.stderr.contains("targets.json: 0 valid signature(s)"))
        let py = try pythonTUF(repo, trustedRoot: repo + "/metadata/1.root.json", target: "a/file.txt")
        #expect(py.status == 1, "\(py)")
    }

    /// A root listing a key trustvault cannot read: the verdict names the key's encoding, not a
    /// change after signing, and nothing below that root is reported as passed.
    @Test func unreadableKeyIsNamedNotCalledTampering() throws {
        let work = TemporaryDirectory("tuf-real")
        let repo = try madeByPythonTUF(work, "repo", role: "team", ["--unreadable-root-key"])
        let r = try trustvault(["tuf", "verify", "repo"], in: work.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("key(s) trustvault cannot read") && r.stderr.contains("unsupported key encoding"), "\(r)")
        #expect(!r.stderr.contains("file changed"))
        #expect(!r.stdout.contains("ok:"), "\(r)")
        let py = try pythonTUF(repo, trustedRoot: repo + "/metadata/1.root.json")
        #expect(py.status == 1, "\(py)")
    }
}
