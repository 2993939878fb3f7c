public import TrustCore
public import Formats
internal import Foundation

/// One entry of `signatures`: `{"keyid":…,"method":…,"sig":base64}`.
public struct Signature: Sendable, Hashable {
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

/// A metadata file: `{"signed":…,"signatures":[…]}`.
///
/// `signed` is kept as parsed, so countersigning never changes the signed bytes. What is signed
/// and verified is Go's canonical form of `signed`; what is written is Go's `encoding/json`
/// envelope: the canonical bytes HTML-escaped, no whitespace, no trailing newline.
public struct SignedMetadata: Sendable {
    public var signed: JSONValue
    public var signatures: [Signature]

    public init(signed: JSONValue, signatures: [Signature] = []) {
        self.signed = signed
        self.signatures = signatures
    }

    /// Parses a metadata file; `name` names it in errors.
    public init(parsing bytes: [UInt8], name: String) throws(TrustVaultError) {
        let doc: JSONValue
        do { doc = try JSONValue(parsing: bytes) } catch { throw error.located(name) }
        guard let signed = doc["signed"], case .object = signed else {
            throw .corrupt("\(name): no \"signed\" object", recovery: "is this a notary metadata file?")
        }
        guard let sigs = doc["signatures"]?.arrayValue else {
            throw .corrupt("\(name): no \"signatures\" array")
        }
        var list: [Signature] = []
        for (i, s) in sigs.enumerated() {
            guard let keyID = s["keyid"]?.stringValue, let method = s["method"]?.stringValue,
                let sig64 = s["sig"]?.stringValue, let sig = Data(base64Encoded: sig64)
            else { throw .corrupt("\(name): signature \(i + 1) needs \"keyid\", \"method\" and base64 \"sig\"") }
            list.append(Signature(keyID: keyID, method: method, bytes: Array(sig)))
        }
        self.init(signed: signed, signatures: list)
    }

    /// The bytes that are signed: Go-canonical JSON of `signed`.
    public var canonicalSigned: [UInt8] { signed.canonicalBytes }

    /// The file bytes, exactly as notary writes and uploads them.
    /// `canonical` may pass ``canonicalSigned`` when the caller already has it.
    public func encoded(canonical: [UInt8]? = nil) -> [UInt8] {
        var out = Array(#"{"signed":"#.utf8)
        out += JSONValue.goHTMLEscaped(canonical ?? canonicalSigned)
        out += Array(#","signatures":["#.utf8)
        for (i, s) in signatures.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // Go's encoding/json writes struct fields in declaration order: keyid, method, sig.
            out += Array(#"{"keyid":"#.utf8)
            out += JSONValue.goHTMLEscaped(JSONValue.string(s.keyID).canonicalBytes)
            out += Array(#","method":"#.utf8)
            out += JSONValue.goHTMLEscaped(JSONValue.string(s.method).canonicalBytes)
            out += Array(#","sig":""#.utf8)
            out += Array(Data(s.bytes).base64EncodedString().utf8)
            out += Array(#""}"#.utf8)
        }
        out += Array("]}".utf8)
        return out
    }

    /// Adds (or replaces) the signature of `key`, listed in the metadata under `keyID`
    /// (the x509 ID for certificate keys).
    public mutating func sign(with key: any SigningKey, as keyID: String, canonical: [UInt8]? = nil) throws(TrustVaultError) {
        let sig = try key.sign(canonical ?? canonicalSigned)
        signatures.removeAll { $0.keyID == keyID }
        signatures.append(Signature(keyID: keyID, method: key.publicKey.algorithm.signatureMethod, bytes: sig))
    }

    /// The distinct key IDs among `keys` whose signatures verify.
    public func validSignatureKeyIDs(keys: [String: TUFKey], canonical: [UInt8]? = nil) -> Set<String> {
        let message = canonical ?? canonicalSigned
        var valid: Set<String> = []
        for s in signatures where !valid.contains(s.keyID) {
            guard let key = keys[s.keyID], key.id == s.keyID, let pub = try? key.publicKey() else { continue }
            if pub.isValidSignature(s.bytes, for: message, method: s.method) { valid.insert(s.keyID) }
        }
        return valid
    }

    /// Checks that at least `threshold` of `keyIDs` signed; `name` names the file in errors.
    public func verify(role: RoleKeys, keys: [String: TUFKey], name: String, canonical: [UInt8]? = nil) throws(TrustVaultError) {
        let allowed = Set(role.keyIDs)
        let valid = validSignatureKeyIDs(keys: keys.filter { allowed.contains($0.key) }, canonical: canonical)
        guard role.threshold >= 1 else { throw .verification("\(name): threshold \(role.threshold) is below 1") }
        guard valid.count >= role.threshold else {
            let present = signatures.map { String($0.keyID.prefix(12)) }.joined(separator: ", ")
            throw .verification(
                "\(name): \(valid.count) valid signature(s) from the role's keys, \(role.threshold) required"
                    + " (signatures present: \(present.isEmpty ? "none" : present))",
                recovery: "the file was changed after signing, or signed by keys the role does not list")
        }
    }
}
