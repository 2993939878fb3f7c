import Foundation
import Testing
import TestSupport

/// `trustvault-online` as a person meets it: what retrying cannot fix fails at once with one
/// `error:` line; what can pass is retried a bounded number of times and every wait says what it
/// waits for; printed commands and hints repeat the user's --server and --tlscacert; the same
/// output published twice is told apart from a server that moved on. Commands run in a working
/// directory with relative paths, as typed.
@Suite("trustvault-online: fail fast, say what it waits for, repeat the user's flags", .serialized)
struct OnlineFailFastTests {
    /// Runs trustvault-online in `directory` with an empty DOCKER_CONFIG; returns the result and
    /// the seconds it took.
    static func timed(_ args: [String], in directory: String, env: [String: String]) throws -> (ProcessResult, Double) {
        let empty = TemporaryDirectory("docker-config-empty")
        let start = Date()
        let r = try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online", args,
            environment: ["DOCKER_CONFIG": empty.path].merging(env) { $1 }, directory: directory, timeout: 120)
        return (r, Date().timeIntervalSince(start))
    }

    /// One token-auth https notary-server for every case: a closed port, an untrusted CA, a CA
    /// that did not issue the certificate, 401, 403 and 404 each fail in well under a second of
    /// waiting; publish twice; a stale publish; JSON from fetch and publish.
    @Test(.tags(.interop), .interop) func unfixableFailuresFailAtOnceAndHintsCarryTheFlags() throws {
        let peers = try TokenAuthPeers()
        let gun = "registry.example.com/online/failfast"
        try peers.createRepository(gun)
        let work = peers.dir.path
        try FileManager.default.copyItem(atPath: peers.issuer.caFile, toPath: work + "/ca.pem")
        let server = peers.server.url
        let tls = ["--server", server, "--tlscacert", "ca.pem"]
        let officer = peers.officerEnv

        // A closed port: refused at once, no retrying, no waiting.
        let closedPort = try Self.closedPort()
        let (refused, refusedTime) = try Self.timed(
            ["fetch", gun, "--out", "closed", "--server", "https://127.0.0.1:\(closedPort)", "--tlscacert", "ca.pem"], in: work, env: officer)
        expectOneError(refused, status: 69, mentioning: ["connection refused", "127.0.0.1:\(closedPort)"])
        #expect(refusedTime < 3, "a refused connection must fail at once (took \(refusedTime) s)")
        #expect(!refused.stderr.contains("waiting"), "\(refused)")

        // No --tlscacert: the test CA is not trusted; fails at once and says what to pass.
        let (untrusted, untrustedTime) = try Self.timed(["fetch", gun, "--out", "untrusted", "--server", server], in: work, env: officer)
        expectOneError(untrusted, status: 69, mentioning: ["not trusted", "--tlscacert FILE"])
        #expect(untrustedTime < 3, "an untrusted certificate must fail at once (took \(untrustedTime) s)")

        // A --tlscacert that did not issue the server's certificate: the hint names the file given.
        let other = TemporaryDirectory("other-ca")
        let openssl = try requireTool("openssl", package: "openssl")
        let made = try Run.program(
            openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", other.sub("key.pem"),
                "-out", work + "/other-ca.pem", "-subj", "/CN=another CA", "-days", "2",
            ])
        #expect(made.status == 0, "\(made)")
        let (wrongCA, wrongCATime) = try Self.timed(
            ["fetch", gun, "--out", "wrong-ca", "--server", server, "--tlscacert", "other-ca.pem"], in: work, env: officer)
        expectOneError(wrongCA, status: 69, mentioning: ["not trusted", "other-ca.pem (--tlscacert) does not hold the CA"])
        #expect(wrongCATime < 3, "took \(wrongCATime) s")

        // 401 (wrong password) and 403 (a read-only account publishing): at once, exit 77.
        let (wrong, wrongTime) = try Self.timed(
            ["fetch", gun, "--out", "wrong"] + tls, in: work, env: ["NOTARY_AUTH": TokenAuthPeers.notaryAuth("officer", "not-the-password")])
        expectOneError(wrong, status: 77, mentioning: ["rejected the credentials of 'officer'"])
        #expect(wrongTime < 3, "took \(wrongTime) s")
        let (current, _) = try Self.timed(["fetch", gun, "--out", "current"] + tls, in: work, env: officer)
        #expect(current.status == 0, "\(current)")
        let change = try TrustVaultCLI.run(
            ["--vault", peers.vault, "repo", "rotate", gun, "targets", "--current", "current", "--out", "change"],
            environment: TokenAuthPeers.vaultEnv, directory: work)
        #expect(change.status == 0, "\(change)")
        let readerEnv = ["NOTARY_AUTH": TokenAuthPeers.notaryAuth(TokenAuthPeers.reader.0, TokenAuthPeers.reader.1)]
        let (forbidden, forbiddenTime) = try Self.timed(["publish", "change"] + tls, in: work, env: readerEnv)
        expectOneError(forbidden, status: 77, mentioning: ["account 'reader'", "not allowed to push"])
        #expect(forbiddenTime < 3, "took \(forbiddenTime) s")

        // 404: a GUN the server does not know.
        let (missing, missingTime) = try Self.timed(["fetch", "registry.example.com/online/nothing-here", "--out", "missing"] + tls, in: work, env: officer)
        expectOneError(missing, status: 66, mentioning: ["has no trust data"])
        #expect(missingTime < 3, "took \(missingTime) s")
        for dir in ["closed", "untrusted", "wrong-ca", "wrong", "missing"] {
            #expect(!FileManager.default.fileExists(atPath: work + "/" + dir), "\(dir) must not be written")
        }

        // Publish the change; publishing the same output again is not an error: the server serves
        // exactly these bytes already (exit 0, says so; --json says already_published).
        let (first, _) = try Self.timed(["publish", "change"] + tls, in: work, env: officer)
        #expect(first.status == 0, "\(first)")
        let (again, _) = try Self.timed(["publish", "change"] + tls, in: work, env: officer)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("already published") && again.stdout.contains("nothing was uploaded"), "\(again)")
        #expect(again.errorLines.isEmpty, "\(again)")
        let (againJSON, _) = try Self.timed(["publish", "change", "--json"] + tls, in: work, env: officer)
        #expect(againJSON.status == 0, "\(againJSON)")
        let published = try #require(try JSONSerialization.jsonObject(with: Data(againJSON.stdout.utf8)) as? [String: Any], "\(againJSON)")
        #expect(published["already_published"] as? Bool == true && published["gun"] as? String == gun, "\(published)")
        #expect((published["uploaded"] as? [[String: Any]])?.first?["role"] as? String == "root", "\(published)")

        // A change built on the same (now stale) fetch: the server moved on. The error names the
        // versions; the hint's fetch command carries --server and --tlscacert as given.
        let stale = try TrustVaultCLI.run(
            ["--vault", peers.vault, "repo", "rotate", gun, "targets", "--current", "current", "--out", "stale"],
            environment: TokenAuthPeers.vaultEnv, directory: work)
        #expect(stale.status == 0, "\(stale)")
        let (moved, _) = try Self.timed(["publish", "stale"] + tls, in: work, env: officer)
        expectOneError(moved, status: 1, mentioning: ["changed on the server", "the server serves v"])
        #expect(moved.stderr.contains("hint: fetch again: run 'trustvault-online fetch \(gun) --server \(server) --tlscacert ca.pem --out NEWDIR'"), "\(moved)")
        #expect(!moved.stdout.contains("already published"))

        // fetch --json: one object, the files written, the versions, the root chain.
        let (fetched, _) = try Self.timed(["fetch", gun, "--out", "after", "--json"] + tls, in: work, env: officer)
        #expect(fetched.status == 0, "\(fetched)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(fetched.stdout.utf8)) as? [String: Any], "\(fetched)")
        #expect((summary["versions"] as? [String: Int])?["root"] == 2, "\(summary)")
        #expect((summary["root_chain"] as? [Int]) == [1, 2], "\(summary)")
        #expect((summary["written"] as? [String])?.contains("after/root.json") == true, "\(summary)")
        #expect(fetched.stdout.split(separator: "\n").count == 1)
        let (keys, _) = try Self.timed(["fetch", gun, "--out", "keys", "--keys-only", "--json"] + tls, in: work, env: officer)
        let keysSummary = try #require(try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [String: Any], "\(keys)")
        #expect(
            keysSummary["keys_only"] as? Bool == true
                && (keysSummary["written"] as? [String])?.sorted() == ["keys/existing-root.json", "keys/snapshot.key", "keys/timestamp.key"], "\(keysSummary)")
    }

    /// A server that answers slowly and with 503: every wait of more than a second says what it
    /// waits for, the retries are bounded (3 tries), and the end is one error line, exit 69.
    @Test func transientFailuresAreRetriedBoundedAndSaySo() throws {
        let stub = try FailingServer.start(delay: 1.5, status: 503)
        defer { stub.stop() }
        let work = TemporaryDirectory("online-503")
        let (r, seconds) = try Self.timed(["fetch", "example.com/app", "--out", "out", "--server", stub.url], in: work.path, env: [:])
        expectOneError(r, status: 69, mentioning: ["answered HTTP 503 3 times", "try again later"])
        let waits = r.stderr.split(separator: "\n").filter { $0.hasPrefix("waiting") }
        #expect(waits.filter { $0.hasPrefix("waiting for 127.0.0.1:\(stub.port) to answer GET /v2/example.com/app/_trust/tuf/root.json") }.count == 3, "\(r)")
        #expect(
            r.stderr.contains(
                "waiting 1 s before asking 127.0.0.1:\(stub.port) again for /v2/example.com/app/_trust/tuf/root.json: it answered HTTP 503 (try 2 of 3)"),
            "\(r)")
        #expect(r.stderr.contains("waiting 3 s before asking 127.0.0.1:\(stub.port) again") && r.stderr.contains("(try 3 of 3)"), "\(r)")
        #expect(stub.requests() == 3, "three tries, no more")
        #expect(seconds < 20, "bounded: took \(seconds) s")
        #expect(!FileManager.default.fileExists(atPath: work.sub("out")))
    }

    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        return Int(UInt16(bigEndian: addr.sin_port))  // bound but never listening: connections are refused
    }
}

