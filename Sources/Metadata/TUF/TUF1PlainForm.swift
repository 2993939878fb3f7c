public import TrustCore

/// One pass over a TUF 1.0 file in *plain form*: any JSON whitespace between tokens (python-tuf's
/// and trustvault's one-space indent, or none), object keys in strictly increasing UTF-8 byte
/// order, integers of at most 18 digits, and strings of printable ASCII with no backslash, `<`,
/// `>` or `&`. Almost every large targets file is in this form (target paths and hex digests).
///
/// For such a file the OLPC canonical bytes that are signed are exactly the file without its
/// whitespace, so the scan makes them as it validates, without a tree; a large `targets` object
/// then stays as those bytes (`JSONValue.verbatim`, plain) and is read into a table
/// (``TUF1/TargetEntries``) instead of a tree of 100,000 small objects.
///
/// Anything else — an escape, a non-ASCII character, a float, a duplicate or unsorted key,
/// deep nesting, an unexpected top-level member — answers nil and the file goes through the
/// strict parser, which gives every verdict and message as before. So the scan may only accept:
/// every file it accepts is one the strict parser accepts, with the same tree, whose OLPC
/// canonical bytes are the ones the scan made.
struct TUF1PlainForm {
    /// The whole file without its whitespace.
    var canonical: [UInt8]
    /// The signed object in ``canonical``.
    var signed: Range<Int> = 0..<0
    /// The signatures array in ``canonical``.
    var signatures: Range<Int> = 0..<0
    /// The signed object's members, in order: key and value bytes in ``canonical``.
    var members: [(key: String, value: Range<Int>)] = []

    /// A byte a plain string holds: printable ASCII but `"`, `\`, `<`, `>` and `&` (a bit mask,
    /// no table to look up).
    @inline(__always) static func isPlain(_ b: UInt8) -> Bool {
        b < 64 ? (0xafff_ffbb_0000_0000 as UInt64) >> b & 1 == 1 : b < 127 && (0x7fff_ffff_efff_ffff as UInt64) >> (b - 64) & 1 == 1
    }

    static func scan(_ bytes: [UInt8]) -> TUF1PlainForm? {
        var signed = 0..<0, signatures = 0..<0
        var recorded: [(key: Range<Int>, value: Range<Int>)] = []
        var ok = false
        let canonical = [UInt8](unsafeUninitializedCapacity: bytes.count) { out, count in
            count = 0
            bytes.withUnsafeBufferPointer { p in
                var s = PlainScanner(p, out.baseAddress!)
                // {"signatures":[…],"signed":{…}}, nothing else at the top.
                s.space()
                guard s.take(UInt8(ascii: "{")), s.key("signatures"), s.peek(UInt8(ascii: "[")) else { return }
                let sigStart = s.o
                guard s.value() else { return }
                signatures = sigStart..<s.o
                s.space()
                guard s.take(UInt8(ascii: ",")), s.key("signed"), s.peek(UInt8(ascii: "{")) else { return }
                let signedStart = s.o
                var members: [(key: Range<Int>, value: Range<Int>)]? = []
                guard s.object(recording: &members), let members else { return }
                signed = signedStart..<s.o
                s.space()
                guard s.take(UInt8(ascii: "}")) else { return }
                s.space()
                guard s.i == p.count else { return }
                recorded = members
                count = s.o
                ok = true
            }
        }
        guard ok else { return nil }
        var form = TUF1PlainForm(canonical: canonical, signed: signed, signatures: signatures)
        form.members = recorded.map { (String(decoding: canonical[$0.key], as: UTF8.self), $0.value) }
        return form
    }
}

/// The scanner behind ``TUF1PlainForm``: reads `p` from `i`, writes the canonical bytes at `o`
/// (never more than it read), answers false at the first byte outside the plain form.
private struct PlainScanner {
    let p: UnsafeBufferPointer<UInt8>
    let out: UnsafeMutablePointer<UInt8>
    var i = 0
    var o = 0
    var depth = 0
    /// As the strict parser.
    static let maxDepth = 128

    init(_ p: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
        self.p = p
        self.out = out
    }

