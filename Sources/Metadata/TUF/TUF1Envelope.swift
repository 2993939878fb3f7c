public import TrustCore
public import Formats
internal import Crypto
internal import Foundation

extension TUF1: MetadataDialect {
    public static let fileKind = "TUF 1.0"

    /// OLPC canonical JSON of `signed` (securesystemslib's `encode_canonical`).
    public static func canonicalBytes(_ signed: JSONValue) -> [UInt8] { Canonical.bytes(signed) }

    /// What trustvault writes: sorted keys, a one-space indent and a newline, as python-tuf's
    /// `JSONSerializer` does.
    public static func envelopeBytes(signed: JSONValue, canonical: [UInt8]?, signatures: [Signature]) -> [UInt8] {
        let sigs = JSONValue.array(signatures.map { .obj(["keyid": .string($0.keyID), "sig": .string($0.hex)]) })
        return Pretty.bytes(.obj(["signatures": sigs, "signed": signed])) + [0x0A]
    }

    public static func parseSignature(_ s: JSONValue, index i: Int, name: String) throws(TrustVaultError) -> Signature {
        guard let id = s["keyid"]?.stringValue, let sig = s["sig"]?.stringValue else {
            throw .corrupt("\(name): signature \(i + 1) needs \"keyid\" and \"sig\" strings")
        }
        return Signature(keyID: id, hex: sig)
    }

    public static func duplicateSignature(keyID: String, name: String) -> TrustVaultError? {
        .corrupt("\(name): two signatures by key \(keyID.prefix(12)) (python-tuf refuses such a file)")
    }

    /// Key IDs are taken as the metadata lists them; the key's scheme says how its hex signature
    /// verifies (see `TUF1KeyEncodings.swift`).
    public static func check(_ s: Signature, keyID: String, key: Key, message: ArraySlice<UInt8>) -> SignatureCheck {
        let verify: @Sendable ([UInt8], [UInt8]) -> Bool
        do { verify = try key.verifier() } catch { return .unreadableKey(error.message) }
        guard let raw = Hex.decode(s.hex) else { return .unreadableSignature("the signature is not hex") }
        if verify(raw, Array(message)) { return .valid }
        if key.scheme.hasPrefix("ecdsa"), !Envelope.isDERSignature(raw) {
            return .unreadableSignature("an ECDSA signature that is not DER (\(raw.count) bytes)")
        }
        return .mismatch
    }

    /// `root`, `targets`, `snapshot`, `timestamp`.
    public static func typeName(_ role: String) -> String { role }

    public static var maximumVersion: Int64 { NumberRules.maximumVersion }

    public static let nullKeyIDsAreEmpty = false

    /// The spec and python-tuf ask only for a threshold of at least 1; a threshold above the number
    /// of keys is read (and then cannot be met, as python-tuf finds). The bound 2^20 keeps a
    /// hostile number from meaning anything.
    public static func checkThreshold(_ t: Int64, keyCount: Int, context: String) throws(TrustVaultError) {
        guard t >= 1, t <= 1 << 20 else { throw .corrupt("\(context): threshold \(t) is not a positive number") }
    }

    /// python-tuf's rule: see `Delegation.covers`.
    public static func pathMatches(pattern: String, path: String) -> Bool { globMatches(pattern: pattern, path: path) }
}

extension TUF1 {
    /// One entry of `signatures`: `{"keyid":…,"sig":hex}`.
    public struct Signature: MetadataSignature {
        public var keyID: String
        public var hex: String
        public init(keyID: String, hex: String) {
            self.keyID = keyID
            self.hex = hex
        }
    }

    /// A TUF 1.0 metadata file.
    public typealias Envelope = MetadataEnvelope<TUF1>
    /// `{"keyids":[…],"threshold":N}` of a role.
    public typealias RoleKeys = Metadata.RoleKeys
    /// What became of one signature on a file.
    public typealias SignatureCheck = Metadata.SignatureCheck
}

extension MetadataEnvelope where D == TUF1 {
    /// The file bytes.
    public var encoded: [UInt8] { TUF1.envelopeBytes(signed: signed, canonical: nil, signatures: signatures) }

