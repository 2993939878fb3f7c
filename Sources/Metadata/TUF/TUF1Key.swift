public import TrustCore
public import Formats
internal import Crypto
internal import CryptoExtras
internal import Foundation

/// Namespace for TUF 1.0 specification metadata (python-tuf / securesystemslib dialect), as
/// opposed to Notary's dialect in the rest of this module.
public enum TUF1: Sendable {
    /// The `spec_version` trustvault writes.
    public static let specVersion = "1.0.31"
    /// A target file hashed by `add-targets` and `verify` (read whole: at most 1 GiB).
    public static let targetFile = InputKind("target file", maximumSize: 1 << 30)
}

extension TUF1 {
    /// A public key as the spec and securesystemslib write it:
    /// `{"keytype":T,"scheme":S,"keyval":{"public":P}}`.
    ///
    /// `P` is PEM SubjectPublicKeyInfo for `ecdsa` and `rsa` keys and lowercase hex of the raw
    /// 32 bytes for `ed25519`. The default key ID is the SHA-256 of the OLPC canonical JSON of
    /// the three fields; keys read from metadata keep the ID the metadata gives them.
    public struct Key: Sendable, Equatable {
        public let keyType: String
        public let scheme: String
        public let publicValue: String
        /// The key's JSON object as found (or built), extra fields included.
        public let json: JSONValue

        /// The ID securesystemslib computes for this key.
        public var defaultKeyID: String {
            let body = JSONValue.obj([
                "keytype": .string(keyType), "scheme": .string(scheme), "keyval": .obj(["public": .string(publicValue)]),
            ])
            return Hex.encode(Array(SHA256.hash(data: Canonical.bytes(body))))
        }

        /// The TUF 1.0 form of a vault or card key.
        public init(_ key: PublicKey) {
            switch key.algorithm {
            case .ecdsa:
                self.init(keyType: "ecdsa", scheme: "ecdsa-sha2-nistp256", publicValue: key.pemString)
            case .ed25519:
                self.init(keyType: "ed25519", scheme: "ed25519", publicValue: Hex.encode(key.tufPublicBytes))
            case .rsa:
                self.init(keyType: "rsa", scheme: "rsassa-pss-sha256", publicValue: key.pemString)
            }
        }

        public init(keyType: String, scheme: String, publicValue: String) {
            self.keyType = keyType
            self.scheme = scheme
            self.publicValue = publicValue
            self.json = .obj([
                "keytype": .string(keyType), "scheme": .string(scheme), "keyval": .obj(["public": .string(publicValue)]),
            ])
        }

        /// A key entry from metadata (`keys` of root, `delegations.keys` of targets).
        public init(json: JSONValue, context: String) throws(TrustVaultError) {
            guard case .object = json, let type = json["keytype"]?.stringValue, let scheme = json["scheme"]?.stringValue,
                let pub = json["keyval"]?["public"]?.stringValue
            else {
                throw .corrupt("\(context): a key needs \"keytype\", \"scheme\" and \"keyval\".\"public\" strings")
            }
            if let priv = json["keyval"]?["private"], !priv.isNull {
                throw .corrupt("\(context): a public key entry carries private key material")
            }
            keyType = type
            self.scheme = scheme
            publicValue = pub
            self.json = json
        }

