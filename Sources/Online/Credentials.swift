public import TrustCore
internal import Foundation

/// A user name and password for a registry's token service.
public struct ServerCredentials: Sendable {
    public var username: String
    public var password: String
    /// Where they came from, for messages ("NOTARY_AUTH", "--username", "docker config …").
    public var source: String

    public init(username: String, password: String, source: String) {
        self.username = username
        self.password = password
        self.source = source
    }
}

/// Where credentials come from, in this order: `--username` (password from
/// `TRUSTVAULT_SERVER_PASSWORD` or the prompt), `NOTARY_AUTH` (base64 of `user:password`, as the
/// notary client reads it), then `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`):
/// the `credHelpers` entry for the host, else the `credsStore`, else the `auths` entry, as
/// `docker login` writes them. Never from the command line.
public struct CredentialSources: Sendable {
    public var username: String?
    public var environment: [String: String]
    /// Asks for a password without echo; nil when there is no terminal.
    public var prompt: (@Sendable (String) throws(TrustVaultError) -> String)?

    public init(username: String?, environment: [String: String], prompt: (@Sendable (String) throws(TrustVaultError) -> String)?) {
        self.username = username
        self.environment = environment
        self.prompt = prompt
    }

    /// The credentials for `host` (`host[:port]` as in the server URL), or nil for anonymous access.
    public func resolve(host: String) throws(TrustVaultError) -> ServerCredentials? {
        if let username {
            guard !username.isEmpty else { throw .invalid("--username is empty", recovery: "pass the registry account's name") }
            if let password = environment["TRUSTVAULT_SERVER_PASSWORD"] {
                return ServerCredentials(username: username, password: password, source: "--username with TRUSTVAULT_SERVER_PASSWORD")
            }
            guard let prompt else {
                throw TrustVaultError(
                    .missingSecret, "no password for --username \(Shown.text(username)): TRUSTVAULT_SERVER_PASSWORD is not set and there is no terminal to ask",
                    recovery: "set TRUSTVAULT_SERVER_PASSWORD, or run on a terminal")
            }
            let password = try prompt("Password for \(username) at \(host): ")
            return ServerCredentials(username: username, password: password, source: "--username")
        }
        if let auth = environment["NOTARY_AUTH"], !auth.isEmpty {
            guard let data = Data(base64Encoded: auth.trimmingCharacters(in: .whitespaces)),
                let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                throw .invalid(
                    "NOTARY_AUTH is not the base64 of user:password", recovery: "set it as notary expects: NOTARY_AUTH=$(printf %s 'user:password' | base64)")
            }
            return ServerCredentials(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]), source: "NOTARY_AUTH")
        }
        return try dockerConfig(host: host)
    }

    var dockerConfigPath: String {
        let dir = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
        return dir + "/config.json"
    }

    /// docker's rule for `auths` keys: drop the scheme and any path, keep `host[:port]`.
    static func hostOfAuthKey(_ key: String) -> String {
        var s = Substring(key)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        return s.lowercased()
    }

    func dockerConfig(host: String) throws(TrustVaultError) -> ServerCredentials? {
        let path = dockerConfigPath
        guard AtomicFile.exists(path) else { return nil }
        let json: JSONValue
        do { json = try JSONValue(parsing: try AtomicFile.read(path)) } catch {
            throw TrustVaultError(.corruptData, "\(path) is not valid JSON: \(error.message)", recovery: "repair it or run 'docker login' again")
        }
        let wanted = host.lowercased()
        if let helpers = json["credHelpers"]?.objectValue,
            let helper = helpers.first(where: { Self.hostOfAuthKey($0.key) == wanted })?.value.stringValue
        {
            return try credentialHelper(helper, serverKey: host, configPath: path)
        }
        if let store = json["credsStore"]?.stringValue, !store.isEmpty {
            if let found = try credentialHelper(store, serverKey: host, configPath: path) { return found }
        }
        guard let auths = json["auths"]?.objectValue else { return nil }
        for entry in auths where Self.hostOfAuthKey(entry.key) == wanted {
            if entry.value["identitytoken"]?.stringValue?.isEmpty == false {
                throw .unsupported(
                    "\(path): the entry for \(Shown.text(entry.key)) holds an identity token, which trustvault-online cannot use",
                    recovery: "use --username with TRUSTVAULT_SERVER_PASSWORD, or NOTARY_AUTH")
            }
            guard let auth = entry.value["auth"]?.stringValue, !auth.isEmpty else { continue }
            guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else {
                throw .corrupt(
                    "\(path): the \"auth\" of \(Shown.text(entry.key)) is not the base64 of user:password", recovery: "run 'docker login \(host)' again")
            }
            return ServerCredentials(
                username: String(text[..<colon]), password: String(text[text.index(after: colon)...]),
                source: "\(path) (auths \(entry.key))")
        }
        return nil
    }

    /// `docker-credential-NAME get` with the server on stdin; its JSON answer holds
    /// `Username` and `Secret`. "credentials not found" means none.
    func credentialHelper(_ name: String, serverKey: String, configPath: String) throws(TrustVaultError) -> ServerCredentials? {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw .corrupt("\(configPath): credential helper name \(Shown.text(name)) is not a program name")
        }
        let program = "docker-credential-" + name
        let searchPath = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        guard let binary = searchPath.map({ "\($0)/\(program)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TrustVaultError(
                .notFound, "\(configPath) names the credential helper \(program), which is not on PATH",
                recovery: "install \(program), or remove it from \(configPath) and use NOTARY_AUTH or --username")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["get"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw .io("cannot run \(binary): \(error)") }
        input.fileHandleForWriting.write(Data(serverKey.utf8))
        try? input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readData(ofLength: 65_536)
        _ = errors.fileHandleForReading.readData(ofLength: 65_536)
        process.waitUntilExit()
        let text = String(decoding: out, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            if text.lowercased().contains("credentials not found") { return nil }
            throw TrustVaultError(
                .wrongPassphrase,
                "the credential helper \(program) failed for \(serverKey) (exit \(process.terminationStatus)): \(Shown.text(String(text.prefix(200))))",
                recovery: "run 'docker login \(serverKey)' again, or use NOTARY_AUTH or --username")
        }
        guard let json = try? JSONValue(parsing: Array(out)), let user = json["Username"]?.stringValue, let secret = json["Secret"]?.stringValue else {
            throw .corrupt("the credential helper \(program) answered something other than {\"Username\",\"Secret\"}")
        }
        if user == "<token>" {
            throw .unsupported(
                "the credential helper \(program) holds an identity token for \(serverKey), which trustvault-online cannot use",
                recovery: "use --username with TRUSTVAULT_SERVER_PASSWORD, or NOTARY_AUTH")
        }
        return ServerCredentials(username: user, password: secret, source: "docker credential helper \(program)")
    }
}

/// User and server text in messages: escaped with TrustCore's one escaping rule, length bounded.
enum Shown {
    static func text(_ s: String, limit: Int = 300) -> String {
        s.count > limit ? Escape.visible(String(s.prefix(limit))) + "…" : Escape.visible(s)
    }
}
