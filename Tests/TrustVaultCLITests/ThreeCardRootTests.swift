import Foundation
import Testing
import TestSupport

/// Issue 20, item 4: a 2-of-3 root whose three keys sit on three PIV cards (emulated, through the
/// real pcscd), for a TUF 1.0 repository and for a Notary repository, from creation through one
/// root rotation. Judged by python-tuf 7 and by the real notary-server and notary client.
///
/// Each holder has their own vault (`TRUSTVAULT_HOME`), card(s), PIN and PUK; every command runs
/// in one working directory (the USB stick that travels between the machines) with relative
/// paths, as typed. A card is in the reader only while its holder works (each holder's machine
/// has its own reader; here they take turns at one): the emulated card keeps its state in between.
@Suite("Three holders, three PIV cards: a 2-of-3 root for TUF and for Notary", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun), .serialized)
struct ThreeCardRootTests {
    /// One key holder: a vault and the card secrets they chose at `card setup`.
    struct Holder {
        let name: String
        let card: UInt32
        let pin: String
        let puk: String
    }

    /// The shared working directory and the holders' shells.
    final class Desk {
        let work = TemporaryDirectory("three-cards")
        let alice = Holder(name: "alice", card: 41_000_001, pin: "11223344", puk: "44332211")
        let bob = Holder(name: "bob", card: 41_000_002, pin: "22334455", puk: "55443322")
        let carol = Holder(name: "carol", card: 41_000_003, pin: "33445566", puk: "66554433")
        /// Carol's replacement card (same PIN and PUK as her first one).
        let carolNewCard: UInt32 = 41_000_004
        static let managementKey = CardCLITests.setUp["TRUSTVAULT_MANAGEMENT_KEY"]!
        static let exportPassphrase = "export-passphrase"

        enum Secrets { case none, newCard, card }

        init() throws {
            for name in ["alice", "bob", "carol", "online"] {
                try FileManager.default.createDirectory(atPath: work.sub("home-" + name), withIntermediateDirectories: true)
            }
            for h in [alice, bob, carol] { try sh(h, "trustvault init --kdf interactive") }
        }

        /// The environment of `who`'s shell (nil: the online machine, no vault).
        func environment(_ who: Holder?, _ secrets: Secrets) -> [String: String] {
            var env = [
                "HOME": work.sub("home-" + (who?.name ?? "online")), "TZ": "UTC",
                "PATH": TrustVaultCLI.productsDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
                "NOTARY_TARGETS_PASSPHRASE": Self.exportPassphrase,
            ]
            guard let who else { return env }
            env.merge(CLIVault.env) { $1 }
            env["TRUSTVAULT_HOME"] = work.sub("vault-" + who.name)
            env["TRUSTVAULT_EXPORT_PASSPHRASE"] = Self.exportPassphrase
            switch secrets {
            case .none: break
            case .newCard:
                // A factory card: only the new values (the card says it still has the factory ones).
                env["TRUSTVAULT_NEW_PIN"] = who.pin
                env["TRUSTVAULT_NEW_PUK"] = who.puk
                env["TRUSTVAULT_NEW_MANAGEMENT_KEY"] = Self.managementKey
            case .card:
                env["TRUSTVAULT_PIN"] = who.pin
                env["TRUSTVAULT_MANAGEMENT_KEY"] = Self.managementKey
            }
            return env
        }

