public import TrustCore
internal import Crypto
internal import Foundation

/// Notary's key IDs.
///
/// The TUF key ID is the lowercase hex SHA-256 of the canonical JSON
/// `{"keytype":T,"keyval":{"private":null,"public":B64}}`, where `B64` is standard base64
/// (with padding) of the public bytes: DER SubjectPublicKeyInfo for `ecdsa`/`rsa`, the raw
/// 32 bytes for `ed25519`, and the Go-encoded certificate PEM for `ecdsa-x509`/`rsa-x509`.
/// The canonical key ID (file names, `notary key list`) of an x509 key is the TUF ID of the
/// bare key inside the certificate; for every other key it is the TUF ID.
public enum TUFKeyID {
    /// The public-key JSON that is hashed, as a ``JSONValue``.
    public static func keyJSON(keyType: String, publicBytes: [UInt8]) -> JSONValue {
        .obj([
            "keytype": .string(keyType),
            "keyval": .obj(["private": .null, "public": .string(Data(publicBytes).base64EncodedString())]),
        ])
    }

    /// The TUF key ID of a key of type `keyType` with public bytes `publicBytes`.
    public static func compute(keyType: String, publicBytes: [UInt8]) -> String {
        Hex.encode(Array(SHA256.hash(data: keyJSON(keyType: keyType, publicBytes: publicBytes).canonicalBytes)))
    }
}

/// Lowercase hexadecimal.
public enum Hex {
    /// Written straight into the string's storage (a view of 100,000 digests makes 100,000).
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            let h = lowerDigits
            var o = 0
            for b in bytes {
                out[o] = h[Int(b >> 4)]
                out[o + 1] = h[Int(b & 0x0F)]
                o += 2
            }
            return o
        }
    }

    /// The sixteen digits, lower case.
    private static var lowerDigits: UnsafePointer<UInt8> { ("0123456789abcdef" as StaticString).utf8Start }

    /// Decodes hex (either case); nil when the text is not even-length hex.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Whether `text` is the hex (either case) of `bytes`, without decoding or allocating.
    public static func matches(_ bytes: [UInt8], _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { t in
            guard t.count == bytes.count * 2 else { return false }
            // Each byte's two lower-case digits, compared with the text's (an upper-case letter
            // is its lower-case one less 32; nothing else matches).
            func same(_ c: UInt8, _ digit: UInt8) -> Bool { c == digit || (digit >= UInt8(ascii: "a") && c == digit - 32) }
            var k = 0
            for b in bytes {
                guard same(t[k], lowerDigits[Int(b >> 4)]), same(t[k + 1], lowerDigits[Int(b & 15)]) else { return false }
                k += 2
            }
            return true
        }
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
