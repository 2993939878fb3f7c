import Foundation
import Testing
import TestSupport

/// Issue 22: a repository whose root certificate expired, against the real notary-server (https,
/// token auth) and the real notary client. Everything runs as a user types it, in one working
/// directory with relative paths; the recovery is `docs/guide-expired-root-certificate.md`'s
/// ```sh blocks, run as written (only the server URL and its test CA are filled in).
@Suite(
    "An expired root certificate: refused renewal, replaced trust data, fresh and old-trusting clients", .tags(.interop), .interop, .enabled(if: notaryPeers),
    .serialized)
final class ExpiredRootCertificateTests {
    let issuer: TokenIssuer
    let server: NotaryServer
    let work = TemporaryDirectory("expired-root")
    static let gun = "docker.io/acme/app"
    static let exportPassphrase = "export-passphrase"
    /// What the notary client prints (on stdout) for a root with no valid certificate, cached or served.
    static let clientRefusal = "* fatal: could not validate the path to a trusted root: unable to retrieve valid leaf certificates"

    init() throws {
        issuer = try TokenIssuer.start(accounts: ["officer": .init(password: "officer-password", actions: ["pull", "push", "*"])])
        do { server = try NotaryServer.start(issuer.notaryServerOptions) } catch {
            issuer.stop()
            throw error
        }
    }

    deinit {
        server.stop()
        issuer.stop()
    }

    /// The user's shell: working directory `work`, HOME inside it (so `~/.notary` is the
    /// long-lived client), the vault in TRUSTVAULT_HOME, both binaries on PATH.
    var environment: [String: String] {
        [
            "HOME": work.sub("home"), "TRUSTVAULT_HOME": work.sub("vault"), "DOCKER_CONFIG": work.sub("docker-config"), "TZ": "UTC",
            "PATH": TrustVaultCLI.productsDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase", "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
            "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase", "TRUSTVAULT_EXPORT_PASSPHRASE": Self.exportPassphrase,
            "NOTARY_TARGETS_PASSPHRASE": Self.exportPassphrase, "NOTARY_SNAPSHOT_PASSPHRASE": Self.exportPassphrase,
            "NOTARY_AUTH": Data("officer:officer-password".utf8).base64EncodedString(),
        ]
    }

    /// One shell command line, as typed.
    @discardableResult
    func sh(_ line: String, expectOK: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let r = try Run.program("/bin/bash", ["-c", line], environment: environment, directory: work.path, timeout: 180)
        if expectOK { #expect(r.status == 0, "\(line)\n\(r)", sourceLocation: sourceLocation) }
        return r
    }

    /// `--server URL --tlscacert notary-ca.pem` for this test's server.
    var serverArgs: String { "--server \(server.url) --tlscacert notary-ca.pem" }
    var notaryArgs: String { "-s \(server.url) --tlscacert notary-ca.pem" }

    /// The guide's ```sh blocks (the runner every guide test uses).
    static func guideBlocks() throws -> [String] {
        try GuideRunner().blocks(of: "guide-expired-root-certificate.md").map(\.block.text)
    }

    func runGuideBlock(_ block: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        // The online tools get the test CA; the offline trustvault only prints the URL.
        let lines = block.split(separator: "\n").map { line in
            line.hasPrefix("trustvault ")
                ? line.replacingOccurrences(of: "https://notary.example.com", with: server.url)
                : line.replacingOccurrences(of: "--server https://notary.example.com", with: "--server \(server.url) --tlscacert notary-ca.pem")
                    .replacingOccurrences(of: "-s https://notary.example.com", with: "-s \(server.url) --tlscacert notary-ca.pem")
        }
        return try sh("set -e\n" + lines.joined(separator: "\n"), sourceLocation: sourceLocation)
    }

    static func tags(_ r: ProcessResult) -> [String] {
        var out: [String] = []
        for line in r.stdout.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 4, words[1].count == 64 { out.append(String(words[0])) }
        }
        return out.sorted()
    }