        /// One command line in `who`'s shell, in the shared directory.
        @discardableResult
        func sh(
            _ who: Holder?, _ line: String, _ secrets: Secrets = .none, status: Int32? = 0,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws -> ProcessResult {
            let r = try Run.program("/bin/bash", ["-c", line], environment: environment(who, secrets), directory: work.path, timeout: 180)
            if let status { #expect(r.status == status, "\(who?.name ?? "online")$ \(line)\n\(r)", sourceLocation: sourceLocation) }
            return r
        }

        func path(_ name: String) -> String { work.sub(name) }

        /// Puts exactly these cards in the readers (slot 0, 1): the others are pulled.
        func insert(_ h: PCSCHarness, _ serials: UInt32...) throws {
            for slot in 0..<2 where slot >= serials.count { h.stopCard(slot: slot) }
            for (slot, serial) in serials.enumerated() { try h.startCard(slot: slot, serial: serial) }
        }

        /// A holder's new card: set up (new PIN, PUK, management key), a root key made on it.
        /// Returns the key's vault ID (the command's last line).
        func cardKey(_ h: PCSCHarness, _ who: Holder, serial: UInt32? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let serial = serial ?? who.card
            try insert(h, serial)
            try sh(who, "trustvault card setup --serial \(serial)", .newCard, sourceLocation: sourceLocation)
            let gen = try sh(who, "trustvault key generate --role root --card \(serial)", .card, sourceLocation: sourceLocation)
            let id = gen.lastLine
            #expect(id.count == 64 && id.allSatisfy(\.isHexDigit), "\(gen)", sourceLocation: sourceLocation)
            // The key carries a certificate standard tools see.
            let status = try sh(who, "trustvault card status --serial \(serial)", sourceLocation: sourceLocation)
            #expect(status.stdout.contains("Slot 9c:") && !status.stdout.contains("DOES NOT MATCH"), "\(status)", sourceLocation: sourceLocation)
            if let tool = Run.which("yubico-piv-tool") {
                let cert = try Run.program(tool, ["-r", h.readerName(slot: 0), "-a", "read-certificate", "-s", "9c"])
                #expect(cert.status == 0 && cert.stdout.contains("BEGIN CERTIFICATE"), "\(cert)", sourceLocation: sourceLocation)
            }
            return id
        }

        /// No PIN try was spent on the cards in the readers.
        func expectFullPINTries(_ h: PCSCHarness, slots: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
            for slot in 0..<slots {
                let tries = try h.tries(slot: slot)
                #expect(tries.pin == 3 && tries.puk == 3, "slot \(slot): \(tries)", sourceLocation: sourceLocation)
            }
        }
    }

    /// TUF: `tuf init` with three card keys (2 of 3), signatures from two holders, python-tuf's
    /// Metadata API and ngclient accept it (and refuse it at 1 of 3); then Carol's card is replaced
    /// by a new card, `tuf rotate` writes 2.root.json, and a client that trusted 1.root.json
    /// follows to version 2 once two old and two new root keys signed.
    @Test(.enabled(if: tufPeers)) func tufRootOnThreeCardsCreatedSignedAndRotated() throws {
        let d = try Desk()
        let (alice, bob, carol) = (d.alice, d.bob, d.carol)
        var timings: [String] = []
        var mark = Date()
        func lap(_ name: String) {
            timings.append(String(format: "%@ %.1f s", name, Date().timeIntervalSince(mark)))
            mark = Date()
        }
        try PCSCHarness.with(serials: []) { h in
            // Each holder: a card set up, a root key made on it; Bob and Carol hand over public keys.
            let ka = try d.cardKey(h, alice)
            let kb = try d.cardKey(h, bob)
            try d.sh(bob, "trustvault key export \(kb) --format public --out bob.pem")
            let kc = try d.cardKey(h, carol)
            try d.sh(carol, "trustvault key export \(kc) --format public --out carol.pem")
            lap("three cards set up, keys generated")

            // Alice creates the repository; her card signs 1.root.json.
            try d.insert(h, alice.card)
            let initR = try d.sh(
                alice,
                "trustvault tuf init repo --root-key \(ka) --root-key bob.pem --root-key carol.pem --root-threshold 2"
                    + " --expires root=365d --expires timestamp=7d", .card)
            #expect(initR.stdout.contains("1.root.json needs 1 more root signature(s) from:"), "\(initR)")
            try d.expectFullPINTries(h)
            lap("tuf init (Alice's card signs)")

            // 1 of 3: python-tuf refuses, tuf verify names what is missing.
            let oneOfThree = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", d.path("repo/metadata/1.root.json")])
            #expect(oneOfThree.status == 1 && oneOfThree.stdout.contains("refused: UnsignedMetadataError"), "\(oneOfThree)")
            print("python-tuf, 1.root.json at 1 of 3: " + oneOfThree.stdout.trimmingCharacters(in: .newlines))
            let missing = try d.sh(nil, "trustvault tuf verify repo", status: 1)
            #expect(missing.stderr.contains("1.root.json: 1 valid signature(s)") && missing.stderr.contains("2 required"), "\(missing)")
            #expect(missing.errorLines.count == 1 && !missing.stdout.contains("Verified"), "\(missing)")
            // It names Bob's and Carol's keys (TUF key IDs, as tuf init listed them) as not signed.
            let needs = initR.stdout.split(separator: "\n").first { $0.contains("1.root.json needs") } ?? ""
            let notSigned = needs.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ",")) }
                .filter { $0.count == 12 && $0.allSatisfy(\.isHexDigit) }
            print("tuf verify at 1 of 3: " + missing.stderr.trimmingCharacters(in: .newlines))
            #expect(
                notSigned.count == 2 && notSigned.allSatisfy { missing.stderr.contains($0) } && missing.stderr.contains("not signed by:"),
                "\(initR)\n\(missing)")

