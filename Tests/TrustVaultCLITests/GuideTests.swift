import Foundation
import Testing
import TestSupport

/// Every guide in `docs/` runs as written (see `GuideRunner` for the convention): relative
/// paths, prompts answered at a terminal, against a real notary-server with token auth (https,
/// its CA set up on the online machine as its operator would), the real notary client and docker.
@Suite("Guides run as written", .enabled(if: notaryPeers))
struct GuideTests {
    /// Runs `guide` in a fresh folder against a fresh server; fails with the transcript.
    func run(_ guide: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let issuer = try TokenIssuer.start(accounts: [
            GuideRunner.Answers().username: .init(password: GuideRunner.Answers().password, actions: ["pull", "push", "*"])
        ])
        defer { issuer.stop() }
        let server = try NotaryServer.start(issuer.notaryServerOptions)
        defer { server.stop() }
        let folder = TemporaryDirectory("guide")
        let result = try GuideRunner().run(guide, in: folder.path, server: server.url, ca: issuer.caFile)
        try? result.transcript.write(toFile: FileManager.default.temporaryDirectory.path + "/last-guide-\(guide).log", atomically: true, encoding: .utf8)
        #expect(result.status == 0 && result.transcript.contains("::guide finished::"), "\(guide): \(result)", sourceLocation: sourceLocation)
        print("guide \(guide): \(result.commands) commands, exit \(result.status)")
    }

    @Test func createRepository() throws { try run("guide-create-repository.md") }
    @Test func addCISigner() throws { try run("guide-add-ci-signer.md") }
    @Test func clientBundle() throws { try run("guide-client-bundle.md") }
    @Test func dockerTrustKeys() throws { try run("guide-docker-trust-keys.md") }
    @Test func recoverLostRepositoryKey() throws { try run("guide-recover-lost-repository-key.md") }
    @Test func rotateRootKey() throws { try run("guide-rotate-root-key.md") }
    @Test func thresholdRoot() throws { try run("guide-threshold-root.md") }
    @Test func checkRepository() throws { try run("guide-check-repository.md") }
    @Test func onlineHandOff() throws { try run("guide-online-hand-off.md") }

    /// The README's five-minute walk-through.
    @Test func readmeWalkThrough() throws {
        let folder = TemporaryDirectory("guide")
        let result = try GuideRunner(docs: TokenIssuer.packageRoot).run("README.md", section: "A five-minute walk-through", in: folder.path, server: nil, ca: nil)
        #expect(result.status == 0 && result.transcript.contains("::guide finished::"), "README.md: \(result)")
    }

    /// Carol's key is made on an emulated PIV card (serial 12345678) behind the real pcscd.
    @Test(.enabled(if: PCSCHarness.shouldRun)) func tufOfflineRoot() throws {
        try PCSCHarness.with(serials: [12_345_678]) { _ in try run("guide-tuf-offline-root.md") }
    }
}
