#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation
public import TrustCore

/// Serves a ``PIVCard`` to vsmartcard's vpcd reader driver over its TCP protocol.
///
/// Every message is a 2-byte big-endian length and a payload. One-byte payloads are control
/// messages from vpcd (`00` power off, `01` power on, `02` reset, `04` get ATR; only the last is
/// answered); anything longer is a command APDU answered with the response APDU.
public final class VirtualCardConnection {
    let card: PIVCard
    let fd: Int32
    /// Test hook: drop the connection (as if the card were pulled) when a signing GENERAL
    /// AUTHENTICATE arrives, without answering it.
    public var dropOnSign = false
    /// Test hook: drop the connection when a command with this INS arrives.
    public var dropOnINS: UInt8?
    /// The ATR the card answers with (``PIVCard/atr`` or ``PIVCard/nfcATR``).
    public var atr: [UInt8] = PIVCard.atr
    /// With ``dropOnINS``: only when P2 is this value too.
    public var dropOnP2: UInt8?
    /// Drop only after the card has processed (and saved) the command, before it answers: the
    /// host cannot know whether the command took effect.
    public var dropAfterProcessing = false
    /// Where each APDU and its status word are logged (never the data, which holds PINs).
    public var log: ((String) -> Void)?

    /// Connects to vpcd on `host:port`, retrying for `timeout` seconds while the reader is not up.
    public init(card: PIVCard, host: String = "127.0.0.1", port: UInt16, timeout: Double = 10) throws(TrustVaultError) {
        self.card = card
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard s >= 0 else { throw .io("cannot create a socket") }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr(host)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc == 0 {
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                fd = s
                return
            }
            close(s)
            if Date() > deadline {
                throw TrustVaultError(
                    .serviceUnavailable, "vpcd is not listening on \(host):\(port)",
                    recovery: "start pcscd with a vpcd reader configured for that port")
            }
            usleep(100_000)
        }
    }

    deinit { close(fd) }

    private func readFully(_ n: Int) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            // Acknowledge at once: with delayed ACKs every exchange with vpcd stalled about
            // 40-50 ms (measured: 50 ms per signature before, under 1 ms after).
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 {
                if r < 0 && errno == EINTR { continue }
                return nil
            }
            got += r
        }
        return buf
    }

    private func send(_ payload: [UInt8]) -> Bool {
        let msg = [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
        var sent = 0
        while sent < msg.count {
            let r = msg.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, msg.count - sent, Int32(MSG_NOSIGNAL)) }
            if r <= 0 {
                if r < 0 && errno == EINTR { continue }
                return false
            }
            sent += r
        }
        return true
    }

    /// Serves until vpcd closes the connection (or the drop hook fires).
    public func run() {
        while let header = readFully(2) {
            let n = Int(header[0]) << 8 | Int(header[1])
            guard let payload = readFully(n) else { return }
            if payload.count == 1 {
                switch payload[0] {
                case 0x00, 0x01, 0x02:
                    card.reset()
                    log?(["power off", "power on", "reset"][Int(payload[0])])
                case 0x04:
                    guard send(atr) else { return }
                default:
                    break
                }
                continue
            }
            let matches =
                dropOnSign && payload.count > 3 && payload[1] == 0x87 && payload[3] != 0x9B
                || dropOnINS != nil && payload.count > 3 && payload[1] == dropOnINS && (dropOnP2 == nil || payload[3] == dropOnP2)
            if matches && !dropAfterProcessing {
                log?("dropping the connection on a command")
                return
            }
            let response = card.process(payload)
            if matches {
                log?("dropping the connection after processing a command")
                return
            }
            let sw = response.suffix(2).map { String(format: "%02X", $0) }.joined()
            log?(String(format: "C: %02X %02X %02X %02X (%d bytes) -> %@", payload[0], payload[1], payload[2], payload[3], payload.count, sw))
            guard send(response) else { return }
        }
    }
}
