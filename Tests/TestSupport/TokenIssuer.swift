import Foundation

/// A loopback token service for Docker's registry token protocol (`token_issuer.py`, run with
/// the project venv's Python and its `cryptography`), plus the test CA and TLS certificate it
/// makes. ``notaryServerOptions`` configures a real notary-server with `auth: token` trusting it.
/// Stopped by PID in ``stop()`` (and on deinit).
public final class TokenIssuer: @unchecked Sendable {
    public struct Account: Sendable {
        public var password: String
        public var actions: [String]
        public init(password: String, actions: [String]) {
            self.password = password
            self.actions = actions
        }
    }

    public static let service = "trustvault-test-notary"
    public static let issuer = "trustvault-test-issuer"

    let temporary: TemporaryDirectory
    let process: RunningProcess
    public let port: Int
    private var stopped = false

    public var directory: String { temporary.path }
    public var realm: String { "http://127.0.0.1:\(port)/token" }
    /// The test CA (PEM): the server's rootcertbundle and the CA of its TLS certificate.
    public var caFile: String { directory + "/ca.pem" }
    public var tlsCertificate: String { directory + "/tls.pem" }
    public var tlsKey: String { directory + "/tls-key.pem" }

    /// The package root (for `.venv-tools` and the script).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    public static var python: String { packageRoot + "/.venv-tools/bin/python3" }

    public static func start(accounts: [String: Account]) throws -> TokenIssuer {
        try TestTier.refusePeer(python)
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing; run Scripts/install-python-tools.sh (CI does)")
        }
        let temporary = TemporaryDirectory("token-issuer")
        var users: [String: Any] = [:]
        for (name, a) in accounts { users[name] = ["password": a.password, "actions": a.actions] }
        try JSONSerialization.data(withJSONObject: users).write(to: URL(fileURLWithPath: temporary.sub("users.json")))
        let process = try Run.start(python, [packageRoot + "/Tests/TestSupport/token_issuer.py", temporary.path])
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: temporary.sub("port"), encoding: .utf8), let port = Int(text) {
                return TokenIssuer(temporary: temporary, process: process, port: port)
            }
            if !process.process.isRunning { break }
            usleep(50_000)
        }
        if process.process.isRunning { kill(process.pid, SIGTERM); process.process.waitUntilExit() }
        throw TestFailure("the test token issuer did not start (see \(temporary.path))")
    }

    init(temporary: TemporaryDirectory, process: RunningProcess, port: Int) {
        self.temporary = temporary
        self.process = process
        self.port = port
    }

    deinit { stop() }

    /// https with the test certificate, and `auth: token` trusting this issuer.
    public var notaryServerOptions: NotaryServer.Options {
        let auth = """
            {"type": "token", "options": {"realm": "\(realm)", "service": "\(Self.service)", \
            "issuer": "\(Self.issuer)", "rootcertbundle": "\(caFile)"}}
            """
        return NotaryServer.Options(tlsCertificate: tlsCertificate, tlsKey: tlsKey, tlsCA: caFile, authJSON: auth)
    }

    /// Set by ``SharedServers``: ``stop()`` leaves a shared issuer running; the process stops it at exit.
    var isShared = false

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
}
