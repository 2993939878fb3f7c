import Foundation
import Testing
import TestSupport
@testable import Online

/// Runs the built `trustvault-online` (next to `trustvault`), with DOCKER_CONFIG pointing at an
/// empty directory unless the test sets one, so a developer's ~/.docker never leaks in.
struct OnlineCLI {
    let emptyDockerConfig = TemporaryDirectory("docker-config-empty")

    func run(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
        let environment = ["DOCKER_CONFIG": emptyDockerConfig.path].merging(env) { $1 }
        return try Run.program(TrustVaultCLI.productsDirectory + "/trustvault-online", args, environment: environment)
    }
}

/// A token-auth notary-server (https, `auth: token`) trusting a loopback token issuer with a
/// read-write account and a read-only one (shared by every test that asks, see
/// ``SharedServers``; each test its own GUN), plus a vault with a root key.
final class TokenAuthPeers {
    let issuer: TokenIssuer
    let server: NotaryServer
    let dir = TemporaryDirectory("online")
    let vault: String
    let rootKey: String
    let cli = OnlineCLI()

    static let officer = ("officer", "officer-password")
    static let reader = ("reader", "reader-password")
    static let vaultEnv = [
        "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase", "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
        "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase", "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase",
        "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-passphrase",
    ]

    static func notaryAuth(_ user: String, _ password: String) -> String { Data("\(user):\(password)".utf8).base64EncodedString() }
    var officerEnv: [String: String] { ["NOTARY_AUTH": Self.notaryAuth(Self.officer.0, Self.officer.1)] }

    init() throws {
        guard NotaryServer.isAvailable else { throw TestFailure("notary and notary-server are required (Debian package 'notary')") }
        let shared = try SharedServers.tokenAuth(accounts: [
            Self.officer.0: .init(password: Self.officer.1, actions: ["pull", "push", "*"]),
            Self.reader.0: .init(password: Self.reader.1, actions: ["pull"]),
        ])
        (issuer, server) = (shared.issuer, shared.server)
        vault = dir.sub("vault")
        let initResult = try TrustVaultCLI.run(["--vault", vault, "init", "--kdf", "interactive"])
        guard initResult.status == 0 else { throw TestFailure("\(initResult)") }
        let key = try TrustVaultCLI.run(["--vault", vault, "key", "generate", "--role", "root"], environment: Self.vaultEnv)
        guard key.status == 0 else { throw TestFailure("\(key)") }
        rootKey = key.lastLine
    }

    func path(_ name: String) -> String { dir.sub(name) }

    func online(_ args: [String], env: [String: String]? = nil) throws -> ProcessResult {
        try cli.run(args + ["--server", server.url, "--tlscacert", issuer.caFile], env: env ?? officerEnv)
    }

    func vaultRun(_ args: [String]) throws -> ProcessResult {
        try TrustVaultCLI.run(["--vault", vault] + args, environment: Self.vaultEnv)
    }

    /// keys-only fetch → `repo init` (server-held snapshot) → publish.
    func createRepository(_ gun: String) throws {
        let keys = path("keys-" + gun.replacingOccurrences(of: "/", with: "_"))
        let fetched = try online(["fetch", gun, "--out", keys, "--keys-only"])
        #expect(fetched.status == 0, "\(fetched)")
        #expect(FileManager.default.fileExists(atPath: keys + "/timestamp.key") && FileManager.default.fileExists(atPath: keys + "/snapshot.key"))
        let out = path("init-" + gun.replacingOccurrences(of: "/", with: "_"))
        let made = try vaultRun([
            "repo", "init", gun, "--root-key", rootKey, "--timestamp-key", keys + "/timestamp.key", "--snapshot-key", keys + "/snapshot.key", "--out", out,
        ])
        #expect(made.status == 0, "\(made)")
        let published = try online(["publish", out])
        #expect(published.status == 0, "\(published)")
        #expect(published.stdout.contains("published \(gun): root v1, targets v1"), "\(published)")
    }

    /// The notary client with NOTARY_AUTH: `notary list` in `trustDir` (fresh or previously trusting).
    func notaryList(_ trustDir: String, _ gun: String) throws -> ProcessResult {
        try server.notary(path(trustDir), ["list", gun], environment: officerEnv)
    }

