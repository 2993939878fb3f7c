/// BER-TLV helpers for PIV data (tags of one to three bytes, definite lengths), shared by the
/// SmartCard client and the PIV card emulator.
package enum TLV {
    /// Encodes a BER length (short form below 128, then `81 xx` and `82 xx xx`).
    package static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        if n <= 0xFF { return [0x81, UInt8(n)] }
        return [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
    }

    /// `tag ‖ length ‖ value`.
    package static func encode(_ tag: [UInt8], _ value: [UInt8]) -> [UInt8] { tag + length(value.count) + value }
    package static func encode(_ tag: UInt8, _ value: [UInt8]) -> [UInt8] { encode([tag], value) }

    /// Parses a sequence of TLVs; `nil` when the bytes are not well formed.
    package static func parse(_ bytes: [UInt8]) -> [(tag: [UInt8], value: [UInt8])]? {
        var out: [(tag: [UInt8], value: [UInt8])] = []
        var i = 0
        while i < bytes.count {
            var tag = [bytes[i]]
            if bytes[i] & 0x1F == 0x1F {
                repeat {
                    i += 1
                    guard i < bytes.count else { return nil }
                    tag.append(bytes[i])
                } while bytes[i] & 0x80 != 0
            }
            i += 1
            guard i < bytes.count else { return nil }
            var len = Int(bytes[i])
            i += 1
            if len == 0x81 {
                guard i < bytes.count else { return nil }
                len = Int(bytes[i])
                i += 1
            } else if len == 0x82 {
                guard i + 1 < bytes.count else { return nil }
                len = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                i += 2
            } else if len > 0x82 {
                return nil
            }
            guard len <= bytes.count - i else { return nil }
            out.append((tag, Array(bytes[i..<i + len])))
            i += len
        }
        return out
    }

    /// The value of the first TLV with `tag`, if any.
    package static func find(_ tag: [UInt8], in tlvs: [(tag: [UInt8], value: [UInt8])]) -> [UInt8]? {
        tlvs.first { $0.tag == tag }?.value
    }
}
