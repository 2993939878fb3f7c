import Foundation
import Formats
import PIVEmulator
@testable import SmartCard
import Testing
import TrustCore

/// The emulator at the three firmware levels the card procedures must handle, and the session's
/// encodings that strict cards care about (in-process, no pcscd).
@Suite("PIV firmware levels and strict encodings")
struct FirmwareLevelTests {
    func session(_ version: [UInt8]) throws -> (PIVSession, EmulatorTransport, PIVCard) {
        let card = PIVCard(state: .factory(serial: 5252, version: version))
        let t = EmulatorTransport(card)
        let s = PIVSession(transport: t)
        try s.select()
        return (s, t, card)
    }

    @Test(arguments: [[5, 2, 7], [5, 4, 3], [5, 7, 1]] as [[UInt8]])
    func metadataOnlyFrom53(version: [UInt8]) throws {
        let (s, _, _) = try session(version)
        let has = version.lexicographicallyPrecedes([5, 3, 0]) == false
        #expect(try s.hasMetadata() == has)
        switch try s.probeSlot(.signature) {
        case .empty: #expect(has, "an empty slot reads as empty only with metadata")
        case .unknown: #expect(!has, "without GET METADATA an empty slot is unknown, never empty")
        case .key: Issue.record("factory card has no key")
        }
        // PIN status still works (empty VERIFY), the PUK's is unknown without metadata.
        #expect(try s.pinStatus().triesLeft == 3)
        #expect((try s.pukStatus() == nil) == !has)
        // The management key algorithm: AES-192 by default from 5.7.
        let alg: ManagementKeyAlgorithm = version == [5, 7, 1] ? .aes192 : .tripleDES
        try s.authenticate(managementKey: SecretBytes(copying: PIVSession.factoryManagementKey), algorithm: alg)
        _ = try s.generateP256(slot: .signature)
        if has {
            guard case .key(let m) = try s.probeSlot(.signature) else { Issue.record("key not reported"); return }
            #expect(m.generatedOnCard)
        } else {
            guard case .unknown = try s.probeSlot(.signature) else { Issue.record("5.2 cannot report the key"); return }
        }
        // AES management keys need 5.4.
        if version == [5, 2, 7] {
            #expect(throws: TrustVaultError.self) {
                try s.setManagementKey(SecretBytes(copying: [UInt8](repeating: 7, count: 24)), algorithm: .aes192)
            }
        }
    }

    @Test func verifyAndChangeCommandsCarryNoTrailingLe() throws {
        let (s, t, _) = try session([5, 4, 3])
        t.log = []
        try s.verifyPIN(secret("123456"))
        try s.changePIN(old: secret("123456"), new: secret("24681357"))
        try s.unblockPIN(puk: secret("12345678"), newPIN: secret("11223344"))
        #expect(t.log.map(\.count) == [13, 21, 21], "4-byte header, Lc and the data, no Le: \(t.log)")
        // Empty VERIFY (reading the counter) keeps its Le, as yubico-piv-tool sends it.
        t.log = []
        _ = try s.pinStatus()
        #expect(t.log.allSatisfy { $0.count == 5 })
    }

    @Test func resetBlocksPINAndPUKThenFactoryValues() throws {
        let (s, _, card) = try session([5, 4, 3])
        try s.changePIN(old: secret("123456"), new: secret("24681357"))
        #expect(throws: TrustVaultError.self) { try s.resetApplication() }  // not blocked yet: 6985
        #expect(try s.blockPIN() == 3)
        #expect(try s.blockPUK() == 3)
        try s.resetApplication()
        #expect(card.state.pin == PIVCardState.factoryPIN && card.state.keys.isEmpty && card.state.pinTriesLeft == 3)
    }

    @Test func verifyPUKDoesNotChangeIt() throws {
        let (s, _, card) = try session([5, 4, 3])
        try s.verifyPUK(secret("12345678"))
        #expect(card.state.puk == PIVCardState.factoryPUK && card.state.pukTriesLeft == 3)
        #expect(throws: TrustVaultError.self) { try s.verifyPUK(secret("87654321")) }
        #expect(card.state.pukTriesLeft == 2)
    }
}