    @Test func expiredRootCertificateIsReplacedAndBothKindsOfClientListAgain() throws {
        let gun = Self.gun
        try FileManager.default.copyItem(atPath: issuer.caFile, toPath: work.sub("notary-ca.pem"))
        try FileManager.default.createDirectory(atPath: work.sub("home"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work.sub("docker-config"), withIntermediateDirectories: true)
        try "payload v1\n".write(toFile: work.sub("payload.txt"), atomically: true, encoding: .utf8)
        let guide = try Self.guideBlocks()
        try #require(guide.count == 4, "the guide's procedure: fetch, refresh, publish, client clean-up: \(guide)")

        // 1. Made ten years ago (notary's 10-year certificate), so it expires `lead` seconds from
        //    now. root.json and targets.json last 11 years: the notary client re-signs root.json
        //    with the root key whenever it publishes within 6 months of root.json's expiry, but
        //    never renews the certificate — the common way a repository ends up with a valid
        //    root.json and an expired certificate. Published and listed while valid.
        try sh("trustvault init --kdf interactive")
        let root = try sh("trustvault key generate --role root | tail -n 1").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try sh("trustvault-online fetch \(gun) \(serverArgs) --out keys --keys-only")
        let lead: TimeInterval = 110
        let made = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 3650 * 86_400 + lead)
        let expiry = made.addingTimeInterval(3650 * 86_400)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        try sh(
            "faketime '\(f.string(from: made))' trustvault repo init \(gun) --root-key \(root) --timestamp-key keys/timestamp.key --snapshot-key keys/snapshot.key --expires root=11y --expires targets=11y --out init"
        )
        try sh("trustvault-online publish init \(serverArgs)")
        // The online side signs a tag with the exported targets key (today: 3 years).
        try sh("notary \(notaryArgs) -d init add \(gun) v1 payload.txt && notary \(notaryArgs) -d init publish \(gun)")
        // A CI team's delegation (made offline today), and CI signs v2 into it with notary.
        try sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ci-key.pem -out ci-cert.pem -days 365 -subj /CN=ci 2>/dev/null")
        try sh("trustvault-online fetch \(gun) \(serverArgs) --out cur0")
        try sh("trustvault delegation add \(gun) targets/releases --cert ci-cert.pem --all-paths --current cur0 --out add")
        try sh("trustvault-online publish add \(serverArgs)")
        try sh(
            "NOTARY_DELEGATION_PASSPHRASE=ci-passphrase notary \(notaryArgs) -d ci key import ci-key.pem --role targets/releases"
                + " && NOTARY_DELEGATION_PASSPHRASE=ci-passphrase notary \(notaryArgs) -d ci add \(gun) v2 payload.txt --roles targets/releases"
                + " && NOTARY_DELEGATION_PASSPHRASE=ci-passphrase notary \(notaryArgs) -d ci publish \(gun)")
        // The long-lived client (~/.notary) trusts this root from now on.
        #expect(Self.tags(try sh("notary \(notaryArgs) list \(gun)")) == ["v1", "v2"])

        // Six months ahead, every reader warns and names the renewal command.
        let before = try sh("trustvault-online fetch \(gun) \(serverArgs) --out before")
        #expect(before.stdout.contains("within 6 months; renew it before then with 'trustvault repo refresh \(gun) --current DIR --out DIR'"), "\(before)")
        let verifyBefore = try sh("trustvault verify before --gun \(gun)")
        #expect(verifyBefore.stdout.contains("the certificate expires on") && verifyBefore.stdout.contains("trustvault repo refresh \(gun)"), "\(verifyBefore)")
        let expiries = try sh("trustvault inspect before --gun \(gun) --expiries")
        #expect(expiries.stdout.contains("root certificate "), "inspect --expiries lists the certificate's end date: \(expiries)")
        // The routine renewal, made now (accepted while the certificate is valid) but held back.
        let renewal = try sh("trustvault repo refresh \(gun) --current before --out renewal --server \(server.url)")
        #expect(renewal.stdout.contains("new certificate"), "\(renewal)")
        #expect(Date() < expiry.addingTimeInterval(-2), "the setup took longer than \(lead) s; raise lead")

        // 2. Time passes: the root certificate and root.json expire.
        while Date() < expiry.addingTimeInterval(3) { usleep(250_000) }
        let oldRefused = try sh("notary \(notaryArgs) list \(gun)", expectOK: false)
        #expect(oldRefused.status != 0 && oldRefused.stdout.contains(Self.clientRefusal), "old-trusting client: \(oldRefused)")
        let freshRefused = try sh("notary \(notaryArgs) -d fresh-before list \(gun)", expectOK: false)
        #expect(freshRefused.status != 0 && freshRefused.stdout.contains(Self.clientRefusal), "fresh client: \(freshRefused)")
        // Plain fetch stays strict and points at --allow-expired; nothing is written.
        let strict = try sh("trustvault-online fetch \(gun) \(serverArgs) --out strict", expectOK: false)
        #expect(strict.status == 1 && strict.errorLines.count == 1 && strict.stderr.contains("--allow-expired"), "\(strict)")
        #expect(!FileManager.default.fileExists(atPath: work.sub("strict")))
        // The routine renewal is refused by the server, and the reason is named.
        let refused = try sh("trustvault-online publish renewal \(serverArgs)", expectOK: false)
        #expect(refused.status == 1 && refused.errorLines.count == 1, "\(refused)")
        #expect(refused.stderr.contains("INVALID_UPDATE") && refused.stderr.contains("notary-server cannot load the root it stores"), "\(refused)")
        #expect(refused.stderr.contains("--replace-expired-root"), "\(refused)")

        // 3. The guide's procedure, as written. Step 1: fetch with --allow-expired (a warning per problem).
        let fetched = try runGuideBlock(guide[0])
        #expect(fetched.stdout.contains("warning: root.json: root key") && fetched.stdout.contains("the certificate expired on"), "\(fetched)")
        // verify names the problem and the way out.
        let verify = try sh("trustvault verify current --gun \(gun)", expectOK: false)
        #expect(verify.status == 1 && verify.errorLines.count == 1 && verify.stderr.contains("the certificate expired on"), "\(verify)")
        #expect(verify.stderr.contains("--replace-expired-root"), "\(verify)")
        // A plain refresh now is refused (the server would refuse it): one error, nothing written, vault unchanged.
        let vaultBefore = treeFingerprint(work.sub("vault"), excluding: [".lock"])
        let plain = try sh("trustvault repo refresh \(gun) --current current --out plain", expectOK: false)
        #expect(plain.status == 64 && plain.errorLines.count == 1 && plain.stderr.contains("--replace-expired-root"), "\(plain)")
        #expect(!FileManager.default.fileExists(atPath: work.sub("plain")))
        // So is every other ceremony's change (the server would refuse it just the same).
        let rotate = try sh("trustvault repo rotate \(gun) targets --current current --out rotated", expectOK: false)
        #expect(rotate.status == 64 && rotate.errorLines.count == 1 && rotate.stderr.contains("--replace-expired-root"), "\(rotate)")
        #expect(!FileManager.default.fileExists(atPath: work.sub("rotated")))
        #expect(treeFingerprint(work.sub("vault"), excluding: [".lock"]) == vaultBefore)
        // Step 2: the replacement, offline.
        let replaced = try runGuideBlock(guide[1])
        #expect(replaced.stdout.contains("--replace-trust-data") && replaced.stdout.contains("new certificate"), "\(replaced)")
        let rootV1 = try String(contentsOfFile: work.sub("replacement/tuf/\(gun)/metadata/root.json"), encoding: .utf8)
        #expect(rootV1.contains(#""version":1"#), "\(rootV1)")
        // The delegation is carried over byte for byte (CI's signature still holds).
        #expect(
            FileManager.default.contents(atPath: work.sub("replacement/tuf/\(gun)/metadata/targets/releases.json"))
                == FileManager.default.contents(atPath: work.sub("current/targets/releases.json")))
        // Without a terminal, --replace-trust-data needs --yes; nothing changes on the server.
        let unconfirmed = try sh("trustvault-online publish replacement \(serverArgs) --replace-trust-data </dev/null", expectOK: false)
        #expect(unconfirmed.status == 64 && unconfirmed.errorLines.count == 1 && unconfirmed.stderr.contains("--yes"), "\(unconfirmed)")
        // Step 3: replace the trust data.
        let published = try runGuideBlock(guide[2])
        #expect(published.stdout.contains("replacing its trust data") && published.stdout.contains("the server serves exactly these bytes"), "\(published)")

