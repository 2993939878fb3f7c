internal import TrustCore
internal import Formats

extension TUF1 {
    /// A role name as it appears in a metadata file name: every byte of its UTF-8 form except
    /// `A–Z a–z 0–9 _ . - ~` percent-encoded with uppercase hex, as python-tuf's ngclient does
    /// (`urllib.parse.quote(name, "")`). `/`, `..` sequences and control characters can then never
    /// leave `metadata/`: `../a` becomes `..%2Fa`.
    public static func encodedRoleName(_ name: String) -> String {
        var out = ""
        for b in name.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 15)])
            }
        }
        return out
    }

    /// The inverse of ``encodedRoleName(_:)`` for a file name found in `metadata/`; nil when it
    /// is not such an encoding.
    public static func decodedRoleName(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        var it = Array(encoded.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let v = Hex.decode(String(decoding: it.prefix(2), as: UTF8.self)), v.count == 1 else { return nil }
                bytes.append(v[0])
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Why `name` cannot be a metadata file name (python-tuf could not fetch it either), or nil:
    /// empty, or longer than a file name may be once encoded (255 bytes with `N.` and `.json`).
    public static func unusableRoleName(_ name: String) -> String? {
        if name.isEmpty { return "an empty role name cannot name a metadata file" }
        let encoded = encodedRoleName(name)
        if encoded.utf8.count + ".json".count + 21 > 255 {
            return "role name \"\(Escape.visible(String(name.prefix(40))))…\" is too long for a metadata file name (\(encoded.utf8.count) bytes encoded)"
        }
        return nil
    }
}
