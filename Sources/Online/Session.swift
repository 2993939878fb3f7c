public import TrustCore
internal import Foundation

/// A `WWW-Authenticate` challenge: scheme plus parameters (`realm`, `service`, `scope`, `error`).
struct Challenge: Sendable, Equatable {
    var scheme: String
    var parameters: [String: String]

    /// Parses `Bearer realm="…",service="…",scope="repository:x:pull,push"` (quoted values may
    /// hold commas; a bare token value ends at a comma).
    static func parse(_ header: String) -> Challenge? {
        let s = Array(header.unicodeScalars)
        var i = 0
        while i < s.count, s[i] == " " { i += 1 }
        var scheme = ""
        while i < s.count, s[i] != " " { scheme.unicodeScalars.append(s[i]); i += 1 }
        guard !scheme.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        while i < s.count {
            while i < s.count, s[i] == " " || s[i] == "," { i += 1 }
            var key = ""
            while i < s.count, s[i] != "=", s[i] != "," { key.unicodeScalars.append(s[i]); i += 1 }
            guard i < s.count, s[i] == "=" else { break }
            i += 1
            var value = ""
            if i < s.count, s[i] == "\"" {
                i += 1
                while i < s.count, s[i] != "\"" {
                    if s[i] == "\\", i + 1 < s.count { i += 1 }
                    value.unicodeScalars.append(s[i])
                    i += 1
                }
                i += 1
            } else {
                while i < s.count, s[i] != "," { value.unicodeScalars.append(s[i]); i += 1 }
            }
            parameters[key.trimmingCharacters(in: .whitespaces).lowercased()] = value
        }
        return Challenge(scheme: scheme.lowercased(), parameters: parameters)
    }
}

/// Talks to one notary server for one GUN, answering Docker token-auth challenges: a 401 with
/// `WWW-Authenticate: Bearer realm=…,service=…,scope=…` makes it ask the realm for a token (with
/// the user's credentials as HTTP basic auth, or anonymously when there are none) and retry the
/// request once with `Authorization: Bearer`. A `Basic` challenge is answered with the
/// credentials directly. Credentials are looked up only when a server asks for them.
public final class NotarySession: @unchecked Sendable {
    public let server: String
    public let gun: String
    let transport: Transport
    let sources: CredentialSources
    private var credentials: ServerCredentials??
    /// The token of the last challenge answered, by scope.
    private var tokens: [String: String] = [:]
    private var lastAuthorization: String?

    /// Metadata files up to this size are read, as notary (a 100,000-target targets.json is ~20 MB).
    public static let metadataLimit = 100 << 20

    /// The user's `--tlscacert` and `--username`, repeated in every printed command and hint.
    public let caFile: String?
    public let username: String?

    /// `defaultCAFile` (`SSL_CERT_FILE`) is trusted when there is no `caFile`; it is never
    /// repeated in printed commands, since the environment carries it.
    public init(
        server: String, gun: String, caFile: String?, defaultCAFile: String? = nil, sources: CredentialSources, username: String? = nil,
        notice: (@Sendable (String) -> Void)? = nil
    ) throws(TrustVaultError) {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host != nil else {
            throw .invalid(
                "--server \(Shown.text(server)) is not an http(s) URL", recovery: "pass the notary server's base URL, e.g. --server https://notary.example.com")
        }
        guard url.query == nil, url.fragment == nil, url.user == nil else {
            throw .invalid(
                "--server \(Shown.text(server)) must not carry a query, fragment or credentials",
                recovery: "credentials come from NOTARY_AUTH, docker login or --username")
        }
        self.server = s
        self.gun = gun
        self.sources = sources
        self.caFile = caFile
        self.username = username
        self.transport = try Transport(
            caFile: caFile ?? defaultCAFile, caSource: caFile == nil ? "SSL_CERT_FILE" : "--tlscacert",
            notice: notice ?? Transport.standardErrorNotice)
    }

    /// `--server URL [--tlscacert FILE] [--username NAME]` as the user gave them, for the
    /// commands and hints this session prints.
    public var serverArguments: String {
        var words = ["--server", Self.shellWord(server)]
        if let caFile { words += ["--tlscacert", Self.shellWord(caFile)] }
        if let username { words += ["--username", Self.shellWord(username)] }
        return words.joined(separator: " ")
    }

