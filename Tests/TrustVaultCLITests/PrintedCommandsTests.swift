import Foundation
import Testing
import TestSupport

/// The online commands a ceremony prints carry the server and CA file the user named, so that
/// they run as printed on the online machine.
@Suite("Printed online commands")
struct PrintedCommandsTests {
    @Test func publishLineCarriesServerAndTLSCACert() throws {
        let v = try CLIVault()
        let root = try v.generate("root")
        try ServerKeyFile.write(at: v.dir.sub("timestamp.key"))  // as notary-server serves it
        let made = try Run.program(
            TrustVaultCLI.binary,
            [
                "--vault", v.path, "repo", "init", "example.com/printed", "--root-key", root, "--timestamp-key", "timestamp.key",
                "--out", "out dir", "--server", "https://notary.example.com:4443", "--tlscacert", "ca files/notary ca.pem",
            ],
            environment: CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"]) { $1 }, directory: v.dir.path)
        #expect(made.status == 0, "\(made)")
        // Without --snapshot-key the vault made the snapshot key: a new repository goes up with notary publish.
        #expect(
            made.stdout.contains("notary -s https://notary.example.com:4443 --tlscacert 'ca files/notary ca.pem' -d 'out dir' publish example.com/printed"),
            "\(made)")
    }
}
