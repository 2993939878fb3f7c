public import TrustCore
internal import Foundation
internal import Crypto

/// `{"custom":…,"hashes":{"sha256":b64,"sha512":b64},"length":N}`.
public struct FileMeta: Sendable, Hashable {
    public var length: Int64
    /// Algorithm name → raw digest, in any order (serialised sorted).
    public var hashes: [String: [UInt8]]
    public var custom: JSONValue?

    public init(length: Int64, hashes: [String: [UInt8]], custom: JSONValue? = nil) {
        self.length = length
        self.hashes = hashes
        self.custom = custom
    }

    /// Metadata for `bytes` with both hashes, as the notary client always writes.
    public init(of bytes: [UInt8]) {
        self.init(
            length: Int64(bytes.count),
            hashes: ["sha256": Array(SHA256.hash(data: bytes)), "sha512": Array(SHA512.hash(data: bytes))])
    }

    public static func == (a: FileMeta, b: FileMeta) -> Bool {
        a.length == b.length && a.hashes == b.hashes && a.custom == b.custom
    }
    public func hash(into h: inout Hasher) {
        h.combine(length)
        h.combine(hashes)
    }

    public var json: JSONValue {
        var members: [JSONValue.Member] = []
        if let custom { members.append(.init("custom", custom)) }
        members.append(.init("hashes", .object(hashes.map { .init($0.key, .string(Data($0.value).base64EncodedString())) })))
        members.append(.init("length", .integer(length)))
        return .object(members)
    }

    public init(json: JSONValue, context: String) throws(TrustVaultError) {
        guard let length = json["length"]?.intValue, length >= 0, let hashObj = json["hashes"]?.objectValue else {
            throw .corrupt("\(context): file metadata needs \"length\" and \"hashes\"")
        }
        var hashes: [String: [UInt8]] = [:]
        for m in hashObj {
            guard let s = m.value.stringValue, let d = Data(base64Encoded: s) else {
                throw .corrupt("\(context): hash \"\(m.key)\" is not base64")
            }
            hashes[m.key] = Array(d)
        }
        let custom = json["custom"]
        self.init(length: length, hashes: hashes, custom: (custom?.isNull ?? true) ? nil : custom)
    }

    /// Checks the structure of file metadata without building it (large targets files).
    static func validate(json: JSONValue, context: @autoclosure () -> String) throws(TrustVaultError) {
        guard let length = json["length"]?.intValue, length >= 0, let hashObj = json["hashes"]?.objectValue else {
            throw .corrupt("\(context()): file metadata needs \"length\" and \"hashes\"")
        }
        for m in hashObj {
            guard let s = m.value.stringValue, isBase64(s) else { throw .corrupt("\(context()): hash \"\(m.key)\" is not base64") }
        }
    }

    /// Standard base64 with padding, as Go's `[]byte` JSON encoding writes it.
    static func isBase64(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isBase64($0) }
    }

    static func isBase64(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        base64Letters.withUnsafeBufferPointer { isBase64(u, letters: $0) }
    }

    /// `letters`: ``base64Letters``, looked up once by a caller that checks many strings.
    @inline(__always) static func isBase64(_ u: UnsafeBufferPointer<UInt8>, letters: UnsafeBufferPointer<Bool>) -> Bool {
        let n = u.count
        guard n % 4 == 0 else { return false }
        guard n > 0 else { return true }
        // Letters up to the last two bytes, which may be "=" or "==" padding.
        for k in 0..<(n - 2) where !letters[Int(u[k])] { return false }
        let a = u[n - 2], b = u[n - 1]
        if letters[Int(a)] { return letters[Int(b)] || b == UInt8(ascii: "=") }
        return a == UInt8(ascii: "=") && b == UInt8(ascii: "=")
    }

    /// Whether each byte is a letter of the standard base64 alphabet.
    static let base64Letters: [Bool] = (0..<256).map { c in
        let b = UInt8(c)
        return (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2F
    }

    /// Whether `bytes` match: the length and every known hash (at least one must be known).
    /// `digests` may hold digests of `bytes` already computed (by algorithm).
    public func matches(_ bytes: [UInt8], digests: [String: [UInt8]] = [:]) -> Bool {
        guard Int64(bytes.count) == length else { return false }
        var checked = 0
        // notary checks the two algorithms it writes; others are ignored, as notary does.
        for algorithm in ["sha256", "sha512"] {
            guard let h = hashes[algorithm] else { continue }
            guard (digests[algorithm] ?? FileDigest.compute(algorithm, of: bytes)) == h else { return false }
            checked += 1
        }
        return checked > 0
    }
}

/// The digests file metadata names, in both dialects (`hashes`: base64 in Notary's, hex in TUF's).
public enum FileDigest {
    /// `bytes` hashed with `algorithm` (`sha256`, `sha384`, `sha512`); nil for another name.
    public static func compute(_ algorithm: String, of bytes: [UInt8]) -> [UInt8]? {
        // Over the buffer and out of the digest's bytes directly (100,000 small target files).
        func digest<H: HashFunction>(_: H.Type) -> [UInt8] {
            var hasher = H()
            bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            return hasher.finalize().withUnsafeBytes { Array($0) }
        }
        return switch algorithm {
        case "sha256": digest(SHA256.self)
        case "sha384": digest(SHA384.self)
        case "sha512": digest(SHA512.self)
        default: nil
        }
    }
}

/// SHA-256 and SHA-512 of large files, computed on other threads from the moment this is made,
/// so hashing (tens of milliseconds for a 20 MB targets.json) overlaps the caller's work.
final class FileDigests: @unchecked Sendable {
    /// Below this size hashing costs less than handing it to another thread.
    static let threshold = 256 * 1024
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var results: [String: [String: [UInt8]]] = [:]

    init(_ files: [String: [UInt8]]) {
        for (role, bytes) in files where bytes.count >= Self.threshold {
            for algorithm in ["sha256", "sha512"] {
                group.enter()
                DispatchQueue.global(qos: .userInitiated).async { [self] in
                    let digest = FileDigest.compute(algorithm, of: bytes)
                    lock.lock()
                    results[role, default: [:]][algorithm] = digest
                    lock.unlock()
                    group.leave()
                }
            }
        }
    }

    /// The digests computed for `role` (waits for the hashing to finish); empty for small files.
    func digests(of role: String) -> [String: [UInt8]] {
        group.wait()
        lock.lock()
        defer { lock.unlock() }
        return results[role] ?? [:]
    }
}
