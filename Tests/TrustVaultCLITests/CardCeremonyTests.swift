import Foundation
import Testing
import TestSupport

/// Ceremonies signing with a root key that lives on a (emulated) PIV card, published with the
/// real notary client to the real notary-server.
@Suite("Ceremonies with card root keys", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun && notaryPeers), .serialized)
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
            let r = try v.run(
                [
                    "repo", "init", online.gun, "--root-key", root, "--timestamp-key", online.path("timestamp.key"),
                    "--snapshot-key", online.path("snapshot.key"), "--out", online.path("out"), "--server", online.server.url,
                ], env: env)
            #expect(r.status == 0, "\(r)")
            try online.notary("out", ["publish", online.gun])
            try online.notary("out", ["add", online.gun, "v1", try online.payload("v1")])
            try online.notary("out", ["publish", online.gun])
            #expect(try online.freshList() == ["v1"])
            let current = try online.current("current")
            let verify = try TrustVaultCLI.run(["verify", current, "--gun", online.gun])
            #expect(verify.status == 0, "\(verify)")
            let inspect = try TrustVaultCLI.run(["inspect", current, "--gun", online.gun, "--expiries"])
            #expect(inspect.stdout.contains("   \(root)\n"), "\(inspect)")

            // A wrong PIN fails the ceremony cleanly, says how many tries are left, and writes nothing.
            var wrong = env
            wrong["TRUSTVAULT_PIN"] = "99999999"
            let before = v.fingerprint()
            let bad = try v.run(
                [
                    "repo", "init", "example.com/acme/other", "--root-key", root, "--timestamp-key", online.path("timestamp.key"),
                    "--snapshot-key", online.path("snapshot.key"), "--out", online.path("out2"),
                ], env: wrong)
            expectFailure(bad, status: 77, mentioning: "2 tries left", vault: v, before: before)
            #expect(!FileManager.default.fileExists(atPath: online.path("out2") + "/tuf"))
        }
    }

    @Test func rootKeyCopiedToACardSignsARootRotationWithTheSameKeyID() throws {
        let holder = try CLIVault(), newVault = try CLIVault(), backupVault = try CLIVault()
        let root = try holder.generate("root"), newRoot = try newVault.generate("root")
        let serial = "31000002"
        try PCSCHarness.with(serials: [31_000_002]) { h in
            #expect(try holder.run(["card", "setup", "--serial", serial], env: CardCLITests.newValues).status == 0)
            let online = try Online(gun: "example.com/acme/card-backup")
            _ = try online.createRepository(holder, rootKey: root)
            let trustedRoot = try online.current("before") + "/root.json"

            // The vault root key goes onto the card; a second vault records the card copy.
            var env = CLIVault.env
            env.merge(CardCLITests.setUp) { $1 }
            let copy = try holder.run(["key", "copy-to-card", root, "--card", serial], env: env)
            #expect(copy.status == 0, "\(copy)")
            let reg = try backupVault.run(["key", "register-card-key", "--card", serial, "--role", "root"], env: [:])
            #expect(reg.status == 0, "\(reg)")
            #expect(reg.lastLine == root, "the card copy keeps the key ID")
            #expect(try backupVault.run(["key", "list"]).stdout.contains("card:\(serial)/9c"))

            // A root rotation by the new key's holder, countersigned with the card copy of the old key.
            let out = online.path("rotated")
            let r = try newVault.run(
                [
                    "repo", "rotate", online.gun, "root", "--new-key", newRoot, "--remove-key", root,
                    "--current", try online.current("current"), "--out", out,
                ], env: Online.env)
            #expect(r.status == 0, "\(r)")
            let rootFile = out + "/tuf/" + online.gun + "/metadata/root.json"
            let cardLog = h.workDirectory + "/card-31000002-0.log"
            func commands() throws -> [Substring] {
                try String(contentsOfFile: cardLog, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("C:") }
            }
            let logBefore = try commands().count
            let started = Date()
            let sign = try backupVault.run(["root", "sign", rootFile, "--key", root], env: ["TRUSTVAULT_PIN": CardCLITests.setUp["TRUSTVAULT_PIN"]!])
            let seconds = Date().timeIntervalSince(started)
            #expect(sign.status == 0, "\(sign)")
            let apdus = try commands().dropFirst(logBefore)
            // After the (last) VERIFY — sent without a trailing Le, and again right before the
            // signature for a PIN-always root key — the signature is one GENERAL AUTHENTICATE.
            let lastVerify = try #require(apdus.lastIndex { $0.hasPrefix("C: 00 20 00 80 (13 bytes) -> 9000") }, "\(apdus)")
            let afterVerify = apdus[apdus.index(after: lastVerify)...]
            #expect(afterVerify.filter { $0.contains(" 87 ") }.count == 1, "\(apdus)")
            print(
                String(
                    format: "card root sign: %d APDUs for the whole command, %d GENERAL AUTHENTICATE, %.0f ms",
                    apdus.count, apdus.filter { $0.hasPrefix("C: 00 87") }.count, seconds * 1000))
            try online.uploadOut(out)
            #expect(try online.freshList() == ["v1"])
            let verify = try TrustVaultCLI.run(["verify", try online.current("after"), "--gun", online.gun, "--root", trustedRoot])
            #expect(verify.status == 0, "\(verify)")
        }
    }

    @Test func factoryPINCardNeedsAllowDefaultPINInCeremonies() throws {
        let v = try CLIVault()
        let serial = "31000003"
        try PCSCHarness.with(serials: [31_000_003]) { _ in
            // A factory card: the key is made with --allow-default-pin (factory management key).
            let gen = try v.run(["key", "generate", "--role", "root", "--card", serial, "--allow-default-pin"], env: [:])
            #expect(gen.status == 0, "\(gen)")
            let online = try Online(gun: "example.com/acme/factory-card")
            try online.server.fetchKey(gun: online.gun, role: "timestamp", to: online.path("timestamp.key"))
            let args = [
                "repo", "init", online.gun, "--root-key", gen.lastLine, "--timestamp-key", online.path("timestamp.key"),
                "--out", online.path("out"),
            ]
            var env = Online.env
            env["TRUSTVAULT_PIN"] = "123456"
            let before = v.fingerprint()
            let refused = try v.run(args, env: env)
            expectFailure(refused, status: 1, mentioning: "factory PIN", vault: v, before: before)
            #expect(refused.stderr.contains("--allow-default-pin"))
            let allowed = try v.run(args + ["--allow-default-pin"], env: env)
            #expect(allowed.status == 0, "\(allowed)")
        }
    }
}
