public import TrustCore
internal import Crypto
internal import CryptoExtras
internal import CSodium
internal import Foundation

/// A public key as Notary handles it: an algorithm and the bytes that go into `keyval.public`.
public struct PublicKey: Hashable, Sendable {
    public let algorithm: KeyAlgorithm
    /// DER SubjectPublicKeyInfo for `ecdsa` and `rsa`; the raw 32 bytes for `ed25519`.
    public let tufPublicBytes: [UInt8]

    /// Validates and wraps public-key bytes.
    public init(algorithm: KeyAlgorithm, tufPublicBytes: [UInt8]) throws(TrustVaultError) {
        switch algorithm {
        case .ecdsa:
            guard (try? P256.Signing.PublicKey(derRepresentation: tufPublicBytes)) != nil else {
                throw .unsupported(
                    "the ECDSA public key is not a P-256 SubjectPublicKeyInfo",
                    recovery: "trustvault signs with P-256 keys, as notary generates them")
            }
        case .rsa:
            guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: tufPublicBytes) else {
                throw .corrupt("the RSA public key is not a valid SubjectPublicKeyInfo")
            }
            guard key.keySizeInBits >= 2048 else {
                throw .unsupported("the RSA key has \(key.keySizeInBits) bits; notary needs at least 2048")
            }
        case .ed25519:
            guard tufPublicBytes.count == 32 else { throw .corrupt("an Ed25519 public key has 32 bytes") }
        }
        self.algorithm = algorithm
        self.tufPublicBytes = tufPublicBytes
    }

    /// Parses a DER SubjectPublicKeyInfo of a P-256, RSA or Ed25519 (RFC 8410) key.
    public init(spkiDER: [UInt8]) throws(TrustVaultError) {
        if spkiDER.count == 44, Array(spkiDER.prefix(12)) == PublicKey.ed25519SPKIPrefix {
            try self.init(algorithm: .ed25519, tufPublicBytes: Array(spkiDER.suffix(32)))
        } else if (try? P256.Signing.PublicKey(derRepresentation: spkiDER)) != nil {
            try self.init(algorithm: .ecdsa, tufPublicBytes: spkiDER)
        } else if (try? _RSA.Signing.PublicKey(unsafeDERRepresentation: spkiDER)) != nil {
            try self.init(algorithm: .rsa, tufPublicBytes: spkiDER)
        } else {
            throw .unsupported(
                "the public key is not P-256 ECDSA, RSA or Ed25519",
                recovery: "notary supports ECDSA P-256, RSA (2048 bits or more) and Ed25519 keys")
        }
    }

    /// DER `302a300506032b6570032100`: the SubjectPublicKeyInfo prefix of an RFC 8410 Ed25519 key.
    static let ed25519SPKIPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// The TUF `keytype` of the bare key.
    public var tufKeyType: String { algorithm.rawValue }

    /// The TUF (and canonical) key ID of the bare key.
    public var keyID: String { TUFKeyID.compute(keyType: tufKeyType, publicBytes: tufPublicBytes) }

    /// DER SubjectPublicKeyInfo (RFC 8410 form for Ed25519).
    public var spkiDER: [UInt8] {
        algorithm == .ed25519 ? PublicKey.ed25519SPKIPrefix + tufPublicBytes : tufPublicBytes
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM with 64-column lines.
    public var pemString: String { PEMText.encode(type: "PUBLIC KEY", der: spkiDER) }

    /// Checks a Notary signature (`method` as found in the metadata, case-insensitive).
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8], method: String) -> Bool {
        isValidSignature(signature, for: message[...], method: method)
    }

    /// Checks a Notary signature over bytes inside a larger buffer (a file's signed part).
    public func isValidSignature(_ signature: [UInt8], for message: ArraySlice<UInt8>, method: String) -> Bool {
        switch (algorithm, method.lowercased()) {
        case (.ecdsa, "ecdsa"):
            guard let key = try? P256.Signing.PublicKey(derRepresentation: tufPublicBytes),
                let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return key.isValidSignature(sig, for: message)
        case (.ed25519, "eddsa"):
            guard signature.count == Int(crypto_sign_BYTES) else { return false }
            Sodium.ensureInitialised()
            return message.withUnsafeBufferPointer { m in
                crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), tufPublicBytes) == 0
            }
        case (.rsa, "rsapss"), (.rsa, "rsapkcs1v15"):
            guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: tufPublicBytes) else { return false }
            let padding: _RSA.Signing.Padding = method.lowercased() == "rsapss" ? .PSS : .insecurePKCS1v1_5
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: message, padding: padding)
        default:
            return false
        }
    }
}

/// Minimal PEM text encoding as Go's `encoding/pem` writes it (64-column base64, `\n` endings).
public enum PEMText {
    public static func encode(type: String, der: [UInt8], headers: [(String, String)] = []) -> String {
        var out = "-----BEGIN \(type)-----\n"
        for (k, v) in headers { out += "\(k): \(v)\n" }
        if !headers.isEmpty { out += "\n" }
        let b64 = Data(der).base64EncodedString()
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[i..<j] + "\n"
            i = j
        }
        out += "-----END \(type)-----\n"
        return out
    }
}
