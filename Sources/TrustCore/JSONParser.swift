/// A strict JSON parser (RFC 8259) producing ``JSONValue``.
///
/// Strict where Notary data needs it: rejects trailing garbage, invalid UTF-8, unescaped
/// control characters, duplicate object keys (which a signature could otherwise hide),
/// and numbers that are not integral; nesting is limited so hostile input cannot exhaust
/// the stack.
extension JSONValue {
    public init(parsing bytes: [UInt8]) throws(TrustVaultError) {
        try self.init(parsing: bytes, range: 0..<bytes.count)
    }

    /// Parses the one JSON document in `bytes[range]` (a value inside a larger buffer).
    public init(parsing bytes: [UInt8], range: Range<Int>) throws(TrustVaultError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        let result: Result<JSONValue, TrustVaultError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer, range)
            do throws(TrustVaultError) { return .success(try parser.parseDocument()) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    public init(parsing text: String) throws(TrustVaultError) {
        try self.init(parsing: Array(text.utf8))
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    /// One past the last byte of the document.
    let end: Int
    var depth = 0
    static let maxDepth = 128

    init(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        self.bytes = bytes
        index = range.lowerBound
        end = range.upperBound
    }

    func fail(_ what: String) -> TrustVaultError {
        .corrupt("invalid JSON at byte \(index): \(what)")
    }

    mutating func parseDocument() throws(TrustVaultError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == end else { throw fail("unexpected data after the document") }
        return value
    }

    mutating func skipWhitespace() {
        while index < end,
            bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09
        {
            index += 1
        }
    }

    mutating func parseValue() throws(TrustVaultError) -> JSONValue {
        guard index < end else { throw fail("unexpected end of data") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    mutating func expect(_ literal: String) throws(TrustVaultError) {
        for b in literal.utf8 {
            guard index < end, bytes[index] == b else { throw fail("invalid literal") }
            index += 1
        }
    }

    mutating func enter() throws(TrustVaultError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth) levels") }
    }

    mutating func parseObject() throws(TrustVaultError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [JSONValue.Member] = []
        members.reserveCapacity(4)  // most metadata objects are small: one allocation
        var seen: Set<KeyBytes>?  // made only for large objects
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try parseString()
            // Small objects: compare with the members so far; large ones: a hash set of the keys.
            let duplicate: Bool
            if members.count < 16 {
                duplicate = members.contains { $0.key.utf8.elementsEqual(key.utf8) }
            } else {
                if seen == nil {
                    var set = Set<KeyBytes>()
                    set.reserveCapacity(256)
                    for m in members { set.insert(KeyBytes(m.key)) }
                    seen = set
                }
                duplicate = seen?.insert(KeyBytes(key)).inserted == false
            }
            guard !duplicate else { throw fail("duplicate key \"\(key)\"") }
            skipWhitespace()
            guard index < end, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            members.append(JSONValue.Member(key, try parseValue()))
            skipWhitespace()
            guard index < end else { throw fail("unexpected end of data") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(TrustVaultError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < end, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard index < end else { throw fail("unexpected end of data") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseHex4() throws(TrustVaultError) -> UInt32 {
        guard index + 4 <= end else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    mutating func parseString() throws(TrustVaultError) -> String {
        index += 1  // opening quote
        // Fast path: no escapes and no control bytes up to the closing quote.
        var stop = index
        while stop < end {
            let b = bytes[stop]
            if b == UInt8(ascii: "\"") {
                guard let s = String(validating: UnsafeBufferPointer(rebasing: bytes[index..<stop]), as: UTF8.self) else {
                    throw fail("invalid UTF-8 in string")
                }
                index = stop + 1
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            stop += 1
        }
        var out: [UInt8] = []
        while true {
            guard index < end else { throw fail("unterminated string") }
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                break
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                index += 1
                continue
            }
            index += 1
            guard index < end else { throw fail("unterminated escape") }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 2 <= end, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("invalid escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
        return s
    }

    mutating func parseNumber() throws(TrustVaultError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        var integral = true
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while p.index < p.end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.index]) {
                p.index += 1
            }
            return p.index - s
        }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw fail("invalid number") }
        if intDigits > 1, bytes[index - intDigits] == UInt8(ascii: "0") { throw fail("leading zero in number") }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let v = Int64(text) { return .integer(v) }
        // Go decodes numbers into float64 and canonical JSON writes integral floats as int64.
        guard let d = Double(text), d.rounded() == d, abs(d) < 9.2e18 else {
            throw fail("number \(text) is not an integer")
        }
        return .integer(Int64(d))
    }
}

/// An object key compared and hashed by its UTF-8 bytes (Swift `String` equality would merge
/// canonically equivalent keys), hashing the bytes in one call.
private struct KeyBytes: Hashable {
    let key: String
    init(_ key: String) { self.key = key }
    static func == (a: KeyBytes, b: KeyBytes) -> Bool { a.key.utf8.elementsEqual(b.key.utf8) }
    func hash(into hasher: inout Hasher) {
        let done: Void? = key.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for b in key.utf8 { hasher.combine(b) } }
    }
}