        // 4. A fresh client lists the tag; the old-trusting client still fails on its cached root…
        #expect(Self.tags(try sh("notary \(notaryArgs) -d fresh-after list \(gun)")) == ["v1", "v2"])
        let stillOld = try sh("notary \(notaryArgs) list \(gun)", expectOK: false)
        #expect(stillOld.status != 0 && stillOld.stdout.contains(Self.clientRefusal), "old-trusting client after the replacement: \(stillOld)")
        // …until it removes its cached trust data (the guide's client step); then it lists the tag.
        let cleaned = try runGuideBlock(guide[3])
        #expect(Self.tags(cleaned) == ["v1", "v2"], "\(cleaned)")

        // The repository verifies again, strictly; a second replacement is refused (the certificate is valid).
        try sh("trustvault-online fetch \(gun) \(serverArgs) --out after")
        try sh("trustvault verify after --gun \(gun)")
        let again = try sh("trustvault repo refresh \(gun) --current after --out again --replace-expired-root", expectOK: false)
        #expect(again.status == 64 && again.errorLines.count == 1 && again.stderr.contains("without --replace-expired-root"), "\(again)")
        // Publishing the replacement again is refused before anything is deleted: the server's certificate is valid now.
        let twice = try sh("trustvault-online publish replacement \(serverArgs) --replace-trust-data --yes", expectOK: false)
        #expect(twice.status == 1 && twice.errorLines.count == 1 && twice.stderr.contains("nothing was deleted"), "\(twice)")
        #expect(Self.tags(try sh("notary \(notaryArgs) list \(gun)")) == ["v1", "v2"])
    }
}
