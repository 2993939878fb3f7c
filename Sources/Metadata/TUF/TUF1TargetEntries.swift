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
    public static func targetEntries(_ targets: JSONValue) -> TargetEntryList? {
        if case .verbatim(let v) = targets, v.isPlain { return plainEntries(v) }
        return targets.objectValue.map { TargetEntryList(.entries($0.map { TargetEntry(name: $0.key, value: $0.value) })) }
    }

    /// A `targets` object's entries, each made when it is asked for (on any thread). Of a plain
    /// verbatim object only each member's byte ranges are kept, about 32 bytes a target instead
    /// of a few hundred: the usual entry is read from the bytes when asked for, any other entry
    /// is parsed when the list is made (and the list is nil if one does not parse).
    public struct TargetEntryList: RandomAccessCollection, Sendable {
        enum Storage: Sendable {
            case entries([TargetEntry])
            case plain(VerbatimJSON, members: [(key: Range<Int>, value: Range<Int>)], others: [Int: TargetEntry])
        }
        let storage: Storage
        public let endIndex: Int
        public var startIndex: Int { 0 }

        init(_ storage: Storage) {
            self.storage = storage
            switch storage {
            case .entries(let e): endIndex = e.count
            case .plain(_, let members, _): endIndex = members.count
            }
        }

        public subscript(i: Int) -> TargetEntry {
            switch storage {
            case .entries(let e): return e[i]
            case .plain(let v, let members, let others):
                if let other = others[i] { return other }
                return v.buffer.withUnsafeBufferPointer { p in
                    let name = String(decoding: UnsafeBufferPointer(rebasing: p[members[i].key]), as: UTF8.self)
                    var hashes: [JSONValue.Member] = []
                    let length = usualShape(p, members[i].value) { algorithm, value in
                        hashes.append(JSONValue.Member(string(p, algorithm), .string(string(p, value))))
                    }
                    // The shape was checked when the list was made.
                    return TargetEntry(name: name, length: length ?? -1, hashes: hashes)
                }
            }
        }

        private func string(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
        }
    }

    private static func plainEntries(_ v: VerbatimJSON) -> TargetEntryList? {
        guard let members = plainMembers(v) else { return nil }
        let others = v.buffer.withUnsafeBufferPointer { p -> [Int: TargetEntry]? in
            var others: [Int: TargetEntry] = [:]
            for (i, m) in members.enumerated() where usualShape(p, m.value, hash: { _, _ in }) == nil {
                guard let value = try? JSONValue(parsing: v.buffer, range: m.value) else { return nil }
                others[i] = TargetEntry(name: String(decoding: UnsafeBufferPointer(rebasing: p[m.key]), as: UTF8.self), value: value)
            }
            return others
        }
        return others.map { TargetEntryList(.plain(v, members: members, others: $0)) }
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
    /// without the parser: `hash` is given each algorithm's and value's bytes (between their
    /// quotes), in order; the length, or nil for any other shape.
    private static func usualShape(
        _ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, hash: (_ algorithm: Range<Int>, _ value: Range<Int>) -> Void
    ) -> Int64? {
        var i = r.lowerBound
        func literal(_ s: StaticString) -> Bool {
            let k = s.utf8CodeUnitCount
            guard i + k <= r.upperBound else { return false }
            for x in 0..<k where p[i + x] != s.utf8Start[x] { return false }
            i += k
            return true
        }
        func string() -> Range<Int>? {
            guard i < r.upperBound, p[i] == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            while j < r.upperBound, p[j] != UInt8(ascii: "\"") { j += 1 }
            guard j < r.upperBound else { return nil }
            defer { i = j + 1 }
            return (i + 1)..<j
        }
        guard literal(#"{"hashes":{"#) else { return nil }
        while true {
            guard let algorithm = string(), literal(":"), let value = string() else { return nil }
            hash(algorithm, value)
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
        return length
    }
}
