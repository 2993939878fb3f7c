internal import Foundation
internal import TrustCore

// The emulated card's data objects, PIN and PUK, and management key (the APDU state machine
// and its dispatch: PIVCard.swift).

extension PIVCard {
    // MARK: data objects

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func getData(_ c: Command) -> Reply {
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

    func putData(_ c: Command) -> Reply {
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

    func verify(_ c: Command) -> Reply {
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

    func changeReference(_ c: Command) -> Reply {
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

    func resetRetryCounter(_ c: Command) -> Reply {
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

    func setRetries(_ c: Command) -> Reply {
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

    func factoryReset() -> Reply {
        guard state.pinTriesLeft == 0, state.pukTriesLeft == 0 else { return .sw(0x6985) }
        state = .factory(serial: state.serial, version: state.version)
        clearVolatile()
        persist()
        return .ok()
    }

    // MARK: management key

    func setManagementKey(_ c: Command) -> Reply {
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

    func generalAuthenticate(_ c: Command, justVerified: Bool) -> Reply {
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
}
