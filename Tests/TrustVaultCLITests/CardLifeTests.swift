import Foundation
import Testing
import TestSupport

/// Issue 11 (cards): firmware levels, never overwriting, certificates the standard tools see,
/// PIN economy, the card's life and cards pulled mid-operation. Every test goes through the real
/// pcscd + vpcd with the project's emulator; yubico-piv-tool, OpenSC's pkcs11-tool and ykman
/// check the results independently.
@Suite("trustvault CLI: card life at three firmware levels", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun), .serialized)
struct CardLifeTests {
    static let factory = [
        "TRUSTVAULT_PIN": "123456", "TRUSTVAULT_PUK": "12345678",
        "TRUSTVAULT_MANAGEMENT_KEY": "010203040506070801020304050607080102030405060708",
    ]
    static let mk = "0F0E0D0C0B0A090807060504030201000F0E0D0C0B0A0908"
    static let new = ["TRUSTVAULT_NEW_PIN": "24681357", "TRUSTVAULT_NEW_PUK": "97531864", "TRUSTVAULT_NEW_MANAGEMENT_KEY": mk]
    static let ready = ["TRUSTVAULT_PIN": "24681357", "TRUSTVAULT_PUK": "97531864", "TRUSTVAULT_MANAGEMENT_KEY": mk]

    static func merged(_ a: [String: String], _ b: [String: String]) -> [String: String] { a.merging(b) { $1 } }

    func tool(_ name: String, package: String) throws -> String { try requireTool(name, package: package) }

    func pivTool(_ h: PCSCHarness, _ args: [String]) throws -> ProcessResult {
        try Run.program(try tool("yubico-piv-tool", package: "yubico-piv-tool"), ["-r", h.readerName(slot: 0)] + args)
    }

    /// The SPKI (PEM) of the certificate in `slot`, read by yubico-piv-tool and openssl.
    func certificatePublicKey(_ h: PCSCHarness, slot: String, dir: TemporaryDirectory) throws -> String {
        let read = try pivTool(h, ["-a", "read-certificate", "-s", slot])
        #expect(read.status == 0, "yubico-piv-tool read-certificate \(slot): \(read)")
        let certFile = dir.sub("cert-\(slot)-\(UUID().uuidString.prefix(6)).pem")
        try read.stdout.write(toFile: certFile, atomically: true, encoding: .utf8)
        let pub = try Run.program(try tool("openssl", package: "openssl"), ["x509", "-in", certFile, "-noout", "-pubkey"])
        #expect(pub.status == 0, "\(pub)")
        return pub.stdout
    }

    func exportedPublicKey(_ v: CLIVault, _ id: String) throws -> String {
        let out = v.dir.sub("pub-\(id.prefix(8))-\(UUID().uuidString.prefix(6)).pem")
        let r = try v.run(["key", "export", id, "--out", out, "--format", "public"])
        #expect(r.status == 0, "\(r)")
        let pub = try Run.program(try tool("openssl", package: "openssl"), ["pkey", "-pubin", "-in", out])
        return pub.stdout
    }

