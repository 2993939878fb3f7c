import Foundation
import Testing
import TestSupport

/// `trustvault card …` and card keys, end to end: the real binary, the real pcscd, our emulator
/// behind vpcd, and yubico-piv-tool as an independent check.
@Suite("trustvault CLI: PIV cards", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun))
struct CardCLITests {
    static let serial: UInt32 = 20_261_122
    static let newValues = [
        "TRUSTVAULT_NEW_PIN": "24681357",
        "TRUSTVAULT_NEW_PUK": "97531864",
        "TRUSTVAULT_NEW_MANAGEMENT_KEY": "0F0E0D0C0B0A090807060504030201000F0E0D0C0B0A0908",
    ]
    static let setUp = [
        "TRUSTVAULT_PIN": "24681357",
        "TRUSTVAULT_MANAGEMENT_KEY": "0F0E0D0C0B0A090807060504030201000F0E0D0C0B0A0908",
    ]

    func setup(_ v: CLIVault, serial: UInt32 = CardCLITests.serial) throws {
        let r = try v.run(["card", "setup", "--serial", String(serial)], env: Self.newValues)
        #expect(r.status == 0, "\(r)")
    }

    func pivTool(_ h: PCSCHarness, _ args: [String], slot: Int = 0) throws -> ProcessResult {
        let tool = try requireTool("yubico-piv-tool", package: "yubico-piv-tool")
        return try Run.program(tool, ["-r", h.readerName(slot: slot)] + args)
    }

