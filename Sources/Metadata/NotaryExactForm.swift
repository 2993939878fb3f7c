public import TrustCore
internal import Foundation

/// One pass over a Notary v1 file that decides whether it is in notary's exact encoding
/// (`NotaryV1.envelopeBytes`: `{"signed":…,"signatures":[…]}`, `signed` in Go-canonical form,
/// Go's HTML escaping, no whitespace, no trailing newline) without building a tree.
///
/// When it is, the signed bytes are a slice of the file (nothing to re-encode or copy to check a
/// signature) and a large `targets` object can stay as bytes (`JSONValue.verbatim`). When it is
/// not — another encoder's whitespace, an HTML escape (`\u003c`, which makes the signed bytes
/// differ from the file's), a number past 18 digits, invalid UTF-8, anything unusual — the scan
/// answers nil and the file goes through the strict parser, which gives every verdict and
/// message as before. So the scan may only accept: every file it accepts is one the strict
/// parser accepts, with the same tree, and that `NotaryV1.envelopeBytes` re-encodes to the same
/// bytes.
struct NotaryExactForm {
    /// The signed object's members, in file (= canonical) order: decoded key and value bytes.
    var members: [(key: String, value: Range<Int>)] = []
    /// The signed object (its canonical bytes: the file holds no HTML escape).
    var signed: Range<Int> = 0..<0
    /// The signatures array.
    var signatures: Range<Int> = 0..<0

