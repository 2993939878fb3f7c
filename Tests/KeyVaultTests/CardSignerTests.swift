import Foundation
import Formats
import KeyVault
import SmartCard
import TestSupport
import Testing
import TrustCore

/// `Vault.signer(for:)` with card records: what the ceremonies use, through the real pcscd.
@Suite("Vault signers for card keys", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun), .serialized)
struct CardSignerTests {
    final class PINPrompt: @unchecked Sendable {
        let lock = NSLock()
        var count = 0
        let pin: String
        init(_ pin: String) { self.pin = pin }
        var source: SecretSource {
            SecretSource(environment: [:]) { _, _, _ throws(TrustVaultError) -> SecretBytes in
                self.lock.withLock { self.count += 1 }
                return SecretBytes(copying: Array(self.pin.utf8))
            }
        }
    }

    /// A set-up card (own PIN) with P-256 keys in 9c and 9a, recorded in a fresh vault.
    func prepare(_ dir: TemporaryDirectory, serial: UInt32) throws -> (Vault, KeyRecord, KeyRecord) {
        let vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
        let (session, _) = try PIVCards.open(serial: serial)
        defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
        try session.authenticate(managementKey: SecretBytes(copying: PIVSession.factoryManagementKey), algorithm: .tripleDES)
        let k9c = try session.generateP256(slot: .signature)
        let k9a = try session.generateP256(slot: .authentication)
        try session.changePIN(old: SecretBytes(copying: Array("123456".utf8)), new: SecretBytes(copying: Array("24681357".utf8)))
        let r1 = try vault.addCardKey(publicKey: k9c, role: "root", gun: nil, certificatePEM: nil, serial: String(serial), slot: "9c")
        let r2 = try vault.addCardKey(publicKey: k9a, role: "root", gun: nil, certificatePEM: nil, serial: String(serial), slot: "9a")
        return (vault, r1, r2)
    }

    @Test func cardKeysSignWithOnePINEntryPerCommand() throws {
        let dir = TemporaryDirectory("card-signer")
        try PCSCHarness.with(serials: [7_000_001]) { _ in
            let (vault, r9c, r9a) = try prepare(dir, serial: 7_000_001)
            defer { vault.cardSigners.closeAll() }
            let prompt = PINPrompt("24681357")
            let message = Array("{\"signed\":{\"_type\":\"Root\"}}".utf8)
            for record in [r9c, r9a, r9c] {
                let signer = try vault.signer(for: record, secrets: prompt.source)
                #expect(signer.publicKey == record.publicKey)
                let sig = try signer.sign(message)
                #expect(record.publicKey.isValidSignature(sig, for: message, method: "ecdsa"))
            }
            #expect(prompt.count == 1, "one PIN entry per command, however many card keys sign")
        }
    }

    @Test func wrongPINThroughTheSignerReportsTriesLeft() throws {
        let dir = TemporaryDirectory("card-signer")
        try PCSCHarness.with(serials: [7_000_002]) { _ in
            let (vault, r9c, _) = try prepare(dir, serial: 7_000_002)
            defer { vault.cardSigners.closeAll() }
            let e = #expect(throws: TrustVaultError.self) {
                _ = try vault.signer(for: r9c, secrets: SecretSource(environment: ["TRUSTVAULT_PIN": "11111111"]))
            }
            #expect(e?.code == .wrongPIN)
            #expect(e?.message.contains("2 tries left") == true, "\(e?.message ?? "")")
            #expect(e?.message.contains("11111111") == false, "no secret in messages")
        }
    }

    @Test func missingCardIsNotFound() throws {
        let dir = TemporaryDirectory("card-signer")
        try PCSCHarness.with(serials: [7_000_003]) { h in
            let (vault, r9c, _) = try prepare(dir, serial: 7_000_003)
            defer { vault.cardSigners.closeAll() }
            h.stopCard(slot: 0)
            let e = #expect(throws: TrustVaultError.self) {
                _ = try vault.signer(for: r9c, secrets: SecretSource(environment: ["TRUSTVAULT_PIN": "24681357"]))
            }
            #expect(e?.code == .notFound)
            #expect(e?.message.contains("7000003") == true)
        }
    }

    @Test func ed25519CardKeySignsThroughTheVault() throws {
        let dir = TemporaryDirectory("card-signer")
        try PCSCHarness.with(serials: [7_000_004], emulatorArguments: ["--version", "5.7.1"]) { _ in
            let vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
            defer { vault.cardSigners.closeAll() }
            let (session, _) = try PIVCards.open(serial: 7_000_004)
            try session.authenticate(managementKey: SecretBytes(copying: PIVSession.factoryManagementKey), algorithm: .aes192)
            let pub = try session.generateEd25519(slot: .keyManagement)
            try session.changePIN(old: SecretBytes(copying: Array("123456".utf8)), new: SecretBytes(copying: Array("24681357".utf8)))
            (session.transport as? PCSCCard)?.disconnect(reset: true)
            let record = try vault.addCardKey(
                publicKey: pub, role: "targets/releases", gun: "example.com/app", certificatePEM: nil,
                serial: "7000004", slot: "9d")
            let signer = try vault.signer(for: record, secrets: SecretSource(environment: ["TRUSTVAULT_PIN": "24681357"]))
            let message = Array(String(repeating: "targets ", count: 300).utf8)
            #expect(pub.isValidSignature(try signer.sign(message), for: message, method: "eddsa"))
        }
    }
}
