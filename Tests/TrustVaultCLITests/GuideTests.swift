import Foundation
import Testing
import TestSupport

/// Every guide in `docs/` — every page with a ```sh block but the two developer pages — and the
/// README's walk-through run as written (see `GuideRunner` for the convention): relative paths,
/// prompts answered at a terminal, against a real notary-server with token auth (https, its CA set
/// up on the online machine as its operator would), the real notary client and docker; a page
/// that makes a key on a card runs with the emulated card behind the real pcscd.
@Suite("Guides run as written", .tags(.interop), .interop, .enabled(if: notaryPeers))
struct GuideTests {
    /// Developer pages: their commands build and measure the source tree (CI runs those scripts).
    static let developerPages: Set<String> = ["benchmarks.md", "hostile-input-testing.md"]

    /// Pages that start from a state no guide can make in minutes; their own suites make that
    /// state and then run the page's blocks with the same runner.
    static let runElsewhere: [String: String] = [
        "guide-expired-root-certificate.md": "ExpiredRootCertificateTests (a repository whose root certificate expired)",
        "guide-tuf-on-ci-signing-event.md": "TUFOnCISignEventTests (a tuf-on-ci repository with an event branch, made by tuf-on-ci-sign)",
    ]

    static let pages: [String] = {
        let docs = TokenIssuer.packageRoot + "/docs"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: docs)) ?? []
        return names.filter { name in
            name.hasSuffix(".md") && !developerPages.contains(name) && runElsewhere[name] == nil
                && ((try? String(contentsOfFile: docs + "/" + name, encoding: .utf8))?.contains("```sh") ?? false)
        }.sorted()
    }()

    /// The serial the guides use for a card (`--card 12345678`).
    static let cardSerial: UInt32 = 12_345_678

    @Test(arguments: pages) func guideRunsAsWritten(_ page: String) throws {
        let text = try String(contentsOfFile: TokenIssuer.packageRoot + "/docs/" + page, encoding: .utf8)
        if text.contains("--card \(Self.cardSerial)") || text.contains("--serial \(Self.cardSerial)") {
            guard PCSCHarness.shouldRun else { throw TestFailure("\(page) uses a card: pcscd and vsmartcard-vpcd are required") }
            try PCSCHarness.with(serials: [Self.cardSerial]) { _ in try run(page) }
        } else {
            try run(page)
        }
    }

    /// The README's five-minute walk-through (its set-up commands are the README's own).
    @Test func readmeWalkThrough() throws {
        let folder = TemporaryDirectory("guide")
        let result = try GuideRunner(docs: TokenIssuer.packageRoot).run(
            "README.md", section: "A five-minute walk-through", in: folder.path, server: nil, ca: nil)
        #expect(result.status == 0 && result.transcript.contains("::guide finished::"), "README.md: \(result)")
        print("guide README.md walk-through: \(result.commands) commands, exit \(result.status)")
    }

    /// Runs `page` in a fresh folder against a fresh server; fails with the transcript.
    func run(_ page: String) throws {
        let answers = GuideRunner.Answers()
        let issuer = try TokenIssuer.start(accounts: [answers.username: .init(password: answers.password, actions: ["pull", "push", "*"])])
        defer { issuer.stop() }
        let server = try NotaryServer.start(issuer.notaryServerOptions)
        defer { server.stop() }
        let folder = TemporaryDirectory("guide")
        let result = try GuideRunner().run(page, in: folder.path, server: server.url, ca: issuer.caFile)
        #expect(result.status == 0 && result.transcript.contains("::guide finished::"), "\(page): \(result)")
        print("guide \(page): \(result.commands) commands, exit \(result.status)")
    }
}
