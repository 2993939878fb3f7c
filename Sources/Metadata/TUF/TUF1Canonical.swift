public import TrustCore

extension TUF1 {
    /// OLPC canonical JSON as securesystemslib's `encode_canonical` writes it: no whitespace,
    /// object keys sorted by code point (= UTF-8 byte order), only `"` and `\` escaped, every
    /// other character (newlines in PEM keys included) written raw, integers only.
    public enum Canonical {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(512)
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
    public enum Pretty {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            write(value, indent: 0, into: &out)
            return out
        }

        static func write(_ value: JSONValue, indent: Int, into out: inout [UInt8]) {
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
                    write(item, indent: indent + 1, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "]"))
            case .object(let members) where !members.isEmpty:
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(indent + 1)
                    out += JSONValue.string(m.key).canonicalBytes
                    out += Array(": ".utf8)
                    write(m.value, indent: indent + 1, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "}"))
            default:
                // Go-canonical escaping is valid JSON (control characters escaped).
                out += value.canonicalBytes
            }
        }
    }
}
