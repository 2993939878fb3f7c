public import TrustCore
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
final class Transport: Sendable {
    let client: HTTPClient

    init(caFile: String?) throws(TrustVaultError) {
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
                throw .corrupt("--tlscacert \(caFile) holds no PEM certificate", recovery: "pass the PEM file of the CA that issued the server's TLS certificate")
            }
            tls.trustRoots = .certificates(certificates)
        }
        let configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(15), read: .seconds(120)))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await client.shutdown() }

    /// Sends one request; the body is read up to `limit` bytes (a longer body is an error).
    func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, limit: Int
    ) async throws(TrustVaultError) -> HTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(180))
            let buffer: ByteBuffer
            do { buffer = try await response.body.collect(upTo: limit) } catch let error as NIOTooManyBytesError {
                _ = error
                throw TrustVaultError(.corruptData, "\(method) \(url): the answer is larger than \(limit) bytes; refusing to read it")
            }
            return HTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer.readableBytesView))
        } catch let error as TrustVaultError {
            throw error
        } catch {
            throw Self.describe(error, method: method, url: url)
        }
    }

    /// Network failures in words: which server, what happened, what to do.
    static func describe(_ error: any Error, method: String, url: String) -> TrustVaultError {
        let text = String(describing: error)
        if error is NIOSSLError || text.contains("handshakeFailed") || text.contains("NIOSSL") || text.contains("BoringSSL") {
            let reason =
                text.contains("CERTIFICATE_VERIFY_FAILED") ? "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED)"
                : text.contains("ERR_SSL_SERVER_CERT_HOSTNAME") || text.lowercased().contains("hostname") ? "the server's certificate is for another name"
                : "the TLS handshake failed (\(Shown.text(text, limit: 160)))"
            return TrustVaultError(
                .serviceUnavailable, "TLS with \(url) failed: \(reason)",
                recovery: "pass --tlscacert FILE with the CA that issued the server's certificate, as for notary --tlscacert")
        }
        if let e = error as? HTTPClientError, e == .connectTimeout || e == .readTimeout || e == .deadlineExceeded {
            return TrustVaultError(.serviceUnavailable, "\(method) \(url) timed out", recovery: "check --server and that the server is reachable from this machine")
        }
        let reason =
            text.contains("Connection refused") ? "connection refused"
            : text.lowercased().contains("resolve") || text.contains("getaddrinfo") ? "the host name does not resolve"
            : Shown.text(text, limit: 160)
        return TrustVaultError(
            .serviceUnavailable, "cannot reach \(url): \(reason)",
            recovery: "check --server (scheme, host and port) and that the server is running and reachable from this machine")
    }
}