    @Test func listAndStatus() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial, 5_550_001]) { h in
            let list = try v.run(["card", "list", "--json"])
            #expect(list.status == 0, "\(list)")
            #expect(list.stdout.contains("{\"reader\":\"\(h.readerName(slot: 0))\",\"serial\":\"\(Self.serial)\",\"version\":\"5.4.3\"}"), "\(list.stdout)")
            #expect(list.stdout.contains("\"serial\":\"5550001\""))
            let table = try v.run(["card", "list"])
            #expect(table.stdout.contains("SERIAL") && table.stdout.contains(String(Self.serial)))
            let status = try v.run(["card", "status", "--serial", String(Self.serial)])
            #expect(status.status == 0, "\(status)")
            #expect(status.stdout.contains("PIN:             3 tries left of 3, FACTORY DEFAULT"))
            #expect(status.stdout.contains("Management key:  3DES, FACTORY DEFAULT"))
            #expect(status.stdout.contains("Slot 9c:         empty"))
            // Two cards and no --serial: ask which one.
            expectFailure(try v.run(["card", "status"]), status: 64, mentioning: "--serial")
            expectFailure(try v.run(["card", "status", "--serial", "42"]), status: 66, mentioning: "42")
        }
    }

    @Test func noDaemonIsServiceUnavailable() throws {
        let v = try CLIVault()
        let r = try v.run(["card", "list"], env: ["PCSCLITE_CSOCK_NAME": v.dir.sub("no-such-socket")])
        expectFailure(r, status: 69, mentioning: "pcscd")
        #expect(r.stderr.contains("hint:"))
    }

    @Test func setupReplacesFactoryValues() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            // Factory card: key generation is refused without --allow-default-pin.
            let before = v.fingerprint()
            expectFailure(
                try v.run(
                    ["key", "generate", "--role", "root", "--card", String(Self.serial)],
                    env: ["TRUSTVAULT_MANAGEMENT_KEY": "010203040506070801020304050607080102030405060708"]),
                status: 1, mentioning: "factory", vault: v, before: before)
            // A factory value as the new PIN is refused before anything changes.
            var weak = Self.newValues
            weak["TRUSTVAULT_NEW_PIN"] = "123456"
            expectFailure(try v.run(["card", "setup", "--serial", String(Self.serial)], env: weak), status: 1, mentioning: "factory PIN")
            try setup(v)
            let status = try v.run(["card", "status"])
            #expect(!status.stdout.contains("FACTORY DEFAULT"), "\(status.stdout)")
            // yubico-piv-tool agrees: the new PIN works, the factory PIN does not.
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "24681357"]).status == 0)
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "123456"]).status != 0)
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "24681357"]).status == 0)
            #expect(try pivTool(h, ["-k0F0E0D0C0B0A090807060504030201000F0E0D0C0B0A0908", "-a", "generate", "-s", "9e", "-A", "ECCP256"]).status == 0)

            // A random management key is printed once and works.
            var env = Self.newValues
            env["TRUSTVAULT_PIN"] = "24681357"
            env["TRUSTVAULT_PUK"] = "97531864"
            env["TRUSTVAULT_NEW_PIN"] = "11223344"
            env["TRUSTVAULT_NEW_PUK"] = "55667788"
            env["TRUSTVAULT_MANAGEMENT_KEY"] = Self.newValues["TRUSTVAULT_NEW_MANAGEMENT_KEY"]
            env["TRUSTVAULT_NEW_MANAGEMENT_KEY"] = nil
            let random = try v.run(["card", "setup", "--serial", String(Self.serial), "--random-management-key"], env: env)
            #expect(random.status == 0, "\(random)")
            let line = try #require(random.stdout.split(separator: "\n").first { $0.contains("New management key") })
            let key = String(line.split(separator: " ").last ?? "")
            #expect(key.count == 48)
            #expect(try pivTool(h, ["-k" + key, "-a", "generate", "-s", "9a", "-A", "ECCP256"]).status == 0)

            // Switch to an AES-256 management key; trustvault then authenticates with AES.
            var aes = env
            aes["TRUSTVAULT_PIN"] = "11223344"
            aes["TRUSTVAULT_PUK"] = "55667788"
            aes["TRUSTVAULT_NEW_PIN"] = "24681357"
            aes["TRUSTVAULT_NEW_PUK"] = "97531864"
            aes["TRUSTVAULT_MANAGEMENT_KEY"] = key
            aes["TRUSTVAULT_NEW_MANAGEMENT_KEY"] = String(repeating: "5A", count: 32)
            let toAES = try v.run(["card", "setup", "--serial", String(Self.serial), "--management-key-algorithm", "aes256"], env: aes)
            #expect(toAES.status == 0, "\(toAES)")
            #expect(try v.run(["card", "status"]).stdout.contains("Management key:  AES-256"))
            let gen = try v.run(
                ["key", "generate", "--role", "root", "--card", String(Self.serial)],
                env: ["TRUSTVAULT_MANAGEMENT_KEY": String(repeating: "5A", count: 32), "TRUSTVAULT_PIN": "24681357"])
            #expect(gen.status == 0, "\(gen)")
        }
    }

    @Test func rootKeyGeneratedOnCardAndListed() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            try setup(v)
            let gen = try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial)], env: Self.setUp)
            #expect(gen.status == 0, "\(gen)")
            let id = gen.lastLine
            #expect(id.count == 64)
            let list = try v.run(["key", "list", "--json"])
            #expect(list.stdout.contains("\"id\":\"\(id)\""))
            #expect(list.stdout.contains("\"location\":\"card:\(Self.serial)/9c\""), "\(list.stdout)")
            let table = try v.run(["key", "list"])
            #expect(table.stdout.contains("card:\(Self.serial)/9c"))
            // The slot is occupied now: a second generation there is refused, the vault unchanged.
            let before = v.fingerprint()
            expectFailure(
                try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial)], env: Self.setUp),
                status: 73, mentioning: "already holds", vault: v, before: before)
            // Another slot works; card status shows both key IDs.
            let second = try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial), "--slot", "9a"], env: Self.setUp)
            #expect(second.status == 0, "\(second)")
            let status = try v.run(["card", "status"])
            #expect(status.stdout.contains(id) && status.stdout.contains(second.lastLine))
            // The key PIN policy is "once": yubico-piv-tool signs with one VERIFY.
            let dir = v.dir.sub("certs")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            #expect(try v.run(["key", "export", id, "--out", dir + "/pub.pem", "--format", "public"]).status == 0)
        }
    }

    @Test func wrongPINReportsTriesLeftAndNeverBlocks() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            try setup(v)
            let wrong = ["TRUSTVAULT_PIN": "99999999"]
            let first = try v.run(["card", "verify-pin"], env: wrong)
            expectFailure(first, status: 77, mentioning: "2 tries left")
            let second = try v.run(["card", "verify-pin"], env: wrong)
            expectFailure(second, status: 77, mentioning: "1 try left")
            let third = try v.run(["card", "verify-pin"], env: wrong)
            expectFailure(third, status: 1, mentioning: "one PIN try left")
            #expect(third.stderr.contains("--force"))
            #expect(try pivTool(h, ["-a", "status"]).stdout.contains("PIN tries left:\t1"), "never blocked")
            let right = try v.run(["card", "verify-pin", "--force"], env: ["TRUSTVAULT_PIN": "24681357"])
            #expect(right.status == 0, "\(right)")
            #expect(try v.run(["card", "status"]).stdout.contains("PIN:             3 tries left"))
        }
    }

    @Test func cardPulledMidCommandIsAClearError() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            try setup(v)
            // The card disappears when the GENERATE command reaches it.
            h.stopCard(slot: 0)
            try h.startCard(slot: 0, serial: Self.serial, extraArguments: ["--drop-on-ins", "47"])
            let before = v.fingerprint()
            let r = try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial)], env: Self.setUp)
            expectFailure(r, status: 69, mentioning: "removed", vault: v, before: before)
            #expect(r.stderr.contains("hint: insert the card again"))
        }
    }

    @Test func vaultKeyCopiedToCard() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            try setup(v)
            let id = try v.generate("targets", gun: "example.com/app")
            var env = CLIVault.env
            env.merge(Self.setUp) { $1 }
            let copy = try v.run(["key", "copy-to-card", id, "--card", String(Self.serial), "--slot", "9d"], env: env)
            #expect(copy.status == 0, "\(copy)")
            #expect(copy.lastLine == id)
            let status = try v.run(["card", "status"])
            #expect(status.stdout.contains("Slot 9d:         P-256 key \(id), PIN once, imported"), "\(status.stdout)")
            // Copying again is a no-op; a different key into the same slot is refused.
            #expect(try v.run(["key", "copy-to-card", id, "--card", String(Self.serial), "--slot", "9d"], env: env).status == 0)
            let other = try v.generate("targets", gun: "example.com/other")
            expectFailure(
                try v.run(["key", "copy-to-card", other, "--card", String(Self.serial), "--slot", "9d"], env: env),
                status: 73, mentioning: "another key")
            // A wrong management key is reported as such.
            var badKey = env
            badKey["TRUSTVAULT_MANAGEMENT_KEY"] = "1111111111111111111111111111111111111111111111111"
            expectFailure(try v.run(["key", "copy-to-card", other, "--card", String(Self.serial)], env: badKey), status: 64)
            badKey["TRUSTVAULT_MANAGEMENT_KEY"] = "111111111111111111111111111111111111111111111111"
            expectFailure(
                try v.run(["key", "copy-to-card", other, "--card", String(Self.serial)], env: badKey),
                status: 77, mentioning: "wrong management key")
        }
    }

    @Test func badCardInputsAreRefusedWithoutChanges() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial]) { h in
            let before = v.fingerprint()
            expectFailure(
                try v.run(["key", "generate", "--role", "root", "--card", "not-a-serial"]), status: 64, mentioning: "serial", vault: v, before: before)
            expectFailure(
                try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial), "--slot", "zz"], env: Self.setUp),
                status: 64, mentioning: "slot", vault: v, before: before)
            expectFailure(
                try v.run(["key", "generate", "--role", "root", "--card", String(Self.serial), "--algorithm", "rsa"], env: Self.setUp),
                status: 65, mentioning: "P-256", vault: v, before: before)
            expectFailure(try v.run(["key", "generate", "--role", "root", "--slot", "9c"]), status: 64, mentioning: "--card", vault: v, before: before)
            var short = Self.newValues
            short["TRUSTVAULT_NEW_PIN"] = "12345"
            expectFailure(try v.run(["card", "setup", "--serial", String(Self.serial)], env: short), status: 64, mentioning: "6 to 8")
            var notHex = Self.newValues
            notHex["TRUSTVAULT_NEW_MANAGEMENT_KEY"] = String(repeating: "zz", count: 24)
            expectFailure(try v.run(["card", "setup", "--serial", String(Self.serial)], env: notHex), status: 64, mentioning: "hex")
            // Nothing above touched the card: it still has every factory value and all tries.
            let status = try v.run(["card", "status"])
            #expect(status.stdout.contains("PIN:             3 tries left of 3, FACTORY DEFAULT"), "\(status)")
            #expect(status.stdout.contains("Management key:  3DES, FACTORY DEFAULT"))
            // An Ed25519 vault key cannot go onto a PIV card.
            let ed = try v.generate("alice", algorithm: "ed25519")
            var env = CLIVault.env
            env.merge(Self.setUp) { $1 }
            expectFailure(try v.run(["key", "copy-to-card", ed, "--card", String(Self.serial)], env: env), status: 65, mentioning: "P-256")
            _ = h
        }
    }

    @Test func ed25519KeyOnAFirmware57Card() throws {
        let v = try CLIVault()
        try PCSCHarness.with(serials: [Self.serial], emulatorArguments: ["--version", "5.7.1"]) { h in
            let status = try v.run(["card", "status"])
            #expect(status.stdout.contains("Firmware:        5.7.1") && status.stdout.contains("Management key:  AES-192, FACTORY DEFAULT"), "\(status)")
            let gen = try v.run(
                [
                    "key", "generate", "--role", "targets/releases", "--card", String(Self.serial), "--algorithm", "ed25519",
                    "--allow-default-pin",
                ], env: [:])
            #expect(gen.status == 0, "\(gen)")
            let list = try v.run(["key", "list", "--json"])
            #expect(list.stdout.contains("\"algorithm\":\"ed25519\""), "\(list.stdout)")
            let status2 = try v.run(["card", "status"])
            #expect(status2.stdout.contains("Slot 9c:         Ed25519 key \(gen.lastLine)"))
            // Its slot certificate (Ed25519, signed on the card) is there for the standard tools.
            #expect(status2.stdout.contains("certificate CN=targets/releases"), "\(status2.stdout)")
            let cert = try Run.program(
                try requireTool("yubico-piv-tool", package: "yubico-piv-tool"),
                ["-r", h.readerName(slot: 0), "-a", "read-certificate", "-s", "9c"])
            #expect(cert.status == 0, "\(cert)")
            let file = v.dir.sub("ed.pem")
            try cert.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            let openssl = try requireTool("openssl", package: "openssl")
            let text = try Run.program(openssl, ["x509", "-in", file, "-noout", "-text"])
            #expect(text.stdout.contains("ED25519"), "\(text.stdout)")
            // Self-signed by the card key: openssl checks the signature with the certificate's own key.
            let verify = try Run.program(openssl, ["verify", "-no_check_time", "-check_ss_sig", "-partial_chain", "-CAfile", file, file])
            #expect(verify.status == 0, "\(verify)")
        }
    }
}