    /// The server's current files (fetched with the read-write account), for before/after comparisons.
    func serverState(_ gun: String, _ name: String) throws -> [String: Data] {
        let d = path(name)
        let r = try online(["fetch", gun, "--out", d])
        guard r.status == 0 else { throw TestFailure("\(r)") }
        var files: [String: Data] = [:]
        for f in ["root.json", "targets.json", "snapshot.json", "timestamp.json"] { files[f] = FileManager.default.contents(atPath: d + "/" + f) }
        return files
    }
}

func expectOneError(_ r: ProcessResult, status: Int32, mentioning needles: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == status, "\(r)", sourceLocation: sourceLocation)
    #expect(r.errorLines.count == 1, "exactly one error line: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    for n in needles { #expect(r.stderr.contains(n), "stderr should mention \(n): \(r.stderr)", sourceLocation: sourceLocation) }
}

@Suite("trustvault-online against notary-server with token auth", .tags(.interop), .interop, .serialized)
struct OnlineHandOffTests {
    @Test func initPublishRotateAndStaleUpload() throws {
        let peers = try TokenAuthPeers()
        let gun = "registry.example.com/online/app"
        try peers.createRepository(gun)

        // A fresh notary client with NOTARY_AUTH reads the published repository.
        let first = try peers.notaryList("client-a", gun)
        #expect(first.status == 0, "\(first)")

        // fetch → repo rotate targets → publish; the previously trusting client follows.
        let current = peers.path("current-1")
        let fetched = try peers.online(["fetch", gun, "--out", current])
        #expect(fetched.status == 0, "\(fetched)")
        for f in ["root.json", "targets.json", "snapshot.json", "timestamp.json", "1.root.json"] {
            #expect(FileManager.default.fileExists(atPath: current + "/" + f), "\(f) fetched")
        }
        let rotated = peers.path("rotate-targets")
        let rotate = try peers.vaultRun(["repo", "rotate", gun, "targets", "--current", current, "--out", rotated, "--server", peers.server.url])
        #expect(rotate.status == 0, "\(rotate)")
        // The ceremony prints the online step; it is what runs next.
        #expect(rotate.stdout.contains("trustvault-online publish \(rotated) --server \(peers.server.url)"), "\(rotate.stdout)")
        let published = try peers.online(["publish", rotated])
        #expect(published.status == 0, "\(published)")
        #expect(published.stdout.contains("root v2") && published.stdout.contains("the server serves exactly these bytes"), "\(published)")
        let follows = try peers.notaryList("client-a", gun)
        #expect(follows.status == 0, "old-trusting client: \(follows)")
        let fresh = try peers.notaryList("client-b", gun)
        #expect(fresh.status == 0, "fresh client: \(fresh)")

        // The new fetch carries the root chain 1 → 2.
        let state = try peers.serverState(gun, "current-2")
        #expect(FileManager.default.fileExists(atPath: peers.path("current-2") + "/1.root.json"))
        #expect(FileManager.default.contents(atPath: peers.path("current-2") + "/2.root.json") == state["root.json"])

        // A change built on the stale fetch is refused with "fetch again"; the server is unchanged.
        let stale = peers.path("rotate-stale")
        let staleRotate = try peers.vaultRun(["repo", "rotate", gun, "targets", "--current", current, "--out", stale])
        #expect(staleRotate.status == 0, "\(staleRotate)")
        let refused = try peers.online(["publish", stale])
        expectOneError(refused, status: 1, mentioning: ["changed on the server", "fetch again", "trustvault-online fetch \(gun)"])
        #expect(try peers.serverState(gun, "current-3") == state, "the server is unchanged")

        // A delegation for CI (fetch → delegation add → publish); CI signs a tag into it with the
        // notary client; the next fetch carries targets/releases.json, verified.
        let ci = try peers.vaultRun(["key", "generate", "--role", "targets/releases"])
        #expect(ci.status == 0, "\(ci)")
        let delegated = peers.path("delegation")
        let add = try peers.vaultRun([
            "delegation", "add", gun, "targets/releases", "--key", ci.lastLine, "--all-paths", "--current", peers.path("current-3"), "--out", delegated,
        ])
        #expect(add.status == 0, "\(add)")
        let publishDelegation = try peers.online(["publish", delegated])
        #expect(publishDelegation.status == 0, "\(publishDelegation)")
        let ciTrust = peers.path("ci-trust")
        #expect(try peers.vaultRun(["key", "export", ci.lastLine, "--out", ciTrust + "/"]).status == 0)
        let payload = peers.path("manifest.json")
        try "demo manifest".write(toFile: payload, atomically: true, encoding: .utf8)
        let ciEnv = peers.officerEnv.merging(["NOTARY_DELEGATION_PASSPHRASE": "export-passphrase"]) { $1 }
        let signed = try peers.server.notary(ciTrust, ["add", gun, "v1", payload, "--roles", "targets/releases"], environment: ciEnv)
        #expect(signed.status == 0, "\(signed)")
        let ciPublish = try peers.server.notary(ciTrust, ["publish", gun], environment: ciEnv)
        #expect(ciPublish.status == 0, "\(ciPublish)")
        let withDelegation = peers.path("current-4")
        let fetchedDelegation = try peers.online(["fetch", gun, "--out", withDelegation])
        #expect(fetchedDelegation.status == 0, "\(fetchedDelegation)")
        #expect(fetchedDelegation.stdout.contains("1 delegation(s)"), "\(fetchedDelegation)")
        #expect(FileManager.default.fileExists(atPath: withDelegation + "/targets/releases.json"))
        let verify = try TrustVaultCLI.run(["verify", withDelegation, "--gun", gun])
        #expect(verify.status == 0, "\(verify)")
    }

