public import TrustCore
public import Formats
internal import Foundation

/// Notary v1's dialect: Docker Content Trust as notary 0.7 reads and writes it.
public enum NotaryV1: MetadataDialect {
    public typealias Signature = Metadata.Signature
    public typealias Key = TUFKey

    public static let fileKind = "notary"

    /// Go's canonical form of `signed`.
    public static func canonicalBytes(_ signed: JSONValue) -> [UInt8] { signed.canonicalBytes }

    /// Go's `encoding/json` envelope: the canonical bytes HTML-escaped, no whitespace, no trailing
    /// newline, each signature's fields in declaration order (keyid, method, sig).
    public static func envelopeBytes(signed: JSONValue, canonical: [UInt8]?, signatures: [Signature]) -> [UInt8] {
        let signedBytes = JSONValue.goHTMLEscaped(canonical ?? canonicalBytes(signed))
        var out: [UInt8] = []
        out.reserveCapacity(signedBytes.count + 32 + 256 * signatures.count)
        out += Array(#"{"signed":"#.utf8)
        out += signedBytes
        appendSignatures(signatures, to: &out)
        return out
    }

    /// `,"signatures":[…]}`: the end of an envelope.
    static func appendSignatures(_ signatures: [Signature], to out: inout [UInt8]) {
        out += Array(#","signatures":["#.utf8)
        for (i, s) in signatures.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"keyid":"#.utf8)
            out += JSONValue.goHTMLEscaped(JSONValue.string(s.keyID).canonicalBytes)
            out += Array(#","method":"#.utf8)
            out += JSONValue.goHTMLEscaped(JSONValue.string(s.method).canonicalBytes)
            out += Array(#","sig":""#.utf8)
            out += Array(Data(s.bytes).base64EncodedString().utf8)
            out += Array(#""}"#.utf8)
        }
        out += Array("]}".utf8)
    }

    /// The file of `signed` signed by `key` alone (listed as `keyID`), made in one buffer: the
    /// signed bytes are written once, in place, and signed there (a targets.json of 100,000
    /// tags is not copied a second time). The same bytes as signing an envelope and encoding it.
    public static func signedFile(_ signed: JSONValue, key: any SigningKey, keyID: String) throws(TrustVaultError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(signed.verbatimBytes + 4096)
        out += Array(#"{"signed":"#.utf8)
        let start = out.count
        signed.writeCanonical(into: &out)
        let range = start..<out.count
        let needsEscapes = out[range].contains { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") || $0 == 0xE2 }
        guard !needsEscapes else {
            // Go's HTML escaping makes the file's bytes differ from the signed ones.
            var env = SignedMetadata(signed: signed)
            try env.sign(with: key, as: keyID)
            return env.encoded()
        }
        let signature = Signature(keyID: keyID, method: key.publicKey.algorithm.signatureMethod, bytes: try key.sign(out[range]))
        appendSignatures([signature], to: &out)
        remember(ExactFormRead(signed: signed, signatures: [signature], file: out, canonicalSigned: range))
        return out
    }

    public static func parseSignature(_ s: JSONValue, index i: Int, name: String) throws(TrustVaultError) -> Signature {
        guard let keyID = s["keyid"]?.stringValue, let method = s["method"]?.stringValue,
            let sig64 = s["sig"]?.stringValue, let sig = Data(base64Encoded: sig64)
        else { throw .corrupt("\(name): signature \(i + 1) needs \"keyid\", \"method\" and base64 \"sig\"") }
        return Signature(keyID: keyID, method: method, bytes: Array(sig))
    }

    /// notary reads a file with two signatures by one key (only one counts).
    public static func duplicateSignature(keyID: String, name: String) -> TrustVaultError? { nil }

    /// The key's ID must be the one it is listed under (notary recomputes it); the signature's
    /// `method` names the algorithm.
    public static func check(_ s: Signature, keyID: String, key: TUFKey, message: ArraySlice<UInt8>) -> SignatureCheck {
        guard key.id == keyID else { return .unreadableKey("key \(keyID.prefix(12)) has the ID \(key.id.prefix(12))") }
        let pub: PublicKey
        do { pub = try key.publicKey() } catch { return .unreadableKey(error.message) }
        return pub.isValidSignature(s.bytes, for: message, method: s.method) ? .valid : .mismatch
    }

    /// `Root`, `Targets`, `Snapshot`, `Timestamp`.
    public static func typeName(_ role: String) -> String { role.prefix(1).uppercased() + role.dropFirst() }

    public static var maximumVersion: Int64 { NumberRules.maximumVersion }

    public static let nullKeyIDsAreEmpty = true

    /// notary's rule (`data.BaseRole`): at least 1, at most the number of keys (a role without
    /// keys keeps threshold 1), so every threshold written can be met.
    public static func checkThreshold(_ t: Int64, keyCount: Int, context: String) throws(TrustVaultError) {
        guard t >= 1, t <= Int64(max(keyCount, 1)) else {
            throw .verification("\(context): threshold \(t) is out of range for \(keyCount) key(s)")
        }
    }

    /// notary's rule: a delegation's path is a prefix of the target names it covers.
    public static func pathMatches(pattern: String, path: String) -> Bool { path.utf8.starts(with: pattern.utf8) }
}

/// One entry of `signatures`: `{"keyid":…,"method":…,"sig":base64}`.
public struct Signature: MetadataSignature {
    public var keyID: String
    public var method: String
    public var bytes: [UInt8]

    public init(keyID: String, method: String, bytes: [UInt8]) {
        self.keyID = keyID
        self.method = method
        self.bytes = bytes
    }

    var json: JSONValue {
        .obj(["keyid": .string(keyID), "method": .string(method), "sig": .string(Data(bytes).base64EncodedString())])
    }
}

/// A Notary v1 metadata file. What is signed and verified is Go's canonical form of `signed`;
/// what is written is Go's `encoding/json` envelope (`NotaryV1.envelopeBytes`).
public typealias SignedMetadata = MetadataEnvelope<NotaryV1>

extension MetadataEnvelope where D == NotaryV1 {
    /// The file bytes, exactly as notary writes and uploads them.
    /// `canonical` may pass ``canonicalSigned`` when the caller already has it.
    public func encoded(canonical: [UInt8]? = nil) -> [UInt8] {
        if let file = exactFile { return file }
        let signedBytes = canonical ?? canonicalSigned
        let file = NotaryV1.envelopeBytes(signed: signed, canonical: signedBytes, signatures: signatures)
        // A large file just encoded is known in exact form: reading it again (the ceremony's
        // own checks of its result) needs no second pass over it.
        let start = #"{"signed":"#.utf8.count
        if file.count >= start + signedBytes.count, file[start..<(start + signedBytes.count)].elementsEqual(signedBytes) {
            NotaryV1.remember(
                ExactFormRead(signed: signed, signatures: signatures, file: file, canonicalSigned: start..<(start + signedBytes.count)))
        }
        return file
    }

    /// Adds (or replaces) the signature of `key`, listed in the metadata under `keyID`
    /// (the x509 ID for certificate keys).
    public mutating func sign(with key: any SigningKey, as keyID: String, canonical: [UInt8]? = nil) throws(TrustVaultError) {
        let sig = try key.sign(canonical ?? canonicalSigned)
        replaceSignature(Signature(keyID: keyID, method: key.publicKey.algorithm.signatureMethod, bytes: sig))
    }

    /// The distinct key IDs among `keys` whose signatures verify.
    public func validSignatureKeyIDs(keys: [String: TUFKey], canonical: [UInt8]? = nil) -> Set<String> {
        validKeyIDs(nil, keys: keys, canonical: canonical)
    }

    /// Checks that at least `threshold` of `keyIDs` signed; `name` names the file in errors.
    public func verify(role: RoleKeys, keys: [String: TUFKey], name: String, canonical: [UInt8]? = nil) throws(TrustVaultError) {
        guard role.threshold >= 1 else { throw .verification("\(name): threshold \(role.threshold) is below 1") }
        let count = thresholdCount(role, keys: keys, canonical: canonical)
        guard count.isMet else {
            let present = signatures.map { String($0.keyID.prefix(12)) }.joined(separator: ", ")
            throw .verification(
                "\(name): \(count.valid.count) valid signature(s) from the role's keys, \(role.threshold) required"
                    + " (signatures present: \(present.isEmpty ? "none" : present))",
                recovery: "the file was changed after signing, or signed by keys the role does not list")
        }
    }
}
