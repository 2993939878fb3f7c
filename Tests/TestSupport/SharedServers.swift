import Foundation

/// One real notary-server per configuration for the whole test process, started lazily by the
/// first test that asks and stopped by PID when the process exits.
///
/// Swift Testing makes a new suite instance for every test, so a server started in a suite's
/// `init` is a server per test. Suites ask here instead; each test uses its own GUN, so tests
/// (and suites running in parallel) cannot see each other's repositories. A test whose GUN is
/// fixed by what it runs (a guide's `docker.io/acme/app`) starts its own with
/// ``NotaryServer/start(_:)``.
///
/// Configurations: plain http (``plain()``) and https with token authentication trusting a
/// loopback ``TokenIssuer`` with the given accounts (``tokenAuth(accounts:)``).
public enum SharedServers {
    /// A notary-server with a token issuer in front of it.
    public struct TokenAuth: Sendable {
        public let issuer: TokenIssuer
        public let server: NotaryServer
    }

    /// The plain-http server (memory storage, anonymous access).
    public static func plain() throws -> NotaryServer {
        try cache.server(key: "plain") {
            let server = try NotaryServer.start()
            return (server, nil)
        }.server
    }

    /// The https server with token auth for exactly these accounts (one per set of accounts).
    public static func tokenAuth(accounts: [String: TokenIssuer.Account]) throws -> TokenAuth {
        let key =
            "token:" + accounts.keys.sorted().map { "\($0)=\(accounts[$0]!.password)/\(accounts[$0]!.actions.joined(separator: ","))" }.joined(separator: ";")
        let entry = try cache.server(key: key) {
            let issuer = try TokenIssuer.start(accounts: accounts)
            do { return (try NotaryServer.start(issuer.notaryServerOptions), issuer) } catch {
                issuer.stop()
                throw error
            }
        }
        return TokenAuth(issuer: entry.issuer!, server: entry.server)
    }

    static let cache = Cache()

    final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: (server: NotaryServer, issuer: TokenIssuer?)] = [:]
        private var registeredExit = false

        /// The entry for `key`, started by `make` under the lock on first use (a failed start is
        /// not remembered: the next test tries again and reports its own failure).
        func server(key: String, _ make: () throws -> (NotaryServer, TokenIssuer?)) throws -> (server: NotaryServer, issuer: TokenIssuer?) {
            try lock.withLock {
                if let entry = entries[key] { return entry }
                let (server, issuer) = try make()
                server.isShared = true
                issuer?.isShared = true
                entries[key] = (server, issuer)
                testLog("shared notary-server for \(key.hasPrefix("token:") ? "token auth" : key): \(server.url) (used by every suite that asks)")
                if !registeredExit {
                    registeredExit = true
                    atexit { SharedServers.cache.stopAll() }
                }
                return (server, issuer)
            }
        }

        func stopAll() {
            let all = lock.withLock { entries.values.map { $0 } }
            for entry in all {
                entry.server.stopShared()
                entry.issuer?.stopShared()
            }
            testLog("notary-servers started by this process: \(NotaryServer.startCount) (\(all.count) shared)")
        }
    }
}
