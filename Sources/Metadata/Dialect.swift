public import TrustCore

/// What differs between the two metadata dialects trustvault reads and writes, and nothing else:
/// Notary v1 (`NotaryV1`: Docker Content Trust, notary 0.7) and TUF 1.0 (`TUF1`: python-tuf,
/// go-tuf, tuf-on-ci, RSTUF, sigstore).
///
/// The envelope (`MetadataEnvelope`), role keys and thresholds (`RoleKeys`), the fields every
/// signed role has (`commonFields`) and threshold counting are written once, generic over the
/// dialect. What the dialect decides:
///
/// | | Notary v1 | TUF 1.0 |
/// |---|---|---|
/// | signed bytes | Go-canonical JSON | OLPC canonical JSON (securesystemslib) |
/// | file bytes | Go `encoding/json`, HTML-escaped, no newline | sorted, one-space indent, newline |
/// | signature | `{keyid, method, sig: base64}` | `{keyid, sig: hex}`, ECDSA as DER |
/// | key ID | SHA-256 of the key's canonical JSON, checked | as the metadata lists it |
/// | `_type` | `Root`, `Targets`, … | `root`, `targets`, … |
/// | root keys | x509 certificates (CN = GUN) | bare keys |
/// | version cap | 2^53 − 1 | 2^53 − 1 |
/// | threshold | 1 … number of keys | 1 … 2^20 |
/// | delegated paths | prefixes | shell patterns per `/` part |
///
/// The number rules (version cap, threshold range) and their reasons are in
/// `docs/number-rules.md`.
public protocol MetadataDialect: Sendable {
    associatedtype Signature: MetadataSignature
    associatedtype Key: Sendable

    /// Names the dialect in messages ("is this a notary metadata file?").
    static var fileKind: String { get }
    /// The bytes that are signed.
    static func canonicalBytes(_ signed: JSONValue) -> [UInt8]
    /// The file bytes of an envelope; `canonical` may pass the signed bytes already computed.
    static func envelopeBytes(signed: JSONValue, canonical: [UInt8]?, signatures: [Signature]) -> [UInt8]
    /// One entry of `signatures` (the `index`-th, from 0) of the file `name`.
    static func parseSignature(_ json: JSONValue, index: Int, name: String) throws(TrustVaultError) -> Signature
    /// The error for a second signature by the same key, or nil when the dialect reads such a file.
    static func duplicateSignature(keyID: String, name: String) -> TrustVaultError?
    /// What became of `signature`, listed under `keyID`, checked with `key` over `message`.
    static func check(_ signature: Signature, keyID: String, key: Key, message: ArraySlice<UInt8>) -> SignatureCheck
    /// The `_type` of a role (`root`, `targets`, `snapshot`, `timestamp`) as the dialect writes it.
    static func typeName(_ role: String) -> String
    /// The largest version read or written (so version + 1 never overflows).
    static var maximumVersion: Int64 { get }
    /// Whether `"keyids":null` is read as no keys (notary writes a role whose last key was
    /// removed so, a Go nil slice).
    static var nullKeyIDsAreEmpty: Bool { get }
    /// Checks a role's threshold against its number of keys; the error names `context`.
    static func checkThreshold(_ threshold: Int64, keyCount: Int, context: String) throws(TrustVaultError)
    /// Whether a delegation's path pattern covers a target path.
    static func pathMatches(pattern: String, path: String) -> Bool
    /// Reads a file already in the dialect's exact file form without building a full tree
    /// (large files); nil sends it to the strict parser, which reads every file.
    static func readExactForm(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> ExactFormRead<Signature>?
}

extension MetadataDialect {
    public static func readExactForm(_ bytes: [UInt8], name: String) throws(TrustVaultError) -> ExactFormRead<Signature>? { nil }
}

/// One entry of an envelope's `signatures`.
public protocol MetadataSignature: Sendable, Hashable {
    var keyID: String { get }
}

/// What became of one signature on a file.
public enum SignatureCheck: Sendable, Equatable {
    case valid
    /// The key listed for it cannot be read: an encoding or scheme trustvault does not know.
    case unreadableKey(String)
    /// The signature is not in the form its dialect and scheme use (hex, base64, DER for ECDSA).
    case unreadableSignature(String)
    /// Key and signature are readable, and the signature does not match the signed bytes.
    case mismatch
}

/// The number rules shared by both dialects (see `docs/number-rules.md`).
public enum NumberRules {
    /// 2^53 − 1, the largest integer every JSON reader (Go's, Python's, JavaScript's float64)
    /// holds exactly. No repository gets near it; it is range-checked on reading, before any
    /// ceremony adds 1 (2^63 − 1 once trapped after a passphrase had been used).
    public static let maximumVersion: Int64 = (1 << 53) - 1
}