    @Test func credentialsScopeAndTLSFailures() throws {
        let peers = try TokenAuthPeers()
        let gun = "registry.example.com/online/creds"
        try peers.createRepository(gun)
        let before = try peers.serverState(gun, "before")

        // Wrong password: one error line, exit 77, no --out written.
        let wrong = try peers.online(
            ["fetch", gun, "--out", peers.path("wrong")], env: ["NOTARY_AUTH": TokenAuthPeers.notaryAuth("officer", "not-the-password")])
        expectOneError(wrong, status: 77, mentioning: ["rejected the credentials of 'officer'", "NOTARY_AUTH"])
        #expect(!FileManager.default.fileExists(atPath: peers.path("wrong")))

        // No credentials at all (no NOTARY_AUTH, an empty DOCKER_CONFIG): anonymous is not enough.
        let none = try peers.online(["fetch", gun, "--out", peers.path("none")], env: [:])
        expectOneError(none, status: 77, mentioning: ["requires credentials", "none were found"])
        #expect(!FileManager.default.fileExists(atPath: peers.path("none")))

        // The read-only account can fetch, but not publish; the server stays unchanged.
        let readerEnv = ["NOTARY_AUTH": TokenAuthPeers.notaryAuth(TokenAuthPeers.reader.0, TokenAuthPeers.reader.1)]
        let readerCurrent = peers.path("reader-current")
        let readerFetch = try peers.online(["fetch", gun, "--out", readerCurrent], env: readerEnv)
        #expect(readerFetch.status == 0, "\(readerFetch)")
        let change = peers.path("reader-change")
        #expect(try peers.vaultRun(["repo", "rotate", gun, "targets", "--current", readerCurrent, "--out", change]).status == 0)
        let push = try peers.online(["publish", change], env: readerEnv)
        expectOneError(push, status: 77, mentioning: ["account 'reader'", "not allowed to push"])
        #expect(try peers.serverState(gun, "after-reader") == before)

        // Credentials from docker's config.json (auths, as docker login writes) and from a credential helper.
        let dockerConfig = TemporaryDirectory("docker-config")
        let host = "127.0.0.1:\(peers.server.port)"
        let auths = #"{"auths": {"https://\#(host)": {"auth": "\#(TokenAuthPeers.notaryAuth("officer", "officer-password"))"}}}"#
        try auths.write(toFile: dockerConfig.sub("config.json"), atomically: true, encoding: .utf8)
        let viaDocker = try peers.online(["fetch", gun, "--out", peers.path("via-docker")], env: ["DOCKER_CONFIG": dockerConfig.path])
        #expect(viaDocker.status == 0, "\(viaDocker)")

        let helperDir = TemporaryDirectory("cred-helper")
        let helper = helperDir.sub("docker-credential-trustvaulttest")
        try """
        #!/bin/sh
        read server
        [ "$1" = get ] && [ "$server" = "\(host)" ] || { echo "credentials not found in native keychain"; exit 1; }
        printf '{"ServerURL":"%s","Username":"officer","Secret":"officer-password"}' "$server"
        """.write(toFile: helper, atomically: true, encoding: .utf8)
        chmod(helper, 0o755)
        let helperConfig = TemporaryDirectory("docker-config-helper")
        try #"{"auths": {"\#(host)": {}}, "credHelpers": {"\#(host)": "trustvaulttest"}}"#.write(
            toFile: helperConfig.sub("config.json"), atomically: true, encoding: .utf8)
        let viaHelper = try peers.online(
            ["fetch", gun, "--out", peers.path("via-helper")],
            env: ["DOCKER_CONFIG": helperConfig.path, "PATH": helperDir.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")])
        #expect(viaHelper.status == 0, "\(viaHelper)")

        // --username with TRUSTVAULT_SERVER_PASSWORD; without it and without a terminal, a clear error.
        let viaUser = try peers.online(
            ["fetch", gun, "--out", peers.path("via-user"), "--username", "officer"], env: ["TRUSTVAULT_SERVER_PASSWORD": "officer-password"])
        #expect(viaUser.status == 0, "\(viaUser)")
        // No secret supplied: 65, as in the offline CLI (CLISupport's one exit-status map; README).
        let noPassword = try peers.online(["fetch", gun, "--out", peers.path("no-password"), "--username", "officer"], env: [:])
        expectOneError(noPassword, status: 65, mentioning: ["TRUSTVAULT_SERVER_PASSWORD is not set"])
        #expect(!FileManager.default.fileExists(atPath: peers.path("no-password")))

        // On a terminal (util-linux `script`), --username asks for the password without echo.
        let script = try requireTool("script", package: "util-linux")
        let command = [
            "/usr/bin/env", "DOCKER_CONFIG=" + peers.cli.emptyDockerConfig.path, TrustVaultCLI.productsDirectory + "/trustvault-online",
            "fetch", gun, "--out", peers.path("via-prompt"), "--username", "officer", "--server", peers.server.url, "--tlscacert", peers.issuer.caFile,
        ]
        .map { "'\($0)'" }.joined(separator: " ")
        let typed = try Run.program("/bin/sh", ["-c", "(sleep 1; printf '%s\\n' 'officer-password'; sleep 3) | \(script) -qec \"\(command)\" /dev/null"])
        #expect(typed.status == 0, "\(typed)")
        #expect(typed.stdout.contains("Password for officer at 127.0.0.1:\(peers.server.port)"), "\(typed)")
        #expect(!typed.stdout.contains("officer-password"), "the password must not be echoed")
        #expect(FileManager.default.fileExists(atPath: peers.path("via-prompt") + "/root.json"))

        // Without --tlscacert the test CA is not trusted: the error says what to pass.
        let noCA = try peers.cli.run(["fetch", gun, "--out", peers.path("no-ca"), "--server", peers.server.url], env: peers.officerEnv)
        expectOneError(noCA, status: 69, mentioning: ["--tlscacert"])
        #expect(!FileManager.default.fileExists(atPath: peers.path("no-ca")))

        // A non-empty --out is refused before any request.
        let occupied = try peers.online(["fetch", gun, "--out", peers.path("via-user")])
        expectOneError(occupied, status: 73, mentioning: ["not empty"])
    }
}

@Suite("trustvault-online against an anonymous notary-server", .tags(.interop), .interop)
struct OnlineAnonymousTests {
    /// No auth configured: fetch and publish work without credentials. A file the server accepted
    /// but stored in a non-notary encoding (a trailing newline, uploaded with curl) makes fetch
    /// fail verification and write nothing; publish refuses such a file before uploading.
    @Test func anonymousAccessAndVerificationBeforeWriting() throws {
        guard NotaryServer.isAvailable else { throw TestFailure("notary and notary-server are required (Debian package 'notary')") }
        let server = try SharedServers.plain()
        let cli = OnlineCLI()
        let dir = TemporaryDirectory("online-anon")
        let gun = "example.com/online/anon"
        func online(_ args: [String]) throws -> ProcessResult { try cli.run(args + ["--server", server.url]) }
        func vault(_ args: [String]) throws -> ProcessResult {
            try TrustVaultCLI.run(["--vault", dir.sub("vault")] + args, environment: TokenAuthPeers.vaultEnv)
        }

        #expect(try TrustVaultCLI.run(["--vault", dir.sub("vault"), "init", "--kdf", "interactive"]).status == 0)
        let root = try vault(["key", "generate", "--role", "root"]).lastLine
        #expect(try online(["fetch", gun, "--out", dir.sub("keys"), "--keys-only"]).status == 0)
        #expect(
            try vault([
                "repo", "init", gun, "--root-key", root, "--timestamp-key", dir.sub("keys/timestamp.key"),
                "--snapshot-key", dir.sub("keys/snapshot.key"), "--out", dir.sub("init"),
            ]).status == 0)
        let published = try online(["publish", dir.sub("init")])
        #expect(published.status == 0, "\(published)")
        #expect(try online(["fetch", gun, "--out", dir.sub("current")]).status == 0)

