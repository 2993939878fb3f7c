import Foundation
import Formats
import SmartCard
import TestSupport
import Testing
import TrustCore

/// Cost of a card signature after the PIN is verified: exactly one APDU exchange (GENERAL
/// AUTHENTICATE), counted both by the session and by the emulator's own log. With
/// `TRUSTVAULT_BENCH=1` it also prints the time per signature (Scripts/card-benchmark.sh).
@Suite("Card signing cost", .tags(.interop), .interop, .enabled(if: PCSCHarness.shouldRun))
struct CardSigningBenchmark {
    @Test func oneAPDUPerSignatureAfterPIN() throws {
        let n = ProcessInfo.processInfo.environment["TRUSTVAULT_BENCH"] == "1" ? 200 : 20
        try PCSCHarness.with(serials: [8_000_001]) { h in
            let pub: PublicKey
            do {
                let (s, _) = try PIVCards.open(serial: 8_000_001)
                defer { (s.transport as? PCSCCard)?.disconnect(reset: true) }
                try s.authenticate(managementKey: SecretBytes(copying: PIVSession.factoryManagementKey), algorithm: .tripleDES)
                pub = try s.generateP256(slot: .signature, pinPolicy: .once)
            }
            let key = try PIVCards.openSigningKey(
                serial: 8_000_001, slot: .signature, expectedPublicKey: pub, options: .init(allowDefaultPIN: true)
            ) { SecretBytes(copying: Array("123456".utf8)) }
            defer { key.close() }
            let logBefore = try String(contentsOfFile: h.workDirectory + "/card-8000001-0.log", encoding: .utf8)
                .split(separator: "\n").filter { $0.hasPrefix("C:") }.count
            let apdusBefore = key.session.apduCount
            let message = Array(String(repeating: "x", count: 1500).utf8)
            let start = Date()
            for _ in 0..<n {
                let sig = try key.sign(message)
                #expect(sig.count == 64)
            }
            let elapsed = Date().timeIntervalSince(start)
            let perSignature = Double(key.session.apduCount - apdusBefore) / Double(n)
            let logLines = try String(contentsOfFile: h.workDirectory + "/card-8000001-0.log", encoding: .utf8)
                .split(separator: "\n").filter { $0.hasPrefix("C:") }
            let cardSide = Double(logLines.count - logBefore) / Double(n)
            #expect(perSignature == 1.0)
            #expect(cardSide == 1.0)
            #expect(logLines.suffix(n).allSatisfy { $0.hasPrefix("C: 00 87 11 9C") && $0.hasSuffix("-> 9000") })
            let line = String(
                format: "card signing: %d signatures, %.2f APDUs/signature (session), %.2f (card log), %.2f ms/signature (incl. host SHA-256 and verification)",
                n, perSignature, cardSide, elapsed * 1000 / Double(n))
            print(line)
        }
    }
}
