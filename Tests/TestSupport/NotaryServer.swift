import Foundation

/// A real `notary-server` on loopback: memory storage, the local trust service, plain HTTP on a
/// free 127.0.0.1 port by default; https with a test certificate and token authentication
/// through ``Options``. Stopped by PID in ``stop()`` (and on deinit).
///
/// Suites share one server per configuration through ``SharedServers`` (each test its own GUN);
/// ``start(_:)`` is for a test that needs a server of its own (a guide that uses a fixed GUN).
/// Every start is counted and logged (``startCount``).
///
/// When the binary is missing, ``start()`` throws; with `CI=true` that is a failure, never a skip.
public final class NotaryServer: @unchecked Sendable {
    /// How the server listens and authenticates.
    public struct Options: Sendable {
        /// PEM files of the server's TLS certificate (for 127.0.0.1) and key: the server speaks https.
        public var tlsCertificate: String?
        public var tlsKey: String?
        /// A CA file that curl uses to reach an https server (the test CA that issued `tlsCertificate`).
        public var tlsCA: String?
        /// The JSON value of the config's `auth` section, e.g. `{"type": "token", "options": {…}}`.
        public var authJSON: String?
        public init(tlsCertificate: String? = nil, tlsKey: String? = nil, tlsCA: String? = nil, authJSON: String? = nil) {
            self.tlsCertificate = tlsCertificate
            self.tlsKey = tlsKey
            self.tlsCA = tlsCA
            self.authJSON = authJSON
        }
    }

    public let port: Int
    public let options: Options
    let temporary: TemporaryDirectory
    public var directory: String { temporary.path }
    let process: RunningProcess
    private var stopped = false

    public var url: String { "\(options.tlsCertificate == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// curl's arguments to trust this server's TLS certificate (none for plain http).
    public var curlTLSArguments: [String] { options.tlsCA.map { ["--cacert", $0] } ?? [] }

    /// `…/v2/<GUN>/_trust/tuf/`.
    public func tufURL(_ gun: String) -> String { "\(url)/v2/\(gun)/_trust/tuf/" }

    /// Whether the peers this harness needs are installed.
    public static var isAvailable: Bool { Run.which("notary-server") != nil && Run.which("notary") != nil && Run.which("curl") != nil }

    public static func start(_ options: Options = Options()) throws -> NotaryServer {
        try TestTier.refusePeer("notary-server")
        guard let binary = Run.which("notary-server") else {
            throw TestFailure("notary-server is not installed (Debian package 'notary'); CI must install it")
        }
        let temporary = TemporaryDirectory("notary-server")
        let dir = temporary.path
        for _ in 0..<5 {
            let port = try freePort()
            var listen = #""http_addr": "127.0.0.1:\#(port)""#
            if let cert = options.tlsCertificate, let key = options.tlsKey {
                listen += #", "tls_cert_file": "\#(cert)", "tls_key_file": "\#(key)""#
            }
            let auth = options.authJSON.map { #""auth": \#($0),"# } ?? ""
            let config = """
                {"server": {\(listen)}, \(auth)
                 "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
                 "logging": {"level": "info"},
                 "storage": {"backend": "memory"}}
                """
            try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            let process = try Run.start(binary, ["-config", dir + "/config.json"])
            let server = NotaryServer(port: port, options: options, temporary: temporary, process: process)
            if server.waitForHealth(timeout: 15) {
                let count = startCounter.increment()
                testLog("notary-server #\(count) started: pid \(process.pid), \(server.url)\(options.authJSON == nil ? "" : ", token auth")")
                return server
            }
            server.stop()
        }
        throw TestFailure("notary-server did not become healthy on loopback (see \(dir))")
    }

    init(port: Int, options: Options, temporary: TemporaryDirectory, process: RunningProcess) {
        self.port = port
        self.options = options
        self.temporary = temporary
        self.process = process
    }

    deinit { stop() }

    func waitForHealth(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.process.isRunning { return false }
            if let r = try? Run.program(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + curlTLSArguments + ["\(url)/_notary_server/health"], timeout: 5),
                r.stdout == "200"
            {
                return true
            }
            usleep(100_000)
        }
        return false
    }

    /// How many servers this test process has started (logged with each start).
    public static var startCount: Int { startCounter.value }
    static let startCounter = Counter()

    /// Set by ``SharedServers``: ``stop()`` leaves a shared server running for the suites that
    /// still use it; the process stops it by PID at exit (``stopShared()``).
    var isShared = false

    /// Stops the server by its PID (a shared server only at process exit).
    public func stop() {
        guard !isShared else { return }
        stopShared()
    }

    func stopShared() {
        guard !stopped else { return }
        stopped = true
        if process.process.isRunning {
            kill(process.pid, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.process.isRunning, Date() < deadline { usleep(20_000) }
            if process.process.isRunning { process.kill9() } else { process.process.waitUntilExit() }
        }
    }

    // MARK: Helpers for the online side

    /// Runs `notary -s URL -d TRUSTDIR ARGS` with passphrases from `environment`.
    @discardableResult
    public func notary(_ trustDir: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> ProcessResult {
        guard let notary = Run.which("notary") else { throw TestFailure("the notary client is not installed (Debian package 'notary')") }
        let tls = options.tlsCA.map { ["--tlscacert", $0] } ?? []
        return try Run.program(notary, ["-s", url, "-d", trustDir] + tls + arguments, environment: environment, stdin: stdin, timeout: 120)
    }

    /// `GET …/<role>.key`: the server's public key JSON for a role (timestamp or snapshot).
    public func fetchKey(gun: String, role: String, to path: String) throws {
        let r = try Run.program("/usr/bin/curl", ["-sf", "-o", path] + curlTLSArguments + [tufURL(gun) + role + ".key"])
        guard r.status == 0 else { throw TestFailure("GET \(role).key failed: \(r)") }
    }

    /// Downloads the current metadata of `gun` into a cache-layout directory.
    public func fetchMetadata(gun: String, roles: [String] = ["root", "targets", "snapshot", "timestamp"], to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for role in roles {
            let path = dir + "/" + role + ".json"
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let r = try Run.program("/usr/bin/curl", ["-sf", "-o", path] + curlTLSArguments + [tufURL(gun) + role + ".json"])
            guard r.status == 0 else { throw TestFailure("GET \(role).json failed: \(r)") }
        }
    }

    /// POSTs metadata files as notary does (`files=@…;filename=<role>`); returns the HTTP status and body.
    public func upload(gun: String, files: [(role: String, path: String)]) throws -> (status: Int, body: String) {
        var args = ["-s", "-w", "\n%{http_code}", "-X", "POST"] + curlTLSArguments
        for f in files { args += ["-F", "files=@\(f.path);filename=\(f.role)"] }
        args.append(tufURL(gun))
        let r = try Run.program("/usr/bin/curl", args)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw TestFailure("could not find a free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A count shared by concurrently running tests.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() -> Int {
        lock.withLock {
            count += 1; return count
        }
    }
}

/// A line on the test log (stderr), as `swift test` shows it.
func testLog(_ line: String) { FileHandle.standardError.write(Data("[TestSupport] \(line)\n".utf8)) }

/// Whether tests must fail (not skip) when a peer is missing.
public var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
