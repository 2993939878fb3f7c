/// A JSON document as Notary/TUF metadata needs it: integers only (no floats), objects that
/// keep their keys as exact UTF-8 strings, and two serialisations that match Go byte for byte.
///
/// * ``canonicalBytes`` is Go's `MarshalCanonical` (docker/go canonical/json): no whitespace,
///   object keys sorted by their UTF-8 bytes, `"` and `\` escaped, control characters escaped
///   (they never occur in metadata notary accepts), every other byte — `<`, `>`, `&`, non-ASCII —
///   raw. This is what gets signed.
/// * ``goHTMLEscaped(_:)`` applies what Go's `encoding/json` does when it embeds those bytes
///   in the on-disk envelope: `<`, `>`, `&`, U+2028 and U+2029 become `\u003c` and so on.
///
/// Objects are stored as an ordered list of members, compared by UTF-8 bytes, because Swift
/// `String` equality is Unicode canonical equivalence and would merge keys that differ in bytes.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object([Member])
    /// An object kept as its canonical bytes, parsed only when something looks inside
    /// (``VerbatimJSON``). Reading it through ``objectValue`` or a subscript gives the same
    /// members as ``object(_:)`` would.
    case verbatim(VerbatimJSON)

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
        public static func == (a: Member, b: Member) -> Bool {
            a.key.utf8.elementsEqual(b.key.utf8) && a.value == b.value
        }
    }

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.string(x), .string(y)): return x.utf8.elementsEqual(y.utf8)
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.sortedByKey().elementsEqual(y.sortedByKey(), by: ==)
        case let (.verbatim(x), .verbatim(y)): return x == y
        case let (.verbatim(x), _): return x.value == b
        case let (_, .verbatim(y)): return a == y.value
        default: return false
        }
    }

    /// Builds an object from `(key, value)` pairs; later duplicates replace earlier ones.
    public static func obj(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        var v = JSONValue.object([])
        for (k, x) in pairs { v[k] = x }
        return v
    }

    // MARK: Access

    public subscript(key: String) -> JSONValue? {
        get {
            guard let members = objectValue else { return nil }
            return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
        }
        set {
            if case .verbatim(let v) = self { self = v.value }
            guard case .object(var members) = self else { return }
            let index = members.firstIndex { $0.key.utf8.elementsEqual(key.utf8) }
            switch (index, newValue) {
            case let (i?, v?): members[i].value = v
            case let (i?, nil): members.remove(at: i)
            case let (nil, v?): members.append(Member(key, v))
            case (nil, nil): break
            }
            self = .object(members)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var intValue: Int64? { if case .integer(let i) = self { i } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: [Member]? {
        switch self {
        case .object(let o): o
        case .verbatim(let v): v.members
        default: nil
        }
    }
    /// The value with every ``verbatim(_:)`` object parsed (for writers of other encodings).
    public var materialized: JSONValue {
        switch self {
        case .verbatim(let v): v.value.materialized
        case .array(let items): .array(items.map(\.materialized))
        case .object(let members): .object(members.map { Member($0.key, $0.value.materialized) })
        default: self
        }
    }
    public var isNull: Bool { if case .null = self { true } else { false } }

    // MARK: Serialisation

    /// Go-canonical bytes (what is signed and hashed for key IDs).
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + verbatimBytes)
        writeCanonical(into: &out)
        return out
    }

    /// The bytes of the ``verbatim(_:)`` objects inside (so a writer reserves room once).
    public var verbatimBytes: Int {
        switch self {
        case .verbatim(let v): v.range.count
        case .array(let items): items.reduce(0) { $0 + $1.verbatimBytes }
        case .object(let members): members.reduce(0) { $0 + $1.value.verbatimBytes }
        default: 0
        }
    }

    /// Go-canonical text; convenient for files that are not byte-exact interop artefacts.
    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    public func writeCanonical(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: Self.nullBytes)
        case .bool(let b): out.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .string(let s): Self.writeCanonicalString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.sortedByKey().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeCanonicalString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                m.value.writeCanonical(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .verbatim(let v): out.append(contentsOf: v.bytes)
        }
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)

    /// Go's canonical string encoding: `"` and `\\` escaped, `\n` `\r` `\t` as short escapes,
    /// other bytes below 0x20 as `\u00xx` (lowercase hex); everything else copied unchanged.
    private static func writeCanonicalString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buffer in
            // Copy runs of plain bytes at once; escape `"`, `\` and control characters as Go does.
            var runStart = 0
            for (i, byte) in buffer.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i]))
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0x0F)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// What Go's `encoding/json` does to already-compact JSON it embeds (`json.Compact` with
    /// HTML escaping): `<` `>` `&` become `\u003c` `\u003e` `\u0026`, U+2028/U+2029 become
    /// `\u2028`/`\u2029`. Everything else is copied unchanged.
    public static func goHTMLEscaped(_ bytes: [UInt8]) -> [UInt8] {
        // Usually there is nothing to escape: the same bytes, not a copy.
        let clean = bytes.withUnsafeBufferPointer { b in
            !b.contains { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") || $0 == 0xE2 }
        }
        if clean { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        let hex = Array("0123456789abcdef".utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var runStart = 0
            var i = 0
            let n = buffer.count
            while i < n {
                let b = buffer[i]
                if b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "&") {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i]))
                    out.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        hex[Int(b >> 4)], hex[Int(b & 0xF)],
                    ])
                    i += 1
                    runStart = i
                } else if b == 0xE2, i + 2 < n, buffer[i + 1] == 0x80, buffer[i + 2] == 0xA8 || buffer[i + 2] == 0xA9 {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i]))
                    out.append(contentsOf: Array((buffer[i + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8))
                    i += 3
                    runStart = i
                } else {
                    i += 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<n]))
        }
        return out
    }
}

extension [JSONValue.Member] {
    /// Members in Go's map order: by the keys' UTF-8 bytes.
    func sortedByKey() -> [JSONValue.Member] {
        sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }
}
