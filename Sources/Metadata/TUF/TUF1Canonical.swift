public import TrustCore

extension TUF1 {
    /// OLPC canonical JSON as securesystemslib's `encode_canonical` writes it: no whitespace,
    /// object keys sorted by code point (= UTF-8 byte order), only `"` and `\` escaped, every
    /// other character (newlines in PEM keys included) written raw, integers only.
    public enum Canonical {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(512 + value.verbatimBytes)
            write(value, into: &out)
            return out
        }

        static func write(_ value: JSONValue, into out: inout [UInt8]) {
            switch value {
            case .null: out += Array("null".utf8)
            case .bool(let b): out += Array((b ? "true" : "false").utf8)
            case .integer(let i): out += Array(String(i).utf8)
            case .string(let s): writeString(s, into: &out)
            case .array(let items):
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    write(item, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(m.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(m.value, into: &out)
                }
                out.append(UInt8(ascii: "}"))
            case .verbatim(let v):
                // Plain bytes are OLPC canonical already (no escape to write differently).
                if v.isPlain { out += v.bytes } else { write(v.value, into: &out) }
            }
        }

        static func writeString(_ s: String, into out: inout [UInt8]) {
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The on-disk text trustvault writes: JSON with sorted keys and a one-space indent, as
    /// python-tuf's `JSONSerializer` does (any JSON is accepted by readers; this form diffs well).
    /// Strings are escaped the Go-canonical way (control characters escaped, the rest raw UTF-8),
    /// or, for files tuf-on-ci writes back (`.pythonASCII`), exactly as Python's `json.dumps`
    /// does by default: every character outside printable ASCII as a `\uXXXX` escape (lowercase
    /// hex, surrogate pairs above U+FFFF), so a rewritten file differs only where it changed.
    public enum Pretty {
        public enum Strings: Sendable {
            case goCanonical
            case pythonASCII
        }

        public static func bytes(_ value: JSONValue, strings: Strings = .goCanonical) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(4096 + value.verbatimBytes * 3 / 2)
            write(value, indent: 0, strings: strings, into: &out)
            return out
        }

        static func write(_ value: JSONValue, indent: Int, strings: Strings, into out: inout [UInt8]) {
            func newline(_ n: Int) {
                out.append(0x0A)
                out += [UInt8](repeating: 0x20, count: n)
            }
            switch value {
            case .array(let items) where !items.isEmpty:
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(indent + 1)
                    write(item, indent: indent + 1, strings: strings, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "]"))
            case .object(let members) where !members.isEmpty:
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(indent + 1)
                    write(.string(m.key), indent: indent + 1, strings: strings, into: &out)
                    out += Array(": ".utf8)
                    write(m.value, indent: indent + 1, strings: strings, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "}"))
            case .string(let s) where strings == .pythonASCII:
                writePythonASCII(s, into: &out)
            case .verbatim(let v) where v.isPlain:
                reindent(v.bytes, indent: indent, into: &out)
            case .verbatim(let v):
                write(v.value, indent: indent, strings: strings, into: &out)
            default:
                // Go-canonical escaping is valid JSON (control characters escaped).
                out += value.canonicalBytes
            }
        }

        /// Plain canonical bytes (`VerbatimJSON.isPlain`: no whitespace, sorted keys, strings
        /// without escapes, printable ASCII) written as ``write(_:indent:strings:into:)`` writes
        /// their value, in either string style, without parsing them.
        static func reindent(_ bytes: ArraySlice<UInt8>, indent: Int, into out: inout [UInt8]) {
            out.reserveCapacity(out.count + bytes.count + bytes.count / 2)
            bytes.withUnsafeBufferPointer { p in
                var level = indent
                var i = 0
                let n = p.count
                func newline(_ k: Int) {
                    out.append(0x0A)
                    out.append(contentsOf: repeatElement(0x20, count: k))
                }
                while i < n {
                    let b = p[i]
                    switch b {
                    case UInt8(ascii: "\""):
                        // No escapes: the string ends at the next quote.
                        var j = i + 1
                        while p[j] != UInt8(ascii: "\"") { j += 1 }
                        out.append(contentsOf: UnsafeBufferPointer(rebasing: p[i...j]))
                        i = j + 1
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                        if i + 1 < n, p[i + 1] == close {
                            out.append(b)
                            out.append(close)
                            i += 2
                            continue
                        }
                        out.append(b)
                        level += 1
                        newline(level)
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        level -= 1
                        newline(level)
                        out.append(b)
                    case UInt8(ascii: ","):
                        out.append(b)
                        newline(level)
                    case UInt8(ascii: ":"):
                        out.append(b)
                        out.append(0x20)
                    default:
                        out.append(b)
                    }
                    i += 1
                }
            }
        }

        static func writePythonASCII(_ s: String, into out: inout [UInt8]) {
            func hex4(_ v: UInt32) {
                let digits = Array("0123456789abcdef".utf8)
                out += Array("\\u".utf8)
                for shift in stride(from: 12, through: 0, by: -4) { out.append(digits[Int((v >> UInt32(shift)) & 0xF)]) }
            }
            out.append(UInt8(ascii: "\""))
            for scalar in s.unicodeScalars {
                let v = scalar.value
                switch v {
                case 0x22: out += Array("\\\"".utf8)
                case 0x5C: out += Array("\\\\".utf8)
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0x08: out += Array("\\b".utf8)
                case 0x0C: out += Array("\\f".utf8)
                case 0..<0x20: hex4(v)
                case 0x20..<0x7F: out.append(UInt8(v))
                case 0x7F...0xFFFF: hex4(v)  // Python escapes DEL too (anything outside ' '…'~')
                default:
                    let u = v - 0x10000
                    hex4(0xD800 + (u >> 10))
                    hex4(0xDC00 + (u & 0x3FF))
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