        // A delegation change whose targets.json gets a trailing newline.
        let ci = try vault(["key", "generate", "--role", "targets/releases"])
        let add = try vault([
            "delegation", "add", gun, "targets/releases", "--key", ci.lastLine, "--all-paths", "--current", dir.sub("current"), "--out", dir.sub("change"),
        ])
        #expect(add.status == 0, "\(add)")
        let targets = dir.sub("change/tuf/\(gun)/metadata/targets.json")
        let handle = try #require(FileHandle(forWritingAtPath: targets))
        handle.seekToEndOfFile()
        handle.write(Data("\n".utf8))
        handle.closeFile()
        let refused = try online(["publish", dir.sub("change")])
        expectOneError(refused, status: 65, mentioning: ["targets.json is not in notary's exact encoding"])

        // Uploaded anyway with curl: the server stores it (200), and fetch now refuses to write.
        let (status, body) = try server.upload(gun: gun, files: [("targets", targets)])
        #expect(status == 200, "\(body)")
        let fetched = try online(["fetch", gun, "--out", dir.sub("after")])
        expectOneError(fetched, status: 1, mentioning: ["does not verify", "byte-identical", "nothing was written"])
        #expect(!FileManager.default.fileExists(atPath: dir.sub("after")))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty, "staging directories left behind: \(leftovers)")
    }
}

