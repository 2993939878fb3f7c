public import TrustCore
public import Formats
internal import Crypto
internal import Foundation

extension TUF1 {
    /// OLPC canonical JSON as securesystemslib's `encode_canonical` writes it: no whitespace,
    /// object keys sorted by code point (= UTF-8 byte order), only `"` and `\` escaped, every
    /// other character (newlines in PEM keys included) written raw, integers only.
    public enum Canonical {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(512)
            write(value, into: &out)
            return out
        }

        static func write(_ value: JSONValue, into out: inout [UInt8]) {
            switch value {
            case .null: out += Array("null".utf8)
            case .bool(let b): out += Array((b ? "true" : "false").utf8)
            case .integer(let i): out += Array(String(i).utf8)
            case .string(let s): writeString(s, into: &out)
            case .array(let items):
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    write(item, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(m.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(m.value, into: &out)
                }
                out.append(UInt8(ascii: "}"))
            }
        }

        static func writeString(_ s: String, into out: inout [UInt8]) {
            out.append(UInt8(ascii: "\""))
            for b in s.utf8 {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The on-disk text trustvault writes: JSON with sorted keys and a one-space indent, as
    /// python-tuf's `JSONSerializer` does (any JSON is accepted by readers; this form diffs well).
    public enum Pretty {
        public static func bytes(_ value: JSONValue) -> [UInt8] {
            var out: [UInt8] = []
            write(value, indent: 0, into: &out)
            return out
        }

        static func write(_ value: JSONValue, indent: Int, into out: inout [UInt8]) {
            func newline(_ n: Int) {
                out.append(0x0A)
                out += [UInt8](repeating: 0x20, count: n)
            }
            switch value {
            case .array(let items) where !items.isEmpty:
                out.append(UInt8(ascii: "["))
                for (i, item) in items.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(indent + 1)
                    write(item, indent: indent + 1, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "]"))
            case .object(let members) where !members.isEmpty:
                out.append(UInt8(ascii: "{"))
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (i, m) in sorted.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    newline(indent + 1)
                    out += JSONValue.string(m.key).canonicalBytes
                    out += Array(": ".utf8)
                    write(m.value, indent: indent + 1, into: &out)
                }
                newline(indent)
                out.append(UInt8(ascii: "}"))
            default:
                // Go-canonical escaping is valid JSON (control characters escaped).
                out += value.canonicalBytes
            }
        }
    }

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

    /// Checks `length` and every `hashes` entry of a meta/target entry against `bytes`.
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
            default: continue
            }
            if got != want.lowercased() { return "\(h.key) is \(got.prefix(16))…, the metadata says \(want.prefix(16))…" }
        }
        return nil
    }
}