        /// A public key handed over by another holder: PEM `PUBLIC KEY` or `CERTIFICATE` (what
        /// `trustvault key export --format public` writes), or a TUF key JSON object.
        public init(file bytes: [UInt8], name: String) throws(TrustVaultError) {
            let text = String(decoding: bytes, as: UTF8.self)
            if text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{") {
                let json: JSONValue
                do { json = try JSONValue(parsing: bytes) } catch { throw error.located(name) }
                try self.init(json: json, context: name)
                do { _ = try verifier() } catch { throw error.located(name) }
                return
            }
            if text.contains("-----BEGIN CERTIFICATE-----") {
                let certs = try TUFKey.parseCertificates(bytes)
                guard let leaf = certs.first else { throw .corrupt("\(name): no certificate") }
                self.init(try TUFKey.publicKey(of: leaf))
                return
            }
            guard let range = text.range(of: "-----BEGIN PUBLIC KEY-----"),
                let end = text.range(of: "-----END PUBLIC KEY-----", range: range.upperBound..<text.endIndex)
            else {
                throw .corrupt(
                    "\(name) is neither a PEM public key, a certificate nor a TUF key JSON",
                    recovery: "ask the key holder for 'trustvault key export KEYID --format public --out FILE'")
            }
            let body = text[range.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)) else { throw .corrupt("\(name): the PEM body is not base64") }
            let spki = Array(der)
            if let p384 = try? P384.Signing.PublicKey(derRepresentation: spki) {
                self.init(keyType: "ecdsa", scheme: "ecdsa-sha2-nistp384", publicValue: PEMText.encode(type: "PUBLIC KEY", der: Array(p384.derRepresentation)))
                return
            }
            do { self.init(try PublicKey(spkiDER: spki)) } catch { throw error.located(name) }
        }

        /// The bare public key when it is one the vault can hold (P-256, Ed25519, RSA); nil otherwise.
        public var vaultPublicKey: PublicKey? {
            switch keyType {
            case "ed25519":
                guard let raw = Hex.decode(publicValue) else { return nil }
                return try? PublicKey(algorithm: .ed25519, tufPublicBytes: raw)
            case "ecdsa", "ecdsa-sha2-nistp256", "rsa":
                if let der = Self.pemDER(publicValue) { return try? PublicKey(spkiDER: der) }
                // go-tuf's hex-encoded P-256 point (see TUF1KeyEncodings.swift).
                guard keyType != "rsa", let raw = Hex.decode(publicValue), let k = KeyReader.p256(point: raw) else { return nil }
                return try? PublicKey(spkiDER: Array(k.derRepresentation))
            default:
                return nil
            }
        }

        /// Whether this key is `other` (compared by key material, not by ID).
        public func isSameKey(as other: PublicKey) -> Bool {
            guard let mine = vaultPublicKey else { return false }
            return mine == other
        }

        /// A short description: `ecdsa-sha2-nistp256`.
        public var kind: String { scheme }

        static func pemDER(_ pem: String) -> [UInt8]? {
            guard let r = pem.range(of: "-----BEGIN PUBLIC KEY-----"),
                let e = pem.range(of: "-----END PUBLIC KEY-----", range: r.upperBound..<pem.endIndex)
            else { return nil }
            let body = pem[r.upperBound..<e.lowerBound].filter { !$0.isWhitespace }
            return Data(base64Encoded: String(body)).map { Array($0) }
        }

        /// Checks that the key is usable and returns a verification function. Reads the encodings
        /// seen in the wild (see `TUF1KeyEncodings.swift`); a key it cannot read throws
        /// `.unsupported` naming the encoding, never a verification failure.
        func verifier() throws(TrustVaultError) -> @Sendable ([UInt8], [UInt8]) -> Bool {
            try TUF1.KeyReader.verifier(keyType: keyType, scheme: scheme, publicValue: publicValue)
        }

        /// Whether `signature` (raw bytes, as decoded from hex) by this key verifies over `message`.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard let check = try? verifier() else { return false }
            return check(signature, message)
        }
    }

    /// Turns what a ``SigningKey`` returns (raw r‖s for ECDSA) into the bytes securesystemslib
    /// writes (DER for ECDSA; unchanged for Ed25519 and RSA-PSS).
    public static func signatureBytes(_ raw: [UInt8], algorithm: KeyAlgorithm) throws(TrustVaultError) -> [UInt8] {
        guard algorithm == .ecdsa else { return raw }
        do { return Array(try P256.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation) } catch {
            throw .corrupt("the ECDSA signature has \(raw.count) bytes instead of 64")
        }
    }
}