@Suite("Offline binary has no network code")
struct OfflineSymbolTests {
    static func undefinedSymbols(_ binary: String) throws -> Set<String> {
        let nm = try requireTool("nm", package: "binutils")
        let r = try Run.program(nm, ["-D", "--undefined-only", binary])
        guard r.status == 0 else { throw TestFailure("nm failed: \(r)") }
        // Lines look like "                 U connect@GLIBC_2.2.5".
        return Set(
            r.stdout.split(separator: "\n").compactMap { line in
                line.split(separator: " ").last.map { String($0.split(separator: "@").first ?? $0) }
            })
    }

    static let networkCalls: Set<String> = ["socket", "connect", "getaddrinfo", "gethostbyname", "bind", "listen", "accept", "sendto", "recvfrom"]

    @Test func trustvaultImportsNoSocketCalls() throws {
        let offline = try Self.undefinedSymbols(TrustVaultCLI.binary)
        #expect(!offline.isEmpty)
        #expect(offline.intersection(Self.networkCalls).isEmpty, "trustvault imports \(offline.intersection(Self.networkCalls).sorted())")
        // The check has teeth: the online binary does import them.
        let online = try Self.undefinedSymbols(TrustVaultCLI.productsDirectory + "/trustvault-online")
        #expect(online.contains("socket") && online.contains("connect"), "trustvault-online should import socket/connect")
    }
}

@Suite("Token auth parsing")
struct TokenAuthParsingTests {
    @Test func bearerChallengeWithCommasInScope() {
        let c = Challenge.parse(#"Bearer realm="https://auth.example.com/token",service="notary",scope="repository:a/b:push,pull",error="insufficient_scope""#)
        #expect(c?.scheme == "bearer")
        #expect(c?.parameters["realm"] == "https://auth.example.com/token")
        #expect(c?.parameters["scope"] == "repository:a/b:push,pull")
        #expect(c?.parameters["error"] == "insufficient_scope")
        #expect(Challenge.parse(#"Basic realm="x""#)?.scheme == "basic")
        #expect(Challenge.parse("") == nil)
    }

    @Test func dockerAuthKeysMatchByHost() {
        #expect(CredentialSources.hostOfAuthKey("https://registry.example.com:5000/v1/") == "registry.example.com:5000")
        #expect(CredentialSources.hostOfAuthKey("registry.example.com") == "registry.example.com")
        #expect(CredentialSources.hostOfAuthKey("http://127.0.0.1:4443") == "127.0.0.1:4443")
    }

    @Test func notaryAuthIsDecodedAndMalformedIsRefused() throws {
        let ok = CredentialSources(username: nil, environment: ["NOTARY_AUTH": Data("u:p:w".utf8).base64EncodedString()], prompt: nil)
        let creds = try ok.resolve(host: "h")
        #expect(creds?.username == "u" && creds?.password == "p:w")
        let bad = CredentialSources(username: nil, environment: ["NOTARY_AUTH": "not base64!"], prompt: nil)
        #expect(throws: (any Error).self) { try bad.resolve(host: "h") }
    }
}