    /// A server timestamp key file (notary's public-key JSON) for `repo init`.
    func timestampKeyFile(_ v: CLIVault) throws -> String {
        let ts = try v.generate("targets", gun: "example.com/ts-\(UUID().uuidString.prefix(6))")
        let tsPEM = v.dir.sub("ts-\(ts.prefix(8)).pem")
        #expect(try v.run(["key", "export", ts, "--out", tsPEM, "--format", "public"]).status == 0)
        let der = Data(
            base64Encoded: try String(contentsOfFile: tsPEM, encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())!
        let tsKey = v.dir.sub("timestamp-\(ts.prefix(8)).key")
        try "{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"\(der.base64EncodedString())\"}}"
            .write(toFile: tsKey, atomically: true, encoding: .utf8)
        return tsKey
    }

    // MARK: 1–3: firmware levels, never overwrite, certificates in slots

    @Test(arguments: ["5.2.7", "5.4.3", "5.7.1"])
    func generateNeverOverwritesAndWritesCertificates(version: String) throws {
        let v = try CLIVault(), other = try CLIVault()
        let serial = "4100\(version.replacingOccurrences(of: ".", with: ""))"
        let noMetadata = version == "5.2.7"
        try PCSCHarness.with(serials: [UInt32(serial)!], emulatorArguments: ["--version", version, "--nfc-atr"]) { h in
            // Setup: a 5.2 card cannot say its values are the factory ones, so they must be given.
            if noMetadata {
                let before = try h.tries()
                expectFailure(try v.run(["card", "setup", "--serial", serial], env: Self.new), status: 65, mentioning: "TRUSTVAULT_PIN")
                #expect(try h.tries() == before, "nothing tried when the card cannot say its values are the factory ones")
            }
            let setup = try v.run(["card", "setup", "--serial", serial], env: Self.merged(noMetadata ? Self.factory : [:], Self.new))
            #expect(setup.status == 0, "\(setup)")
            #expect(try h.tries() == (3, 3))

            // Generate: on 5.2 an empty slot cannot be told from a slot with a foreign key.
            var gen = try v.run(["key", "generate", "--role", "root", "--card", serial], env: Self.ready)
            if noMetadata {
                expectFailure(gen, status: 1, mentioning: "--overwrite")
                #expect(try h.tries() == (3, 3))
                gen = try v.run(["key", "generate", "--role", "root", "--card", serial, "--overwrite"], env: Self.ready)
            }
            #expect(gen.status == 0, "\(gen)")
            let id = gen.lastLine
            #expect(gen.stdout.contains("PIN policy always"), "root keys default to PIN always: \(gen.stdout)")

            // A second generate into the occupied slot is refused on every firmware (also with
            // --overwrite: the vault records that key), and costs no PIN try.
            let before = v.fingerprint()
            for extra in [[], ["--overwrite"]] {
                expectFailure(
                    try v.run(["key", "generate", "--role", "root", "--card", serial] + extra, env: Self.ready),
                    status: 73, mentioning: "already holds", vault: v, before: before)
                #expect(try h.tries() == (3, 3))
            }
            // Another vault (no record) is refused too: the slot's certificate says it is taken.
            let otherGen = try other.run(["key", "generate", "--role", "root", "--card", serial, "--slot", "9c"], env: Self.ready)
            expectFailure(otherGen, status: 73, mentioning: "already holds")

            // The certificate is in the slot, for the same key, and the standard tools see it.
            let certKey = try certificatePublicKey(h, slot: "9c", dir: v.dir)
            let keyPEM = try exportedPublicKey(v, id)
            #expect(!certKey.isEmpty && certKey == keyPEM, "certificate matches the key")
            let status = try pivTool(h, ["-a", "status"])
            #expect(status.stdout.contains("Slot 9c:") && status.stdout.contains("CN=root"), "\(status.stdout)")
            if let module = PCSCHarness.openscModule, let p11 = PCSCHarness.which("pkcs11-tool") {
                // Logged in (the right PIN costs no try), so the private key object is listed too.
                let objects = try Run.program(p11, ["--module", module, "--login", "--pin", "24681357", "--list-objects"])
                #expect(objects.stdout.contains("Private Key Object") && objects.stdout.contains("Public Key Object"), "\(objects)")
                #expect(objects.stdout.contains("X.509 cert"), "\(objects.stdout)")
            } else if runningInCI {
                Issue.record("OpenSC pkcs11-tool / opensc-pkcs11.so missing (Debian package opensc)")
            }
            if let ykman = PCSCHarness.ykmanPath {
                let info = try Run.program(ykman, ["--reader", h.readerName(slot: 0), "piv", "info"])
                #expect(info.status == 0, "\(info)")
                #expect(info.stdout.contains("9C") || info.stdout.contains("9c"), "\(info.stdout)")
                #expect(info.stdout.contains("CN=root"), "\(info.stdout)")
            } else if runningInCI {
                Issue.record("ykman missing: run Scripts/install-python-tools.sh")
            }

            // trustvault's own status: origin and policy where the card has metadata.
            let tv = try v.run(["card", "status", "--serial", serial])
            #expect(tv.stdout.contains("Slot 9c:         P-256 key \(id)"), "\(tv.stdout)")
            if !noMetadata { #expect(tv.stdout.contains("PIN always, generated on the card"), "\(tv.stdout)") }

            // register-card-key (another vault) reads the same key ID from the slot.
            let reg = try other.run(["key", "register-card-key", "--card", serial, "--slot", "9c", "--role", "root"])
            #expect(reg.status == 0 && reg.lastLine == id, "\(reg)")

            // copy-to-card into a retired slot: its certificate is written too.
            let vaultKey = try v.generate("targets", gun: "example.com/app")
            let copy = try v.run(
                ["key", "copy-to-card", vaultKey, "--card", serial, "--slot", "82"] + (noMetadata ? ["--overwrite"] : []),
                env: Self.merged(CLIVault.env, Self.ready))
            #expect(copy.status == 0, "\(copy)")
            let cert82 = try certificatePublicKey(h, slot: "82", dir: v.dir)
            let key82 = try exportedPublicKey(v, vaultKey)
            #expect(cert82 == key82)
            #expect(try v.run(["card", "status", "--serial", serial]).stdout.contains("Slot 82:"))
            #expect(try h.tries() == (3, 3))
        }
    }

    // MARK: 4: PIN economy

    @Test func failingCommandsSpendNoPINTry() throws {
        let v = try CLIVault()
        let serial = "42000001"
        try PCSCHarness.with(serials: [42_000_001]) { h in
            #expect(try v.run(["card", "setup", "--serial", serial], env: Self.new).status == 0)
            let gen = try v.run(["key", "generate", "--role", "root", "--card", serial], env: Self.ready)
            #expect(gen.status == 0, "\(gen)")
            let root = gen.lastLine
            let env = Self.merged(Self.merged(CLIVault.env, Self.ready), ["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"])

            let tsKey = try timestampKeyFile(v)

            var failing: [(String, [String], [String: String], Int32)] = [
                (
                    "repo init without the targets passphrase",
                    ["repo", "init", "example.com/b", "--root-key", root, "--timestamp-key", tsKey, "--out", v.dir.sub("out-a")],
                    env.filter { $0.key != "TRUSTVAULT_TARGETS_PASSPHRASE" }, 65
                ),
                ("key generate into an occupied slot", ["key", "generate", "--role", "root", "--card", serial], env, 73),
                (
                    "key generate with a wrong management key", ["key", "generate", "--role", "root", "--card", serial, "--slot", "9a"],
                    Self.merged(env, ["TRUSTVAULT_MANAGEMENT_KEY": String(repeating: "11", count: 24)]), 77
                ),
                (
                    "card setup with a factory new PIN", ["card", "setup", "--serial", serial],
                    Self.merged(Self.merged(env, Self.new), ["TRUSTVAULT_NEW_PIN": "123456"]), 1
                ),
                (
                    "card setup with a new PUK equal to the new PIN", ["card", "setup", "--serial", serial],
                    Self.merged(Self.merged(env, Self.new), ["TRUSTVAULT_NEW_PUK": "24681357"]), 1
                ),
                (
                    "unblock-pin with a new PIN equal to the (wrong) PUK given", ["card", "unblock-pin", "--serial", serial],
                    Self.merged(env, ["TRUSTVAULT_NEW_PIN": "99999998"]), 1
                ),
                (
                    "change-pin with a too short new PIN", ["card", "change-pin", "--serial", serial],
                    Self.merged(env, ["TRUSTVAULT_NEW_PIN": "12345"]), 64
                ),
                (
                    "change-puk with a new PUK equal to the PIN", ["card", "change-puk", "--serial", serial],
                    Self.merged(env, ["TRUSTVAULT_NEW_PUK": "99999999"]), 1
                ),
                ("key generate on a wrong serial", ["key", "generate", "--role", "root", "--card", "42000009", "--slot", "9a"], env, 66),
                (
                    "key generate with a bad --pin-policy",
                    ["key", "generate", "--role", "root", "--card", serial, "--slot", "9a", "--pin-policy", "sometimes"], env, 64
                ),
                (
                    "copy-to-card with a wrong key passphrase",
                    ["key", "copy-to-card", try v.generate("targets", gun: "example.com/c"), "--card", serial, "--slot", "9d"],
                    Self.merged(env, ["TRUSTVAULT_TARGETS_PASSPHRASE": "wrong-passphrase"]), 77
                ),
                ("certificate write for a slot the vault does not know", ["card", "certificate", "write", "--serial", serial, "--slot", "9e"], env, 66),
            ]
            let init1 = try v.run(["repo", "init", "example.com/a", "--root-key", root, "--timestamp-key", tsKey, "--out", v.dir.sub("out-ok")], env: env)
            #expect(init1.status == 0, "\(init1)")
            let rootJSON = v.dir.sub("out-ok") + "/tuf/example.com/a/metadata/root.json"
            let otherRoot = try v.generate("root")
            failing += [
                (
                    "root sign with a key that is not a root key of the file", ["root", "sign", rootJSON, "--key", otherRoot, "--out", v.dir.sub("x.json")],
                    env, 64
                ),
                (
                    "root sign with an --out that cannot be written", ["root", "sign", rootJSON, "--key", root, "--out", v.dir.sub("no/such/dir/r.json")], env,
                    74
                ),
                ("root sign with an --out that exists", ["root", "sign", rootJSON, "--key", root, "--out", rootJSON], env, 73),
                (
                    "repo init into an output that exists",
                    ["repo", "init", "example.com/a", "--root-key", root, "--timestamp-key", tsKey, "--out", v.dir.sub("out-ok")], env, 73
                ),
            ]
            for (what, args, e, status) in failing {
                let before = try h.tries()
                let fp = v.fingerprint()
                // With a wrong PIN (and PUK): had the PIN been sent before the other check, it
                // would have cost a try; the command must fail for its own reason first.
                let r = try v.run(args, env: Self.merged(e, ["TRUSTVAULT_PIN": "99999999", "TRUSTVAULT_PUK": "99999998"]))
                #expect(!r.stderr.contains("wrong PIN") && !r.stderr.contains("wrong PUK"), "\(what): \(r.stderr)")
                #expect(r.status == status, "\(what): \(r)")
                #expect(r.errorLines.count == 1, "\(what): \(r.stderr)")
                #expect(try h.tries() == before, "\(what) spent a PIN or PUK try")
                #expect(v.fingerprint() == fp, "\(what) changed the vault")
            }

            // Setup with a wrong current PIN changes nothing: management key, PIN and PUK stay.
            let wrong = Self.merged(
                Self.merged(Self.ready, ["TRUSTVAULT_PIN": "99999999"]),
                [
                    "TRUSTVAULT_NEW_PIN": "11223344", "TRUSTVAULT_NEW_PUK": "55667788",
                    "TRUSTVAULT_NEW_MANAGEMENT_KEY": String(repeating: "22", count: 24),
                ])
            expectFailure(try v.run(["card", "setup", "--serial", serial], env: wrong), status: 77, mentioning: "nothing was changed")
            #expect(try h.tries() == (2, 3), "only the wrong PIN itself was spent")
            let state = try h.cardState()
            #expect((state["managementKey"] as? [Int]) == Array(Data(hexString: Self.mk)).map(Int.init), "management key unchanged")
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "24681357"]).status == 0, "old PIN still valid")
            // A wrong PUK: the PIN is verified first (good), the PUK costs its own try, nothing changes.
            let wrongPUK = Self.merged(wrong, ["TRUSTVAULT_PIN": "24681357", "TRUSTVAULT_PUK": "00000000"])
            expectFailure(try v.run(["card", "setup", "--serial", serial], env: wrongPUK), status: 77, mentioning: "nothing was changed")
            #expect(try h.tries() == (3, 2))
            let mkAfter = try h.cardState()["managementKey"] as? [Int]
            #expect(mkAfter == Array(Data(hexString: Self.mk)).map(Int.init))
        }
    }

    // MARK: 5: card life

    @Test func changeUnblockResetPoliciesAndAttestation() throws {
        let v = try CLIVault()
        let serial = "43000001"
        try PCSCHarness.with(serials: [43_000_001], emulatorArguments: ["--version", "5.7.1"]) { h in
            #expect(try v.run(["card", "setup", "--serial", serial], env: Self.new).status == 0)
            // change-pin / change-puk; yubico-piv-tool agrees.
            var r = try v.run(["card", "change-pin", "--serial", serial], env: Self.merged(Self.ready, ["TRUSTVAULT_NEW_PIN": "11223344"]))
            #expect(r.status == 0, "\(r)")
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "11223344"]).status == 0)
            expectFailure(
                try v.run(
                    ["card", "change-puk", "--serial", serial],
                    env: Self.merged(Self.ready, ["TRUSTVAULT_PIN": "11223344", "TRUSTVAULT_NEW_PUK": "11223344"])),
                status: 1, mentioning: "equals the PIN")
            r = try v.run(["card", "change-puk", "--serial", serial], env: Self.merged(Self.ready, ["TRUSTVAULT_NEW_PUK": "55667788"]))
            #expect(r.status == 0, "\(r)")
            // Block the PIN with yubico-piv-tool, then unblock with the PUK.
            for _ in 0..<3 { _ = try pivTool(h, ["-a", "verify-pin", "-P", "00000000"]) }
            #expect(try h.tries().pin == 0)
            let st = try v.run(["card", "status", "--serial", serial])
            #expect(st.stdout.contains("PIN:             BLOCKED (0 of 3 tries left)"), "\(st.stdout)")
            let blocked = try v.run(["card", "verify-pin", "--serial", serial], env: ["TRUSTVAULT_PIN": "11223344"])
            expectFailure(blocked, status: 77, mentioning: "blocked")
            #expect(blocked.stderr.contains("trustvault card unblock-pin"))
            r = try v.run(["card", "unblock-pin", "--serial", serial], env: ["TRUSTVAULT_PUK": "55667788", "TRUSTVAULT_NEW_PIN": "24681357"])
            #expect(r.status == 0, "\(r)")
            #expect(try h.tries() == (3, 3))

            // Policies as requested, in a retired slot; attestation matches the slot's key.
            let gen = try v.run(
                [
                    "key", "generate", "--role", "targets", "--gun", "example.com/app", "--card", serial, "--slot", "85",
                    "--pin-policy", "never", "--touch-policy", "cached",
                ], env: Self.ready)
            #expect(gen.status == 0, "\(gen)")
            let keyID = gen.lastLine
            let status = try v.run(["card", "status", "--serial", serial])
            #expect(
                status.stdout.contains("Slot 85:         P-256 key \(keyID), PIN never, generated on the card, touch cached, certificate CN=targets"),
                "\(status.stdout)")
            let out = v.dir.sub("attest.pem")
            let att = try v.run(["card", "attest", "--serial", serial, "--slot", "85", "--out", out])
            #expect(att.status == 0, "\(att)")
            #expect(
                att.stdout.contains("Origin: generated on the card") && att.stdout.contains("key \(keyID)") && att.stdout.contains("PIN policy: never"),
                "\(att.stdout)")
            // openssl agrees: the attestation is for the key, and is signed by the F9 certificate.
            let openssl = try tool("openssl", package: "openssl")
            let pem = try String(contentsOfFile: out, encoding: .utf8)
            let blocks = pem.components(separatedBy: "-----END CERTIFICATE-----\n").filter { !$0.isEmpty }
            #expect(blocks.count == 2)
            try (blocks[0] + "-----END CERTIFICATE-----\n").write(toFile: v.dir.sub("leaf.pem"), atomically: true, encoding: .utf8)
            try (blocks[1] + "-----END CERTIFICATE-----\n").write(toFile: v.dir.sub("f9.pem"), atomically: true, encoding: .utf8)
            let leafKey = try Run.program(openssl, ["x509", "-in", v.dir.sub("leaf.pem"), "-noout", "-pubkey"])
            let keyPEM = try exportedPublicKey(v, keyID)
            #expect(leafKey.stdout == keyPEM)
            let verify = try Run.program(openssl, ["verify", "-partial_chain", "-CAfile", v.dir.sub("f9.pem"), v.dir.sub("leaf.pem")])
            #expect(verify.status == 0, "openssl verify: \(verify)")
            // The emulator's F9 certificate is self-signed: as --ca it checks; a foreign CA does not.
            let withCA = try v.run(["card", "attest", "--serial", serial, "--slot", "85", "--ca", v.dir.sub("f9.pem")])
            #expect(withCA.status == 0 && withCA.stdout.contains("F9 certificate signed by"), "\(withCA)")
            expectFailure(
                try v.run(["card", "attest", "--serial", serial, "--slot", "85", "--ca", v.dir.sub("leaf.pem")]),
                status: 1, mentioning: "not signed by the CA")
            // An imported key is told apart.
            let vaultKey = try v.generate("targets", gun: "example.com/other")
            #expect(try v.run(["key", "copy-to-card", vaultKey, "--card", serial, "--slot", "9d"], env: Self.merged(CLIVault.env, Self.ready)).status == 0)
            let imported = try v.run(["card", "attest", "--serial", serial, "--slot", "9d"])
            #expect(imported.stdout.contains("Origin: imported"), "\(imported)")
            // Certificate export equals what yubico-piv-tool reads.
            let exported = try v.run(["card", "certificate", "export", "--serial", serial, "--slot", "9d"])
            let readBack = try pivTool(h, ["-a", "read-certificate", "-s", "9d"])
            #expect(exported.status == 0 && exported.stdout == readBack.stdout)

            // A root key and a repository signed with it, to sign again after the reset.
            let gen9a = try v.run(["key", "generate", "--role", "root", "--card", serial, "--slot", "9a"], env: Self.ready)
            #expect(gen9a.status == 0, "\(gen9a)")
            let root9a = gen9a.lastLine
            let repo = try v.run(
                [
                    "repo", "init", "example.com/reset", "--root-key", root9a, "--timestamp-key", try timestampKeyFile(v),
                    "--out", v.dir.sub("repo"),
                ],
                env: Self.merged(Self.merged(CLIVault.env, Self.ready), ["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"]))
            #expect(repo.status == 0, "\(repo)")
            let rootJSON = v.dir.sub("repo") + "/tuf/example.com/reset/metadata/root.json"

            // Reset: refused without --yes (no terminal), then done; keys gone, records marked.
            expectFailure(try v.run(["card", "reset", "--serial", serial]), status: 1, mentioning: "--yes")
            let reset = try v.run(["card", "reset", "--serial", serial, "--yes"])
            #expect(reset.status == 0, "\(reset)")
            #expect(reset.stdout.contains("Lost: targets key \(keyID)"), "\(reset.stdout)")
            let after = try v.run(["card", "status", "--serial", serial])
            #expect(
                after.stdout.contains("PIN:             3 tries left of 3, FACTORY DEFAULT") && after.stdout.contains("Slot 9c:         empty"),
                "\(after.stdout)")
            #expect(!after.stdout.contains("Slot 85:         P-256"), "\(after.stdout)")
            #expect(try String(contentsOfFile: v.path + "/audit.log", encoding: .utf8).contains("card-reset"))
            // key list marks the destroyed keys (table and JSON); keys on other cards stay current.
            let listed = try v.run(["key", "list", "--json"])
            let entries = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            let marked = entries.filter { ($0["status"] as? String) == "card reset" }.compactMap { $0["id"] as? String }
            #expect(marked.contains(keyID) && marked.contains(root9a), "\(listed.stdout)")
            #expect(
                entries.filter { ($0["location"] as? String)?.hasPrefix("card:\(serial)/") == false }.allSatisfy { ($0["status"] as? String) != "card reset" })
            #expect(try v.run(["key", "list"]).stdout.contains("card reset"))
            // Signing with a key that the reset destroyed says so.
            let gone = try v.run(
                ["root", "sign", rootJSON, "--key", root9a, "--out", v.dir.sub("resigned.json")],
                env: ["TRUSTVAULT_PIN": "123456"])
            expectFailure(gone, status: 66, mentioning: "was reset after this key was made")
            let rootGen = try v.run(["key", "generate", "--role", "root", "--card", serial, "--allow-default-pin"], env: [:])
            #expect(rootGen.status == 0, "a reset card takes new keys: \(rootGen)")
        }
    }

    // MARK: 6: card pulled mid-operation

    /// Restarts the card with a drop hook, runs `args`, checks the error and what survived.
    func pulled(
        _ h: PCSCHarness, serial: UInt32, hook: [String], _ v: CLIVault, _ args: [String], env: [String: String],
        mentioning: String
    ) throws -> ProcessResult {
        h.stopCard(slot: 0)
        try h.startCard(slot: 0, serial: serial, extraArguments: hook)
        let r = try v.run(args, env: env)
        expectFailure(r, status: 69, mentioning: mentioning)
        h.stopCard(slot: 0)
        try h.startCard(slot: 0, serial: serial)
        return r
    }

    @Test func cardPulledDuringSetupGenerateAndSign() throws {
        let v = try CLIVault()
        let serial: UInt32 = 44_000_001
        let s = String(serial)
        try PCSCHarness.with(serials: [serial]) { h in
            let setup = ["card", "setup", "--serial", s]
            // Before anything changed (VERIFY of the PIN; management-key authentication).
            for hook in [["--drop-on-ins", "20"], ["--drop-on-ins", "87"]] {
                _ = try pulled(h, serial: serial, hook: hook, v, setup, env: Self.new, mentioning: "nothing was changed")
                #expect(try h.tries() == (3, 3))
                #expect(try v.run(["card", "status"]).stdout.contains("Management key:  3DES, FACTORY DEFAULT"))
            }
            // The random management key is printed before it is sent; the card then has one of the two.
            let r = try pulled(
                h, serial: serial, hook: ["--drop-after-ins", "FF"], v, setup + ["--random-management-key"],
                env: Self.new.filter { $0.key != "TRUSTVAULT_NEW_MANAGEMENT_KEY" }, mentioning: "may or may not be the new one")
            let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("New management key") })
            let printed = String(line.split(separator: " ").last ?? "")
            #expect(try pivTool(h, ["-k" + printed, "-a", "set-chuid"]).status == 0, "the printed key is the card's key")
            // Rerun with that key: the PIN change is pulled next.
            let resume = Self.merged(Self.factory, Self.merged(Self.new, ["TRUSTVAULT_MANAGEMENT_KEY": printed]))
            _ = try pulled(h, serial: serial, hook: ["--drop-after-ins", "24:80"], v, setup, env: resume, mentioning: "the PIN may or may not be the new one")
            #expect(try pivTool(h, ["-a", "verify-pin", "-P", "24681357"]).status == 0, "the PIN change had reached the card")
            // As the message says: the management key is the new one, the PIN maybe, the PUK the old one.
            let done = try v.run(setup, env: Self.merged(resume, ["TRUSTVAULT_PIN": "24681357", "TRUSTVAULT_MANAGEMENT_KEY": Self.mk]))
            #expect(done.status == 0, "\(done)")
            #expect(try h.tries() == (3, 3))

            // Generate: pulled at authentication, at GENERATE (before / after), at the certificate.
            let gen = ["key", "generate", "--role", "root", "--card", s]
            let before = v.fingerprint()
            _ = try pulled(h, serial: serial, hook: ["--drop-on-ins", "20"], v, gen, env: Self.ready, mentioning: "nothing was changed")
            _ = try pulled(h, serial: serial, hook: ["--drop-on-ins", "47"], v, gen, env: Self.ready, mentioning: "may or may not hold a new key")
            #expect(v.fingerprint() == before)
            let st9c = try v.run(["card", "status"])
            #expect(!st9c.stdout.contains("Slot 9c:         P-256"))
            _ = try pulled(h, serial: serial, hook: ["--drop-after-ins", "47"], v, gen, env: Self.ready, mentioning: "may or may not hold a new key")
            #expect(v.fingerprint() == before, "nothing recorded")
            // The key did reach the card: status shows it, and a rerun refuses to overwrite it.
            #expect(try v.run(["card", "status"]).stdout.contains("Slot 9c:         P-256 key"))
            expectFailure(try v.run(gen, env: Self.ready), status: 73, mentioning: "already holds")
            let r9a = try pulled(
                h, serial: serial, hook: ["--drop-on-ins", "DB"], v, gen + ["--slot", "9a"], env: Self.ready,
                mentioning: "recorded in the vault, but its certificate was not written")
            #expect(r9a.stderr.contains("card certificate write"))
            let write = try v.run(["card", "certificate", "write", "--serial", s, "--slot", "9a"], env: Self.ready)
            #expect(write.status == 0, "\(write)")
            #expect(try pivTool(h, ["-a", "read-certificate", "-s", "9a"]).status == 0)

            // Sign (repo init with the card root key, PIN policy always): pulled at VERIFY and at
            // the signature itself; nothing is written, the vault is unchanged.
            let root = try #require(
                try v.run(["key", "list", "--json"]).stdout
                    .components(separatedBy: "\"id\":\"").dropFirst().map { String($0.prefix(64)) }.first)
            let env = Self.merged(Self.merged(CLIVault.env, Self.ready), ["TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase"])
            let tsKey = try timestampKeyFile(v)
            for hook in [["--drop-on-ins", "20"], ["--drop-on-sign"]] {
                let fp = v.fingerprint()
                let out = v.dir.sub("out-\(hook[0])")
                _ = try pulled(
                    h, serial: serial, hook: hook, v, ["repo", "init", "example.com/pulled", "--root-key", root, "--timestamp-key", tsKey, "--out", out],
                    env: env, mentioning: "removed")
                #expect(v.fingerprint() == fp)
                #expect(!FileManager.default.fileExists(atPath: out + "/tuf"))
            }
            let ok = try v.run(["repo", "init", "example.com/pulled", "--root-key", root, "--timestamp-key", tsKey, "--out", v.dir.sub("out-ok")], env: env)
            #expect(ok.status == 0, "the card works again after being pulled: \(ok)")
            #expect(try h.tries() == (3, 3))
        }
    }
}

extension Data {
    init(hexString: String) {
        var bytes: [UInt8] = []
        var i = hexString.startIndex
        while i < hexString.endIndex, let j = hexString.index(i, offsetBy: 2, limitedBy: hexString.endIndex) {
            bytes.append(UInt8(hexString[i..<j], radix: 16) ?? 0)
            i = j
        }
        self.init(bytes)
    }
}
