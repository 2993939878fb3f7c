public import TrustCore
internal import Crypto
internal import Foundation

// The PIV session's PIN, PUK and management-key commands, and blocking and resetting the
// application (the session itself and its APDU exchange: PIVSession.swift).

extension PIVSession {
    // MARK: PIN, PUK

    /// Appends the PIN or PUK as the card wants it (6–8 bytes padded with `FF` to 8) to `out`,
    /// which the caller reserved and wipes: no temporary copy is left behind.
    static func appendPadded(_ value: SecretBytes, what: String, to out: inout [UInt8]) throws(TrustVaultError) {
        guard (6...8).contains(value.count) else {
            throw .invalid("a \(what) has 6 to 8 characters, this one has \(value.count)")
        }
        guard !value.withUnsafeBytes({ $0.contains(0xFF) }) else { throw .invalid("the \(what) contains an invalid byte") }
        value.withUnsafeBytes { out.append(contentsOf: $0) }
        for _ in value.count..<8 { out.append(0xFF) }
    }

    /// A buffer for secrets that will not move while it is filled (reserved up front).
    static func secretBuffer(capacity: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        return out
    }

    /// PIN status without spending a try: GET METADATA where the card has it (YubiKey 5.3+),
    /// else an empty VERIFY.
    public func pinStatus() throws(TrustVaultError) -> PINStatus {
        if let m = try referenceMetadata(0x80) { return m }
        let r = try send(ins: 0x20, p1: 0x00, p2: 0x80)
        switch r.sw {
        case 0x9000: return PINStatus(triesLeft: nil)
        case 0x6983: return PINStatus(triesLeft: 0)
        case 0x63C0...0x63CF: return PINStatus(triesLeft: Int(r.sw & 0x0F))
        default: throw cardError("reading the PIN retry counter", r.sw)
        }
    }

    /// PUK status from GET METADATA, or `nil` if the card cannot tell without spending a try.
    public func pukStatus() throws(TrustVaultError) -> PINStatus? { try referenceMetadata(0x81) }

    private func referenceMetadata(_ ref: UInt8) throws(TrustVaultError) -> PINStatus? {
        let r = try send(ins: 0xF7, p1: 0x00, p2: ref)
        guard r.sw == 0x9000, let tlvs = TLV.parse(r.data), let retries = TLV.find([0x06], in: tlvs),
            retries.count == 2
        else { return nil }
        let isDefault = TLV.find([0x05], in: tlvs)?.first.map { $0 != 0 }
        return PINStatus(triesLeft: Int(retries[1]), isDefault: isDefault, totalTries: Int(retries[0]))
    }

    private func wrongValue(_ what: String, _ sw: UInt16, recovery: String) -> TrustVaultError {
        if sw == 0x6983 {
            return TrustVaultError(
                .wrongPIN, "the \(what) of \(place) is blocked",
                recovery: what == "PIN"
                    ? "unblock it with the PUK: trustvault card unblock-pin" : "the card can only be reset: trustvault card reset (its keys are lost)")
        }
        let left = Int(sw & 0x0F)
        return TrustVaultError(
            .wrongPIN, "wrong \(what) for \(place): \(left) \(left == 1 ? "try" : "tries") left",
            recovery: left == 1 ? "one more wrong \(what) blocks it; \(recovery)" : recovery)
    }

    /// Verifies the PIN. A wrong PIN throws `.wrongPIN` saying how many tries are left.
    public func verifyPIN(_ pin: SecretBytes) throws(TrustVaultError) {
        var block = Self.secretBuffer(capacity: 8)
        defer { Sodium.wipe(&block) }
        try Self.appendPadded(pin, what: "PIN", to: &block)
        let r = try send(ins: 0x20, p1: 0x00, p2: 0x80, data: block, expectsData: false)
        switch r.sw {
        case 0x9000: return
        case 0x6983, 0x63C0...0x63CF: throw wrongValue("PIN", r.sw, recovery: "check the PIN and try again")
        default: throw cardError("the PIN", r.sw)
        }
    }

    /// Forgets a verified PIN (`VERIFY P1=FF`; falls back to re-selecting the application).
    public func forgetPIN() throws(TrustVaultError) {
        let r = try send(ins: 0x20, p1: 0xFF, p2: 0x80)
        if r.sw != 0x9000 {
            _ = try send(ins: 0xA4, p1: 0x04, p2: 0x00, data: [0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17])
            try select()
        }
    }