    @inline(__always) mutating func space() {
        while i < p.count {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    @inline(__always) func peek(_ b: UInt8) -> Bool { i < p.count && p[i] == b }

    /// The byte at `i`, copied.
    @inline(__always) mutating func copy() {
        out[o] = p[i]
        o += 1
        i += 1
    }

    /// `b` (after whitespace), copied.
    @inline(__always) mutating func take(_ b: UInt8) -> Bool {
        space()
        guard peek(b) else { return false }
        copy()
        return true
    }

    /// The member name `name` and its colon, then whitespace.
    mutating func key(_ name: StaticString) -> Bool {
        space()
        let start = o + 1
        guard peek(UInt8(ascii: "\"")), string() else { return false }
        let n = name.utf8CodeUnitCount
        guard o - 1 - start == n else { return false }
        for k in 0..<n where out[start + k] != name.utf8Start[k] { return false }
        guard take(UInt8(ascii: ":")) else { return false }
        space()
        return true
    }

    mutating func value() -> Bool {
        space()
        guard i < p.count else { return false }
        switch p[i] {
        case UInt8(ascii: "{"):
            var none: [(key: Range<Int>, value: Range<Int>)]? = nil
            return object(recording: &none)
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string()
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return false
        }
    }

    mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard i + n <= p.count else { return false }
        for k in 0..<n {
            guard p[i + k] == text.utf8Start[k] else { return false }
            out[o + k] = p[i + k]
        }
        i += n
        o += n
        return true
    }

    /// An object (at `{`); its members' key and value ranges in the output are appended to
    /// `members` unless that is nil.
    mutating func object(recording members: inout [(key: Range<Int>, value: Range<Int>)]?) -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        copy()
        space()
        if peek(UInt8(ascii: "}")) {
            return take(UInt8(ascii: "}"))
        }
        var previous: Range<Int>?
        while true {
            space()
            guard peek(UInt8(ascii: "\"")) else { return false }
            let keyStart = o + 1
            guard string() else { return false }
            let key = keyStart..<(o - 1)
            if let previous {
                // Strictly increasing: no duplicate, and canonical order is the file's order.
                let a = UnsafeBufferPointer(start: out + previous.lowerBound, count: previous.count)
                let b = UnsafeBufferPointer(start: out + key.lowerBound, count: key.count)
                guard a.lexicographicallyPrecedes(b) else { return false }
            }
            previous = key
            guard take(UInt8(ascii: ":")) else { return false }
            space()
            let valueStart = o
            guard value() else { return false }
            members?.append((key, valueStart..<o))
            space()
            guard i < p.count else { return false }
            if p[i] == UInt8(ascii: ",") {
                copy()
                continue
            }
            return take(UInt8(ascii: "}"))
        }
    }

    mutating func array() -> Bool {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return false }
        copy()
        space()
        if peek(UInt8(ascii: "]")) {
            return take(UInt8(ascii: "]"))
        }
        while true {
            guard value() else { return false }
            space()
            guard i < p.count else { return false }
            if p[i] == UInt8(ascii: ",") {
                copy()
                continue
            }
            return take(UInt8(ascii: "]"))
        }
    }

    /// A string (at `"`) of plain bytes only, copied with its quotes.
    mutating func string() -> Bool {
        copy()
        let n = p.count
        while i < n {
            let b = p[i]
            out[o] = b
            o += 1
            i += 1
            if TUF1PlainForm.isPlain(b) { continue }
            return b == UInt8(ascii: "\"")
        }
        return false
    }

    /// An integer as canonical JSON writes it: no leading zero, no `-0`, no fraction or
    /// exponent (the next token decides); at most 18 digits (longer ones go to the strict parser).
    mutating func integer() -> Bool {
        let n = p.count
        var negative = false
        if p[i] == UInt8(ascii: "-") {
            negative = true
            out[o] = p[i]
            o += 1
            i += 1
        }
        guard i < n else { return false }
        let digitsStart = i
        if p[i] == UInt8(ascii: "0") {
            guard !negative else { return false }
            out[o] = p[i]
            o += 1
            i += 1
            return i == n || !Self.continuesNumber(p[i])
        }
        while i < n, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
            out[o] = p[i]
            o += 1
            i += 1
        }
        guard i > digitsStart, i - digitsStart <= 18 else { return false }
        return i == n || !Self.continuesNumber(p[i])
    }

    /// A byte that would make the number a float or a different token.
    static func continuesNumber(_ b: UInt8) -> Bool {
        b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }
}

extension TUF1 {
    /// Reads a file in plain form (see ``TUF1PlainForm``); nil sends it to the strict parser. A
    /// targets file's `targets` object stays as its canonical bytes (`JSONValue.verbatim`).
    /// (No reading cache as for Notary: TUF code reads each file once per buffer, and the
    /// file's buffer is not kept, so it is freed once read.)
    public static func readExactForm(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> ExactFormRead<Signature>? {
        guard let form = TUF1PlainForm.scan(bytes) else { return nil }
        let canonical = form.canonical
        var members: [JSONValue.Member] = []
        members.reserveCapacity(form.members.count)
        var isTargets = false
        for (key, range) in form.members {
            if key == "targets", isTargets, canonical[range.lowerBound] == UInt8(ascii: "{") {
                members.append(.init(key, .verbatim(VerbatimJSON(canonicalObjectIn: canonical, range: range, isPlain: true))))
                continue
            }
            let value: JSONValue
            do { value = try JSONValue(parsing: canonical, range: range) } catch { return nil }
            if key == "_type", value.stringValue == "targets" { isTargets = true }
            members.append(.init(key, value))
        }
        let sigs: JSONValue
        do { sigs = try JSONValue(parsing: canonical, range: form.signatures) } catch { return nil }
        var signatures: [Signature] = []
        for (i, s) in (sigs.arrayValue ?? []).enumerated() {
            guard case .object = s else { return nil }
            let sig = try parseSignature(s, index: i, name: name)
            // A second signature by one key is refused by the strict path, with its message.
            guard !signatures.contains(where: { $0.keyID == sig.keyID }) else { return nil }
            signatures.append(sig)
        }
        return ExactFormRead(
            signed: .object(members), signatures: signatures, file: bytes, signedBuffer: canonical, canonicalSigned: form.signed,
            isExactFile: false)
    }
}
