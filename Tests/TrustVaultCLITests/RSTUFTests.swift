import Foundation
import Testing
import TestSupport

/// A working folder (the USB stick) with one vault: `trustvault` and the RSTUF peer script run in
/// it with relative paths, as a person types them.
private struct RSTUFDesk {
    let vault: CLIVault
    let work = TemporaryDirectory("rstuf")

    init() throws { vault = try CLIVault() }

    @discardableResult
    func tv(_ args: [String], env: [String: String] = CLIVault.env) throws -> ProcessResult {
        try TrustVaultCLI.run(["--vault", vault.path] + args, environment: env, directory: work.path)
    }

    /// `Tests/TUFPeers/rstuf_payloads.py`: RSTUF's own payload types and python-tuf.
    func peer(_ args: [String]) throws -> ProcessResult {
        try Run.program(PythonTUF.python, [PythonTUF.packageRoot + "/Tests/TUFPeers/rstuf_payloads.py"] + args, directory: work.path, timeout: 180)
    }

    /// A peer verdict (one JSON object on stdout).
    func judge(_ args: [String]) throws -> [String: Any] {
        let r = try peer(args)
        guard r.status == 0, let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("RSTUF's types or python-tuf refused \(args): \(r)")
        }
        return obj
    }

    /// Keys of other holders made by the peer: NAME.pem (public) and NAME.key; returns TUF key IDs.
    func peerKeys(_ names: String...) throws -> [String: String] {
        let r = try peer(["keys", "."] + names)
        guard r.status == 0 else { throw TestFailure("peer keys: \(r)") }
        var ids: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[0] == "ok:" { ids[String(parts[1])] = String(parts[2]) }
        }
        return ids
    }

    /// The TUF key ID the metadata gives a vault key (python-tuf computes it from the exported key).
    func tufID(ofVaultKey id: String, name: String) throws -> String {
        let r = try tv(["key", "export", id, "--format", "public", "--out", "\(name).pem"])
        guard r.status == 0 else { throw TestFailure("export: \(r)") }
        let py = try Run.program(
            PythonTUF.python,
            [
                "-c",
                """
                from cryptography.hazmat.primitives.serialization import load_pem_public_key
                from securesystemslib.signer import SSlibKey
                print(SSlibKey.from_crypto(load_pem_public_key(open('\(name).pem','rb').read())).keyid)
                """,
            ], directory: work.path)
        guard py.status == 0 else { throw TestFailure("keyid: \(py)") }
        return py.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func exists(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: work.sub(rel)) }
    func bytes(_ rel: String) -> Data? { FileManager.default.contents(atPath: work.sub(rel)) }
}

private func strings(_ any: Any?) -> [String] { (any as? [Any])?.compactMap { $0 as? String } ?? [] }
private func sub(_ any: Any?, _ key: String) -> [String: Any] { (any as? [String: Any])?[key] as? [String: Any] ?? [:] }

