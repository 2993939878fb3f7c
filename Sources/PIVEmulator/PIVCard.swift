internal import Foundation
public import TrustCore

/// An emulated PIV card that behaves like a YubiKey 5 as far as trustvault, yubico-piv-tool and
/// OpenSC use it.
///
/// ``process(_:)`` is a pure APDU-in, R-APDU-out state machine (with SW1 SW2 at the end); the
/// power hooks drop the volatile state (selected applet, PIN and management-key authentication,
/// pending chains and responses) exactly when a real card loses it. Persistent state lives in a
/// ``PIVCardState`` that is written to `stateFile` after every change, so a card survives an
/// emulator restart.
public final class PIVCard: @unchecked Sendable {
    /// The YubiKey 5 ATR: with it clients take their YubiKey code paths.
    public static let atr: [UInt8] = [
        0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59,
        0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0x40,
    ]
    /// A YubiKey 5 NFC's ATR over NFC (T0 `8D`): ykman then takes the card for an NFC-connected
    /// YubiKey, which needs no USB product ID from the reader name.
    public static let nfcATR: [UInt8] = [
        0x3B, 0x8D, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79, 0xF9,
    ]
    static let pivAIDPrefix: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08]
    static let pivAID: [UInt8] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00]
    static let managementAID: [UInt8] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17]

    enum Applet { case none, piv, management }

    private let lock = NSLock()
    public internal(set) var state: PIVCardState
    let stateFile: String?

    // Volatile state.
    var applet: Applet = .none
    var pinVerified = false
    var pinJustVerified = false
    var managementAuthenticated = false
    var witness: [UInt8]?
    var challenge: [UInt8]?
    var chain: (ins: UInt8, p1: UInt8, p2: UInt8, data: [UInt8])?
    var pendingResponse: [UInt8] = []
    /// Number of complete commands processed (GET RESPONSE and chained parts count too).
    public private(set) var apduCount = 0

    /// A card with `state`; changes are saved to `stateFile` when given.
    public init(state: PIVCardState, stateFile: String? = nil) {
        self.state = state
        self.stateFile = stateFile
    }

    /// Loads the card saved at `stateFile`, or makes a factory-fresh one with `serial` there.
    public convenience init(stateFile: String, serial: UInt32, version: [UInt8] = [5, 4, 3]) throws(TrustVaultError) {
        let loaded = try PIVCardState.load(from: stateFile)
        self.init(state: loaded ?? .factory(serial: serial, version: version), stateFile: stateFile)
        if loaded == nil { try state.save(to: stateFile) }
    }

    // MARK: power

    /// Power off, power on and warm reset all drop the volatile state.
    public func reset() {
        lock.lock()
        defer { lock.unlock() }
        clearVolatile()
        applet = .none
    }

    func clearVolatile() {
        pinVerified = false
        pinJustVerified = false
        managementAuthenticated = false
        witness = nil
        challenge = nil
        chain = nil
        pendingResponse = []
    }

    func persist() {
        guard let stateFile else { return }
        do { try state.save(to: stateFile) } catch {
            FileHandle.standardError.write(Data("piv-emulator: cannot save the card state: \(error)\n".utf8))
        }
    }

    // MARK: APDU parsing

    struct Command {
        var cla: UInt8, ins: UInt8, p1: UInt8, p2: UInt8
        var data: [UInt8]
        /// Expected response length; 0 means "as much as fits" (256 short, 65536 extended).
        var le: Int?
        var extended: Bool

        init?(_ apdu: [UInt8]) {
            guard apdu.count >= 4 else { return nil }
            cla = apdu[0]
            ins = apdu[1]
            p1 = apdu[2]
            p2 = apdu[3]
            data = []
            le = nil
            extended = false
            let body = Array(apdu.dropFirst(4))
            if body.isEmpty { return }
            if body.count == 1 {
                le = Int(body[0])
                return
            }
            if body[0] != 0 {
                let lc = Int(body[0])
                guard body.count == 1 + lc || body.count == 2 + lc else { return nil }
                data = Array(body[1..<1 + lc])
                if body.count == 2 + lc { le = Int(body[1 + lc]) }
                return
            }
            // Extended length.
            extended = true
            guard body.count >= 3 else { return nil }
            if body.count == 3 {
                le = Int(body[1]) << 8 | Int(body[2])
                return
            }
            let lc = Int(body[1]) << 8 | Int(body[2])
            guard lc > 0, body.count == 3 + lc || body.count == 5 + lc else { return nil }
            data = Array(body[3..<3 + lc])
            if body.count == 5 + lc { le = Int(body[3 + lc]) << 8 | Int(body[4 + lc]) }
        }
    }

    struct Reply {
        var data: [UInt8] = []
        var sw: UInt16 = 0x9000
        static func sw(_ sw: UInt16) -> Reply { Reply(data: [], sw: sw) }
        static func ok(_ data: [UInt8] = []) -> Reply { Reply(data: data, sw: 0x9000) }
    }

    static func bytes(_ sw: UInt16) -> [UInt8] { [UInt8(sw >> 8), UInt8(sw & 0xFF)] }

    // MARK: processing

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 ‖ SW2).
    public func process(_ apdu: [UInt8]) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        apduCount += 1
        guard let cmd = Command(apdu) else { return Self.bytes(0x6700) }
        if cmd.ins == 0xC0 && cmd.cla & 0x10 == 0 {
            guard !pendingResponse.isEmpty else { return Self.bytes(0x6985) }
            return nextChunk(max: cmd.le.map { $0 == 0 ? 256 : $0 } ?? 256)
        }
        pendingResponse = []
        if cmd.cla & 0x10 != 0 {
            if let c = chain, c.ins == cmd.ins, c.p1 == cmd.p1, c.p2 == cmd.p2 {
                chain?.data += cmd.data
            } else {
                chain = (cmd.ins, cmd.p1, cmd.p2, cmd.data)
            }
            return Self.bytes(0x9000)
        }
        var full = cmd
        if let c = chain {
            chain = nil
            guard c.ins == cmd.ins, c.p1 == cmd.p1, c.p2 == cmd.p2 else { return Self.bytes(0x6883) }
            full.data = c.data + cmd.data
        }
        let justVerified = pinJustVerified
        pinJustVerified = false
        let reply = dispatch(full, justVerified: justVerified)
        return deliver(reply, le: full.le, extended: full.extended)
    }

    private func deliver(_ reply: Reply, le: Int?, extended: Bool) -> [UInt8] {
        if extended || reply.data.count <= 256 && (le == nil || le == 0 || le! >= reply.data.count) {
            return reply.data + Self.bytes(reply.sw)
        }
        pendingResponse = reply.data
        let first = (le == nil || le == 0) ? 256 : le!
        return nextChunk(max: first)
    }

    private func nextChunk(max: Int) -> [UInt8] {
        let n = min(max, pendingResponse.count)
        let chunk = Array(pendingResponse.prefix(n))
        pendingResponse.removeFirst(n)
        if pendingResponse.isEmpty { return chunk + [0x90, 0x00] }
        return chunk + [0x61, pendingResponse.count >= 256 ? 0 : UInt8(pendingResponse.count)]
    }

    private func dispatch(_ c: Command, justVerified: Bool) -> Reply {
        if c.ins == 0xA4 { return select(c) }
        switch applet {
        case .none:
            return .sw(0x6D00)
        case .management:
            if c.ins == 0x1D { return readConfig() }
            return .sw(0x6D00)
        case .piv:
            break
        }
        switch c.ins {
        case 0xCB: return getData(c)
        case 0xDB: return putData(c)
        case 0x20: return verify(c)
        case 0x24: return changeReference(c)
        case 0x2C: return resetRetryCounter(c)
        case 0x87: return generalAuthenticate(c, justVerified: justVerified)
        case 0x47: return generate(c)
        case 0xFE: return importKey(c)
        case 0xFD: return .ok(state.version)
        case 0xF8:
            let s = state.serial
            return .ok([UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)])
        case 0xF7:
            // GET METADATA arrived with firmware 5.3; older YubiKeys do not know the command.
            if state.version.lexicographicallyPrecedes([5, 3, 0]) { return .sw(0x6D00) }
            return metadata(c)
        case 0xFA: return setRetries(c)
        case 0xFB: return factoryReset()
        case 0xFF: return setManagementKey(c)
        case 0xF9: return attest(c)
        default: return .sw(0x6D00)
        }
    }

    // MARK: SELECT

    private func select(_ c: Command) -> Reply {
        guard c.p1 == 0x04 else { return .sw(0x6A86) }
        clearVolatile()
        if c.data.count >= 5, c.data.count <= Self.pivAID.count, Array(Self.pivAID.prefix(c.data.count)) == c.data {
            applet = .piv
            // Application property template: PIX and the coexistent tag allocation authority.
            let apt = TLV.encode(0x61, TLV.encode(0x4F, Array(Self.pivAID.suffix(6))) + TLV.encode(0x79, TLV.encode(0x4F, Self.pivAIDPrefix)))
            return .ok(apt)
        }
        if c.data == Self.managementAID {
            applet = .management
            let v = state.version.map(String.init).joined(separator: ".")
            return .ok(Array("Virtual mgmt - FW version \(v)".utf8))
        }
        applet = .none
        return .sw(0x6A82)
    }

    private func readConfig() -> Reply {
        let s = state.serial
        var tlvs: [UInt8] = []
        tlvs += TLV.encode(0x01, [0x00, 0x10])
        tlvs += TLV.encode(0x02, [UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF)])
        tlvs += TLV.encode(0x03, [0x00, 0x10])
        tlvs += TLV.encode(0x04, [0x01])
        tlvs += TLV.encode(0x05, state.version)
        return .ok([UInt8(tlvs.count)] + tlvs)
    }
}
