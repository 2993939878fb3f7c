import PIVEmulator
import SmartCard
import TrustCore

/// Runs a PIV session against the emulator's state machine in-process (no pcscd).
final class EmulatorTransport: APDUTransport {
    let card: PIVCard
    var log: [[UInt8]] = []
    init(_ card: PIVCard) { self.card = card }
    func transmit(_ apdu: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        log.append(apdu)
        return card.process(apdu)
    }
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(s.filter { !$0.isWhitespace })
    while chars.count >= 2 {
        out.append(UInt8(String(chars[0...1]), radix: 16)!)
        chars.removeFirst(2)
    }
    return out
}

func sw(_ response: [UInt8]) -> UInt16 {
    UInt16(response[response.count - 2]) << 8 | UInt16(response[response.count - 1])
}

let factoryKey = SecretBytes(copying: PIVSession.factoryManagementKey)
func secret(_ s: String) -> SecretBytes { SecretBytes(copying: Array(s.utf8)) }
