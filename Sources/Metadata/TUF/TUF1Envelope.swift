public import TrustCore
public import Formats
internal import Crypto
internal import Foundation

extension TUF1 {
    /// One entry of `signatures`: `{"keyid":…,"sig":hex}`.
    public struct Signature: Sendable, Hashable {
        public var keyID: String
        public var hex: String
        public init(keyID: String, hex: String) {
            self.keyID = keyID
            self.hex = hex
        }
    }

    /// A TUF 1.0 metadata file: `{"signatures":[…],"signed":{…}}`. `signed` is kept as parsed,
    /// so adding a signature never changes the signed bytes of a file another tool wrote.
    public struct Envelope: Sendable {
        public var signed: JSONValue
        public var signatures: [Signature]

        public init(signed: JSONValue, signatures: [Signature] = []) {
            self.signed = signed
            self.signatures = signatures
        }

        public init(parsing bytes: [UInt8], name: String) throws(TrustVaultError) {
            let doc: JSONValue
            do { doc = try JSONValue(parsing: bytes) } catch { throw error.located(name) }
            guard let signed = doc["signed"], case .object = signed else {
                throw .corrupt("\(name): no \"signed\" object", recovery: "is this a TUF 1.0 metadata file?")
            }
            guard let sigs = doc["signatures"]?.arrayValue else { throw .corrupt("\(name): no \"signatures\" array") }
            var list: [Signature] = []
            for (i, s) in sigs.enumerated() {
                guard let id = s["keyid"]?.stringValue, let sig = s["sig"]?.stringValue else {
                    throw .corrupt("\(name): signature \(i + 1) needs \"keyid\" and \"sig\" strings")
                }
                if list.contains(where: { $0.keyID == id }) {
                    throw .corrupt("\(name): two signatures by key \(id.prefix(12)) (python-tuf refuses such a file)")
                }
                list.append(Signature(keyID: id, hex: sig))
            }
            self.init(signed: signed, signatures: list)
        }

        public static func load(_ path: String) throws(TrustVaultError) -> Envelope {
            try Envelope(parsing: try AtomicFile.read(path, kind: .metadata), name: path)
        }

        /// What is signed: OLPC canonical JSON of `signed`.
        public var canonicalSigned: [UInt8] { Canonical.bytes(signed) }

        /// The file bytes.
        public var encoded: [UInt8] {
            let sigs = JSONValue.array(signatures.map { .obj(["keyid": .string($0.keyID), "sig": .string($0.hex)]) })
            return Pretty.bytes(.obj(["signatures": sigs, "signed": signed])) + [0x0A]
        }

        public var type: String? { signed["_type"]?.stringValue }
        public var version: Int64? { signed["version"]?.intValue }
        public var expires: TUFTime? { signed["expires"]?.stringValue.flatMap { try? TUFTime(rfc3339: $0) } }

        /// Adds (or replaces) the signature of `signer`, listed under `keyID`, after checking it
        /// against `key` (the entry the metadata names).
        public mutating func sign(with signer: any SigningKey, key: Key, keyID: String) throws(TrustVaultError) {
            let message = canonicalSigned
            let raw = try signer.sign(message)
            let bytes = try TUF1.signatureBytes(raw, algorithm: signer.publicKey.algorithm)
            guard key.isValidSignature(bytes, for: message) else {
                throw .verification("the signature made with key \(keyID.prefix(12)) does not verify against the key the metadata lists")
            }
            signatures.removeAll { $0.keyID == keyID }
            signatures.append(Signature(keyID: keyID, hex: Hex.encode(bytes)))
        }

        /// The distinct key IDs among `keyIDs` whose signatures verify with `keys`.
        public func validKeyIDs(_ keyIDs: [String], keys: [String: Key]) -> Set<String> {
            let message = canonicalSigned
            var valid: Set<String> = []
            for s in signatures where keyIDs.contains(s.keyID) && !valid.contains(s.keyID) {
                guard let key = keys[s.keyID], let raw = Hex.decode(s.hex) else { continue }
                if key.isValidSignature(raw, for: message) { valid.insert(s.keyID) }
            }
            return valid
        }
    }

    /// `{"keyids":[…],"threshold":N}` of a role, with its keys.
    public struct RoleKeys: Sendable, Hashable {
        public var keyIDs: [String]
        public var threshold: Int

        public init(keyIDs: [String], threshold: Int) {
            self.keyIDs = keyIDs
            self.threshold = threshold
        }

        init(json: JSONValue?, context: String) throws(TrustVaultError) {
            guard let json, let ids = json["keyids"]?.arrayValue, let t = json["threshold"]?.intValue else {
                throw .corrupt("\(context): a role needs \"keyids\" and \"threshold\"")
            }
            var list: [String] = []
            for id in ids {
                guard let s = id.stringValue else { throw .corrupt("\(context): key IDs must be strings") }
                list.append(s)
            }
            guard t >= 1, t <= 1 << 20 else { throw .corrupt("\(context): threshold \(t) is not a positive number") }
            keyIDs = list
            threshold = Int(t)
        }
    }

    /// sha256 hex and length of `bytes`, as `length`/`hashes` fields.
    public static func fileInfo(_ bytes: [UInt8]) -> (length: Int64, sha256: String) {
        (Int64(bytes.count), Hex.encode(Array(SHA256.hash(data: bytes))))
    }

    /// Checks `length` and every `hashes` entry of a meta/target entry against `bytes`; a hash
    /// algorithm trustvault cannot compute is a problem too (never silently skipped).
    /// Returns the problem, or nil when everything present matches.
    public static func checkFileInfo(_ info: JSONValue, bytes: [UInt8]) -> String? {
        if let length = info["length"]?.intValue, length != Int64(bytes.count) {
            return "length is \(bytes.count), the metadata says \(length)"
        }
        guard let hashes = info["hashes"]?.objectValue else { return nil }
        for h in hashes {
            guard let want = h.value.stringValue else { return "hash \(h.key) is not a string" }
            let got: String
            switch h.key {
            case "sha256": got = Hex.encode(Array(SHA256.hash(data: bytes)))
            case "sha384": got = Hex.encode(Array(SHA384.hash(data: bytes)))
            case "sha512": got = Hex.encode(Array(SHA512.hash(data: bytes)))
            default: return "hash algorithm \"\(Escape.visible(String(h.key.prefix(32))))\" is not one trustvault can check (sha256, sha384, sha512), so the file is not verified"
            }
            if got != want.lowercased() { return "\(h.key) is \(got.prefix(16))…, the metadata says \(want.prefix(16))…" }
        }
        return nil
    }
}