    /// Adds (or replaces) the signature of `signer`, listed under `keyID`, after checking it
    /// against `key` (the entry the metadata names).
    public mutating func sign(with signer: any SigningKey, key: TUF1.Key, keyID: String) throws(TrustVaultError) {
        let message = canonicalSigned
        let raw = try signer.sign(message)
        let bytes = try TUF1.signatureBytes(raw, algorithm: signer.publicKey.algorithm)
        guard key.isValidSignature(bytes, for: message) else {
            throw .verification("the signature made with key \(keyID.prefix(12)) does not verify against the key the metadata lists")
        }
        replaceSignature(TUF1.Signature(keyID: keyID, hex: Hex.encode(bytes)))
    }

    /// The distinct key IDs among `keyIDs` whose signatures verify with `keys`.
    public func validKeyIDs(_ keyIDs: [String], keys: [String: TUF1.Key]) -> Set<String> {
        validKeyIDs(Optional(keyIDs), keys: keys, canonical: nil)
    }

    /// Each signature by one of `keyIDs`, checked against `keys`.
    public func signatureChecks(_ keyIDs: [String], keys: [String: TUF1.Key]) -> [(keyID: String, check: SignatureCheck)] {
        signatureChecks(Optional(keyIDs), keys: keys, canonical: nil)
    }
}

extension TUF1 {
    /// sha256 hex and length of `bytes`, as `length`/`hashes` fields.
    public static func fileInfo(_ bytes: [UInt8]) -> (length: Int64, sha256: String) {
        (Int64(bytes.count), Hex.encode(Array(SHA256.hash(data: bytes))))
    }

    /// Checks `length` and every `hashes` entry of a meta/target entry against `bytes`; a hash
    /// algorithm trustvault cannot compute is a problem too (never silently skipped).
    /// Returns the problem, or nil when everything present matches.
    public static func checkFileInfo(_ info: JSONValue, bytes: [UInt8]) -> String? {
        checkFileInfo(length: info["length"]?.intValue, hashes: info["hashes"]?.objectValue, bytes: bytes)
    }

    /// ``checkFileInfo(_:bytes:)`` with the entry's `length` and `hashes` already taken out.
    public static func checkFileInfo(length: Int64?, hashes: [JSONValue.Member]?, bytes: [UInt8]) -> String? {
        if let length, length != Int64(bytes.count) {
            return "length is \(bytes.count), the metadata says \(length)"
        }
        guard let hashes else { return nil }
        for h in hashes {
            guard let want = h.value.stringValue else { return "hash \(h.key) is not a string" }
            guard let digest = FileDigest.compute(h.key, of: bytes) else {
                return
                    "hash algorithm \"\(Escape.visible(String(h.key.prefix(32))))\" is not one trustvault can check (sha256, sha384, sha512), so the file is not verified"
            }
            if Hex.matches(digest, want) { continue }
            let got = Hex.encode(digest)
            if got != want.lowercased() { return "\(h.key) is \(got.prefix(16))…, the metadata says \(want.prefix(16))…" }
        }
        return nil
    }

    /// A target path's directory (with its slash, or empty) and last part; nil for a path that
    /// would leave the targets directory (absolute, `.`, `..`, an empty part, a NUL).
    static func targetPathParts(_ path: String) -> (dir: String, base: String)? {
        var path = path
        return path.withUTF8 { p -> (dir: String, base: String)? in
            // Every part between slashes non-empty and neither "." nor ".."; no NUL.
            var partStart = 0
            for k in 0...p.count {
                if k < p.count, p[k] == 0 { return nil }
                guard k == p.count || p[k] == UInt8(ascii: "/") else { continue }
                let n = k - partStart
                if n == 0 || (p[partStart] == UInt8(ascii: ".") && (n == 1 || (n == 2 && p[partStart + 1] == UInt8(ascii: ".")))) {
                    return nil
                }
                if k < p.count { partStart = k + 1 }
            }
            return (
                String(decoding: UnsafeBufferPointer(rebasing: p[..<partStart]), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(rebasing: p[partStart...]), as: UTF8.self)
            )
        }
    }
}
