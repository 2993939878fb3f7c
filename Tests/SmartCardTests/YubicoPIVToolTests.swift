import Foundation
import Formats
import SmartCard
import TestSupport
import Testing
import TrustCore

/// The emulator checked with the real yubico-piv-tool through the real pcscd, so it cannot drift
/// from what real YubiKeys and their tools do.
@Suite("piv-emulator against the real yubico-piv-tool", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun))
struct YubicoPIVToolTests {
    static func tool() throws -> String {
        guard let t = PCSCHarness.which("yubico-piv-tool") else {
            throw TrustVaultError(.serviceUnavailable, "yubico-piv-tool is missing (Debian package yubico-piv-tool)")
        }
        return t
    }

    func piv(_ h: PCSCHarness, _ args: [String], slot: Int = 0) throws -> PCSCHarness.Result {
        try PCSCHarness.run(Self.tool(), ["-r", h.readerName(slot: slot)] + args)
    }

    @Test func statusShowsVersionSerialAndTries() throws {
        try PCSCHarness.with(serials: [31_415_926]) { h in
            let r = try piv(h, ["-a", "status"])
            #expect(r.status == 0, "\(r.output)")
            #expect(r.stdout.contains("Version:\t5.4.3"))
            #expect(r.stdout.contains("Serial Number:\t31415926"))
            #expect(r.stdout.contains("PIN tries left:\t3"))
        }
    }

    @Test func verifyPINAndRetriesAndBlocking() throws {
        try PCSCHarness.with { h in
            #expect(try piv(h, ["-a", "verify-pin", "-P", "123456"]).status == 0)
            let wrong = try piv(h, ["-a", "verify-pin", "-P", "000000"])
            #expect(wrong.status != 0)
            #expect(wrong.output.contains("2 tries left"), "\(wrong.output)")
            #expect(try piv(h, ["-a", "status"]).stdout.contains("PIN tries left:\t2"))
            // A correct PIN restores the counter.
            #expect(try piv(h, ["-a", "verify-pin", "-P", "123456"]).status == 0)
            #expect(try piv(h, ["-a", "status"]).stdout.contains("PIN tries left:\t3"))
            for _ in 0..<3 { _ = try piv(h, ["-a", "verify-pin", "-P", "000000"]) }
            let blocked = try piv(h, ["-a", "verify-pin", "-P", "123456"])
            #expect(blocked.status != 0 && blocked.output.lowercased().contains("blocked"), "\(blocked.output)")
            // Unblock with the PUK, then change the PIN.
            let unblock = try piv(h, ["-a", "unblock-pin", "-P", "12345678", "-N", "654321"])
            #expect(unblock.status == 0, "\(unblock.output)")
            #expect(try piv(h, ["-a", "change-pin", "-P", "654321", "-N", "11223344"]).status == 0)
            #expect(try piv(h, ["-a", "verify-pin", "-P", "11223344"]).status == 0)
            // Reset works only once PIN and PUK are both blocked.
            #expect(try piv(h, ["-a", "reset"]).status != 0)
            for _ in 0..<3 { _ = try piv(h, ["-a", "verify-pin", "-P", "000000"]) }
            for _ in 0..<3 { _ = try piv(h, ["-a", "unblock-pin", "-P", "00000000", "-N", "999999"]) }
            let reset = try piv(h, ["-a", "reset"])
            #expect(reset.status == 0, "\(reset.output)")
            #expect(try piv(h, ["-a", "verify-pin", "-P", "123456"]).status == 0)
        }
    }

    @Test func generateImportCertificateAndTestSignature() throws {
        try PCSCHarness.with { h in
            let dir = h.workDirectory
            let gen = try piv(h, ["-a", "generate", "-s", "9c", "-A", "ECCP256", "-o", dir + "/pub.pem"])
            #expect(gen.status == 0, "\(gen.output)")
            let cert = try TestCertificates.issue(forPublicKeyPEM: dir + "/pub.pem", in: dir, cn: "emulator test")
            let imp = try piv(h, ["-a", "import-certificate", "-s", "9c", "-i", cert])
            #expect(imp.status == 0, "\(imp.output)")
            let status = try piv(h, ["-a", "status"])
            #expect(status.stdout.contains("Slot 9c:"))
            #expect(status.stdout.contains("ECCP256"))
            #expect(status.stdout.contains("CN=emulator test"))
            let sig = try piv(h, ["-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9c", "-i", cert])
            #expect(sig.output.contains("Successful ECDSA verification"), "\(sig.output)")
            // 9C is PIN-always: without a VERIFY right before, the card refuses.
            let noPIN = try piv(h, ["-a", "test-signature", "-s", "9c", "-i", cert])
            #expect(noPIN.status != 0)
            #expect(!noPIN.output.contains("Successful ECDSA verification"))
            // The card keeps its key across an emulator restart (state file).
            h.stopCard(slot: 0)
            try h.startCard(slot: 0, serial: 10_000_001)
            let again = try piv(h, ["-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9c", "-i", cert])
            #expect(again.output.contains("Successful ECDSA verification"), "\(again.output)")
        }
    }

