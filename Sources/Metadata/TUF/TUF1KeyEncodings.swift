internal import TrustCore
internal import Formats
internal import Crypto
internal import CryptoExtras
internal import Foundation

extension TUF1 {
    /// Reads the public-key encodings TUF 1.0 repositories carry in the wild:
    ///
    /// - `ed25519`: 64 hex digits (securesystemslib, python-tuf, go-tuf, tuf-on-ci);
    /// - `ecdsa` / `ecdsa-sha2-nistp256|384` key types: PEM SubjectPublicKeyInfo (securesystemslib,
    ///   tuf-on-ci, RSTUF) or the hex of the uncompressed (or compressed) curve point, as go-tuf
    ///   wrote sigstore's roots 1–4;
    /// - `rsa`: PEM SubjectPublicKeyInfo or PKCS#1 `RSA PUBLIC KEY`, schemes `rsassa-pss-sha256|384|512`
    ///   and `rsa-pkcs1v15-sha256|384|512`.
    ///
    /// `keyid_hash_algorithms` and other extra fields are ignored; key IDs are taken as the
    /// metadata lists them (a key ID need not be the key's hash). A key that is none of these
    /// throws `.unsupported` naming its key type, scheme and encoding, so that a report can say
    /// "unsupported key encoding" instead of blaming the signature.
    enum KeyReader {
        static func verifier(keyType: String, scheme: String, publicValue: String) throws(TrustVaultError)
            -> @Sendable ([UInt8], [UInt8]) -> Bool
        {
            let value = publicValue.trimmingCharacters(in: .whitespacesAndNewlines)
            let isPEM = value.hasPrefix("-----BEGIN ")
            func unsupported(_ why: String) -> TrustVaultError {
                .unsupported(
                    "unsupported key encoding: keytype \"\(keyType)\", scheme \"\(scheme)\", \(isPEM ? "PEM" : "\(value.count)-character") public value (\(why))",
                    recovery: "trustvault reads ed25519 (hex), ecdsa P-256/P-384 (PEM or hex point) and rsa (PEM, PSS or PKCS#1 v1.5)")
            }
            switch scheme {
            case "ed25519":
                guard keyType == "ed25519" else { throw unsupported("scheme ed25519 with another key type") }
                guard let raw = Hex.decode(value), raw.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw unsupported("an ed25519 public value is 64 hex digits")
                }
                return { sig, msg in key.isValidSignature(sig, for: msg) }
            case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384":
                guard ["ecdsa", scheme].contains(keyType) else { throw unsupported("an ecdsa scheme with another key type") }
                let curve = scheme == "ecdsa-sha2-nistp256" ? "P-256" : "P-384"
                if isPEM {
                    guard let der = Key.pemDER(value), let verify = ecdsa(curve, der: der) else { throw unsupported("not a \(curve) PEM public key") }
                    return verify
                }
                guard let raw = Hex.decode(value), let verify = ecdsa(curve, point: raw) else { throw unsupported("not a hex \(curve) point") }
                return verify
            case "rsassa-pss-sha256", "rsassa-pss-sha384", "rsassa-pss-sha512",
                "rsa-pkcs1v15-sha256", "rsa-pkcs1v15-sha384", "rsa-pkcs1v15-sha512":
                guard keyType == "rsa" else { throw unsupported("an rsa scheme with another key type") }
                guard isPEM, let key = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: value) else {
                    throw unsupported("not a PEM RSA public key")
                }
                let padding: _RSA.Signing.Padding = scheme.hasPrefix("rsassa-pss") ? .PSS : .insecurePKCS1v1_5
                let bits = scheme.suffix(3)
                return { sig, msg in
                    let s = _RSA.Signing.RSASignature(rawRepresentation: sig)
                    switch bits {
                    case "384": return key.isValidSignature(s, for: SHA384.hash(data: msg), padding: padding)
                    case "512": return key.isValidSignature(s, for: SHA512.hash(data: msg), padding: padding)
                    default: return key.isValidSignature(s, for: SHA256.hash(data: msg), padding: padding)
                    }
                }
            default:
                throw unsupported("scheme not supported")
            }
        }

        /// A DER-signature verifier for a P-256 or P-384 key given as SubjectPublicKeyInfo DER or as
        /// a curve point; nil when the bytes are not such a key.
        static func ecdsa(_ curve: String, der: [UInt8]? = nil, point: [UInt8]? = nil) -> (@Sendable ([UInt8], [UInt8]) -> Bool)? {
            if curve == "P-256" {
                guard let key = der.flatMap({ try? P256.Signing.PublicKey(derRepresentation: $0) }) ?? point.flatMap(p256(point:)) else { return nil }
                return { sig, msg in (try? P256.Signing.ECDSASignature(derRepresentation: sig)).map { key.isValidSignature($0, for: msg) } ?? false }
            }
            guard let key = der.flatMap({ try? P384.Signing.PublicKey(derRepresentation: $0) }) ?? point.flatMap(p384(point:)) else { return nil }
            return { sig, msg in (try? P384.Signing.ECDSASignature(derRepresentation: sig)).map { key.isValidSignature($0, for: msg) } ?? false }
        }

        static func p256(point raw: [UInt8]) -> P256.Signing.PublicKey? {
            if raw.count == 65, raw[0] == 4 { return try? P256.Signing.PublicKey(x963Representation: raw) }
            if raw.count == 33, raw[0] == 2 || raw[0] == 3 { return try? P256.Signing.PublicKey(compressedRepresentation: raw) }
            return nil
        }

        static func p384(point raw: [UInt8]) -> P384.Signing.PublicKey? {
            if raw.count == 97, raw[0] == 4 { return try? P384.Signing.PublicKey(x963Representation: raw) }
            if raw.count == 49, raw[0] == 2 || raw[0] == 3 { return try? P384.Signing.PublicKey(compressedRepresentation: raw) }
            return nil
        }
    }
}

extension TUF1.Envelope {
    /// A DER `SEQUENCE { INTEGER r, INTEGER s }`, checked for shape only.
    static func isDERSignature(_ b: [UInt8]) -> Bool {
        guard b.count >= 8, b[0] == 0x30, Int(b[1]) == b.count - 2, b[2] == 0x02 else { return false }
        let rl = Int(b[3])
        guard 4 + rl + 2 <= b.count, b[4 + rl] == 0x02 else { return false }
        return 4 + rl + 2 + Int(b[5 + rl]) == b.count
    }
}
