public import TrustCore
internal import Foundation
internal import Formats

/// The targets of a role read straight from the canonical bytes of its `targets` object
/// (`JSONValue.verbatim`), without a tree: per target the place of its name, of its SHA-256 and
/// its length (about 40 bytes a target, the names and digests staying in the file's buffer).
///
/// Reading checks every entry as ``FileMeta/validate(json:context:)`` does, with the same
/// messages, so a file is refused for the same reason either way.
struct TargetTable: Sendable {
    struct Entry: Sendable {
        /// The name's bytes between its quotes.
        var name: Range<Int>
        var nameIsEscaped: Bool
        /// The base64 text of the `sha256` hash, between its quotes (empty: none).
        var sha256: Range<Int>
        var length: Int64
    }

    let source: VerbatimJSON
    private(set) var entries: [Entry] = []

    var count: Int { entries.count }

    /// Reads and checks `source`, the `targets` object of the file `name` (once for the last few
    /// large files, see ``LargeFileCache``).
    static func read(_ source: VerbatimJSON, name: String) throws(TrustVaultError) -> TargetTable {
        try cache.value(for: source.buffer, range: source.range) { () throws(TrustVaultError) in try TargetTable(source, name: name) }
    }

    private static let cache = LargeFileCache<TargetTable>()

    private init(_ source: VerbatimJSON, name: String) throws(TrustVaultError) {
        self.source = source
        var entries: [Entry] = []
        let result: TrustVaultError? = source.buffer.withUnsafeBufferPointer { p in
            FileMeta.base64Letters.withUnsafeBufferPointer { letters in
                var c = CanonicalCursor(p: p, i: source.range.lowerBound)
                c.i += 1  // {
                if p[c.i] == UInt8(ascii: "}") { return nil }
                while true {
                    let (nameRange, escaped) = c.string()
                    c.i += 1  // :
                    var entry = Entry(name: nameRange, nameIsEscaped: escaped, sha256: 0..<0, length: -1)
                    var hasHashes = false
                    var badHash: Range<Int>?
                    if p[c.i] == UInt8(ascii: "{") {
                        c.i += 1
                        while p[c.i] != UInt8(ascii: "}") {
                            let (key, _) = c.string()
                            c.i += 1  // :
                            if c.equals(key, "length"), let n = c.integer() {
                                entry.length = n
                            } else if c.equals(key, "hashes"), p[c.i] == UInt8(ascii: "{") {
                                hasHashes = true
                                c.i += 1
                                while p[c.i] != UInt8(ascii: "}") {
                                    let (algorithm, _) = c.string()
                                    c.i += 1  // :
                                    if p[c.i] == UInt8(ascii: "\"") {
                                        let (text, _) = c.string()
                                        if !FileMeta.isBase64(UnsafeBufferPointer(rebasing: p[text]), letters: letters) {
                                            if badHash == nil { badHash = algorithm }
                                        } else if c.equals(algorithm, "sha256") {
                                            entry.sha256 = text
                                        }
                                    } else {
                                        if badHash == nil { badHash = algorithm }
                                        c.skipValue()
                                    }
                                    if p[c.i] == UInt8(ascii: ",") { c.i += 1 }
                                }
                                c.i += 1  // }
                            } else {
                                c.skipValue()
                            }
                            if p[c.i] == UInt8(ascii: ",") { c.i += 1 }
                        }
                        c.i += 1  // }
                    } else {
                        c.skipValue()
                    }
                    guard entry.length >= 0, hasHashes else {
                        return .corrupt("\(name), target \"\(Self.name(p, nameRange, escaped))\": file metadata needs \"length\" and \"hashes\"")
                    }
                    if let badHash {
                        return .corrupt(
                            "\(name), target \"\(Self.name(p, nameRange, escaped))\": hash \"\(Self.name(p, badHash, true))\" is not base64")
                    }
                    entries.append(entry)
                    if p[c.i] == UInt8(ascii: ",") {
                        c.i += 1
                        continue
                    }
                    return nil  // }
                }
            }
        }
        if let result { throw result }
        self.entries = entries
    }

    /// The name of entry `k`.
    func name(_ k: Int) -> String {
        source.buffer.withUnsafeBufferPointer { Self.name($0, entries[k].name, entries[k].nameIsEscaped) }
    }

    /// The hex SHA-256 of entry `k`; empty without one (as docker prints it).
    func sha256Hex(_ k: Int) -> String {
        let r = entries[k].sha256
        guard !r.isEmpty, let d = Data(base64Encoded: Data(source.buffer[r])) else { return "" }
        return Hex.encode(d)
    }

    /// The targets as ``TargetEntry`` values, parsed from the bytes as the tree reader does.
    func materialized(name: String) throws(TrustVaultError) -> [TargetEntry] {
        guard let members = source.members else { throw .corrupt("\(name): the \"targets\" object cannot be read") }
        var out: [TargetEntry] = []
        out.reserveCapacity(members.count)
        for m in members { out.append(TargetEntry(name: m.key, meta: try FileMeta(json: m.value, context: "\(name), target \"\(m.key)\""))) }
        return out
    }

    static func name(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ escaped: Bool) -> String {
        guard escaped else { return String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self) }
        // The quotes are around the range; the strict parser decodes the escapes.
        let quoted = Array(p[(r.lowerBound - 1)..<(r.upperBound + 1)])
        return (try? JSONValue(parsing: quoted))?.stringValue ?? String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
    }
}

/// A cursor over JSON already checked to be canonical (no whitespace, valid strings): moves
/// without re-checking.
private struct CanonicalCursor {
    let p: UnsafeBufferPointer<UInt8>
    var i: Int

    /// At a `"`: moves past the string; its bytes between the quotes and whether it has escapes.
    mutating func string() -> (Range<Int>, Bool) {
        i += 1
        let start = i
        var escaped = false
        while p[i] != UInt8(ascii: "\"") {
            if p[i] == UInt8(ascii: "\\") {
                escaped = true
                i += 1
            }
            i += 1
        }
        defer { i += 1 }
        return (start..<i, escaped)
    }

    /// At an integer: its value, else nil (and the cursor has not moved).
    mutating func integer() -> Int64? {
        var k = i
        var negative = false
        if p[k] == UInt8(ascii: "-") {
            negative = true
            k += 1
        }
        guard k < p.count, p[k] >= UInt8(ascii: "0"), p[k] <= UInt8(ascii: "9") else { return nil }
        var v: Int64 = 0
        while k < p.count, p[k] >= UInt8(ascii: "0"), p[k] <= UInt8(ascii: "9") {
            v = v * 10 + Int64(p[k] - UInt8(ascii: "0"))  // at most 18 digits (checked on reading)
            k += 1
        }
        i = k
        return negative ? -v : v
    }

    mutating func skipValue() {
        var depth = 0
        repeat {
            switch p[i] {
            case UInt8(ascii: "\""): _ = string()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                i += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                i += 1
            default:
                // true, false, null or a number: up to the next structural byte.
                while p[i] != UInt8(ascii: ","), p[i] != UInt8(ascii: "}"), p[i] != UInt8(ascii: "]") { i += 1 }
            }
        } while depth > 0
    }

    func equals(_ r: Range<Int>, _ text: StaticString) -> Bool {
        guard r.count == text.utf8CodeUnitCount else { return false }
        let t = text.utf8Start
        for k in 0..<r.count where p[r.lowerBound + k] != t[k] { return false }
        return true
    }
}
