import Foundation
import Testing
import TestSupport

/// python-tuf 7 (the TUF 1.0 reference implementation) from the project venv, and a loopback
/// HTTP server (`python3 -m http.server`) started and stopped by PID.
enum PythonTUF {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var python: String { packageRoot + "/.venv-tools/bin/python3" }
    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && (try? Run.program(python, ["-c", "import tuf.ngclient"]).status) == 0
    }

    static func script(_ name: String, _ args: [String]) throws -> ProcessResult {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: run Scripts/install-python-tools.sh (python-tuf 7)")
        }
        return try Run.program(python, [packageRoot + "/Tests/TUFPeers/" + name] + args, timeout: 120)
    }

    /// The reference client: refresh from a trusted root (cache bootstrapped once), then download.
    static func client(_ server: HTTPServer, trustedRoot: String, cache: String, target: String? = nil, out: String? = nil) throws -> ProcessResult {
        var args = [server.url, trustedRoot, cache]
        if let target, let out { args += [target, out] }
        return try script("tuf_client.py", args)
    }
}

/// `python3 -m http.server` on a free loopback port, serving one directory.
final class HTTPServer {
    let process: RunningProcess
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(directory: String) throws {
        var lastError = ""
        for _ in 0..<5 {
            let port = try Self.freePort()
            let p = try Run.start(PythonTUF.python, ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", directory])
            for _ in 0..<200 {
                if Self.accepts(port) {
                    self.process = p
                    self.port = port
                    return
                }
                if !p.process.isRunning { break }
                usleep(25_000)
            }
            lastError = "port \(port)"
            p.kill9()
        }
        throw TestFailure("http.server did not start on loopback (\(lastError))")
    }

    func stop() { process.kill9() }
    deinit { if process.process.isRunning { process.kill9() } }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

extension CLIVault {
    /// `key export ID --format public` into `path`.
    func exportPublic(_ id: String, to path: String) throws -> String {
        let r = try run(["key", "export", id, "--format", "public", "--out", path])
        guard r.status == 0 else { throw TestFailure("key export failed: \(r)") }
        return path
    }
}

let tufPeers = PythonTUF.isAvailable || isCI

@Suite("TUF 1.0 repositories judged by python-tuf 7", .tags(.interop), .interop, .enabled(if: tufPeers), .serialized)
struct TUFTests {
    /// Three holders, 2-of-3 root; python-tuf's Updater refreshes and downloads; a half-signed
    /// 2.root.json is refused by python-tuf and by `tuf verify`, then completed by a second holder
    /// and followed by a client that trusted 1.root.json.
    @Test func twoOfThreeRootFromThreeVaultsThenRootRotation() throws {
        let a = try CLIVault(), b = try CLIVault(), c = try CLIVault()
        let work = TemporaryDirectory("tuf-repo")
        let repo = work.sub("repo")
        let ra = try a.generate("root")
        let rb = try b.generate("tuf-root", algorithm: "ed25519")
        let rc = try c.generate("root")
        let pb = try b.exportPublic(rb, to: work.sub("b.pem"))
        let pc = try c.exportPublic(rc, to: work.sub("c.pem"))

        let initR = try a.run([
            "tuf", "init", repo, "--root-key", ra, "--root-key", pb, "--root-key", pc, "--root-threshold", "2",
            "--expires", "timestamp=2d",
        ])
        #expect(initR.status == 0, "\(initR)")
        #expect(initR.stdout.contains("1.root.json needs 1 more root signature"), "\(initR)")
        let unverified = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(unverified.status == 1 && unverified.stderr.contains("1.root.json: 1 valid signature(s)"), "\(unverified)")

        // Bob signs with the TUF key ID "Still missing" names for his Ed25519 key (the file's ID,
        // not the vault's): tuf sign accepts either.
        let missingLine = initR.stdout.split(separator: "\n").first { $0.contains("1.root.json needs") } ?? ""
        let bobTUFID =
            missingLine.split(separator: " ").enumerated().first { i, w in
                w.count == 12 && w.allSatisfy(\.isHexDigit) && missingLine.split(separator: " ").dropFirst(i + 1).first?.hasPrefix("(ed25519") == true
            }.map { String($0.element) } ?? ""
        #expect(!bobTUFID.isEmpty && !rb.hasPrefix(bobTUFID), "\(initR)")
        let signB = try b.run(["tuf", "sign", repo + "/metadata/1.root.json", "--key", bobTUFID])
        #expect(signB.status == 0, "\(signB)")
        #expect(signB.stdout.contains("root threshold (this version): 2 of 2 valid signature(s) — met"), "\(signB)")

        let payload = work.sub("app-1.0.tar.gz")
        try Data("release 1.0\n".utf8).write(to: URL(fileURLWithPath: payload))
        let add = try a.run(["tuf", "add-targets", repo, payload, "--path-prefix", "app"])
        #expect(add.status == 0 && add.stdout.contains("Complete"), "\(add)")
        let dkey = try a.generate("team-a")
        let del = try a.run(["tuf", "delegate", repo, "team-a", "--key", dkey, "--paths", "team-a/*"])
        #expect(del.status == 0, "\(del)")
        let teamFile = work.sub("tool.bin")
        try Data("team a tool\n".utf8).write(to: URL(fileURLWithPath: teamFile))
        let outside = try a.run(["tuf", "add-targets", repo, teamFile, "--role", "team-a", "--path-prefix", "other"])
        expectFailure(outside, status: 64, mentioning: "outside the paths delegated to team-a")
        let teamAdd = try a.run(["tuf", "add-targets", repo, teamFile, "--role", "team-a", "--path-prefix", "team-a"])
        #expect(teamAdd.status == 0 && teamAdd.stdout.contains("team-a.json version 2"), "\(teamAdd)")
        let verified = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(verified.status == 0 && verified.stdout.contains("team-a.json version 2"), "\(verified)")

        let server = try HTTPServer(directory: repo)
        defer { server.stop() }
        let trusted = work.sub("trusted-1.root.json")
        try FileManager.default.copyItem(atPath: repo + "/metadata/1.root.json", toPath: trusted)
        let cache = work.sub("client-cache")
        let first = try PythonTUF.client(server, trustedRoot: trusted, cache: cache, target: "app/app-1.0.tar.gz", out: work.sub("dl1"))
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("root version 1"), "\(first)")
        #expect(FileManager.default.contents(atPath: work.sub("dl1") + "/app-1.0.tar.gz") == Data("release 1.0\n".utf8))
        let delegated = try PythonTUF.client(server, trustedRoot: trusted, cache: cache, target: "team-a/tool.bin", out: work.sub("dl1"))
        #expect(delegated.status == 0, "python-tuf finds the target through the delegation: \(delegated)")
        #expect(FileManager.default.contents(atPath: work.sub("dl1") + "/tool.bin") == Data("team a tool\n".utf8))

        // Root rotation: C's key is replaced by a new key D; A writes 2.root.json signed by A only.
        let rd = try c.generate("root")
        let pd = try c.exportPublic(rd, to: work.sub("d.pem"))
        let rot = try a.run(["tuf", "rotate", repo, "root", "--new-key", ra, "--new-key", pb, "--new-key", pd, "--threshold", "2"])
        #expect(rot.status == 0, "\(rot)")
        #expect(rot.stdout.contains("root threshold of version 1: 1 of 2; of version 2: 1 of 2"), "\(rot)")
        let halfPy = try PythonTUF.client(server, trustedRoot: trusted, cache: cache)
        #expect(halfPy.status == 1 && halfPy.stdout.contains("refused"), "python-tuf must refuse a half-signed root: \(halfPy)")
        let halfTV = try TrustVaultCLI.run(["tuf", "verify", repo, "--root", trusted])
        #expect(halfTV.status == 1 && halfTV.stderr.contains("2.root.json"), "\(halfTV)")
        #expect(halfTV.stderr.contains("a client stops at root version 1"), "\(halfTV)")

        // B holds a key in both the old and the new root: one signature completes both thresholds.
        let sign2 = try b.run(["tuf", "sign", repo + "/metadata/2.root.json", "--key", rb])
        #expect(sign2.status == 0, "\(sign2)")
        #expect(sign2.stdout.contains("root threshold of version 1 (clients that trust it): 2 of 2 — met"), "\(sign2)")
        #expect(sign2.stdout.contains("root: key(s) added:") && sign2.stdout.contains("root: key(s) removed:"), "\(sign2)")
        let followed = try PythonTUF.client(server, trustedRoot: trusted, cache: cache, target: "app/app-1.0.tar.gz", out: work.sub("dl2"))
        #expect(followed.status == 0 && followed.stdout.contains("root version 2"), "\(followed)")
        let chain = try TrustVaultCLI.run(["tuf", "verify", repo, "--root", trusted])
        #expect(chain.status == 0 && chain.stdout.contains("2.root.json: signed by root version 1's keys and by its own"), "\(chain)")

        // Expiries refreshed (version+1), then the timestamp key replaced by a new vault key:
        // 3.root.json (A and B sign), timestamp.json re-signed with the new key; the client follows.
        let refresh = try a.run(["tuf", "refresh", repo])
        #expect(refresh.status == 0 && refresh.stdout.contains("targets.json version 4"), "\(refresh)")
        let rotTS = try a.run(["tuf", "rotate", repo, "timestamp"])
        #expect(rotTS.status == 0 && rotTS.stdout.contains("3.root.json"), "\(rotTS)")
        #expect(try b.run(["tuf", "sign", repo + "/metadata/3.root.json", "--key", rb]).status == 0)
        let after = try PythonTUF.client(server, trustedRoot: trusted, cache: cache, target: "app/app-1.0.tar.gz", out: work.sub("dl3"))
        #expect(after.status == 0 && after.stdout.contains("root version 3") && after.stdout.contains("targets version 4"), "\(after)")
        let final = try TrustVaultCLI.run(["tuf", "verify", repo, "--root", trusted])
        #expect(final.status == 0, "\(final)")
    }

    /// A root.json written by python-tuf's Metadata API naming vault keys (ECDSA and Ed25519) is
    /// signed by `tuf sign`; python-tuf's verify_delegate accepts the signatures.
    @Test func metadataAPIRootSignedByTufSign() throws {
        let v = try CLIVault()
        let work = TemporaryDirectory("tuf-api")
        let ec = try v.generate("root")
        let ed = try v.generate("tuf-root", algorithm: "ed25519")
        let root = work.sub("root.json")
        let rsa = try v.generate("root", algorithm: "rsa")
        let made = try PythonTUF.script(
            "tuf_metadata_api.py",
            [
                "make-root", root, try v.exportPublic(ec, to: work.sub("ec.pem")),
                try v.exportPublic(ed, to: work.sub("ed.pem")),
                try v.exportPublic(rsa, to: work.sub("rsa.pem")),
            ])
        #expect(made.status == 0, "\(made)")
        let unsigned = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", root])
        #expect(unsigned.status == 1, "\(unsigned)")

        let s1 = try v.run(["tuf", "sign", root, "--key", ec])
        #expect(s1.status == 0 && s1.stdout.contains("1 of 3 valid signature(s)"), "\(s1)")
        #expect(s1.stdout.contains("Signing:") && s1.stdout.contains("root: threshold 3 of 3"), "\(s1)")
        let half = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", root])
        #expect(half.status == 1 && half.stdout.contains("refused"), "\(half)")
        let s2 = try v.run(["tuf", "sign", root, "--key", ed])
        #expect(s2.status == 0 && s2.stdout.contains("2 of 3 valid signature(s)"), "\(s2)")
        let s3 = try v.run(["tuf", "sign", root, "--key", rsa])
        #expect(s3.status == 0 && s3.stdout.contains("3 of 3 valid signature(s) — met"), "\(s3)")
        let ok = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", root])
        #expect(ok.status == 0, "python-tuf must accept the ECDSA, Ed25519 and RSA-PSS signatures: \(ok)")

        // Key IDs: what `tuf init` writes for these vault keys equals securesystemslib's default key ID.
        let pyIDs = made.stdout.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count >= 3 && parts[1] == "key" ? String(parts[2]) : nil
        }
        #expect(pyIDs.count == 3, "\(made)")
        let repo = work.sub("repo")
        let initR = try v.run(["tuf", "init", repo, "--root-key", ec, "--root-key", ed, "--root-key", rsa, "--root-threshold", "2"])
        #expect(initR.status == 0, "\(initR)")
        let written = try String(contentsOfFile: repo + "/metadata/1.root.json", encoding: .utf8)
        for id in pyIDs { #expect(written.contains("\"\(id)\""), "key ID \(id) computed by securesystemslib") }

        // A key the root does not name is refused, and the file is unchanged.
        let other = try v.generate("root")
        let before = FileManager.default.contents(atPath: root)
        let bad = try v.run(["tuf", "sign", root, "--key", other])
        expectFailure(bad, status: 64, mentioning: "is not one of the root role's keys")
        #expect(FileManager.default.contents(atPath: root) == before)
    }

    /// A role whose key is elsewhere (an online timestamp signer) is left unsigned and named; its
    /// holder completes it with `tuf sign`. Failures leave the vault and the directory unchanged.
    @Test func rolesHeldElsewhereAreLeftForTheirHolder() throws {
        let offline = try CLIVault(), online = try CLIVault()
        let work = TemporaryDirectory("tuf-elsewhere")
        let repo = work.sub("repo")
        let root = try offline.generate("root")
        let ts = try online.generate("tuf-timestamp")
        let tsPub = try online.exportPublic(ts, to: work.sub("timestamp.pem"))

        // Bad input: nothing written, the vault unchanged.
        let before = offline.fingerprint()
        expectFailure(
            try offline.run(["tuf", "init", repo, "--root-key", root, "--root-threshold", "2"]), status: 64,
            mentioning: "--root-threshold 2", vault: offline, before: before)
        expectFailure(
            try offline.run(["tuf", "init", repo, "--root-key", root, "--expires", "timestamp=soon"]), status: 64,
            mentioning: "not a duration", vault: offline, before: before)
        expectFailure(
            try offline.run(["tuf", "init", repo, "--root-key", work.sub("missing.pem")]), status: 66,
            mentioning: "missing.pem", vault: offline, before: before)
        #expect(!FileManager.default.fileExists(atPath: repo + "/metadata"))

        let r = try offline.run([
            "tuf", "init", repo, "--root-key", root, "--timestamp-key", tsPub, "--expires", "timestamp=1d",
            "--expires", "targets=3d",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("timestamp.json is unsigned"), "\(r)")
        let v1 = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(v1.status == 1 && v1.stderr.contains("timestamp.json: 0 valid signature(s)"), "\(v1)")
        let again = offline.fingerprint()
        expectFailure(
            try offline.run(["tuf", "init", repo, "--root-key", root]), status: 73, mentioning: "already exists",
            vault: offline, before: again)

        let s = try online.run(["tuf", "sign", repo + "/metadata/timestamp.json", "--key", ts])
        #expect(s.status == 0 && s.stdout.contains("timestamp threshold (this version): 1 of 1"), "\(s)")
        #expect(s.stdout.contains("names snapshot.json version 1"), "shows what is signed: \(s)")
        let v2 = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(v2.status == 0 && v2.stdout.contains("warning: targets.json expires on"), "\(v2)")

        // The offline side changes targets: snapshot is re-signed here, timestamp is left to its holder.
        let f = work.sub("a.txt")
        try Data("a\n".utf8).write(to: URL(fileURLWithPath: f))
        let repoBefore = treeFingerprint(repo)
        var wrong = CLIVault.env
        wrong["TRUSTVAULT_SNAPSHOT_PASSPHRASE"] = "not-the-passphrase"
        expectFailure(try offline.run(["tuf", "add-targets", repo, f], env: wrong), status: 77, vault: offline, before: offline.fingerprint())
        #expect(treeFingerprint(repo) == repoBefore, "a failed add-targets leaves the repository unchanged")
        // The keys are unlocked while the files are read; a missing file is still the error
        // named, before the wrong passphrase.
        let missing = try offline.run(["tuf", "add-targets", repo, work.sub("missing.txt")], env: wrong)
        #expect(missing.status != 0 && missing.errorLines.count == 1, "\(missing)")
        #expect(missing.stderr.contains("missing.txt") && !missing.stderr.contains("TRUSTVAULT_SNAPSHOT_PASSPHRASE"), "\(missing)")
        #expect(treeFingerprint(repo) == repoBefore)
        let add = try offline.run(["tuf", "add-targets", repo, f])
        #expect(add.status == 0 && add.stdout.contains("timestamp.json was not changed"), "\(add)")
        let ts2 = try online.run(["tuf", "refresh", repo, "--roles", "timestamp"])
        #expect(ts2.status == 0, "\(ts2)")
        #expect(try TrustVaultCLI.run(["tuf", "verify", repo]).status == 0)

        // A delegation to the online holder's key: it signs its role and adds a target there; the
        // offline side re-makes the snapshot (picking up the new version), the holder the timestamp.
        let ci = try online.generate("ci")
        let ciPub = try online.exportPublic(ci, to: work.sub("ci.pem"))
        let del = try offline.run(["tuf", "delegate", repo, "ci", "--key", ciPub, "--paths", "ci/*"])
        #expect(del.status == 0 && del.stdout.contains("ci.json needs 1 signature(s)"), "\(del)")
        let ciSign = try online.run(["tuf", "sign", repo + "/metadata/ci.json", "--key", ci])
        #expect(ciSign.status == 0 && ciSign.stdout.contains("ci.json: targets (ci) version 1") && ciSign.stdout.contains("0 target(s)"), "\(ciSign)")
        let ciAdd = try online.run(["tuf", "add-targets", repo, f, "--role", "ci", "--path-prefix", "ci"])
        #expect(ciAdd.status == 0 && ciAdd.stdout.contains("--roles snapshot"), "\(ciAdd)")
        let snap = try offline.run(["tuf", "refresh", repo, "--roles", "snapshot"])
        #expect(snap.status == 0 && snap.stdout.contains("snapshot.json now names ci.json version 2"), "\(snap)")
        #expect(try online.run(["tuf", "refresh", repo, "--roles", "timestamp"]).status == 0)
        let all = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(all.status == 0 && all.stdout.contains("ci.json version 2"), "\(all)")

        let rm = try offline.run(["tuf", "remove-targets", repo, "a.txt"])
        #expect(rm.status == 0, "\(rm)")
        // Removing the delegation: targets.json no longer names ci, the snapshot no longer lists it.
        let undel = try offline.run(["tuf", "delegate", repo, "ci", "--remove"])
        #expect(undel.status == 0, "\(undel)")
        #expect(try online.run(["tuf", "refresh", repo, "--roles", "timestamp"]).status == 0)
        let gone = try TrustVaultCLI.run(["tuf", "verify", repo])
        #expect(gone.status == 0 && !gone.stdout.contains("ok: ci.json"), "\(gone)")
        let snapText = try String(contentsOfFile: repo + "/metadata/snapshot.json", encoding: .utf8)
        #expect(!snapText.contains("ci.json"))
        expectFailure(try offline.run(["tuf", "delegate", repo, "ci", "--remove"]), status: 66, mentioning: "does not delegate to ci")
        expectFailure(try offline.run(["tuf", "remove-targets", repo, "a.txt"]), status: 66, mentioning: "no target")
    }

    /// Changing any signed file (or a target file) is reported by `tuf verify`, naming the file.
    @Test func tamperingWithAnySignedFileIsReported() throws {
        let v = try CLIVault()
        let work = TemporaryDirectory("tuf-tamper")
        let repo = work.sub("repo")
        let root = try v.generate("root")
        #expect(try v.run(["tuf", "init", repo, "--root-key", root, "--consistent-snapshot"]).status == 0)
        let payload = work.sub("tool.bin")
        try Data("binary\n".utf8).write(to: URL(fileURLWithPath: payload))
        #expect(try v.run(["tuf", "add-targets", repo, payload]).status == 0)
        let dkey = try v.generate("team-b")
        #expect(try v.run(["tuf", "delegate", repo, "team-b", "--key", dkey, "--paths", "b/*"]).status == 0)
        #expect(try TrustVaultCLI.run(["tuf", "verify", repo]).status == 0)
        // Consistent snapshots: python-tuf fetches N.snapshot.json, N.targets.json and the
        // hash-prefixed target file.
        do {
            let server = try HTTPServer(directory: repo)
            defer { server.stop() }
            let c = try PythonTUF.client(
                server, trustedRoot: repo + "/metadata/1.root.json", cache: work.sub("cache"),
                target: "tool.bin", out: work.sub("dl"))
            #expect(c.status == 0, "\(c)")
            #expect(FileManager.default.contents(atPath: work.sub("dl") + "/tool.bin") == Data("binary\n".utf8))
        }

        let meta = repo + "/metadata"
        let files = try FileManager.default.contentsOfDirectory(atPath: meta).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.contains("1.root.json") && files.contains("timestamp.json") && files.contains("team-b.json"))
        let targetFile = try FileManager.default.contentsOfDirectory(atPath: repo + "/targets").first { $0.hasSuffix(".tool.bin") }
        var cases = files.map { ("metadata/" + $0, $0) }
        if let targetFile { cases.append(("targets/" + targetFile, "tool.bin")) } else { Issue.record("no hash-prefixed target file") }
        for (rel, name) in cases {
            let copy = work.sub("t-\(name)")
            try FileManager.default.copyItem(atPath: repo, toPath: copy)
            let path = copy + "/" + rel
            var text = try String(contentsOfFile: path, encoding: .utf8)
            if rel.hasPrefix("targets/") {
                text += "x"
            } else {
                // Move the expiry by a year: the signed content changes, the JSON stays valid.
                guard let r = text.range(of: #""expires": "20"#) else { Issue.record("no expires in \(rel)"); continue }
                text.replaceSubrange(r, with: #""expires": "21"#)
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try TrustVaultCLI.run(["tuf", "verify", copy])
            #expect(r.status == 1, "tampered \(rel) must fail: \(r)")
            #expect(r.stderr.contains(name.replacingOccurrences(of: "1.root.json", with: "root")), "the report names \(name): \(r)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }

    /// A root key on an (emulated) PIV card signs TUF 1.0 root metadata that python-tuf accepts.
    @Test(.enabled(if: PCSCHarness.shouldRun)) func cardKeySignsRootPythonTUFAccepts() throws {
        let v = try CLIVault()
        let work = TemporaryDirectory("tuf-card")
        let repo = work.sub("repo")
        let serial = "31000012"
        try PCSCHarness.with(serials: [31_000_012]) { _ in
            #expect(try v.run(["card", "setup", "--serial", serial], env: CardCLITests.newValues).status == 0)
            let gen = try v.run(["key", "generate", "--role", "root", "--card", serial], env: CardCLITests.setUp)
            #expect(gen.status == 0, "\(gen)")
            var env = CLIVault.env
            env["TRUSTVAULT_PIN"] = CardCLITests.setUp["TRUSTVAULT_PIN"]
            let r = try v.run(["tuf", "init", repo, "--root-key", gen.lastLine], env: env)
            #expect(r.status == 0 && r.stdout.contains("Complete"), "\(r)")
        }
        let accepted = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", repo + "/metadata/1.root.json"])
        #expect(accepted.status == 0, "\(accepted)")
        let server = try HTTPServer(directory: repo)
        defer { server.stop() }
        let client = try PythonTUF.client(server, trustedRoot: repo + "/metadata/1.root.json", cache: work.sub("cache"))
        #expect(client.status == 0, "\(client)")
    }
}

/// Hostile or broken repositories: one error line, a non-zero status, never a crash.
@Suite("tuf verify on hostile input")
struct TUFHostileInputTests {
    @Test func brokenRepositoriesGiveOneErrorLine() throws {
        let work = TemporaryDirectory("tuf-hostile")
        let meta = work.sub("repo/metadata")
        try FileManager.default.createDirectory(atPath: meta, withIntermediateDirectories: true)
        let empty = try TrustVaultCLI.run(["tuf", "verify", work.sub("repo")])
        expectFailure(empty, status: 1, mentioning: "no N.root.json")
        let cases: [String] = [
            "not json",
            #"{"signed":{"_type":"root"},"signatures":[]}"#,
            #"{"signed":{"_type":"root","spec_version":"1.0.31","version":9223372036854775807,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{}},"signatures":[]}"#,
            #"{"signed":{"_type":"root","spec_version":"2.0","version":1,"expires":"2030-01-01T00:00:00Z","keys":{},"roles":{}},"signatures":[]}"#,
            #"{"signed":{"_type":"root","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","keys":{"a":{"keytype":"ecdsa","scheme":"ecdsa-sha2-nistp256","keyval":{"public":"\u001b[2J"}}},"roles":{"root":{"keyids":["a"],"threshold":1},"targets":{"keyids":["a"],"threshold":1},"snapshot":{"keyids":["a"],"threshold":1},"timestamp":{"keyids":["a"],"threshold":1}}},"signatures":[{"keyid":"a","sig":"zz"}]}"#,
        ]
        for text in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: meta + "/1.root.json"))
            let r = try TrustVaultCLI.run(["tuf", "verify", work.sub("repo")])
            #expect(r.status == 1 || r.status == 65, "\(r)")
            #expect(r.errorLines.count == 1, "\(r)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.unicodeScalars.contains("\u{1b}"), "\(r)")
        }
        // A huge version in a file name is ignored, not overflowed.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: meta + "/9223372036854775807.root.json"))
        let big = try TrustVaultCLI.run(["tuf", "verify", work.sub("repo")])
        #expect(big.status == 1 && !big.stderr.contains("Fatal error"), "\(big)")
        let sign = try TrustVaultCLI.run(["--vault", work.sub("no-vault"), "tuf", "sign", meta + "/1.root.json", "--key", "abc"])
        #expect(sign.status != 0 && sign.errorLines.count == 1, "\(sign)")
    }
}