@Suite("RSTUF's offline ceremonies judged by repository-service-tuf and python-tuf 7", .tags(.interop), .interop, .enabled(if: tufPeers), .serialized)
struct RSTUFTests {
    /// 2-of-3 bootstrap: two root keys in this vault (ECDSA, Ed25519), Carol's public key from a
    /// file; RSTUF's CeremonyPayload reproduces the payload, python-tuf finds both thresholds met,
    /// the settings carry each role's expiry and the bins, the online key its signer URI.
    @Test func bootstrapCeremonyTwoOfThree() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root")
        let b = try d.vault.generate("tuf-root", algorithm: "ed25519")
        let peerIDs = try d.peerKeys("carol", "online")
        let aID = try d.tufID(ofVaultKey: a, name: "a-public")
        let r = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", b, "--root-key", "carol.pem",
            "--root-threshold", "2", "--online-key", "online.pem", "--expires", "timestamp=2d",
            "--expires", "bins=3d", "--bins", "64", "--out", "ceremony-payload.json",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Complete: nothing is missing."), "\(r.stdout)")
        let v = try d.judge(["check-ceremony", "ceremony-payload.json"])
        #expect(v["verified"] as? Bool == true, "\(v)")
        #expect(v["verify_delegate_self"] as? Bool == true, "\(v)")
        #expect(v["version"] as? Int == 1)
        #expect(v["consistent_snapshot"] as? Bool == true)
        #expect(v["root_threshold"] as? Int == 2)
        let rootIDs = strings(v["root_keyids"])
        #expect(rootIDs.count == 3 && rootIDs.contains(aID) && rootIDs.contains(peerIDs["carol"] ?? "-"), "\(v)")
        #expect(strings(sub(v, "new")["signed"]).count == 2, "\(v)")
        #expect(strings(sub(v, "new")["unsigned"]) == [peerIDs["carol"] ?? "-"], "\(v)")
        #expect(v["online_keyid"] as? String == peerIDs["online"], "\(v)")
        #expect(v["online_uri"] as? String == "fn:\(peerIDs["online"] ?? "-")", "\(v)")
        #expect(v["online_roles_share_key"] as? Bool == true)
        #expect(strings(v["root_key_names"]).contains("carol"), "\(v)")
        let roles = v["roles"] as? [String: Any] ?? [:]
        #expect(sub(roles, "root")["expiration"] as? Int == 365)
        #expect(sub(roles, "targets")["expiration"] as? Int == 365)
        #expect(sub(roles, "snapshot")["expiration"] as? Int == 1)
        #expect(sub(roles, "timestamp")["expiration"] as? Int == 2)
        #expect(sub(roles, "bins")["expiration"] as? Int == 3)
        #expect(sub(roles, "bins")["number_of_delegated_bins"] as? Int == 64)
    }

    /// The bootstrap root one holder made and signed elsewhere (RSTUF keeps it pending, trusted_root
    /// null); this vault's holder signs it; applied as RSTUF's worker does, the threshold is met.
    /// And a ceremony this vault can only half sign names who must still sign.
    @Test func bootstrapSignedByTwoHolders() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root")
        let peerIDs = try d.peerKeys("carol", "online")
        let aID = try d.tufID(ofVaultKey: a, name: "a-public")

        let half = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", "carol.pem", "--root-threshold", "2",
            "--online-key", "online.pem", "--out", "ceremony-payload.json",
        ])
        #expect(half.status == 0, "\(half)")
        #expect(half.stdout.contains("Still missing:") && half.stdout.contains("carol"), "\(half.stdout)")
        let hv = try d.judge(["check-ceremony", "ceremony-payload.json"])
        #expect(hv["verified"] as? Bool == false)
        #expect(strings(sub(hv, "new")["signed"]) == [aID], "\(hv)")

        let made = try d.peer(["pending-bootstrap", "pending.json", "2", "online.pem", "a-public.pem", "carol.pem", "--sign", "carol.key"])
        #expect(made.status == 0, "\(made)")
        let s = try d.tv(["tuf", "rstuf", "sign", "pending.json", "--key", a, "--yes", "--out", "sign-payload.json"])
        #expect(s.status == 0, "\(s)")
        #expect(s.stdout.contains("the bootstrap root"), "\(s.stdout)")
        #expect(s.stdout.contains("Complete: nothing is missing."), "\(s.stdout)")
        let v = try d.judge(["check-sign", "sign-payload.json", "pending.json"])
        #expect(v["keyid"] as? String == aID)
        #expect(sub(v, "before")["verified"] as? Bool == false)
        #expect(v["verified"] as? Bool == true, "\(v)")
        #expect(Set(strings(sub(v, "new")["signed"])) == [aID, peerIDs["carol"] ?? "-"], "\(v)")
    }

    /// Root rotation: Bob's key out, a new vault key in, threshold kept at 2; signed by the old
    /// keys held here (as old root keys) and the new one; python-tuf follows it from the old root.
    @Test func rotationPayload() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root"), b = try d.vault.generate("root")
        _ = try d.peerKeys("carol", "online", "online2")
        let aID = try d.tufID(ofVaultKey: a, name: "a-public")
        let bID = try d.tufID(ofVaultKey: b, name: "b-public")
        let c = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", b, "--root-key", "carol.pem", "--root-threshold", "2",
            "--online-key", "online.pem", "--out", "ceremony-payload.json",
        ])
        #expect(c.status == 0, "\(c)")
        #expect(try d.peer(["root-of", "ceremony-payload.json", "1.root.json"]).status == 0)
        let n = try d.vault.generate("root")
        let nID = try d.tufID(ofVaultKey: n, name: "n-public")
        let u = try d.tv([
            "tuf", "rstuf", "update", "--current", "1.root.json", "--new-key", n, "--remove-key", b,
            "--online-key", "online2.pem", "--expires", "200d", "--out", "update-payload.json",
        ])
        #expect(u.status == 0, "\(u)")
        #expect(u.stdout.contains("removed root key(s)"), "\(u.stdout)")
        let v = try d.judge(["check-update", "update-payload.json", "1.root.json"])
        #expect(v["verified"] as? Bool == true, "\(v)")
        #expect(v["verify_delegate_previous"] as? Bool == true, "\(v)")
        #expect(v["verify_delegate_self"] as? Bool == true, "\(v)")
        #expect(v["version"] as? Int == 2)
        #expect(Set(strings(v["root_keyids"])).contains(nID) && !strings(v["root_keyids"]).contains(bID), "\(v)")
        #expect(Set(strings(sub(v, "previous")["signed"])) == [aID, bID], "\(v)")
        #expect(Set(strings(sub(v, "new")["signed"])) == [aID, nID], "\(v)")
        #expect((v["online_uri"] as? String)?.hasPrefix("fn:") == true && v["online_roles_share_key"] as? Bool == true, "\(v)")
    }

    /// RSTUF's pending rotation (version+1, Dave added, threshold 1 → 2, Carol's signature only),
    /// signed at a terminal after the summary in words; "n" writes nothing; "y" writes a payload
    /// that, applied as RSTUF's worker does, completes both thresholds (Dave's is not needed).
    @Test func signPendingRotationAtTerminal() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root")
        let peerIDs = try d.peerKeys("carol", "online", "dave")
        let aID = try d.tufID(ofVaultKey: a, name: "a-public")
        let c = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", "carol.pem", "--root-threshold", "1",
            "--online-key", "online.pem", "--out", "ceremony-payload.json",
        ])
        #expect(c.status == 0, "\(c)")
        #expect(try d.peer(["root-of", "ceremony-payload.json", "1.root.json"]).status == 0)
        let p = try d.peer(["pending-update", "pending.json", "1.root.json", "--add", "dave.pem", "--threshold", "2", "--sign", "carol.key"])
        #expect(p.status == 0, "\(p)")
        let args = ["--vault", d.vault.path, "tuf", "rstuf", "sign", "pending.json", "--key", a, "--out", "sign-payload.json"]

        let no = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: args, environment: CLIVault.env, directory: d.work.path)
        _ = try no.expect("root key(s) added: dave")
        _ = try no.expect("root threshold 1 → 2")
        _ = try no.expect("[y/N]")
        no.send("n")
        #expect(try no.wait() == 0)
        #expect(!d.exists("sign-payload.json"))

        let yes = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: args, environment: CLIVault.env, directory: d.work.path)
        _ = try yes.expect("replacing the trusted root version 1")
        _ = try yes.expect("[y/N]")
        yes.send("y")
        #expect(try yes.wait() == 0, "\(yes.transcript)")
        #expect(yes.transcript.contains("Complete: nothing is missing."), "\(yes.transcript)")
        let v = try d.judge(["check-sign", "sign-payload.json", "pending.json"])
        #expect(v["keyid"] as? String == aID)
        #expect(sub(v, "previous")["verified"] as? Bool == true, "\(v)")
        #expect(Set(strings(sub(v, "new")["signed"])) == [aID, peerIDs["carol"] ?? "-"], "\(v)")
        #expect(v["verified"] as? Bool == true, "2 of 3 new, 1 of 2 old: \(v)")
    }

    /// A rotation that removes this vault's key A (2 of A, B, Carol → 2 of B, Carol, Dave; Carol and
    /// Dave signed): RSTUF still needs A as a key of the trusted root; the signature is listed under
    /// the trusted root's key ID and completes the old threshold.
    @Test func signAsRemovedOldRootKey() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root"), b = try d.vault.generate("root")
        _ = try d.peerKeys("carol", "online", "dave")
        let aID = try d.tufID(ofVaultKey: a, name: "a-public")
        let c = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", b, "--root-key", "carol.pem", "--root-threshold", "2",
            "--online-key", "online.pem", "--out", "ceremony-payload.json",
        ])
        #expect(c.status == 0, "\(c)")
        #expect(try d.peer(["root-of", "ceremony-payload.json", "1.root.json"]).status == 0)
        let p = try d.peer([
            "pending-update", "pending.json", "1.root.json", "--remove", aID, "--add", "dave.pem", "--threshold", "2",
            "--sign", "carol.key", "--sign", "dave.key",
        ])
        #expect(p.status == 0, "\(p)")
        let s = try d.tv(["tuf", "rstuf", "sign", "pending.json", "--key", a, "--yes", "--out", "sign-payload.json"])
        #expect(s.status == 0, "\(s)")
        #expect(s.stdout.contains("root key(s) removed: trustvault-"), "\(s.stdout)")
        #expect(s.stdout.contains("(a root key of version 1)"), "\(s.stdout)")
        let v = try d.judge(["check-sign", "sign-payload.json", "pending.json"])
        #expect(v["keyid"] as? String == aID)
        #expect(sub(v, "before")["verified"] as? Bool == false, "\(v)")
        #expect(v["verified"] as? Bool == true && v["verify_delegate_previous"] as? Bool == true, "\(v)")
    }

    /// Every failure: one error line, the sysexits status, the vault unchanged, nothing written.
    @Test func failuresChangeNothing() throws {
        let d = try RSTUFDesk()
        let a = try d.vault.generate("root")
        let stranger = try d.vault.generate("root")
        _ = try d.peerKeys("carol", "online")
        let ok = try d.tv([
            "tuf", "rstuf", "ceremony", "--root-key", a, "--root-key", "carol.pem", "--root-threshold", "1",
            "--online-key", "online.pem", "--out", "ceremony-payload.json",
        ])
        #expect(ok.status == 0, "\(ok)")
        #expect(try d.peer(["root-of", "ceremony-payload.json", "1.root.json"]).status == 0)
        #expect(try d.peer(["pending-update", "tampered.json", "1.root.json", "--sign", "carol.key", "--tamper"]).status == 0)
        #expect(try d.peer(["pending-update", "pending.json", "1.root.json", "--threshold", "2", "--sign", "carol.key"]).status == 0)
        let before = d.vault.fingerprint()
        let payload = d.bytes("ceremony-payload.json")
        let base = ["tuf", "rstuf", "ceremony", "--root-key", a, "--root-threshold", "1", "--online-key", "online.pem"]
        let cases: [(args: [String], status: Int32, needle: String, out: String)] = [
            (base + ["--expires", "timestamp=12h", "--out", "x.json"], 64, "whole days", "x.json"),
            (base + ["--bins", "1", "--out", "x.json"], 64, "hash bins", "x.json"),
            (base + ["--expires", "mirror=1d", "--out", "x.json"], 64, "mirror", "x.json"),
            (["tuf", "rstuf", "ceremony", "--root-key", a, "--root-threshold", "1", "--online-key", a, "--out", "x.json"], 64, "also a root key", "x.json"),
            (
                ["tuf", "rstuf", "ceremony", "--root-key", a, "--root-threshold", "2", "--online-key", "online.pem", "--out", "x.json"], 64, "--root-threshold",
                "x.json"
            ),
            (base + ["--out", "ceremony-payload.json"], 73, "ceremony-payload.json", "-"),
            (["tuf", "rstuf", "update", "--current", "missing.json", "--out", "x.json"], 66, "missing.json", "x.json"),
            (
                ["tuf", "rstuf", "update", "--current", "1.root.json", "--remove-key", "carol.pem", "--remove-key", a, "--out", "x.json"], 64, "no root key",
                "x.json"
            ),
            (["tuf", "rstuf", "sign", "tampered.json", "--key", a, "--yes", "--out", "x.json"], 1, "does not verify", "x.json"),
            (["tuf", "rstuf", "sign", "pending.json", "--key", stranger, "--yes", "--out", "x.json"], 64, "is not a root key", "x.json"),
            (["tuf", "rstuf", "sign", "pending.json", "--key", a, "--out", "x.json"], 64, "--yes", "x.json"),
            (["tuf", "rstuf", "sign", "1.root.json", "--key", a, "--yes", "--out", "x.json"], 65, "1.root.json", "x.json"),
            (["tuf", "rstuf", "sign", "nothing.json", "--key", a, "--yes", "--out", "x.json"], 66, "nothing.json", "x.json"),
        ]
        for c in cases {
            let r = try d.tv(c.args)
            expectFailure(r, status: c.status, mentioning: c.needle, vault: d.vault, before: before)
            if c.out != "-" { #expect(!d.exists(c.out), "\(c.args): nothing written") }
        }
        #expect(d.bytes("ceremony-payload.json") == payload, "an existing payload is never overwritten")
    }

    /// docs/guide-rstuf-ceremony.md as written (its offline ceremony; the RSTUF server steps are
    /// text), and its payload read by RSTUF's types and python-tuf: Alice's signature, Bob's missing.
    @Test func guideCeremonyPayloadIsRSTUFs() throws {
        let folder = TemporaryDirectory("rstuf-guide")
        let result = try GuideRunner().run("guide-rstuf-ceremony.md", in: folder.path, server: nil, ca: nil)
        #expect(result.status == 0 && result.transcript.contains("::guide finished::"), "\(result)")
        #expect(result.transcript.contains("Still missing:"), "\(result)")
        let r = try Run.program(
            PythonTUF.python, [PythonTUF.packageRoot + "/Tests/TUFPeers/rstuf_payloads.py", "check-ceremony", "ceremony-payload.json"],
            directory: folder.sub("work"), timeout: 180)
        #expect(r.status == 0, "\(r)")
        let v = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(v["verified"] as? Bool == false && v["root_threshold"] as? Int == 2, "\(v)")
        #expect(strings(sub(v, "new")["signed"]).count == 1 && strings(sub(v, "new")["unsigned"]).count == 1, "\(v)")
        #expect(sub(sub(v, "roles"), "bins")["number_of_delegated_bins"] as? Int == 256, "\(v)")
    }
}