    @Test func attestationChainsToTheCardsF9Certificate() throws {
        try PCSCHarness.with { h in
            let dir = h.workDirectory
            #expect(try piv(h, ["-a", "generate", "-s", "9c", "-A", "ECCP256", "-o", dir + "/pub.pem"]).status == 0)
            let attest = try piv(h, ["-a", "attest", "-s", "9c", "-o", dir + "/attest.pem"])
            #expect(attest.status == 0, "\(attest.output)")
            let f9 = try piv(h, ["-a", "read-certificate", "-s", "f9", "-o", dir + "/f9.pem"])
            #expect(f9.status == 0, "\(f9.output)")
            let openssl = try #require(PCSCHarness.which("openssl"))
            let verify = try PCSCHarness.run(openssl, ["verify", "-CAfile", dir + "/f9.pem", dir + "/attest.pem"])
            #expect(verify.stdout.contains(": OK"), "\(verify.output)")
            let attested = try PCSCHarness.run(openssl, ["x509", "-in", dir + "/attest.pem", "-noout", "-pubkey"])
            #expect(attested.stdout == (try String(contentsOfFile: dir + "/pub.pem", encoding: .utf8)))
            // trustvault's session reads the same attestation.
            let (session, _) = try PIVCards.open(serial: 10_000_001)
            defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
            let der = try #require(try session.attest(slot: .signature))
            #expect(try CardCertificate.publicKey(ofCertificate: der) == session.slotPublicKey(.signature))
            #expect(try session.attest(slot: .authentication) == nil, "no key in 9a: no attestation")
        }
    }

    @Test func setManagementKeyRoundTrip() throws {
        try PCSCHarness.with { h in
            let newKey = "0F0E0D0C0B0A090807060504030201000F0E0D0C0B0A0908"
            #expect(try piv(h, ["-a", "set-mgm-key", "-n", newKey]).status == 0)
            #expect(try piv(h, ["-a", "generate", "-s", "9a", "-A", "ECCP256"]).status != 0, "the old key no longer works")
            let gen = try piv(h, ["-k" + newKey, "-a", "generate", "-s", "9a", "-A", "ECCP256"])
            #expect(gen.status == 0, "\(gen.output)")
        }
    }

    /// Keys and certificates written by trustvault's session are read by yubico-piv-tool, and a
    /// key generated by yubico-piv-tool signs through trustvault's session.
    @Test func interoperatesWithTrustvaultSession() throws {
        try PCSCHarness.with { h in
            let dir = h.workDirectory
            // trustvault writes, yubico-piv-tool reads.
            do {
                let (session, _) = try PIVCards.open(serial: 10_000_001)
                try session.authenticate(managementKey: SecretBytes(copying: PIVSession.factoryManagementKey), algorithm: .tripleDES)
                let pub = try session.generateP256(slot: .authentication)
                try pub.pemString.write(toFile: dir + "/9a.pem", atomically: true, encoding: .utf8)
                let cert = try TestCertificates.issue(forPublicKeyPEM: dir + "/9a.pem", in: dir, cn: "written by trustvault")
                try session.writeCertificate(slot: .authentication, der: TestCertificates.der(ofPEMFile: cert))
                (session.transport as? PCSCCard)?.disconnect(reset: true)
                let sig = try piv(h, ["-a", "verify-pin", "-P", "123456", "-a", "test-signature", "-s", "9a", "-i", cert])
                #expect(sig.output.contains("Successful ECDSA verification"), "\(sig.output)")
                #expect(try piv(h, ["-a", "status"]).stdout.contains("CN=written by trustvault"))
            }
            // yubico-piv-tool generates, trustvault signs (and checks its own signature).
            #expect(try piv(h, ["-a", "generate", "-s", "9d", "-A", "ECCP256", "-o", dir + "/9d.pem"]).status == 0)
            let pem = try String(contentsOfFile: dir + "/9d.pem", encoding: .utf8)
            let expected = try PublicKey(spkiDER: TestCertificates.derOfPEM(pem))
            let key = try PIVCards.openSigningKey(
                serial: 10_000_001, slot: .keyManagement, expectedPublicKey: expected,
                options: CardUnlockOptions(allowDefaultPIN: true)
            ) { SecretBytes(copying: Array("123456".utf8)) }
            let message = Array("signed through pcscd".utf8)
            #expect(expected.isValidSignature(try key.sign(message), for: message, method: "ecdsa"))
            key.close()
        }
    }
}

/// Certificates for card keys made with the openssl CLI (yubico-piv-tool 2.2.0 cannot self-sign
/// under OpenSSL 3): a throwaway CA signs a certificate carrying the card's public key.
enum TestCertificates {
    static func issue(forPublicKeyPEM pub: String, in dir: String, cn: String) throws -> String {
        guard let openssl = PCSCHarness.which("openssl") else { throw TrustVaultError(.serviceUnavailable, "openssl is missing") }
        let out = dir + "/cert-\(UUID().uuidString.prefix(6)).pem"
        let steps: [[String]] = [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", dir + "/ca.key"],
            ["req", "-new", "-x509", "-key", dir + "/ca.key", "-subj", "/CN=test CA/", "-days", "2", "-out", dir + "/ca.crt"],
            ["req", "-new", "-key", dir + "/ca.key", "-subj", "/CN=\(cn)/", "-out", dir + "/leaf.csr"],
            [
                "x509", "-req", "-in", dir + "/leaf.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-CAcreateserial",
                "-force_pubkey", pub, "-days", "2", "-out", out,
            ],
        ]
        for step in steps {
            let r = try PCSCHarness.run(openssl, step)
            guard r.status == 0 else { throw TrustVaultError(.ioFailure, "openssl \(step[0]) failed: \(r.output)") }
        }
        return out
    }

    static func derOfPEM(_ pem: String) throws -> [UInt8] {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { throw TrustVaultError.corrupt("bad PEM") }
        return Array(data)
    }

    static func der(ofPEMFile path: String) throws -> [UInt8] {
        try derOfPEM(String(contentsOfFile: path, encoding: .utf8))
    }
}
