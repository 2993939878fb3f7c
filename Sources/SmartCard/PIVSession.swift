public import TrustCore
public import Formats
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
                recovery: what == "PIN" ? "unblock it with the PUK: trustvault card unblock-pin" : "the card can only be reset: trustvault card reset (its keys are lost)")
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

    // MARK: keys

    /// Builds the notary public key for a card EC point.
    public static func publicKey(_ key: PublicKeyBytes) throws(TrustVaultError) -> PublicKey {
        if key.algorithm == 0xE0 { return try PublicKey(algorithm: .ed25519, tufPublicBytes: key.point) }
        guard key.algorithm == 0x11, let k = try? P256.Signing.PublicKey(x963Representation: key.point) else {
            throw .unsupported(
                String(format: "the card key uses algorithm 0x%02X; trustvault signs with P-256 keys", key.algorithm))
        }
        return try PublicKey(algorithm: .ecdsa, tufPublicBytes: Array(k.derRepresentation))
    }

    /// Generates a P-256 key in `slot` (needs the management key) and returns its public key.
    public func generateP256(slot: PIVSlot, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0)
        throws(TrustVaultError) -> PublicKey
    {
        var template: [UInt8] = TLV.encode(0x80, [0x11])
        if pinPolicy != .default { template += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { template += TLV.encode(0xAB, [touchPolicy]) }
        let data = try expectOK("key generation in slot \(slot)", ins: 0x47, p1: 0x00, p2: slot.rawValue, data: TLV.encode(0xAC, template))
        guard let outer = TLV.parse(data), let inner = TLV.find([0x7F, 0x49], in: outer).flatMap(TLV.parse),
            let point = TLV.find([0x86], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed public key for slot \(slot)") }
        return try Self.publicKey(PublicKeyBytes(algorithm: 0x11, point: point))
    }

    /// Generates an Ed25519 key in `slot` (YubiKey 5.7+; needs the management key).
    public func generateEd25519(slot: PIVSlot, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0) throws(TrustVaultError) -> PublicKey {
        var template: [UInt8] = TLV.encode(0x80, [0xE0])
        if pinPolicy != .default { template += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { template += TLV.encode(0xAB, [touchPolicy]) }
        let r = try send(ins: 0x47, p1: 0x00, p2: slot.rawValue, data: TLV.encode(0xAC, template))
        if r.sw == 0x6A80 {
            throw .unsupported("\(place) cannot generate Ed25519 keys (YubiKey firmware 5.7 or later can)",
                               recovery: "use --algorithm ecdsa (P-256)")
        }
        guard r.sw == 0x9000 else { throw cardError("key generation in slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let inner = TLV.find([0x7F, 0x49], in: outer).flatMap(TLV.parse),
            let point = TLV.find([0x86], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed public key for slot \(slot)") }
        return try Self.publicKey(PublicKeyBytes(algorithm: 0xE0, point: point))
    }

    /// Ed25519 over the whole `message` (GENERAL AUTHENTICATE with P1 `E0`, chained when long).
    public func signEd25519(slot: PIVSlot, message: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let sig = try signDigest(slot: slot, algorithm: 0xE0, digest: message)
        guard sig.count == 64 else { throw TrustVaultError(.cardError, "\(place) returned a malformed Ed25519 signature") }
        return sig
    }

    /// Imports a P-256 private key (its 32-byte scalar) into `slot` (needs the management key).
    public func importP256(slot: PIVSlot, scalar: SecretBytes, pinPolicy: PIVPINPolicy = .once, touchPolicy: UInt8 = 0)
        throws(TrustVaultError)
    {
        guard scalar.count == 32 else { throw .invalid("a P-256 private key has 32 bytes") }
        var data = Self.secretBuffer(capacity: 48)
        defer { Sodium.wipe(&data) }
        data += [0x06, 0x20]  // TLV tag 06, length 32, then the scalar, appended in place
        scalar.withUnsafeBytes { data.append(contentsOf: $0) }
        if pinPolicy != .default { data += TLV.encode(0xAA, [pinPolicy.rawValue]) }
        if touchPolicy != 0 { data += TLV.encode(0xAB, [touchPolicy]) }
        try expectOK("the key import into slot \(slot)", ins: 0xFE, p1: 0x11, p2: slot.rawValue, data: data, expectsData: false)
    }

    /// What GET METADATA says about a key slot.
    public enum SlotProbe: Sendable {
        /// The card has metadata and the slot holds no key.
        case empty
        /// The card has metadata and the slot holds this key.
        case key(PIVSlotMetadata)
        /// The card has no GET METADATA (YubiKey before 5.3, other PIV cards): the slot's state
        /// cannot be read from the card itself.
        case unknown
    }

    /// Asks the card about `slot` with GET METADATA (`6A88` = empty; `6D00`/`6E00`/`6A81` = the
    /// card has no metadata command).
    public func probeSlot(_ slot: PIVSlot) throws(TrustVaultError) -> SlotProbe {
        let r = try send(ins: 0xF7, p1: 0x00, p2: slot.rawValue)
        switch r.sw {
        case 0x9000:
            guard let m = Self.parseSlotMetadata(r.data) else {
                throw TrustVaultError(.cardError, "\(place) sent malformed metadata for slot \(slot)")
            }
            return .key(m)
        case 0x6A88, 0x6A82: return .empty
        case 0x6D00, 0x6E00, 0x6A81, 0x6A86, 0x6A80: return .unknown
        default: throw cardError("the metadata of slot \(slot)", r.sw)
        }
    }

    /// Whether the card answers GET METADATA (YubiKey 5.3+).
    public func hasMetadata() throws(TrustVaultError) -> Bool {
        let r = try send(ins: 0xF7, p1: 0x00, p2: 0x80)
        return r.sw == 0x9000
    }

    static func parseSlotMetadata(_ data: [UInt8]) -> PIVSlotMetadata? {
        guard let tlvs = TLV.parse(data), let alg = TLV.find([0x01], in: tlvs)?.first else { return nil }
        let policy = TLV.find([0x02], in: tlvs) ?? []
        var pub: PublicKeyBytes?
        if let pk = TLV.find([0x04], in: tlvs), let inner = TLV.parse(pk), let point = TLV.find([0x86], in: inner) {
            pub = PublicKeyBytes(algorithm: alg, point: point)
        }
        return PIVSlotMetadata(
            algorithm: alg, pinPolicy: PIVPINPolicy(rawValue: policy.first ?? 0),
            touchPolicy: policy.count > 1 ? policy[1] : 0,
            generatedOnCard: TLV.find([0x03], in: tlvs)?.first == 1, publicKey: pub)
    }

    /// GET METADATA for a key slot; `nil` if empty or if the card has no metadata command.
    public func slotMetadata(_ slot: PIVSlot) throws(TrustVaultError) -> PIVSlotMetadata? {
        let r = try send(ins: 0xF7, p1: 0x00, p2: slot.rawValue)
        guard r.sw == 0x9000, let tlvs = TLV.parse(r.data), let alg = TLV.find([0x01], in: tlvs)?.first else {
            return nil
        }
        let policy = TLV.find([0x02], in: tlvs) ?? []
        var pub: PublicKeyBytes?
        if let pk = TLV.find([0x04], in: tlvs), let inner = TLV.parse(pk), let point = TLV.find([0x86], in: inner) {
            pub = PublicKeyBytes(algorithm: alg, point: point)
        }
        return PIVSlotMetadata(
            algorithm: alg, pinPolicy: PIVPINPolicy(rawValue: policy.first ?? 0),
            touchPolicy: policy.count > 1 ? policy[1] : 0,
            generatedOnCard: TLV.find([0x03], in: tlvs)?.first == 1, publicKey: pub)
    }

    /// The public key in `slot`: from metadata, else from the slot's certificate; `nil` if neither.
    public func slotPublicKey(_ slot: PIVSlot) throws(TrustVaultError) -> PublicKey? {
        if let m = try slotMetadata(slot), let pub = m.publicKey { return try Self.publicKey(pub) }
        guard let der = try readCertificate(slot: slot) else { return nil }
        return try? CardCertificate.publicKey(ofCertificate: der)
    }

    // MARK: certificates

    /// The DER certificate stored for `slot`, or `nil` if there is none.
    public func readCertificate(slot: PIVSlot) throws(TrustVaultError) -> [UInt8]? {
        let r = try send(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: TLV.encode(0x5C, slot.certificateObject))
        if r.sw == 0x6A82 { return nil }
        guard r.sw == 0x9000 else { throw cardError("reading the certificate of slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let object = TLV.find([0x53], in: outer) else {
            throw TrustVaultError(.corruptData, "the certificate object of slot \(slot) on \(place) is malformed")
        }
        if object.isEmpty { return nil }
        guard let inner = TLV.parse(object), let cert = TLV.find([0x70], in: inner) else {
            throw TrustVaultError(.corruptData, "the certificate object of slot \(slot) on \(place) is malformed")
        }
        if TLV.find([0x71], in: inner)?.first == 0x01 {
            throw .unsupported("the certificate in slot \(slot) is gzip-compressed; trustvault reads uncompressed ones")
        }
        return cert
    }

    /// Stores `der` as the certificate of `slot` (`70 … 71 01 00 FE 00`; needs the management key).
    public func writeCertificate(slot: PIVSlot, der: [UInt8]) throws(TrustVaultError) {
        let object = TLV.encode(0x70, der) + TLV.encode(0x71, [0x00]) + TLV.encode(0xFE, [])
        let data = TLV.encode(0x5C, slot.certificateObject) + TLV.encode(0x53, object)
        try expectOK("storing the certificate of slot \(slot)", ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data, expectsData: false)
    }

    /// Removes the certificate of `slot` (PUT DATA with an empty object; needs the management key).
    public func deleteCertificate(slot: PIVSlot) throws(TrustVaultError) {
        let data = TLV.encode(0x5C, slot.certificateObject) + TLV.encode(0x53, [])
        try expectOK("deleting the certificate of slot \(slot)", ins: 0xDB, p1: 0x3F, p2: 0xFF, data: data, expectsData: false)
    }

    /// The card's own attestation (F9) certificate from object `5FFF01`, or `nil` if absent.
    public func attestationSigningCertificate() throws(TrustVaultError) -> [UInt8]? {
        let r = try send(ins: 0xCB, p1: 0x3F, p2: 0xFF, data: TLV.encode(0x5C, [0x5F, 0xFF, 0x01]))
        if r.sw == 0x6A82 { return nil }
        guard r.sw == 0x9000, let outer = TLV.parse(r.data), let object = TLV.find([0x53], in: outer),
            let inner = TLV.parse(object), let cert = TLV.find([0x70], in: inner)
        else { throw cardError("reading the attestation certificate (5FFF01)", r.sw == 0x9000 ? 0x6F00 : r.sw) }
        return cert
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

    // MARK: signing

    /// ECDSA over a digest computed by the host (GENERAL AUTHENTICATE); returns the card's DER
    /// signature unchanged.
    public func signDigest(slot: PIVSlot, algorithm: UInt8 = 0x11, digest: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let body = TLV.encode(0x82, []) + TLV.encode(0x81, digest)
        let r = try send(ins: 0x87, p1: algorithm, p2: slot.rawValue, data: TLV.encode(0x7C, body))
        if r.sw == 0x6982 {
            throw TrustVaultError(
                .wrongPIN, "\(place) wants the PIN verified before signing with slot \(slot)",
                recovery: "give the PIN (TRUSTVAULT_PIN or the prompt)")
        }
        if r.sw == 0x6A80 || r.sw == 0x6A88 {
            throw TrustVaultError(
                .notFound, "\(place) has no \(algorithm == 0xE0 ? "Ed25519" : "P-256") key in slot \(slot)",
                recovery: "check the slot, or generate a key with `trustvault key generate --card`")
        }
        guard r.sw == 0x9000 else { throw cardError("signing with slot \(slot)", r.sw) }
        guard let outer = TLV.parse(r.data), let inner = TLV.find([0x7C], in: outer).flatMap(TLV.parse),
            let sig = TLV.find([0x82], in: inner)
        else { throw TrustVaultError(.cardError, "\(place) returned a malformed signature") }
        return sig
    }

    /// Signs `message` as notary does: SHA-256, ECDSA on the card, DER converted to raw r‖s.
    public func signP256(slot: PIVSlot, message: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        let digest = Array(SHA256.hash(data: message))
        let der = try signDigest(slot: slot, digest: digest)
        guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: der) else {
            throw TrustVaultError(.cardError, "\(place) returned a signature that is not DER ECDSA")
        }
        return Array(sig.rawRepresentation)
    }
}
