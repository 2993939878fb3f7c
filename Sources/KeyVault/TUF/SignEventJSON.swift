public import TrustCore

extension TUFSignEvent {
    /// The text tuf-on-ci writes for a signing event's metadata: python-tuf's `JSONSerializer()`,
    /// which is Python's `json.dumps(obj, indent=1, separators=(",", ": "), sort_keys=True)` —
    /// one-space indent, object keys sorted by code point, every character outside printable ASCII
    /// written as a `\uXXXX` escape (lowercase hex, surrogate pairs above U+FFFF), and no newline at the
    /// end. Writing a file back in this form keeps its git diff to the lines that changed.
    public enum EventJSON {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(4096)
            write(value, level: 0, into: &out)
            return out
        }

        static func write(_ value: JSONValue, level: Int, into out: inout [UInt8]) {
            func newline(_ n: Int) {
                out.append(0x0A)
                out += [UInt8](repeating: 0x20, count: n)
            }
            switch value {
            case .null: out += Array("null".utf8)
            case .bool(let b): out += Array((b ? "true" : "false").utf8)
            case .integer(let i): out += Array(String(i).utf8)
            case .string(let s): writeString(s, into: &out)
            case .array(let items):
                guard !items.isEmpty else {
                    out += Array("[]".utf8)
                    return
                }
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(level + 1)
                    write(item, level: level + 1, into: &out)
                }
                newline(level)
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                guard !members.isEmpty else {
                    out += Array("{}".utf8)
                    return
                }
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(level + 1)
                    writeString(m.key, into: &out)
                    out += Array(": ".utf8)
                    write(m.value, level: level + 1, into: &out)
                }
                newline(level)
                out.append(UInt8(ascii: "}"))
            }
        }

        static func writeString(_ s: String, into out: inout [UInt8]) {
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
