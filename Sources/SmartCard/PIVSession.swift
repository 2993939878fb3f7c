public import TrustCore
internal import Formats
internal import Crypto
internal import Foundation

/// A PIV application session on one card (NIST SP 800-73-4 with the YubiKey extensions).
///
/// Commands longer than 255 data bytes are sent with ISO 7816 command chaining (CLA `10`);
/// `61xx` answers are collected with GET RESPONSE. Every status word other than `9000` becomes a
/// ``TrustVaultError`` that says what the card refused. The session never logs or keeps a PIN,
/// PUK or management key beyond the call that uses it.
public final class PIVSession: @unchecked Sendable {
    public let transport: any APDUTransport
    /// Name of the reader (for messages), if known.
    public let readerName: String?
    /// Number of APDU exchanges made so far (chained parts and GET RESPONSE included).
    public private(set) var apduCount = 0
    private let lock = NSRecursiveLock()

    static let pivAID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08]
    public static let factoryPIN = "123456"
    public static let factoryPUK = "12345678"
    public static let factoryManagementKey: [UInt8] = (0..<3).flatMap { _ in (1...8).map { UInt8($0) } }

    public init(transport: any APDUTransport, readerName: String? = nil) {
        self.transport = transport
        self.readerName = readerName
    }

    var place: String { readerName.map { "the card in reader \"\($0)\"" } ?? "the card" }

    // MARK: APDU exchange

    struct Response {
        var data: [UInt8]
        var sw: UInt16
    }

    /// Sends one command (chained if needed) and gathers the whole response.
    ///
    /// `expectsData: false` leaves out the trailing Le byte (VERIFY, CHANGE REFERENCE DATA, PUT
    /// DATA, IMPORT …: case-3 commands that strict cards refuse with an Le).
    func send(ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], cla: UInt8 = 0x00, expectsData: Bool = true)
        throws(TrustVaultError) -> Response
    {
        lock.lock()
        defer { lock.unlock() }
        var chunks: [[UInt8]] = []
        // The chunks and APDUs may hold a PIN, management key or private scalar: wiped.
        defer { for i in chunks.indices { Sodium.wipe(&chunks[i]) } }
        var rest = data[...]
        repeat {
            chunks.append(Array(rest.prefix(255)))
            rest = rest.dropFirst(255)
        } while !rest.isEmpty
        var raw: [UInt8] = []
        for (i, chunk) in chunks.enumerated() {
            let last = i == chunks.count - 1
            var apdu: [UInt8] = [last ? cla : cla | 0x10, ins, p1, p2]
            apdu.reserveCapacity(6 + chunk.count)
            if !chunk.isEmpty {
                apdu.append(UInt8(chunk.count))
                apdu.append(contentsOf: chunk)
            }
            if last && (expectsData || chunk.isEmpty) { apdu.append(0x00) }
            raw = try exchange(apdu)
            Sodium.wipe(&apdu)
            if !last {
                guard raw.count >= 2 else { throw malformed() }
                let sw = UInt16(raw[raw.count - 2]) << 8 | UInt16(raw[raw.count - 1])
                if sw != 0x9000 { return Response(data: [], sw: sw) }
            }
        }
        var body: [UInt8] = []
        while true {
            guard raw.count >= 2 else { throw malformed() }
            let sw1 = raw[raw.count - 2]
            let sw2 = raw[raw.count - 1]
            body += raw.dropLast(2)
            if sw1 == 0x61 {
                raw = try exchange([0x00, 0xC0, 0x00, 0x00, sw2])
                continue
            }
            if sw1 == 0x6C {
                // Wrong Le: repeat the (short) command with the exact length.
                guard data.count <= 255 else { return Response(data: body, sw: 0x6C00 | UInt16(sw2)) }
                var apdu: [UInt8] = [cla, ins, p1, p2]
                apdu.reserveCapacity(6 + data.count)
                if !data.isEmpty {
                    apdu.append(UInt8(data.count))
                    apdu.append(contentsOf: data)
                }
                apdu.append(sw2)
                raw = try exchange(apdu)
                Sodium.wipe(&apdu)
                body = []
                continue
            }
            return Response(data: body, sw: UInt16(sw1) << 8 | UInt16(sw2))
        }
    }

    private func exchange(_ apdu: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        apduCount += 1
        return try transport.transmit(apdu)
    }

    private func malformed() -> TrustVaultError {
        TrustVaultError(.cardError, "\(place) sent a malformed response (no status word)")
    }

    func cardError(_ what: String, _ sw: UInt16) -> TrustVaultError {
        let meaning: String
        switch sw {
        case 0x6982: meaning = "security status not satisfied"
        case 0x6983: meaning = "blocked"
        case 0x6A80: meaning = "incorrect data or unsupported algorithm"
        case 0x6A82: meaning = "not found"
        case 0x6A86: meaning = "incorrect parameters"
        case 0x6A88: meaning = "no such key or object"
        case 0x6D00: meaning = "command not supported"
        case 0x6985: meaning = "conditions of use not satisfied"
        default: meaning = "status"
        }
        return TrustVaultError(.cardError, "\(place) refused \(what): \(meaning) (SW \(String(format: "%04X", sw)))")
    }

    @discardableResult
    func expectOK(_ what: String, ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8] = [], expectsData: Bool = true)
        throws(TrustVaultError) -> [UInt8]
    {
        let r = try send(ins: ins, p1: p1, p2: p2, data: data, expectsData: expectsData)
        guard r.sw == 0x9000 else { throw cardError(what, r.sw) }
        return r.data
    }

    // MARK: application and identity

    /// Selects the PIV application; fails clearly if the card has none.
    public func select() throws(TrustVaultError) {
        let r = try send(ins: 0xA4, p1: 0x04, p2: 0x00, data: Self.pivAID)
        guard r.sw == 0x9000 else {
            throw TrustVaultError(
                .unsupported, "\(place) has no PIV application (SW \(String(format: "%04X", r.sw)))",
                recovery: "use a PIV card such as a YubiKey 4 or 5 with the PIV application enabled")
        }
    }

    /// The card's serial number (YubiKey 5 GET SERIAL), or `nil` if the card has none.
    public func serial() throws(TrustVaultError) -> UInt32? {
        let r = try send(ins: 0xF8, p1: 0, p2: 0)
        guard r.sw == 0x9000, r.data.count == 4 else { return nil }
        return r.data.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The firmware version (YubiKey GET VERSION), or `nil` if the card does not say.
    public func version() throws(TrustVaultError) -> PIVVersion? {
        let r = try send(ins: 0xFD, p1: 0, p2: 0)
        guard r.sw == 0x9000, r.data.count >= 3 else { return nil }
        return PIVVersion(Int(r.data[0]), Int(r.data[1]), Int(r.data[2]))
    }
}