    private func changeReference(_ p2: UInt8, what: String, old: SecretBytes, new: SecretBytes) throws(TrustVaultError) {
        var data = Self.secretBuffer(capacity: 16)
        defer { Sodium.wipe(&data) }
        try Self.appendPadded(old, what: what, to: &data)
        try Self.appendPadded(new, what: "new \(what)", to: &data)
        let r = try send(ins: 0x24, p1: 0x00, p2: p2, data: data, expectsData: false)
        switch r.sw {
        case 0x9000: return
        case 0x6983, 0x63C0...0x63CF: throw wrongValue(what, r.sw, recovery: "check the current \(what)")
        default: throw cardError("changing the \(what)", r.sw)
        }
    }

    public func changePIN(old: SecretBytes, new: SecretBytes) throws(TrustVaultError) {
        try changeReference(0x80, what: "PIN", old: old, new: new)
    }

    public func changePUK(old: SecretBytes, new: SecretBytes) throws(TrustVaultError) {
        try changeReference(0x81, what: "PUK", old: old, new: new)
    }

    /// Sets a new PIN with the PUK (RESET RETRY COUNTER), unblocking a blocked PIN.
    public func unblockPIN(puk: SecretBytes, newPIN: SecretBytes) throws(TrustVaultError) {
        var data = Self.secretBuffer(capacity: 16)
        defer { Sodium.wipe(&data) }
        try Self.appendPadded(puk, what: "PUK", to: &data)
        try Self.appendPadded(newPIN, what: "new PIN", to: &data)
        let r = try send(ins: 0x2C, p1: 0x00, p2: 0x80, data: data, expectsData: false)
        switch r.sw {
        case 0x9000: return
        case 0x6983, 0x63C0...0x63CF: throw wrongValue("PUK", r.sw, recovery: "check the PUK")
        default: throw cardError("unblocking the PIN", r.sw)
        }
    }

    // MARK: management key

    /// The management key's algorithm and whether it is the factory key, from GET METADATA
    /// (YubiKey 5.3+); `nil` when the card does not say.
    public func managementKeyInfo() throws(TrustVaultError) -> (algorithm: ManagementKeyAlgorithm, isDefault: Bool?)? {
        let r = try send(ins: 0xF7, p1: 0x00, p2: 0x9B)
        guard r.sw == 0x9000, let tlvs = TLV.parse(r.data), let alg = TLV.find([0x01], in: tlvs)?.first,
            let algorithm = ManagementKeyAlgorithm(rawValue: alg)
        else { return nil }
        return (algorithm, TLV.find([0x05], in: tlvs)?.first.map { $0 != 0 })
    }

    /// Mutual authentication with the management key (GENERAL AUTHENTICATE on `9B`).
    public func authenticate(managementKey key: SecretBytes, algorithm: ManagementKeyAlgorithm) throws(TrustVaultError) {
        guard key.count == algorithm.keyLength else {
            throw .invalid(
                "a \(algorithm) management key has \(algorithm.keyLength * 2) hex digits, this one has \(key.count * 2)")
        }
        let n = algorithm.blockSize
        let r1 = try send(ins: 0x87, p1: algorithm.rawValue, p2: 0x9B, data: TLV.encode(0x7C, [0x80, 0x00]))
        guard r1.sw == 0x9000 else {
            if r1.sw == 0x6A80 || r1.sw == 0x6A86 {
                throw TrustVaultError(
                    .wrongPIN, "\(place) does not use a \(algorithm) management key",
                    recovery: "give the management key with its algorithm, as set by `trustvault card setup`")
            }
            throw cardError("management-key authentication", r1.sw)
        }
        guard let outer = TLV.parse(r1.data), let inner = TLV.find([0x7C], in: outer).flatMap(TLV.parse),
            let encrypted = TLV.find([0x80], in: inner), encrypted.count == n
        else { throw TrustVaultError(.cardError, "\(place) sent a malformed management-key witness") }
        let witness = try ManagementKeyCipher.apply(algorithm, key: key, encrypted, encrypt: false)
        let challenge = Array(Sodium.randomBytes(n))
        let expected = try ManagementKeyCipher.apply(algorithm, key: key, challenge, encrypt: true)
        let body = TLV.encode(0x80, witness) + TLV.encode(0x81, challenge)
        let r2 = try send(ins: 0x87, p1: algorithm.rawValue, p2: 0x9B, data: TLV.encode(0x7C, body))
        guard r2.sw == 0x9000 else {
            if r2.sw == 0x6982 {
                throw TrustVaultError(
                    .wrongPIN, "wrong management key for \(place)",
                    recovery: "set TRUSTVAULT_MANAGEMENT_KEY to the card's management key (hex)")
            }
            throw cardError("management-key authentication", r2.sw)
        }
        guard let o2 = TLV.parse(r2.data), let i2 = TLV.find([0x7C], in: o2).flatMap(TLV.parse),
            let answer = TLV.find([0x82], in: i2), answer == expected
        else {
            throw TrustVaultError(
                .verificationFailed, "\(place) did not prove that it knows the management key",
                recovery: "this card may not be genuine; do not use it")
        }
    }

