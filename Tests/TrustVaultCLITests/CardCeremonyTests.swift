import Foundation
import Testing
import TestSupport

/// Ceremonies signing with a root key that lives on a (emulated) PIV card, published with the
/// real notary client to the real notary-server.
@Suite("Ceremonies with card root keys", .enabled(if: PCSCHarness.shouldRun && notaryPeers), .serialized)
struct CardCeremonyTests {
    @Test func rootKeyOnCardThenRepoInitPublishAndList() throws {
        let v = try CLIVault()
        let serial = "31000001"
        try PCSCHarness.with(serials: [31_000_001]) { _ in
            let setup = try v.run(["card", "setup", "--serial", serial], env: CardCLITests.newValues)
            #expect(setup.status == 0, "\(setup)")
            let gen = try v.run(["key", "generate", "--role", "root", "--card", serial], env: CardCLITests.setUp)
            #expect(gen.status == 0, "\(gen)")
            let root = gen.lastLine
            let online = try Online(gun: "example.com/acme/card-root")
            // The PIN comes from TRUSTVAULT_PIN; no management key is needed to sign.
            var env = Online.env
            env["TRUSTVAULT_PIN"] = CardCLITests.setUp["TRUSTVAULT_PIN"]
            try online.server.fetchKey(gun: online.gun, role: "timestamp", to: online.path("timestamp.key"))
            try online.server.fetchKey(gun: online.gun, role: "snapshot", to: online.path("snapshot.key"))
            let r = try v.run(["repo", "init", online.gun, "--root-key", root, "--timestamp-key", online.path("timestamp.key"),
                               "--snapshot-key", online.path("snapshot.key"), "--out", online.path("out"), "--server", online.server.url], env: env)
            #expect(r.status == 0, "\(r)")
            try online.notary("out", ["publish", online.gun])
            try online.notary("out", ["add", online.gun, "v1", try online.payload("v1")])
            try online.notary("out", ["publish", online.gun])
            #expect(try online.freshList() == ["v1"])
            let current = try online.current("current")
            let verify = try TrustVaultCLI.run(["verify", current, "--gun", online.gun])
            #expect(verify.status == 0, "\(verify)")
            let inspect = try TrustVaultCLI.run(["inspect", current, "--gun", online.gun])
            #expect(inspect.stdout.contains("Root Key:\t\(root)"), "\(inspect)")

            // A wrong PIN fails the ceremony cleanly, says how many tries are left, and writes nothing.
            var wrong = env
            wrong["TRUSTVAULT_PIN"] = "99999999"
            let before = v.fingerprint()
            let bad = try v.run(["repo", "init", "example.com/acme/other", "--root-key", root, "--timestamp-key", online.path("timestamp.key"),
                                 "--snapshot-key", online.path("snapshot.key"), "--out", online.path("out2")], env: wrong)
            expectFailure(bad, status: 77, mentioning: "2 tries left", vault: v, before: before)
            #expect(!FileManager.default.fileExists(atPath: online.path("out2") + "/tuf"))
        }
    }
}
