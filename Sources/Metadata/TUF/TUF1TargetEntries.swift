public import TrustCore

extension TUF1 {
    /// One member of a targets file's `targets` object, as the verifier checks it: its path, its
    /// `length` (nil when missing or not an integer) and its `hashes` (nil when not an object).
    public struct TargetEntry: Sendable {
        public var name: String
        public var length: Int64?
        public var hashes: [JSONValue.Member]?

        init(name: String, value: JSONValue) {
            self.name = name
            length = value["length"]?.intValue
            hashes = value["hashes"]?.objectValue
        }

        init(name: String, length: Int64, hashes: [JSONValue.Member]) {
            self.name = name
            self.length = length
            self.hashes = hashes
        }
    }

    /// The members of a `targets` object, in order. A plain verbatim object (a large file read in
    /// plain form) is read straight from its bytes: the usual entry
    /// `{"hashes":{"sha256":"…",…},"length":N}` without a tree, any other entry through the
    /// strict parser, so every entry reads as it would from the tree.
    public static func targetEntries(_ targets: JSONValue) -> [TargetEntry]? {
        if case .verbatim(let v) = targets, v.isPlain { return plainEntries(v) }
        return targets.objectValue?.map { TargetEntry(name: $0.key, value: $0.value) }
    }

    private static func plainEntries(_ v: VerbatimJSON) -> [TargetEntry]? {
        guard let members = plainMembers(v) else { return nil }
        return v.buffer.withUnsafeBufferPointer { p -> [TargetEntry]? in
            var entries: [TargetEntry] = []
            entries.reserveCapacity(members.count)
            for m in members {
                let name = String(decoding: UnsafeBufferPointer(rebasing: p[m.key]), as: UTF8.self)
                if let entry = usualEntry(p, m.value, name: name) {
                    entries.append(entry)
                } else {
                    guard let value = try? JSONValue(parsing: v.buffer, range: m.value) else { return nil }
                    entries.append(TargetEntry(name: name, value: value))
                }
            }
            return entries
        }
    }

    /// The members of a plain verbatim object, in order: each key's bytes (between its quotes)
    /// and its value's bytes, as ranges of `v.buffer`; nil if the bytes are not such an object.
    static func plainMembers(_ v: VerbatimJSON) -> [(key: Range<Int>, value: Range<Int>)]? {
        v.buffer.withUnsafeBufferPointer { whole -> [(key: Range<Int>, value: Range<Int>)]? in
            let p = UnsafeBufferPointer(rebasing: whole[v.range])
            let offset = v.range.lowerBound
            var members: [(key: Range<Int>, value: Range<Int>)] = []
            let n = p.count
            guard n >= 2, p[0] == UInt8(ascii: "{") else { return nil }
            if p[1] == UInt8(ascii: "}") { return n == 2 ? members : nil }
            var i = 1  // after "{"
            while i < n, p[i] == UInt8(ascii: "\"") {
                // A key (plain: no escapes), its colon, then the value up to its end.
                var j = i + 1
                while j < n, p[j] != UInt8(ascii: "\"") { j += 1 }
                guard j + 1 < n, p[j + 1] == UInt8(ascii: ":") else { return nil }
                let start = j + 2
                guard let end = valueEnd(p, start), end < n else { return nil }
                members.append(((i + 1 + offset)..<(j + offset), (start + offset)..<(end + offset)))
                if p[end] == UInt8(ascii: "}") { return end == n - 1 ? members : nil }
                guard p[end] == UInt8(ascii: ",") else { return nil }
                i = end + 1
            }
            return nil
        }
    }

    /// Where the plain value starting at `start` ends (strings hold no escapes).
    private static func valueEnd(_ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        var depth = 0
        var i = start
        let n = p.count
        while i < n {
            switch p[i] {
            case UInt8(ascii: "\""):
                i += 1
                while i < n, p[i] != UInt8(ascii: "\"") { i += 1 }
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return i }
                depth -= 1
                if depth == 0 { return i + 1 }
            case UInt8(ascii: ","):
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return depth == 0 ? i : nil
    }

    /// `{"hashes":{"ALG":"VALUE",…},"length":N}` exactly (N at most 18 digits, no `-0`), read
    /// without the parser; nil for any other shape.
    private static func usualEntry(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, name: String) -> TargetEntry? {
        var i = r.lowerBound
        func literal(_ s: StaticString) -> Bool {
            let k = s.utf8CodeUnitCount
            guard i + k <= r.upperBound else { return false }
            for x in 0..<k where p[i + x] != s.utf8Start[x] { return false }
            i += k
            return true
        }
        func string() -> String? {
            guard i < r.upperBound, p[i] == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            while j < r.upperBound, p[j] != UInt8(ascii: "\"") { j += 1 }
            guard j < r.upperBound else { return nil }
            defer { i = j + 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: p[(i + 1)..<j]), as: UTF8.self)
        }
        guard literal(#"{"hashes":{"#) else { return nil }
        var hashes: [JSONValue.Member] = []
        while true {
            guard let algorithm = string(), literal(":"), let value = string() else { return nil }
            hashes.append(JSONValue.Member(algorithm, .string(value)))
            if literal(",") { continue }
            guard literal(#"},"length":"#) else { return nil }
            break
        }
        let digits = i
        var length: Int64 = 0
        while i < r.upperBound - 1, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
            length = length * 10 + Int64(p[i] - UInt8(ascii: "0"))
            i += 1
        }
        let count = i - digits
        guard count >= 1, count <= 18, count == 1 || p[digits] != UInt8(ascii: "0"), i == r.upperBound - 1, p[i] == UInt8(ascii: "}") else {
            return nil
        }
        return TargetEntry(name: name, length: length, hashes: hashes)
    }
}