    /// A word as a shell reads it back: bare when it is plain, else in single quotes.
    public static func shellWord(_ word: String) -> String {
        let plain =
            !word.isEmpty
            && word.unicodeScalars.allSatisfy { c in
                (c.value < 128 && (CharacterSet.alphanumerics.contains(c) || "-_./:@%+=,".unicodeScalars.contains(c)))
            }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public func close() async { await transport.shutdown() }

    /// `host[:port]` of the server, as docker keys its credentials.
    public var hostKey: String {
        guard let url = URL(string: server), let host = url.host else { return server }
        return url.port.map { "\(host):\($0)" } ?? host
    }

    /// `<server>/v2/<GUN>/_trust/tuf/<path>`.
    public func tufURL(_ path: String) -> String { "\(server)/v2/\(gun)/_trust/tuf/\(path)" }

    /// Sends a request, answering one authentication challenge. Errors for credentials and
    /// scope are raised here, in words; other statuses are returned to the caller.
    public func request(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, limit: Int = metadataLimit,
        purpose: String
    ) async throws(TrustVaultError) -> HTTPResponse {
        var sent = headers
        if let lastAuthorization { sent.append(("Authorization", lastAuthorization)) }
        let first = try await transport.send(method, url, headers: sent, body: body, limit: limit)
        guard first.status == 401 else { return first }
        guard let challenge = first.header("WWW-Authenticate").compactMap(Challenge.parse).first(where: { $0.scheme == "bearer" || $0.scheme == "basic" })
        else {
            throw TrustVaultError(.wrongPassphrase, "\(server) answered 401 to \(purpose) without a usable WWW-Authenticate challenge")
        }
        if let scope = challenge.parameters["scope"], let cached = tokens[scope], "Bearer " + cached == lastAuthorization {
            tokens[scope] = nil  // presented and refused (expired): ask for a new one
        }
        let authorization = try await authorize(challenge, purpose: purpose)
        lastAuthorization = authorization
        let second = try await transport.send(method, url, headers: headers + [("Authorization", authorization)], body: body, limit: limit)
        guard second.status == 401 || second.status == 403 else { return second }
        throw try refusal(second, purpose: purpose)
    }

    func resolvedCredentials() throws(TrustVaultError) -> ServerCredentials? {
        if let credentials { return credentials }
        let found = try sources.resolve(host: hostKey)
        credentials = .some(found)
        return found
    }

    private func authorize(_ challenge: Challenge, purpose: String) async throws(TrustVaultError) -> String {
        let creds = try resolvedCredentials()
        if challenge.scheme == "basic" {
            guard let creds else { throw noCredentials(purpose: purpose) }
            return "Basic " + Data("\(creds.username):\(creds.password)".utf8).base64EncodedString()
        }
        let scope = challenge.parameters["scope"] ?? ""
        if let token = tokens[scope] { return "Bearer " + token }
        guard let realm = challenge.parameters["realm"], let realmURL = URL(string: realm), let scheme = realmURL.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let realmHost = realmURL.host
        else {
            throw TrustVaultError(.corruptData, "\(server) asked for a token without a usable realm (\(Shown.text(challenge.parameters["realm"] ?? "none")))")
        }
        if creds != nil, scheme == "http", !Self.isLoopback(realmHost) {
            throw TrustVaultError(
                .refused, "the token service \(Shown.text(realm)) is plain http; refusing to send credentials over it",
                recovery: "the registry must offer its token service over https")
        }
        var components = URLComponents(string: realm)
        var items = components?.queryItems ?? []
        if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
        if !scope.isEmpty {
            for one in scope.split(separator: " ") { items.append(URLQueryItem(name: "scope", value: String(one))) }
        }
        if let creds { items.append(URLQueryItem(name: "account", value: creds.username)) }
        components?.queryItems = items
        guard let tokenURL = components?.url?.absoluteString else { throw .corrupt("cannot build the token request for \(Shown.text(realm))") }
        var headers: [(String, String)] = []
        if let creds { headers.append(("Authorization", "Basic " + Data("\(creds.username):\(creds.password)".utf8).base64EncodedString())) }
        let answer = try await transport.send("GET", tokenURL, headers: headers, limit: 1 << 20)
        if answer.status == 401 || answer.status == 403 {
            if let creds {
                throw TrustVaultError(
                    .wrongPassphrase,
                    "the token service \(Shown.text(realm)) rejected the credentials of '\(Shown.text(creds.username))' (from \(creds.source)) for \(purpose) (HTTP \(answer.status))",
                    recovery: "check the user name and password (TRUSTVAULT_SERVER_PASSWORD, NOTARY_AUTH, or 'docker login \(hostKey)')")
            }
            throw noCredentials(purpose: purpose)
        }
        guard answer.status == 200 else {
            throw TrustVaultError(
                .serviceUnavailable,
                "the token service \(Shown.text(realm)) answered HTTP \(answer.status) for \(purpose): \(Shown.text(String(answer.bodyText.prefix(200))))",
                recovery: "try again later; if it persists, the registry's token service is failing")
        }
        guard let json = try? JSONValue(parsing: answer.body), let token = json["token"]?.stringValue ?? json["access_token"]?.stringValue, !token.isEmpty
        else {
            throw .corrupt("the token service \(Shown.text(realm)) answered without a token")
        }
        tokens[scope] = token
        return "Bearer " + token
    }

    /// The server refused anonymous access (a 401): a refusal of credentials, as a wrong
    /// password is (exit 77), not a secret this program failed to find (`.missingSecret`, 65).
    func noCredentials(purpose: String) -> TrustVaultError {
        TrustVaultError(
            .wrongPassphrase, "\(server) requires credentials for \(purpose) and none were found",
            recovery: "set NOTARY_AUTH (base64 of user:password), run 'docker login \(hostKey)', or pass --username with TRUSTVAULT_SERVER_PASSWORD")
    }

    /// A 401/403 after presenting a token: the account lacks the scope, or anonymous access is not enough.
    private func refusal(_ response: HTTPResponse, purpose: String) throws(TrustVaultError) -> TrustVaultError {
        let challenge = response.header("WWW-Authenticate").compactMap(Challenge.parse).first
        let scope = challenge?.parameters["scope"] ?? "repository:\(gun):…"
        let actions = (scope.split(separator: ":").last.map(String.init) ?? "").split(separator: ",").map(String.init)
        let verb = actions.contains("*") ? "administer" : actions.contains("push") ? "push to" : "read"
        guard let creds = try resolvedCredentials() else { throw noCredentials(purpose: purpose) }
        _ = response.status
        return TrustVaultError(
            .wrongPassphrase,
            "account '\(Shown.text(creds.username))' (from \(creds.source)) is not allowed to \(verb) \(gun) on \(server) (needed for \(purpose); scope \(Shown.text(scope)))",
            recovery:
                "ask the registry's administrator for \(verb == "read" ? "pull" : actions.joined(separator: ",")) access to \(gun), or use an account that has it"
        )
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