    /// Replaces the management key (needs a prior ``authenticate(managementKey:algorithm:)``).
    public func setManagementKey(_ key: SecretBytes, algorithm: ManagementKeyAlgorithm) throws(TrustVaultError) {
        guard key.count == algorithm.keyLength else {
            throw .invalid("a \(algorithm) management key has \(algorithm.keyLength * 2) hex digits")
        }
        var data = Self.secretBuffer(capacity: 3 + key.count)
        defer { Sodium.wipe(&data) }
        data += [algorithm.rawValue, 0x9B, UInt8(key.count)]
        key.withUnsafeBytes { data.append(contentsOf: $0) }
        try expectOK("the new management key", ins: 0xFF, p1: 0xFF, p2: 0xFF, data: data, expectsData: false)
    }

    // MARK: blocking and reset

    /// Sends VERIFY with random wrong PINs until the card says the PIN is blocked; returns the
    /// number of commands sent. Used only by a confirmed card reset.
    public func blockPIN() throws(TrustVaultError) -> Int {
        try block(ins: 0x20, p2: 0x80, width: 8, what: "PIN")
    }

    /// Sends RESET RETRY COUNTER with random wrong PUKs until the PUK is blocked.
    public func blockPUK() throws(TrustVaultError) -> Int {
        try block(ins: 0x2C, p2: 0x80, width: 16, what: "PUK")
    }

    private func block(ins: UInt8, p2: UInt8, width: Int, what: String) throws(TrustVaultError) -> Int {
        for n in 0..<64 {
            // Random digits never equal to a value set through trustvault (6–8 printable bytes
            // padded with FF) with any real probability; 8 digits, then 8 for the new PIN.
            var data = (0..<width).map { _ in UInt8(0x30) + Sodium.randomBytes(1)[0] % 10 }
            defer { Sodium.wipe(&data) }
            let r = try send(ins: ins, p1: 0x00, p2: p2, data: data, expectsData: false)
            switch r.sw {
            case 0x6983: return n + 1
            case 0x63C0...0x63CF: continue
            case 0x9000:
                throw TrustVaultError(.cardError, "\(place) accepted a random \(what) while being blocked for a reset; nothing was reset")
            default: throw cardError("blocking the \(what) for a reset", r.sw)
            }
        }
        throw TrustVaultError(.cardError, "\(place) did not block its \(what) after 64 wrong tries")
    }

    /// YubiKey RESET (`FB`): wipes every key, certificate and the PIN, PUK and management key.
    /// The card accepts it only while PIN and PUK are both blocked.
    public func resetApplication() throws(TrustVaultError) {
        try expectOK("the PIV reset", ins: 0xFB, p1: 0x00, p2: 0x00, expectsData: false)
    }

    /// Checks the PUK without changing it (CHANGE REFERENCE DATA from the PUK to itself). A
    /// wrong PUK spends one PUK try, as any PUK check does.
    public func verifyPUK(_ puk: SecretBytes) throws(TrustVaultError) {
        try changeReference(0x81, what: "PUK", old: puk, new: puk)
    }

    /// The card's attestation certificate (DER) for a key generated in `slot`, or `nil` if the
    /// card offers no attestation for it.
    public func attest(slot: PIVSlot) throws(TrustVaultError) -> [UInt8]? {
        let r = try send(ins: 0xF9, p1: slot.rawValue, p2: 0x00)
        guard r.sw == 0x9000, r.data.first == 0x30 else { return nil }
        return r.data
    }
}
