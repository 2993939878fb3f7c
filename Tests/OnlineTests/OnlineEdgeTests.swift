import Foundation
import Testing
import TestSupport

/// trustvault-online's edge is CLISupport's, as the offline CLI's: one `error:` line, escaped,
/// and the README's exit statuses. No server is needed: each case fails before a connection.
@Suite("trustvault-online: escaped output and the shared exit statuses")
struct OnlineEdgeTests {
    let cli = OnlineCLI()

    @Test func errorLinesAreEscapedLikeEveryOtherLine() throws {
        let work = TemporaryDirectory("online-edge")
        let hostile = "fragment\u{1b}[2J\u{202e}"
        let r = try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online", ["publish", hostile, "--server", "https://127.0.0.1:9"],
            environment: ["DOCKER_CONFIG": work.path], directory: work.path)
        #expect(r.status != 0, "\(r)")
        #expect(r.errorLines.count == 1, "exactly one error line: \(r.stderr)")
        #expect(!r.stderr.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\u{202e}" }, "raw control characters on stderr: \(r.stderr.debugDescription)")
        #expect(r.stderr.contains("fragment\\u001b[2J\\u202e"), "\(r.stderr)")
    }

    @Test func usageErrorsAre64WithAHint() throws {
        let r = try cli.run(["fetch", "docker.io/acme/app", "--out", "out"])
        #expect(r.status == 64, "\(r)")
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--server"), "\(r.stderr)")
        #expect(r.stderr.contains("hint: add --help to the command for its usage"), "\(r.stderr)")
    }
}
