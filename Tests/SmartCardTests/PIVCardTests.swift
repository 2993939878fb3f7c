import Foundation
import Formats
import PIVEmulator
@testable import SmartCard
import Testing
import TrustCore

/// The emulator's APDU state machine, checked byte by byte against the encodings in the
/// reference (YubiKey 5 behaviour).
@Suite("PIV card emulator: APDU state machine")
struct PIVCardTests {
    func freshCard() -> PIVCard { PIVCard(state: .factory(serial: 4242)) }

    @Test func selectAnswersWithTheApplicationPropertyTemplate() {
        let card = freshCard()
        #expect(
            card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
                == hexBytes("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 90 00"))
        #expect(sw(card.process(hexBytes("00 A4 04 00 05 A0 00 00 09 99"))) == 0x6A82)
    }

    @Test func commandsBeforeSelectAreRejectedAndResetDeselects() {
        let card = freshCard()
        #expect(sw(card.process(hexBytes("00 FD 00 00 00"))) == 0x6D00)
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        #expect(card.process(hexBytes("00 FD 00 00 00")) == [5, 4, 3, 0x90, 0x00])
        #expect(card.process(hexBytes("00 F8 00 00 00")) == [0, 0, 0x10, 0x92, 0x90, 0x00])
        card.reset()
        #expect(sw(card.process(hexBytes("00 FD 00 00 00"))) == 0x6D00)
    }

    @Test func pinCounterIsReadWithoutSpendingATry() {
        let card = freshCard()
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        #expect(sw(card.process(hexBytes("00 20 00 80 00"))) == 0x63C3)
        #expect(sw(card.process(hexBytes("00 20 00 80"))) == 0x63C3)
        #expect(sw(card.process(hexBytes("00 20 00 80 08 39 39 39 39 39 39 FF FF"))) == 0x63C2)
        #expect(sw(card.process(hexBytes("00 20 00 80 00"))) == 0x63C2)
        #expect(sw(card.process(hexBytes("00 20 00 80 08 31 32 33 34 35 36 FF FF"))) == 0x9000)
        #expect(sw(card.process(hexBytes("00 20 00 80 00"))) == 0x9000)
        #expect(card.state.pinTriesLeft == 3)
        // VERIFY P1=FF forgets the PIN.
        #expect(sw(card.process(hexBytes("00 20 FF 80"))) == 0x9000)
        #expect(sw(card.process(hexBytes("00 20 00 80 00"))) == 0x63C3)
    }

    @Test func pinBlocksAfterThreeWrongTriesAndPUKUnblocks() {
        let card = freshCard()
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        let wrong = hexBytes("00 20 00 80 08 39 39 39 39 39 39 FF FF")
        #expect(sw(card.process(wrong)) == 0x63C2)
        #expect(sw(card.process(wrong)) == 0x63C1)
        #expect(sw(card.process(wrong)) == 0x6983)
        #expect(sw(card.process(hexBytes("00 20 00 80 08 31 32 33 34 35 36 FF FF"))) == 0x6983)
        // Wrong PUK spends a PUK try.
        #expect(sw(card.process(hexBytes("00 2C 00 80 10 39 39 39 39 39 39 39 39 31 31 31 31 31 31 FF FF"))) == 0x63C2)
        #expect(sw(card.process(hexBytes("00 2C 00 80 10 31 32 33 34 35 36 37 38 31 31 31 31 31 31 FF FF"))) == 0x9000)
        #expect(sw(card.process(hexBytes("00 20 00 80 08 31 31 31 31 31 31 FF FF"))) == 0x9000)
        #expect(card.state.pukTriesLeft == 3)
    }

    @Test func factoryResetOnlyWhenPINAndPUKAreBlocked() {
        let card = freshCard()
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        #expect(sw(card.process(hexBytes("00 FB 00 00"))) == 0x6985)
        for _ in 0..<3 { _ = card.process(hexBytes("00 20 00 80 08 39 39 39 39 39 39 FF FF")) }
        for _ in 0..<3 { _ = card.process(hexBytes("00 2C 00 80 10 39 39 39 39 39 39 39 39 31 31 31 31 31 31 FF FF")) }
        #expect(sw(card.process(hexBytes("00 FB 00 00"))) == 0x9000)
        #expect(card.state == .factory(serial: 4242))
    }

    @Test func commandChainingAndGetResponse() throws {
        let card = freshCard()
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        // A 600-byte object needs three chained PUT DATA parts and 61xx on the way back.
        let cert = (0..<600).map { UInt8($0 & 0xFF) }
        let transport = EmulatorTransport(card)
        let s2 = PIVSession(transport: transport)
        try session.writeCertificate(slot: .authentication, der: cert)
        #expect(try s2.readCertificate(slot: .authentication) == cert)
        #expect(transport.log.contains { $0.count == 5 && $0[1] == 0xC0 }, "GET RESPONSE was used")
        // Raw: an intermediate chained part answers 9000 and the result comes with the last one.
        #expect(sw(card.process(hexBytes("10 CB 3F FF 03 5C 03 5F"))) == 0x9000)
        let r = card.process(hexBytes("00 CB 3F FF 00"))
        #expect(sw(r) == 0x6883 || sw(r) == 0x6A80)
    }

    @Test func shortLeReturnsPartAnd61xx() {
        let card = freshCard()
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        let first = card.process(hexBytes("00 CB 3F FF 03 5C 01 7E 08"))
        #expect(first.count == 10 && first[8] == 0x61 && first[9] == 12)
        let rest = card.process(hexBytes("00 C0 00 00 0C"))
        #expect(Array(first.prefix(8)) + rest.dropLast(2) == hexBytes("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 00"))
        #expect(sw(rest) == 0x9000)
    }

    @Test func managementKeyMutualAuthentication3DES() throws {
        let card = freshCard()
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        #expect(throws: TrustVaultError(.wrongPIN, "")) {
            try session.authenticate(managementKey: SecretBytes(copying: [UInt8](repeating: 7, count: 24)), algorithm: .tripleDES)
        }
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        // One-way variant: the card hands out a challenge and accepts its encryption.
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        let r = card.process(hexBytes("00 87 03 9B 04 7C 02 81 00"))
        #expect(sw(r) == 0x9000 && r.count == 14)
        let enc = try ManagementKeyCipher.apply(.tripleDES, key: factoryKey, Array(r[4..<12]), encrypt: true)
        #expect(sw(card.process(hexBytes("00 87 03 9B 0C 7C 0A 82 08") + enc)) == 0x9000)
        #expect(sw(card.process(hexBytes("00 87 03 9B 0C 7C 0A 82 08") + enc)) == 0x6982, "a challenge is used once")
    }

    @Test func tripleDESKnownVector() throws {
        // From the reference: 3DES-ECB with the default key over 0011223344556677 is 26604d88e55bd3e7.
        #expect(
            try ManagementKeyCipher.apply(.tripleDES, key: factoryKey, hexBytes("0011223344556677"), encrypt: true)
                == hexBytes("26604d88e55bd3e7"))
        #expect(
            try ManagementKeyCipher.apply(.tripleDES, key: factoryKey, hexBytes("26604d88e55bd3e7"), encrypt: false)
                == hexBytes("0011223344556677"))
    }

    @Test func changeManagementKeyToAES192() throws {
        let card = freshCard()
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        let newKey = SecretBytes(copying: (0..<24).map { UInt8($0 * 3) })
        try session.setManagementKey(newKey, algorithm: .aes192)
        try session.select()
        #expect(try session.managementKeyInfo()?.algorithm == .aes192)
        #expect(try session.managementKeyInfo()?.isDefault == false)
        #expect(throws: TrustVaultError(.wrongPIN, "")) { try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES) }
        try session.authenticate(managementKey: newKey, algorithm: .aes192)
    }

    @Test func generateNeedsManagementKeyAndSignsWithPINPolicy() throws {
        let card = freshCard()
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        #expect(throws: TrustVaultError(.cardError, "")) { _ = try session.generateP256(slot: .signature) }
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        let pub = try session.generateP256(slot: .signature, pinPolicy: .always)
        #expect(try session.slotPublicKey(.signature) == pub)
        let message = Array("root.json".utf8)
        #expect(throws: TrustVaultError(.wrongPIN, "")) { _ = try session.signP256(slot: .signature, message: message) }
        try session.verifyPIN(secret("123456"))
        let sig = try session.signP256(slot: .signature, message: message)
        #expect(pub.isValidSignature(sig, for: message, method: "ecdsa"))
        // PIN ALWAYS: a second signature needs a fresh VERIFY right before it.
        #expect(throws: TrustVaultError(.wrongPIN, "")) { _ = try session.signP256(slot: .signature, message: message) }
        // PIN ONCE: any number of signatures after one VERIFY.
        let pub9a = try session.generateP256(slot: .authentication, pinPolicy: .once)
        try session.verifyPIN(secret("123456"))
        for _ in 0..<3 {
            #expect(pub9a.isValidSignature(try session.signP256(slot: .authentication, message: message), for: message, method: "ecdsa"))
        }
    }

    @Test func importedKeySignsAndReportsOrigin() throws {
        let card = freshCard()
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        let key = try PrivateKeyFixture.p256()
        try session.importP256(slot: .keyManagement, scalar: key.secret)
        let meta = try #require(try session.slotMetadata(.keyManagement))
        #expect(!meta.generatedOnCard)
        #expect(meta.pinPolicy == .once)
        #expect(try session.slotPublicKey(.keyManagement) == key.publicKey)
        try session.verifyPIN(secret("123456"))
        let message = Array("targets".utf8)
        #expect(key.publicKey.isValidSignature(try session.signP256(slot: .keyManagement, message: message), for: message, method: "ecdsa"))
        // Imported keys have no attestation (only keys generated on the card do).
        #expect(try session.attest(slot: .keyManagement) == nil)
        _ = try session.generateP256(slot: .signature)
        let der = try #require(try session.attest(slot: .signature))
        #expect(try CardCertificate.publicKey(ofCertificate: der) == session.slotPublicKey(.signature))
    }

    @Test func ed25519OnFirmware57WithAESFactoryManagementKey() throws {
        let card = PIVCard(state: .factory(serial: 5701, version: [5, 7, 1]))
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        #expect(try session.managementKeyInfo()?.algorithm == .aes192, "5.7 factory management key is AES-192")
        try session.authenticate(managementKey: factoryKey, algorithm: .aes192)
        let pub = try session.generateEd25519(slot: .signature)
        #expect(pub.algorithm == .ed25519)
        #expect(try session.slotPublicKey(.signature) == pub)
        try session.verifyPIN(secret("123456"))
        // A long message (Ed25519 signs it whole): the command is chained.
        let message = Array(String(repeating: "{\"signed\":1}", count: 100).utf8)
        let transport = EmulatorTransport(card)
        let s2 = PIVSession(transport: transport)
        let sig = try s2.signEd25519(slot: .signature, message: message)
        #expect(pub.isValidSignature(sig, for: message, method: "eddsa"))
        #expect(transport.log.filter { $0[0] == 0x10 }.count >= 4, "chained parts")

        // Older firmware refuses Ed25519 with a clear error.
        let old = PIVSession(transport: EmulatorTransport(freshCard()))
        try old.select()
        try old.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        #expect(throws: TrustVaultError(.unsupported, "")) { _ = try old.generateEd25519(slot: .signature) }
    }

    @Test func stateSurvivesARestart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("piv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/card.json"
        let card = try PIVCard(stateFile: file, serial: 77)
        let session = PIVSession(transport: EmulatorTransport(card))
        try session.select()
        try session.authenticate(managementKey: factoryKey, algorithm: .tripleDES)
        let pub = try session.generateP256(slot: .signature)
        try session.changePIN(old: secret("123456"), new: secret("24681357"))
        #expect(throws: TrustVaultError(.wrongPIN, "")) { try session.verifyPIN(secret("99999999")) }

        let again = try PIVCard(stateFile: file, serial: 1)
        let s2 = PIVSession(transport: EmulatorTransport(again))
        try s2.select()
        #expect(try s2.serial() == 77)
        #expect(try s2.slotPublicKey(.signature) == pub)
        #expect(try s2.pinStatus().triesLeft == 2)
        try s2.verifyPIN(secret("24681357"))
        #expect(try s2.pinStatus() == PINStatus(triesLeft: 3, isDefault: false, totalTries: 3))
    }

    @Test func malformedCommandsGetErrorsNotCrashes() {
        let card = freshCard()
        _ = card.process(hexBytes("00 A4 04 00 05 A0 00 00 03 08"))
        for bad in [
            "00", "00 CB", "00 CB 3F FF 05 5C", "00 CB 3F FF 03 5C 09 5F", "00 87 11 9C 02 7C 05",
            "00 47 00 9C 03 AC 01 80", "00 20 00 80 03 31 32 33", "00 FE 11 9C 03 06 01 00", "00 DB 3F FF 01 5C",
        ] {
            let r = card.process(hexBytes(bad))
            #expect(r.count >= 2 && sw(r) != 0x9000, "\(bad)")
        }
    }
}