    /// The ranges of `bytes` when the file is in notary's exact form, else nil.
    static func scan(_ bytes: [UInt8]) -> NotaryExactForm? {
        bytes.withUnsafeBufferPointer { buffer -> NotaryExactForm? in
            var s = ExactScanner(buffer)
            var form = NotaryExactForm()
            guard s.literal(#"{"signed":"#), s.peek(UInt8(ascii: "{")) else { return nil }
            let signedStart = s.i
            var recorded: [ExactScanner.Member]? = []
            guard s.object(recording: &recorded), let members = recorded else { return nil }
            form.signed = signedStart..<s.i
            guard s.literal(#","signatures":"#), s.peek(UInt8(ascii: "[")) else { return nil }
            let signaturesStart = s.i
            guard s.value() else { return nil }
            form.signatures = signaturesStart..<s.i
            guard s.literal("}"), s.i == buffer.count else { return nil }
            for m in members {
                guard let key = ExactScanner.decodeKey(buffer, m.key, escaped: m.escaped) else { return nil }
                form.members.append((key, m.value))
            }
            return form
        }
    }
}

extension NotaryV1 {
    /// Reads a file in notary's exact form (see ``NotaryExactForm``); nil sends it to the strict
    /// parser. A `Targets` file's `targets` object stays as its bytes (`JSONValue.verbatim`).
    public static func readExactForm(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> ExactFormRead<Signature>? {
        try exactFormCache.value(for: bytes, range: 0..<bytes.count) { () throws(TrustVaultError) in try readExactFormOnce(bytes, name: name) }
    }

    /// Readings of the last few large files (a ceremony reads its targets.json several times).
    private static let exactFormCache = LargeFileCache<ExactFormRead<Signature>?>()

    /// Records what a file just encoded from an envelope holds (`MetadataEnvelope.encoded`).
    static func remember(_ read: ExactFormRead<Signature>) {
        exactFormCache.insert(read, for: read.file, range: 0..<read.file.count)
    }

    private static func readExactFormOnce(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> ExactFormRead<Signature>? {
        guard let form = NotaryExactForm.scan(bytes) else { return nil }
        var members: [JSONValue.Member] = []
        members.reserveCapacity(form.members.count)
        var isTargets = false
        for (key, range) in form.members {
            if key == "targets", isTargets, bytes[range.lowerBound] == UInt8(ascii: "{") {
                members.append(.init(key, .verbatim(VerbatimJSON(canonicalObjectIn: bytes, range: range))))
                continue
            }
            let value: JSONValue
            do { value = try JSONValue(parsing: bytes, range: range) } catch { return nil }
            if key == "_type", value.stringValue == "Targets" { isTargets = true }
            members.append(.init(key, value))
        }
        let sigs: JSONValue
        do { sigs = try JSONValue(parsing: bytes, range: form.signatures) } catch { return nil }
        var signatures: [Signature] = []
        for (i, s) in (sigs.arrayValue ?? []).enumerated() {
            // Exactly {keyid, method, sig} with the canonical base64 of the signature's bytes.
            guard let fields = s.objectValue, fields.map(\.key) == ["keyid", "method", "sig"] else { return nil }
            let sig = try parseSignature(s, index: i, name: name)
            guard fields[2].value.stringValue == Data(sig.bytes).base64EncodedString() else { return nil }
            signatures.append(sig)
        }
        return ExactFormRead(signed: .object(members), signatures: signatures, file: bytes, canonicalSigned: form.signed)
    }
}

/// What a dialect's fast reader found: the envelope's parts, and where its signed bytes are.
public struct ExactFormRead<S: Sendable>: Sendable {
    public var signed: JSONValue
    public var signatures: [S]
    /// The file, as read (shared, not copied).
    public var file: [UInt8]
    /// The buffer that holds the signed bytes: ``file`` itself when the file is in the dialect's
    /// exact form (Notary), else the canonical bytes the reader made (TUF's indented files).
    public var signedBuffer: [UInt8]
    /// The signed bytes' range in ``signedBuffer``.
    public var canonicalSigned: Range<Int>
    /// ``file`` is, byte for byte, what the dialect writes for this envelope.
    public var isExactFile: Bool

    public init(
        signed: JSONValue, signatures: [S], file: [UInt8], signedBuffer: [UInt8]? = nil, canonicalSigned: Range<Int>, isExactFile: Bool = true
    ) {
        self.signed = signed
        self.signatures = signatures
        self.file = file
        self.signedBuffer = signedBuffer ?? file
        self.canonicalSigned = canonicalSigned
        self.isExactFile = isExactFile
    }
}

/// The scanner behind ``NotaryExactForm``: validates without allocating, answering false at the
/// first byte notary's encoder would not have written.
private struct ExactScanner {
    let p: UnsafeBufferPointer<UInt8>
    var i = 0
    var depth = 0
    /// As the strict parser.
    static let maxDepth = 128

    init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    func peek(_ b: UInt8) -> Bool { i < p.count && p[i] == b }

    mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= p.count else { return false }
        let t = text.utf8Start
        for k in 0..<n where p[i + k] != t[k] { return false }
        i += n
        return true
    }

    mutating func value() -> Bool {
        guard i < p.count else { return false }
        switch p[i] {
        case UInt8(ascii: "{"):
            var none: [Member]? = nil
            return object(recording: &none)
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return false
        }
    }

    /// A member of an object: its key's bytes between the quotes, whether the key has escapes,
    /// and its value's bytes.
    typealias Member = (key: Range<Int>, escaped: Bool, value: Range<Int>)

    /// An object; its members are appended to `members` unless that is nil.
    mutating func object(recording members: inout [Member]?) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        i += 1
        guard i < p.count else { return false }
        if p[i] == UInt8(ascii: "}") {
            i += 1
            return true
        }
        var previous: (range: Range<Int>, escaped: Bool)?
        while true {
            guard peek(UInt8(ascii: "\"")) else { return false }
            let keyStart = i + 1
            guard let escaped = string() else { return false }
            let key = keyStart..<(i - 1)
            if let previous {
                guard Self.keyLess(p, previous.range, previous.escaped, key, escaped) else { return false }
            }
            previous = (key, escaped)
            guard peek(UInt8(ascii: ":")) else { return false }
            i += 1
            let valueStart = i
            guard value() else { return false }
            members?.append((key, escaped, valueStart..<i))
            guard i < p.count else { return false }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if p[i] == UInt8(ascii: "}") {
                i += 1
                return true
            }
            return false
        }
    }

    mutating func array() -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        i += 1
        guard i < p.count else { return false }
        if p[i] == UInt8(ascii: "]") {
            i += 1
            return true
        }
        while true {
            guard value(), i < p.count else { return false }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if p[i] == UInt8(ascii: "]") {
                i += 1
                return true
            }
            return false
        }
    }

    /// Whether a Go-canonical, HTML-escaped string holds byte `b` (below 0x80) unescaped:
    /// printable ASCII but `"`, `\`, `<`, `>` and `&` (a bit mask, no table to look up).
    @inline(__always) static func isPlain(_ b: UInt8) -> Bool {
        b < 64 ? (0xafff_ffbb_0000_0000 as UInt64) >> b & 1 == 1 : (0xffff_ffff_efff_ffff as UInt64) >> (b - 64) & 1 == 1
    }

    /// A string in Go's canonical escaping; answers whether it held an escape, nil when it is
    /// not in that form (or is not valid UTF-8, or needs an HTML escape).
    mutating func string() -> Bool? {
        i += 1
        var escaped = false
        let n = p.count
        while i < n {
            let b = p[i]
            if b < 0x80 {
                if Self.isPlain(b) {
                    i += 1
                    continue
                }
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return escaped
                }
                guard b == UInt8(ascii: "\\"), i + 1 < n else { return nil }
                switch p[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    // Only a control character other than \t \n \r, as \u00xx in lowercase hex.
                    guard i + 5 < n, p[i + 2] == UInt8(ascii: "0"), p[i + 3] == UInt8(ascii: "0") else { return nil }
                    let high = p[i + 4], low = p[i + 5]
                    guard high == UInt8(ascii: "0") || high == UInt8(ascii: "1"), let l = Self.lowerHex(low) else { return nil }
                    let v = (high - UInt8(ascii: "0")) * 16 + l
                    guard v != 0x09, v != 0x0A, v != 0x0D else { return nil }
                    i += 6
                default: return nil
                }
                escaped = true
                continue
            }
            guard let length = utf8Sequence() else { return nil }
            i += length
        }
        return nil
    }

