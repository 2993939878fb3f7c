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
        // A server timestamp key (notary's public-key JSON), made from a vault key's public part.
        let ts = try v.generate("targets", gun: "example.com/printed-ts")
        let pem = v.dir.sub("ts.pem")
        #expect(try v.run(["key", "export", ts, "--out", pem, "--format", "public"]).status == 0)
        let der = try #require(Data(base64Encoded: try String(contentsOfFile: pem, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
        try #"{"keytype":"ecdsa","keyval":{"private":null,"public":"\#(der.base64EncodedString())"}}"#
            .write(toFile: v.dir.sub("timestamp.key"), atomically: true, encoding: .utf8)
        let made = try Run.program(
            TrustVaultCLI.binary,
            ["--vault", v.path, "repo", "init", "example.com/printed", "--root-key", root, "--timestamp-key", "timestamp.key",
             "--out", "out dir", "--server", "https://notary.example.com:4443", "--tlscacert", "ca files/notary ca.pem"],
            environment: CLIVault.env.merging(["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"]) { $1 }, directory: v.dir.path)
        #expect(made.status == 0, "\(made)")
        // Without --snapshot-key the vault made the snapshot key: a new repository goes up with notary publish.
        #expect(
            made.stdout.contains("notary -s https://notary.example.com:4443 --tlscacert 'ca files/notary ca.pem' -d 'out dir' publish example.com/printed"),
            "\(made)")
    }
}
