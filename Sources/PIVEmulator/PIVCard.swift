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
    public private(set) var state: PIVCardState
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

    private func clearVolatile() {
        pinVerified = false
        pinJustVerified = false
        managementAuthenticated = false
        witness = nil
        challenge = nil
        chain = nil
        pendingResponse = []
    }

    private func persist() {
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

    // MARK: data objects

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func getData(_ c: Command) -> Reply {
        guard c.p1 == 0x3F, c.p2 == 0xFF, let tlvs = TLV.parse(c.data), let tag = TLV.find([0x5C], in: tlvs) else {
            return .sw(0x6A80)
        }
        if tag == [0x7E] {
            let value = TLV.encode(0x4F, Self.pivAID) + TLV.encode([0x5F, 0x2F], [0x40, 0x00])
            return .ok(TLV.encode(0x7E, value))
        }
        guard let object = state.objects[Self.hex(tag)] else { return .sw(0x6A82) }
        return .ok(TLV.encode(0x53, object))
    }

    private func putData(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard c.p1 == 0x3F, c.p2 == 0xFF, let tlvs = TLV.parse(c.data), let tag = TLV.find([0x5C], in: tlvs),
            let value = TLV.find([0x53], in: tlvs)
        else { return .sw(0x6A80) }
        if value.isEmpty {
            state.objects[Self.hex(tag)] = nil
        } else {
            state.objects[Self.hex(tag)] = value
        }
        persist()
        return .ok()
    }

    // MARK: PIN and PUK

    /// The reference value without its `FF` padding, or `nil` when malformed.
    static func unpad(_ padded: ArraySlice<UInt8>) -> [UInt8]? {
        let value = Array(padded.prefix { $0 != 0xFF })
        guard padded.dropFirst(value.count).allSatisfy({ $0 == 0xFF }) else { return nil }
        return value
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for i in a.indices { d |= a[i] ^ b[i] }
        return d == 0
    }

    private func triesReply(_ left: Int) -> Reply {
        left == 0 ? .sw(0x6983) : .sw(0x63C0 | UInt16(min(left, 15)))
    }

    private func verify(_ c: Command) -> Reply {
        guard c.p2 == 0x80 else { return .sw(0x6A88) }
        if c.p1 == 0xFF {
            pinVerified = false
            return .ok()
        }
        guard c.p1 == 0x00 else { return .sw(0x6A86) }
        if c.data.isEmpty {
            if state.pinTriesLeft == 0 { return .sw(0x6983) }
            return pinVerified ? .ok() : triesReply(state.pinTriesLeft)
        }
        guard c.data.count == 8, let given = Self.unpad(c.data[...]) else { return .sw(0x6A80) }
        if state.pinTriesLeft == 0 { return .sw(0x6983) }
        if Self.constantTimeEqual(given, state.pin) {
            if state.pinTriesLeft != state.pinRetries {
                state.pinTriesLeft = state.pinRetries
                persist()
            }
            pinVerified = true
            pinJustVerified = true
            return .ok()
        }
        pinVerified = false
        state.pinTriesLeft -= 1
        persist()
        return triesReply(state.pinTriesLeft)
    }

    private func changeReference(_ c: Command) -> Reply {
        guard c.p1 == 0x00, c.p2 == 0x80 || c.p2 == 0x81 else { return .sw(0x6A88) }
        guard c.data.count == 16, let old = Self.unpad(c.data[0..<8]), let new = Self.unpad(c.data[8..<16]),
            new.count >= 6
        else { return .sw(0x6A80) }
        let isPIN = c.p2 == 0x80
        let left = isPIN ? state.pinTriesLeft : state.pukTriesLeft
        if left == 0 { return .sw(0x6983) }
        let current = isPIN ? state.pin : state.puk
        guard Self.constantTimeEqual(old, current) else {
            if isPIN {
                state.pinTriesLeft -= 1
                pinVerified = false
            } else {
                state.pukTriesLeft -= 1
            }
            persist()
            return triesReply(left - 1)
        }
        if isPIN {
            state.pin = new
            state.pinTriesLeft = state.pinRetries
        } else {
            state.puk = new
            state.pukTriesLeft = state.pukRetries
        }
        persist()
        return .ok()
    }

    private func resetRetryCounter(_ c: Command) -> Reply {
        guard c.p1 == 0x00, c.p2 == 0x80 else { return .sw(0x6A88) }
        guard c.data.count == 16, let puk = Self.unpad(c.data[0..<8]), let new = Self.unpad(c.data[8..<16]),
            new.count >= 6
        else { return .sw(0x6A80) }
        if state.pukTriesLeft == 0 { return .sw(0x6983) }
        guard Self.constantTimeEqual(puk, state.puk) else {
            state.pukTriesLeft -= 1
            persist()
            return triesReply(state.pukTriesLeft)
        }
        state.pukTriesLeft = state.pukRetries
        state.pin = new
        state.pinTriesLeft = state.pinRetries
        persist()
        return .ok()
    }

    private func setRetries(_ c: Command) -> Reply {
        guard managementAuthenticated, pinVerified else { return .sw(0x6982) }
        guard c.p1 > 0, c.p2 > 0 else { return .sw(0x6A80) }
        state.pinRetries = Int(c.p1)
        state.pukRetries = Int(c.p2)
        state.pinTriesLeft = Int(c.p1)
        state.pukTriesLeft = Int(c.p2)
        state.pin = PIVCardState.factoryPIN
        state.puk = PIVCardState.factoryPUK
        persist()
        return .ok()
    }

    private func factoryReset() -> Reply {
        guard state.pinTriesLeft == 0, state.pukTriesLeft == 0 else { return .sw(0x6985) }
        state = .factory(serial: state.serial, version: state.version)
        clearVolatile()
        persist()
        return .ok()
    }

    // MARK: management key

    private func setManagementKey(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard c.p1 == 0xFF, c.p2 == 0xFF || c.p2 == 0xFE, c.data.count >= 3, c.data[1] == 0x9B else {
            return .sw(0x6A80)
        }
        let alg = c.data[0]
        guard let n = EmulatorCrypto.keyLength(alg), Int(c.data[2]) == n, c.data.count == 3 + n else {
            return .sw(0x6A80)
        }
        if alg != 0x03 && state.version.lexicographicallyPrecedes([5, 4, 0]) { return .sw(0x6A80) }
        state.managementKey = Array(c.data[3...])
        state.managementKeyAlgorithm = alg
        persist()
        return .ok()
    }

    private func generalAuthenticate(_ c: Command, justVerified: Bool) -> Reply {
        guard let outer = TLV.parse(c.data), outer.count == 1, outer[0].tag == [0x7C],
            let inner = TLV.parse(outer[0].value)
        else { return .sw(0x6A80) }
        if c.p2 == 0x9B { return managementAuthenticate(c.p1, inner) }
        return sign(c.p1, slot: c.p2, inner, justVerified: justVerified)
    }

    private func managementAuthenticate(_ alg: UInt8, _ inner: [(tag: [UInt8], value: [UInt8])]) -> Reply {
        guard alg == state.managementKeyAlgorithm else { return .sw(0x6A80) }
        let key = state.managementKey
        let n = EmulatorCrypto.blockSize(alg)
        let w = TLV.find([0x80], in: inner)
        let ch = TLV.find([0x81], in: inner)
        let resp = TLV.find([0x82], in: inner)
        if let w, w.isEmpty, ch == nil {
            // Mutual step 1: the card's encrypted witness.
            managementAuthenticated = false
            let plain = EmulatorCrypto.random(n)
            witness = plain
            guard let enc = EmulatorCrypto.block(alg, key: key, plain, encrypt: true) else { return .sw(0x6F00) }
            return .ok(TLV.encode(0x7C, TLV.encode(0x80, enc)))
        }
        if let w, !w.isEmpty, let ch, ch.count == n {
            // Mutual step 2: the host proves it decrypted the witness; the card encrypts the challenge.
            defer { witness = nil }
            guard let expected = witness, w.count == n, Self.constantTimeEqual(expected, w) else {
                managementAuthenticated = false
                return .sw(0x6982)
            }
            guard let enc = EmulatorCrypto.block(alg, key: key, ch, encrypt: true) else { return .sw(0x6F00) }
            managementAuthenticated = true
            return .ok(TLV.encode(0x7C, TLV.encode(0x82, enc)))
        }
        if let ch, ch.isEmpty, w == nil {
            // One-way step 1: a challenge for the host to encrypt.
            managementAuthenticated = false
            let plain = EmulatorCrypto.random(n)
            challenge = plain
            return .ok(TLV.encode(0x7C, TLV.encode(0x81, plain)))
        }
        if let resp, resp.count == n, w == nil, ch == nil {
            defer { challenge = nil }
            guard let plain = challenge, let enc = EmulatorCrypto.block(alg, key: key, plain, encrypt: true),
                Self.constantTimeEqual(enc, resp)
            else {
                managementAuthenticated = false
                return .sw(0x6982)
            }
            managementAuthenticated = true
            return .ok()
        }
        return .sw(0x6A80)
    }

    // MARK: keys

    static func slotName(_ slot: UInt8) -> String { String(format: "%02x", slot) }

    static func isKeySlot(_ slot: UInt8) -> Bool {
        [0x9A, 0x9C, 0x9D, 0x9E].contains(slot) || (0x82...0x95).contains(slot)
    }

    /// YubiKey defaults: 9C ALWAYS, 9E NEVER, the others ONCE.
    static func defaultPINPolicy(_ slot: UInt8) -> UInt8 {
        switch slot {
        case 0x9C: 0x03
        case 0x9E: 0x01
        default: 0x02
        }
    }

    private func sign(_ alg: UInt8, slot: UInt8, _ inner: [(tag: [UInt8], value: [UInt8])], justVerified: Bool) -> Reply {
        guard Self.isKeySlot(slot), let key = state.keys[Self.slotName(slot)], key.algorithm == alg else {
            return .sw(0x6A80)
        }
        guard let response = TLV.find([0x82], in: inner), response.isEmpty,
            let input = TLV.find([0x81], in: inner)
        else { return .sw(0x6A80) }
        switch key.pinPolicy {
        case 0x03: guard pinVerified && justVerified else { return .sw(0x6982) }
        case 0x01: break
        default: guard pinVerified else { return .sw(0x6982) }
        }
        if alg == 0xE0 {
            // Ed25519 signs the whole message.
            guard let sig = EmulatorCrypto.signEd25519(seed: key.scalar, message: input) else { return .sw(0x6F00) }
            return .ok(TLV.encode(0x7C, TLV.encode(0x82, sig)))
        }
        let fieldSize = alg == 0x11 ? 32 : 48
        guard input.count <= fieldSize else { return .sw(0x6A80) }
        guard let sig = EmulatorCrypto.signDigest(alg, scalar: key.scalar, digest: input) else { return .sw(0x6F00) }
        return .ok(TLV.encode(0x7C, TLV.encode(0x82, sig)))
    }

    private func policies(_ tlvs: [(tag: [UInt8], value: [UInt8])], slot: UInt8) -> (UInt8, UInt8)? {
        var pin = TLV.find([0xAA], in: tlvs)?.first ?? 0
        var touch = TLV.find([0xAB], in: tlvs)?.first ?? 0
        guard pin <= 3, touch <= 3 else { return nil }
        if pin == 0 { pin = Self.defaultPINPolicy(slot) }
        if touch == 0 { touch = 0x01 }
        return (pin, touch)
    }

    private func generate(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard c.p1 == 0x00, Self.isKeySlot(c.p2), let outer = TLV.parse(c.data), let ac = TLV.find([0xAC], in: outer),
            let inner = TLV.parse(ac), let alg = TLV.find([0x80], in: inner)?.first,
            let (pin, touch) = policies(inner, slot: c.p2)
        else { return .sw(0x6A80) }
        if alg == 0xE0 && state.version.lexicographicallyPrecedes([5, 7, 0]) { return .sw(0x6A80) }
        guard let (scalar, point) = EmulatorCrypto.generateEC(alg) else { return .sw(0x6A80) }
        state.keys[Self.slotName(c.p2)] = .init(algorithm: alg, scalar: scalar, pinPolicy: pin, touchPolicy: touch, origin: 1)
        persist()
        return .ok(TLV.encode([0x7F, 0x49], TLV.encode(0x86, point)))
    }

    private func importKey(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard Self.isKeySlot(c.p2), let tlvs = TLV.parse(c.data), let (pin, touch) = policies(tlvs, slot: c.p2) else {
            return .sw(0x6A80)
        }
        let size: Int
        switch c.p1 {
        case 0x11: size = 32
        case 0x14: size = 48
        default: return .sw(0x6A80)
        }
        guard let scalar = TLV.find([0x06], in: tlvs), scalar.count == size,
            EmulatorCrypto.publicPoint(c.p1, scalar: scalar) != nil
        else { return .sw(0x6A80) }
        state.keys[Self.slotName(c.p2)] = .init(algorithm: c.p1, scalar: scalar, pinPolicy: pin, touchPolicy: touch, origin: 2)
        persist()
        return .ok()
    }

    /// The attestation key, made (with its 5FFF01 certificate) the first time it is needed.
    private func attestationKey() -> [UInt8]? {
        if let k = state.attestationScalar { return k }
        guard let (scalar, _) = EmulatorCrypto.generateEC(0x11),
            let cert = try? Attestation.rootCertificate(scalar: scalar, serial: state.serial)
        else { return nil }
        state.attestationScalar = scalar
        state.objects["5fff01"] = TLV.encode(0x70, cert) + TLV.encode(0x71, [0x00]) + TLV.encode(0xFE, [])
        persist()
        return scalar
    }

    private func attest(_ c: Command) -> Reply {
        guard let key = state.keys[Self.slotName(c.p1)] else { return .sw(0x6A88) }
        guard key.origin == 1 else { return .sw(0x6A80) }  // only keys generated on the card
        guard key.algorithm == 0x11, let point = EmulatorCrypto.publicPoint(0x11, scalar: key.scalar),
            let root = attestationKey(),
            let cert = try? Attestation.certificate(
                slot: c.p1, point: point, pinPolicy: key.pinPolicy, touchPolicy: key.touchPolicy, state: state,
                rootScalar: root)
        else { return .sw(0x6A80) }
        return .ok(cert)
    }

    private func metadata(_ c: Command) -> Reply {
        switch c.p2 {
        case 0x80, 0x81:
            let isPIN = c.p2 == 0x80
            let isDefault = isPIN ? state.pin == PIVCardState.factoryPIN : state.puk == PIVCardState.factoryPUK
            let total = isPIN ? state.pinRetries : state.pukRetries
            let left = isPIN ? state.pinTriesLeft : state.pukTriesLeft
            return .ok(
                TLV.encode(0x01, [0xFF]) + TLV.encode(0x05, [isDefault ? 1 : 0])
                    + TLV.encode(0x06, [UInt8(total), UInt8(left)]))
        case 0x9B:
            let isDefault = state.managementKey == PIVCardState.factoryManagementKey
            return .ok(
                TLV.encode(0x01, [state.managementKeyAlgorithm]) + TLV.encode(0x02, [0x00, 0x01])
                    + TLV.encode(0x05, [isDefault ? 1 : 0]))
        default:
            guard let key = state.keys[Self.slotName(c.p2)],
                let point = EmulatorCrypto.publicPoint(key.algorithm, scalar: key.scalar)
            else { return .sw(0x6A88) }
            return .ok(
                TLV.encode(0x01, [key.algorithm]) + TLV.encode(0x02, [key.pinPolicy, key.touchPolicy])
                    + TLV.encode(0x03, [key.origin]) + TLV.encode(0x04, TLV.encode(0x86, point)))
        }
    }
}
