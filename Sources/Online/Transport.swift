internal import TrustCore
internal import AsyncHTTPClient
internal import NIOCore
internal import NIOSSL
internal import NIOHTTP1
internal import Foundation

/// One HTTP response, with its body read up to a limit.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    /// The values of a header (case-insensitive name).
    public func header(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// AsyncHTTPClient with the TLS trust the user chose: the system roots, or only the
/// certificates of `--tlscacert FILE` (as notary's `--tlscacert`). Redirects are not followed
/// (notary-server never redirects, and a redirect must not carry credentials elsewhere).
///
/// Failures that retrying cannot fix (TLS not trusted, connection refused, a name that does not
/// resolve, any 4xx) end the request at once: AsyncHTTPClient's own retrying of connection
/// establishment is off. What can pass (a 5xx or 429 answer, a timeout, a reset connection) is
/// retried a bounded number of times for reads (GET), never for an upload; every wait longer
/// than a second says on stderr what it waits for.
final class Transport: Sendable {
    let client: HTTPClient
    let caFile: String?
    /// Where `caFile` came from, for hints: `--tlscacert` or `SSL_CERT_FILE`.
    let caSource: String
    let notice: @Sendable (String) -> Void

    /// Tries per request for what can pass (the first try included), and the pauses between them.
    static let attempts = 3
    static let pauses: [Double] = [1, 3]
    /// A request still unanswered after this long says what it waits for.
    static let quietWait: Double = 1

    init(
        caFile: String?, caSource: String = "--tlscacert", notice: @escaping @Sendable (String) -> Void = Transport.standardErrorNotice
    ) throws(TrustVaultError) {
        self.caFile = caFile
        self.caSource = caSource
        self.notice = notice
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            let bytes = try AtomicFile.read(caFile, kind: .publicKey)
            let certificates: [NIOSSLCertificate]
            do { certificates = try NIOSSLCertificate.fromPEMBytes(bytes) } catch {
                throw TrustVaultError(
                    .corruptData, "--tlscacert \(caFile) holds no PEM certificate (\(error))",
                    recovery: "pass the PEM file of the CA that issued the server's TLS certificate")
            }
            guard !certificates.isEmpty else {
                throw .corrupt(
                    "--tlscacert \(caFile) holds no PEM certificate", recovery: "pass the PEM file of the CA that issued the server's TLS certificate")
            }
            tls.trustRoots = .certificates(certificates)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    @Sendable static func standardErrorNotice(_ line: String) {
        FileHandle.standardError.write(Data((Escape.visible(line) + "\n").utf8))
    }

    func shutdown() async { try? await client.shutdown() }

    /// Sends one request; the body is read up to `limit` bytes (a longer body is an error).
    /// GET requests are retried (bounded) on a 5xx or 429 answer, a timeout or a reset
    /// connection; nothing else is retried.
    func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, limit: Int
    ) async throws(TrustVaultError) -> HTTPResponse {
        let retryable = method == "GET"
        var attempt = 1
        while true {
            let outcome: Result<HTTPResponse, Failure>
            do { outcome = .success(try await sendOnce(method, url, headers: headers, body: body, limit: limit)) } catch { outcome = .failure(error) }
            let reason: String
            switch outcome {
            case .success(let response):
                guard retryable, response.status >= 500 || response.status == 429, attempt < Self.attempts else { return response }
                reason = "it answered HTTP \(response.status)"
            case .failure(let failure):
                guard retryable, failure.transient, attempt < Self.attempts else { throw failure.error }
                reason = failure.transientReason
            }
            let pause = Self.pauses[min(attempt - 1, Self.pauses.count - 1)]
            notice(
                "waiting \(Self.seconds(pause)) before asking \(Self.hostOf(url)) again for \(Self.pathOf(url)): \(reason) (try \(attempt + 1) of \(Self.attempts))"
            )
            try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
            attempt += 1
        }
    }

    /// A failed exchange: the error in words, and whether trying again can help.
    struct Failure: Error {
        var error: TrustVaultError
        var transient: Bool
        var transientReason: String
    }

    private func sendOnce(
        _ method: String, _ url: String, headers: [(String, String)], body: [UInt8]?, limit: Int
    ) async throws(Failure) -> HTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        // A request still unanswered after a second says what it waits for (once).
        let notice = self.notice
        let host = Self.hostOf(url), path = Self.pathOf(url)
        let watcher = Task {
            try await Task.sleep(nanoseconds: UInt64(Self.quietWait * 1e9))
            notice("waiting for \(host) to answer \(method) \(path)…")
        }
        defer { watcher.cancel() }
        do {
            let response = try await client.execute(request, timeout: .seconds(180))
            let buffer: ByteBuffer
            do { buffer = try await response.body.collect(upTo: limit) } catch let error as NIOTooManyBytesError {
                _ = error
                throw Failure(
                    error: TrustVaultError(.corruptData, "\(method) \(url): the answer is larger than \(limit) bytes; refusing to read it"),
                    transient: false, transientReason: "")
            }
            return HTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer.readableBytesView))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw describe(error, method: method, url: url)
        }
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s) }

    static func hostOf(_ url: String) -> String {
        guard let u = URL(string: url), let host = u.host else { return url }
        return u.port.map { "\(host):\($0)" } ?? host
    }

    static func pathOf(_ url: String) -> String {
        guard let u = URL(string: url) else { return url }
        let path = u.path.isEmpty ? "/" : u.path
        return path + (url.hasSuffix("/") && !path.hasSuffix("/") ? "/" : "")
    }

    /// Network failures in words: which server, what happened, what to do, and whether it can pass.
    func describe(_ error: any Error, method: String, url: String) -> Failure {
        let text = String(describing: error)
        if error is NIOSSLError || text.contains("handshakeFailed") || text.contains("NIOSSL") || text.contains("BoringSSL") {
            let reason =
                text.contains("CERTIFICATE_VERIFY_FAILED")
                ? "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)"
                : text.contains("ERR_SSL_SERVER_CERT_HOSTNAME") || text.lowercased().contains("hostname")
                    ? "the server's certificate is for another name"
                    : "the TLS handshake failed (\(Shown.text(text, limit: 160)))"
            let recovery =
                caFile.map {
                    "\($0) (\(caSource)) does not hold the CA that issued \(Self.hostOf(url))'s certificate; pass --tlscacert FILE with the right CA file (PEM), as for notary --tlscacert"
                }
                ?? "pass --tlscacert FILE with the CA that issued the server's certificate, as for notary --tlscacert"
            return Failure(
                error: TrustVaultError(.serviceUnavailable, "TLS with \(url) failed: \(reason)", recovery: recovery),
                transient: false, transientReason: "")
        }
        if let e = error as? HTTPClientError, e == .connectTimeout || e == .readTimeout || e == .deadlineExceeded {
            return Failure(
                error: TrustVaultError(
                    .serviceUnavailable, "\(method) \(url) timed out", recovery: "check --server and that the server is reachable from this machine"),
                transient: true, transientReason: "the last try timed out")
        }
        let lower = text.lowercased()
        let refused = lower.contains("connection refused") || lower.contains("econnrefused")
        let unresolved = lower.contains("resolve") || lower.contains("getaddrinfo") || lower.contains("unknownhost") || lower.contains("dns error")
        // A reset or closed connection can pass; refused and unresolved cannot.
        let reset =
            !refused && !unresolved
            && ((error as? HTTPClientError) == .remoteConnectionClosed || lower.contains("connection reset") || lower.contains("econnreset")
                || lower.contains("broken pipe"))
        let reason =
            refused
            ? "connection refused"
            : unresolved
                ? "the host name does not resolve"
                : reset
                    ? "the connection was closed before an answer came"
                    : Shown.text(text, limit: 160)
        return Failure(
            error: TrustVaultError(
                .serviceUnavailable, "cannot reach \(url): \(reason)",
                recovery: "check --server (scheme, host and port) and that the server is running and reachable from this machine"),
            transient: reset, transientReason: "the connection was closed before an answer came")
    }
}