    static func lowerHex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The length of the valid UTF-8 sequence at `i` (RFC 3629), nil if invalid or U+2028/U+2029
    /// (which Go's encoder escapes).
    func utf8Sequence() -> Int? {
        let n = p.count
        let b0 = p[i]
        func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF: return cont(1) ? 2 : nil
        case 0xE0...0xEF:
            guard cont(1), cont(2) else { return nil }
            let b1 = p[i + 1]
            if b0 == 0xE0, b1 < 0xA0 { return nil }
            if b0 == 0xED, b1 > 0x9F { return nil }
            if b0 == 0xE2, b1 == 0x80, p[i + 2] == 0xA8 || p[i + 2] == 0xA9 { return nil }
            return 3
        case 0xF0...0xF4:
            guard cont(1), cont(2), cont(3) else { return nil }
            let b1 = p[i + 1]
            if b0 == 0xF0, b1 < 0x90 { return nil }
            if b0 == 0xF4, b1 > 0x8F { return nil }
            return 4
        default: return nil
        }
    }

    /// An integer as Go's canonical encoder writes an int64: no leading zero, no `-0`, no
    /// fraction or exponent; at most 18 digits (longer ones go to the strict parser).
    mutating func integer() -> Bool {
        let n = p.count
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { return false }
        let digitsStart = i
        if p[i] == UInt8(ascii: "0") {
            guard digitsStart == 0 || p[digitsStart - 1] != UInt8(ascii: "-") else { return false }
            i += 1
            return true
        }
        while i < n, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") { i += 1 }
        return i > digitsStart && i - digitsStart <= 18
    }

    /// Canonical order: keys by their decoded UTF-8 bytes, strictly increasing (no duplicates).
    static func keyLess(_ p: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ aEscaped: Bool, _ b: Range<Int>, _ bEscaped: Bool) -> Bool {
        if !aEscaped, !bEscaped {
            return UnsafeBufferPointer(rebasing: p[a]).lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: p[b]))
        }
        return decode(p, a).lexicographicallyPrecedes(decode(p, b))
    }

    /// The bytes a string in canonical escaping (as accepted by ``string()``) stands for.
    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var k = r.lowerBound
        while k < r.upperBound {
            let b = p[k]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                k += 1
                continue
            }
            switch p[k + 1] {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                out.append((p[k + 4] - UInt8(ascii: "0")) * 16 + (lowerHex(p[k + 5]) ?? 0))
                k += 4
            default: out.append(p[k + 1])
            }
            k += 2
        }
        return out
    }

    static func decodeKey(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, escaped: Bool) -> String? {
        escaped ? String(validating: decode(p, r), as: UTF8.self) : String(validating: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
    }
}
