import Foundation
import Formats
import SmartCard
import TestSupport
import Testing
import TrustCore

/// trustvault's PC/SC code, unmodified, against the real pcscd with emulated cards behind vpcd.
@Suite("SmartCard through the real pcscd", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun))
struct PCSCSessionTests {
    let pin = { () throws(TrustVaultError) -> SecretBytes in SecretBytes(copying: Array("24681357".utf8)) }

    /// A card set up like `card setup` leaves it (own PIN, own management key) with a key in 9c.
    func prepare(serial: UInt32) throws -> PublicKey {
        let (session, _) = try PIVCards.open(serial: serial)
        defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        let pub = try session.generateP256(slot: .signature, pinPolicy: .once)
        try session.changePIN(old: secret("123456"), new: secret("24681357"))
        try session.setManagementKey(SecretBytes(copying: [UInt8](repeating: 0x42, count: 24)), algorithm: .aes192)
        return pub
    }

    @Test func listsBothCardsWithSerialAndVersion() throws {
        try PCSCHarness.with(serials: [11_111_111, 22_222_222]) { h in
            let cards = try PIVCards.list()
            let mine = cards.filter { $0.reader.hasPrefix(h.readerPrefix) }
            #expect(mine.map(\.serial) == [11_111_111, 22_222_222])
            #expect(mine.allSatisfy { $0.version?.description == "5.4.3" })
            #expect(mine.map(\.reader) == [h.readerName(slot: 0), h.readerName(slot: 1)])
            #expect(throws: TrustVaultError(.notFound, "")) { _ = try PIVCards.open(serial: 33_333_333) }
        }
    }

    @Test func signsAfterCheckingSerialAndPublicKey() throws {
        try PCSCHarness.with(serials: [11_111_111, 22_222_222]) { h in
            let pub = try prepare(serial: 11_111_111)
            _ = try prepare(serial: 22_222_222)
            let key = try PIVCards.openSigningKey(serial: 11_111_111, slot: .signature, expectedPublicKey: pub, pin: pin)
            let before = key.session.apduCount
            let message = Array("{\"signed\":{}}".utf8)
            let sig = try key.sign(message)
            #expect(pub.isValidSignature(sig, for: message, method: "ecdsa"))
            #expect(key.session.apduCount - before == 1, "one GENERAL AUTHENTICATE per signature after the PIN")
            key.close()

            // The other card has a different key in 9c: refused before any PIN try is spent.
            var asked = false
            let e = #expect(throws: TrustVaultError.self) {
                _ = try PIVCards.openSigningKey(serial: 22_222_222, slot: .signature, expectedPublicKey: pub) { () throws(TrustVaultError) -> SecretBytes in
                    asked = true
                    return SecretBytes(copying: Array("24681357".utf8))
                }
            }
            #expect(e?.code == .refused)
            #expect(!asked, "the PIN must not be asked for on the wrong card")
            let (s2, _) = try PIVCards.open(serial: 22_222_222)
            #expect(try s2.pinStatus().triesLeft == 3)
            (s2.transport as? PCSCCard)?.disconnect(reset: true)
        }
    }

    @Test func wrongPINReportsTriesLeftAndNeverBlocks() throws {
        try PCSCHarness.with { h in
            let pub = try prepare(serial: 10_000_001)
            let wrong = { () throws(TrustVaultError) -> SecretBytes in SecretBytes(copying: Array("11111111".utf8)) }
            let first = #expect(throws: TrustVaultError.self) {
                _ = try PIVCards.openSigningKey(serial: 10_000_001, slot: .signature, expectedPublicKey: pub, pin: wrong)
            }
            #expect(first?.code == .wrongPIN)
            #expect(first?.message.contains("2 tries left") == true, "\(first?.message ?? "")")
            let second = #expect(throws: TrustVaultError.self) {
                _ = try PIVCards.openSigningKey(serial: 10_000_001, slot: .signature, expectedPublicKey: pub, pin: wrong)
            }
            #expect(second?.message.contains("1 try left") == true)
            // One try left: refused without --force, so the card is never blocked by accident.
            let third = #expect(throws: TrustVaultError.self) {
                _ = try PIVCards.openSigningKey(serial: 10_000_001, slot: .signature, expectedPublicKey: pub, pin: wrong)
            }
            #expect(third?.code == .refused)
            let (s, _) = try PIVCards.open(serial: 10_000_001)
            #expect(try s.pinStatus().triesLeft == 1)
            (s.transport as? PCSCCard)?.disconnect(reset: true)
            // With force and the right PIN it works and the counter is restored.
            let key = try PIVCards.openSigningKey(
                serial: 10_000_001, slot: .signature, expectedPublicKey: pub, options: .init(force: true), pin: pin)
            #expect(try key.session.pinStatus().triesLeft == 3)
            key.close()
        }
    }

    @Test func factoryPINIsRefusedUnlessAllowed() throws {
        try PCSCHarness.with { h in
            let (session, _) = try PIVCards.open(serial: 10_000_001)
            try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
            let pub = try session.generateP256(slot: .signature, pinPolicy: .once)
            (session.transport as? PCSCCard)?.disconnect(reset: true)
            let factory = { () throws(TrustVaultError) -> SecretBytes in secret("123456") }
            let e = #expect(throws: TrustVaultError.self) {
                _ = try PIVCards.openSigningKey(serial: 10_000_001, slot: .signature, expectedPublicKey: pub, pin: factory)
            }
            #expect(e?.code == .refused)
            let key = try PIVCards.openSigningKey(
                serial: 10_000_001, slot: .signature, expectedPublicKey: pub, options: .init(allowDefaultPIN: true), pin: factory)
            key.close()
            let (s2, _) = try PIVCards.open(serial: 10_000_001)
            let m = #expect(throws: TrustVaultError.self) {
                try PIVCards.authenticateManagementKey(session: s2, serial: 10_000_001, key: factoryKey, options: .init())
            }
            #expect(m?.code == .refused)
            (s2.transport as? PCSCCard)?.disconnect(reset: true)
        }
    }

    @Test func cardPulledMidOperationIsAClearError() throws {
        try PCSCHarness.with { h in
            let pub = try prepare(serial: 10_000_001)
            // Restart the card with the hook that drops the connection on a signing command.
            h.stopCard(slot: 0)
            try h.startCard(slot: 0, serial: 10_000_001, extraArguments: ["--drop-on-sign"])
            let key = try PIVCards.openSigningKey(serial: 10_000_001, slot: .signature, expectedPublicKey: pub, pin: pin)
            let e = #expect(throws: TrustVaultError.self) { _ = try key.sign(Array("x".utf8)) }
            #expect(e?.code == .serviceUnavailable, "\(String(describing: e))")
            #expect(e?.message.contains("removed") == true, "\(e?.message ?? "")")
            #expect(e?.recovery != nil)
            key.close()
        }
    }
}