/// A loopback HTTP server (Python's http.server) that waits `delay` seconds and then answers
/// every request with `status`, counting the requests. Stopped by PID.
final class FailingServer {
    let process: RunningProcess
    let dir: TemporaryDirectory
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    static func start(delay: Double, status: Int) throws -> FailingServer {
        let python = try requireTool("python3", package: "python3")
        let dir = TemporaryDirectory("failing-server")
        let script = """
            import http.server, sys, time, os
            d = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    with open(os.path.join(d, "count"), "a") as f: f.write("x")
                    time.sleep(\(delay))
                    body = b'{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}'
                    self.send_response(\(status))
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            with open(os.path.join(d, "port.tmp"), "w") as f: f.write(str(s.server_address[1]))
            os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
            s.serve_forever()
            """
        try script.write(toFile: dir.sub("server.py"), atomically: true, encoding: .utf8)
        let process = try Run.start(python, [dir.sub("server.py"), dir.path])
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: dir.sub("port"), encoding: .utf8), let port = Int(text) {
                return FailingServer(process: process, dir: dir, port: port)
            }
            usleep(50_000)
        }
        process.kill9()
        throw TestFailure("the failing test server did not start")
    }

    init(process: RunningProcess, dir: TemporaryDirectory, port: Int) {
        self.process = process
        self.dir = dir
        self.port = port
    }

    func requests() -> Int { ((try? String(contentsOfFile: dir.sub("count"), encoding: .utf8)) ?? "").count }

    func stop() { process.kill9() }
}