            // The USB stick goes to Bob; his card signs.
            try d.insert(h, bob.card)
            let signB = try d.sh(bob, "trustvault tuf sign repo/metadata/1.root.json --key \(kb)", .card)
            #expect(signB.stdout.contains("root threshold (this version): 2 of 2 valid signature(s) — met"), "\(signB)")
            try d.expectFullPINTries(h)
            lap("tuf sign (Bob's card)")

            // Back at Alice's: a release (vault targets, snapshot and timestamp keys; no card needed).
            try FileManager.default.createDirectory(atPath: d.path("dist"), withIntermediateDirectories: true)
            try Data("app 1.0\n".utf8).write(to: URL(fileURLWithPath: d.path("dist/app-1.0.tar.gz")))
            h.stopCard(slot: 0)
            let add = try d.sh(alice, "trustvault tuf add-targets repo dist/app-1.0.tar.gz --path-prefix app")
            #expect(add.stdout.contains("Complete"), "\(add)")
            let verified = try d.sh(nil, "trustvault tuf verify repo")
            #expect(verified.stdout.contains("Verified"), "\(verified)")
            try d.sh(nil, "cp repo/metadata/1.root.json trusted-1.root.json")

            // python-tuf: the Metadata API and the client accept version 1, download the release.
            let v1 = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", d.path("repo/metadata/1.root.json")])
            #expect(v1.status == 0, "\(v1)")
            let server = try HTTPServer(directory: d.path("repo"))
            defer { server.stop() }
            let cache = d.path("client-cache")
            let first = try PythonTUF.client(
                server, trustedRoot: d.path("trusted-1.root.json"), cache: cache,
                target: "app/app-1.0.tar.gz", out: d.path("dl1"))
            #expect(first.status == 0 && first.stdout.contains("root version 1"), "\(first)")
            #expect(FileManager.default.contents(atPath: d.path("dl1/app-1.0.tar.gz")) == Data("app 1.0\n".utf8))

            // Rotation: Carol's card is replaced by a new card (new key); Alice writes 2.root.json
            // (A, B, C' with threshold 2), her card signs it as an old and a new root key.
            mark = Date()
            let kc2 = try d.cardKey(h, carol, serial: d.carolNewCard)
            try d.sh(carol, "trustvault key export \(kc2) --format public --out carol-2.pem")
            // The new card key is not in version 1: refused before the PIN is sent, file unchanged.
            let before = try Data(contentsOf: URL(fileURLWithPath: d.path("repo/metadata/1.root.json")))
            let vaultBefore = treeFingerprint(d.path("vault-carol"), excluding: [".lock"])
            let notListed = try d.sh(carol, "trustvault tuf sign repo/metadata/1.root.json --key \(kc2)", .card, status: nil)
            expectFailure(notListed, status: 64, mentioning: "not one of the root role's keys")
            #expect(treeFingerprint(d.path("vault-carol"), excluding: [".lock"]) == vaultBefore)
            #expect(try Data(contentsOf: URL(fileURLWithPath: d.path("repo/metadata/1.root.json"))) == before)
            try d.expectFullPINTries(h)
            try d.insert(h, alice.card)
            let rot = try d.sh(alice, "trustvault tuf rotate repo root --new-key \(ka) --new-key bob.pem --new-key carol-2.pem --threshold 2", .card)
            #expect(rot.stdout.contains("root threshold of version 1: 1 of 2; of version 2: 1 of 2"), "\(rot)")
            try d.expectFullPINTries(h)
            lap("Carol's new card + tuf rotate (Alice's card)")

            // Half-signed: python-tuf's client stays at version 1, tuf verify says where it stops.
            let half = try PythonTUF.client(server, trustedRoot: d.path("trusted-1.root.json"), cache: cache)
            #expect(half.status == 1 && half.stdout.contains("refused"), "\(half)")
            print("python-tuf client, 2.root.json signed by Alice only: " + half.stdout.trimmingCharacters(in: .newlines))
            let halfTV = try d.sh(nil, "trustvault tuf verify repo --root trusted-1.root.json", status: 1)
            #expect(halfTV.stderr.contains("a client stops at root version 1"), "\(halfTV)")

            // Bob's card completes both thresholds (his key is in the old and the new root).
            try d.insert(h, bob.card)
            let signB2 = try d.sh(bob, "trustvault tuf sign repo/metadata/2.root.json --key \(kb)", .card)
            #expect(signB2.stdout.contains("root threshold of version 1 (clients that trust it): 2 of 2 — met"), "\(signB2)")
            try d.expectFullPINTries(h)
            lap("tuf sign 2.root.json (Bob's card)")

            let both = try PythonTUF.script("tuf_metadata_api.py", ["verify-root", d.path("repo/metadata/2.root.json"), d.path("trusted-1.root.json")])
            #expect(both.status == 0 && both.stdout.contains("meets the root threshold of"), "\(both)")
            let followed = try PythonTUF.client(
                server, trustedRoot: d.path("trusted-1.root.json"), cache: cache,
                target: "app/app-1.0.tar.gz", out: d.path("dl2"))
            #expect(followed.status == 0 && followed.stdout.contains("root version 2"), "a client that trusted v1 follows to v2: \(followed)")
            print("python-tuf client after Bob's signature: " + followed.stdout.split(separator: "\n").joined(separator: "; "))
            let chain = try d.sh(nil, "trustvault tuf verify repo --root trusted-1.root.json")
            #expect(chain.stdout.contains("2.root.json: signed by root version 1's keys and by its own"), "\(chain)")
        }
        print("three-card TUF root: " + timings.joined(separator: ", "))
    }

    /// Notary: `repo init` with three card root keys (2 of 3, each a CN=GUN certificate made on
    /// its card), Bob's card completes it, `trustvault-online publish` sends it to the real
    /// notary-server and the real notary client lists it; then Carol replaces her card, her two
    /// cards sign the rotation, Alice's card completes it, and a notary client that trusted v1
    /// follows to v2. Below either threshold the real server refuses the root (HTTP 400).
    @Test(.enabled(if: notaryPeers)) func notaryRootOnThreeCardsCreatedSignedAndRotated() throws {
        let d = try Desk()
        let (alice, bob, carol) = (d.alice, d.bob, d.carol)
        let server = try NotaryServer.start()
        defer { server.stop() }
        let url = server.url
        let gun = "docker.io/acme/app"
        let meta = "tuf/\(gun)/metadata"
        var timings: [String] = []
        var mark = Date()
        func lap(_ name: String) {
            timings.append(String(format: "%@ %.1f s", name, Date().timeIntervalSince(mark)))
            mark = Date()
        }
        try PCSCHarness.with(serials: []) { h in
            // Each holder: a card key; Bob and Carol make the repository's root certificate on
            // their cards (CN = GUN) and hand it over.
            let ka = try d.cardKey(h, alice)
            let kb = try d.cardKey(h, bob)
            try d.sh(bob, "trustvault root cert \(gun) --key \(kb) --out bob.crt", .card)
            try d.expectFullPINTries(h)
            let kc = try d.cardKey(h, carol)
            try d.sh(carol, "trustvault root cert \(gun) --key \(kc) --out carol.crt", .card)
            try d.expectFullPINTries(h)
            lap("three cards set up, keys and certificates made")

            try d.sh(nil, "trustvault-online fetch \(gun) --server \(url) --out keys --keys-only")
            try d.insert(h, alice.card)
            let initR = try d.sh(
                alice,
                "trustvault repo init \(gun) --root-key \(ka) --root-key bob.crt --root-key carol.crt --root-threshold 2"
                    + " --timestamp-key keys/timestamp.key --snapshot-key keys/snapshot.key --out v1 --server \(url)", .card)
            #expect(initR.stdout.contains("new root v1: 1 of 2 signatures — needs one more from"), "\(initR)")
            #expect(!initR.stdout.contains("trustvault-online publish"), "no online step before the threshold is met: \(initR)")
            try d.expectFullPINTries(h)
            lap("repo init (Alice's card)")

            // 1 of 3: trustvault-online refuses locally; the real server refuses it too (HTTP 400).
            let early = try d.sh(nil, "trustvault-online publish v1 --server \(url)", status: nil)
            #expect(early.status != 0 && early.errorLines.count == 1, "\(early)")
            let rejected = try server.upload(gun: gun, files: [("root", d.path("v1/\(meta)/root.json")), ("targets", d.path("v1/\(meta)/targets.json"))])
            #expect(rejected.status == 400, "notary-server must refuse a 1-of-3-signed root: \(rejected)")
            print("trustvault-online publish at 1 of 3: " + early.stderr.trimmingCharacters(in: .newlines))
            print("notary-server, root at 1 of 3: HTTP \(rejected.status) \(rejected.body.trimmingCharacters(in: .newlines))")
            let none = try d.sh(nil, "notary -s \(url) -d nobody list \(gun)", status: nil)
            #expect(none.status != 0 || !none.stdout.contains("v1"), "\(none)")

            try d.insert(h, bob.card)
            let signB = try d.sh(bob, "trustvault root sign v1/\(meta)/root.json --key \(kb) --server \(url)", .card)
            #expect(signB.stdout.contains("new root v1: 2 of 2 signatures — complete"), "\(signB)")
            #expect(signB.stdout.contains("trustvault-online publish v1 --server \(url)"), "\(signB)")
            try d.expectFullPINTries(h)
            lap("root sign (Bob's card)")

            // Online: publish, sign a tag with the exported targets key, list as a notary client.
            h.stopCard(slot: 0)
            try d.sh(nil, "trustvault-online publish v1 --server \(url)")
            try d.sh(nil, "echo 'app v1' > payload.txt && notary -s \(url) -d v1 add \(gun) v1 payload.txt && notary -s \(url) -d v1 publish \(gun)")
            let list1 = try d.sh(nil, "notary -s \(url) -d client list \(gun)")
            #expect(list1.stdout.split(separator: "\n").contains { $0.hasPrefix("v1 ") }, "\(list1)")
            try d.sh(nil, "trustvault-online fetch \(gun) --server \(url) --out current && cp current/root.json trusted-v1-root.json")

            // Rotation: Carol's new card; her old and her new card sign the new root (A, B, C').
            mark = Date()
            let kc2 = try d.cardKey(h, carol, serial: d.carolNewCard)
            try d.insert(h, carol.card, d.carolNewCard)
            let rot = try d.sh(
                carol,
                "trustvault repo rotate \(gun) root --new-key \(ka) --new-key \(kb) --new-key \(kc2) --threshold 2"
                    + " --current current --out rot --server \(url)", .card)
            #expect(rot.stdout.contains("new root v2: 1 of 2 signatures; previous root v1: 1 of 2 — needs one more from"), "\(rot)")
            try d.expectFullPINTries(h, slots: 2)
            lap("Carol's new card + repo rotate (her two cards)")

            // Half-signed: refused locally and by the real server; the client stays at v1.
            let halfPublish = try d.sh(nil, "trustvault-online publish rot --server \(url)", status: nil)
            #expect(halfPublish.status != 0 && halfPublish.errorLines.count == 1, "\(halfPublish)")
            let halfUpload = try server.upload(gun: gun, files: [("root", d.path("rot/\(meta)/root.json"))])
            #expect(halfUpload.status == 400, "\(halfUpload)")
            print("notary-server, v2 at 1 of 2 old and 1 of 2 new: HTTP \(halfUpload.status) \(halfUpload.body.trimmingCharacters(in: .newlines))")
            #expect(try d.sh(nil, "notary -s \(url) -d client list \(gun)").stdout.contains("v1 "))

            try d.insert(h, alice.card)
            let signA = try d.sh(alice, "trustvault root sign rot/\(meta)/root.json --key \(ka) --server \(url)", .card)
            #expect(signA.stdout.contains("new root v2: 2 of 2 signatures; previous root v1: 2 of 2 — complete"), "\(signA)")
            try d.expectFullPINTries(h)
            lap("root sign v2 (Alice's card)")
            h.stopCard(slot: 0)

            try d.sh(nil, "trustvault-online publish rot --server \(url)")
            // The client that trusted v1 follows to v2; a new client trusts v2.
            let list2 = try d.sh(nil, "notary -s \(url) -d client list \(gun)")
            #expect(list2.stdout.split(separator: "\n").contains { $0.hasPrefix("v1 ") }, "\(list2)")
            let cached = try Data(contentsOf: URL(fileURLWithPath: d.path("client/\(meta)/root.json")))
            let signed = (try JSONSerialization.jsonObject(with: cached) as? [String: Any])?["signed"] as? [String: Any]
            #expect(signed?["version"] as? Int == 2, "the notary client's cache holds root v2")
            let fresh = try d.sh(nil, "notary -s \(url) -d fresh list \(gun)")
            #expect(fresh.stdout.split(separator: "\n").contains { $0.hasPrefix("v1 ") }, "\(fresh)")
            try d.sh(nil, "trustvault-online fetch \(gun) --server \(url) --out after")
            print("notary list (client that trusted v1) after the rotation: " + list2.stdout.split(separator: "\n").joined(separator: " | "))
            let verify = try d.sh(nil, "trustvault verify after --gun \(gun) --root trusted-v1-root.json")
            #expect(verify.stdout.contains("chains to the trusted root v1"), "\(verify)")
            // Carol's vault retired her first card key.
            let keys = try d.sh(carol, "trustvault key list --json")
            let list = try #require(try JSONSerialization.jsonObject(with: Data(keys.stdout.utf8)) as? [[String: Any]])
            #expect(list.first { $0["id"] as? String == kc }?["status"] as? String == "retired", "\(list)")
        }
        print("three-card Notary root: " + timings.joined(separator: ", "))
    }
}
