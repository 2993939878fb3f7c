internal import TrustCore
internal import Formats
internal import X509

extension TargetEntry {
    /// Hex SHA-256 (the image manifest digest for docker); empty without one, as docker prints it.
    public var digest: String { meta.hashes["sha256"].map { Hex.encode($0) } ?? "" }
}

/// What `docker trust inspect [--pretty] NAME` shows, computed from a ``VerifiedRepository`` with
/// docker/cli's rules (`cli/command/trust`): a tag is listed only when `targets` or
/// `targets/releases` signed it ("released"); its signers are the other roles that signed the
/// same digest, or "Repo Admin" when none did; the signers table lists every declared delegation
/// but `targets/releases`, with canonical key IDs; the administrative keys are the IDs root.json
/// lists for targets and root.
public struct DockerTrustView: Sendable {
    public struct SignedTag: Sendable, Hashable {
        public var tag: String
        public var digest: String
        /// Signer names in notary's walk order; empty means only the repository key ("Repo Admin").
        public var signers: [String]
    }

    /// The name docker prints: GUN, or GUN:TAG.
    public var name: String
    public var signedTags: [SignedTag] = []
    /// Signer name → canonical key IDs in the delegation's key order.
    public var signers: [(name: String, keys: [String])] = []
    public var rootKeyIDs: [String]
    public var repositoryKeyIDs: [String]

    public init(_ repo: VerifiedRepository, tag: String? = nil) {
        name = tag.map { repo.gun + ":" + $0 } ?? repo.gun
        rootKeyIDs = repo.root.role(.root).keyIDs
        repositoryKeyIDs = repo.root.role(.targets).keyIDs
        func isReleased(_ role: String) -> Bool { role == "targets" || role == "targets/releases" }
        func signerName(_ role: String) -> String {
            isReleased(role) ? "Repo Admin" : String(role.dropFirst("targets/".count))
        }
        // Released tags (tag + digest) in first-seen order, then the other roles' signers of each.
        struct Key: Hashable { var tag: String, digest: String }
        var index: [Key: Int] = [:]
        // Only one role with targets (names within a role are unique): no index is needed.
        let needsIndex = repo.roles.filter { $0.targets.targetCount > 0 }.count > 1
        if needsIndex { index.reserveCapacity(repo.roles.filter { isReleased($0.name) }.map(\.targets.targetCount).reduce(0, +)) }
        var tags: [String] = [], digests: [String] = [], tagSigners: [[String]] = []
        for (role, t) in repo.roles where isReleased(role) {
            t.forEachTarget { name, digest in
                guard tag == nil || name == tag else { return }
                guard needsIndex else {
                    tags.append(name)
                    digests.append(digest)
                    tagSigners.append([])
                    return
                }
                let key = Key(tag: name, digest: digest)
                if let k = index[key] {
                    tagSigners[k] = []
                } else {
                    index[key] = tags.count
                    tags.append(name)
                    digests.append(digest)
                    tagSigners.append([])
                }
            }
        }
        for (role, t) in repo.roles where !isReleased(role) {
            let signer = signerName(role)
            t.forEachTarget { name, digest in
                guard tag == nil || name == tag, let k = index[Key(tag: name, digest: digest)] else { return }
                tagSigners[k].append(signer)
            }
        }
        // docker's order: tags naturally, then digests. The tags' bytes are laid out in one buffer
        // so that sorting 100,000 of them compares bytes, not strings.
        var pool: [UInt8] = []
        var bounds: [Range<Int>] = []
        bounds.reserveCapacity(tags.count)
        for t in tags {
            let start = pool.count
            pool.append(contentsOf: t.utf8)
            bounds.append(start..<pool.count)
        }
        var sorted = Array(0..<tags.count)
        pool.withUnsafeBufferPointer { p in
            sorted.sort { a, b in
                let ta = UnsafeBufferPointer(rebasing: p[bounds[a]]), tb = UnsafeBufferPointer(rebasing: p[bounds[b]])
                if NaturalOrder.less(ta, tb) { return true }
                return ta.elementsEqual(tb) && digests[a] < digests[b]
            }
        }
        signedTags = sorted.map { SignedTag(tag: tags[$0], digest: digests[$0], signers: tagSigners[$0]) }
        var byName: [String: [String]] = [:]
        var order: [String] = []
        for (d, keys) in repo.delegations where d.name != "targets/releases" {
            let n = signerName(d.name)
            if byName[n] == nil { order.append(n) }
            byName[n] = keys.map(\.displayID)
        }
        signers = order.map { ($0, byName[$0] ?? []) }
    }

    /// Byte for byte what `docker trust inspect --pretty NAME` prints.
    public var pretty: String {
        var out = ""
        writePretty { out += $0 }
        return out
    }

    /// Byte for byte what `docker trust inspect NAME` prints (a one-element JSON array, indented
    /// by four spaces as Go's `json.Indent`, with a final newline).
    public var json: String {
        var out = ""
        writeJSON { out += $0 }
        return out
    }

    /// ``pretty`` in pieces of about 64 KiB, each ending with a line break, so 100,000 tags are
    /// never one string in memory.
    public func writePretty(_ emit: (String) -> Void) {
        withoutActuallyEscaping(emit) { emit in writePretty(into: ChunkedText(emit)) }
    }

    private func writePretty(into chunked: ChunkedText) {
        var out = chunked
        if signedTags.isEmpty {
            out += "\nNo signatures for \(name)\n\n"
        } else {
            out += "\nSignatures for \(name)\n\n"
            GoTabWriter.write(into: &out, header: ["SIGNED TAG", "DIGEST", "SIGNERS"], rows: signedTags.count) { row, column in
                let t = signedTags[row]
                switch column {
                case 0: return t.tag
                case 1: return t.digest
                default: return t.signers.isEmpty ? "(Repo Admin)" : t.signers.sorted(by: goLess).joined(separator: ", ")
                }
            }
        }
        if !signers.isEmpty {
            out += "\nList of signers and their keys for \(name)\n\n"
            out += GoTabWriter.table(
                ["SIGNER", "KEYS"],
                signers.sorted { NaturalOrder.less($0.name, $1.name) }.map {
                    [$0.name, $0.keys.sorted(by: goLess).map { String($0.prefix(12)) }.joined(separator: ", ")]
                })
        }
        out += "\nAdministrative keys for \(name)\n\n"
        out += "  Repository Key:\t\(repositoryKeyIDs.sorted(by: goLess).joined(separator: ", "))\n"
        out += "  Root Key:\t\(rootKeyIDs.sorted(by: goLess).joined(separator: ", "))\n"
        out.finish()
    }

    /// ``json`` in pieces of about 64 KiB, each ending with a line break.
    public func writeJSON(_ emit: (String) -> Void) {
        withoutActuallyEscaping(emit) { emit in writeJSON(into: ChunkedText(emit)) }
    }

    private func writeJSON(into chunked: ChunkedText) {
        func str(_ s: String) -> String { Self.goJSONString(s) }
        func keys(_ ids: [String], _ ind: String) -> String {
            "[\n" + ids.map { "\(ind)    {\n\(ind)        \"ID\": \(str($0))\n\(ind)    }" }.joined(separator: ",\n") + "\n\(ind)]"
        }
        func signer(_ n: String, _ ids: [String], _ ind: String) -> String {
            var s = "\(ind){\n\(ind)    \"Name\": \(str(n))"
            if !ids.isEmpty { s += ",\n\(ind)    \"Keys\": " + keys(ids, ind + "    ") }
            return s + "\n\(ind)}"
        }
        func list(_ items: [String], _ ind: String) -> String {
            items.isEmpty ? "[]" : "[\n" + items.joined(separator: ",\n") + "\n\(ind)]"
        }
        let i2 = "        ", i3 = "            ", i4 = "                "
        var out = chunked
        out += "[\n    {\n\(i2)\"Name\": \(str(name)),\n"
        out += "\(i2)\"SignedTags\": "
        if signedTags.isEmpty {
            out += "[]"
        } else {
            out += "[\n"
            for (k, t) in signedTags.enumerated() {
                if k > 0 { out += ",\n" }
                out += "\(i3){\n\(i4)\"SignedTag\": "
                out.appendJSONString(t.tag)
                out += ",\n\(i4)\"Digest\": "
                out.appendJSONString(t.digest)
                out += ",\n\(i4)\"Signers\": [\n"
                for (n, signer) in (t.signers.isEmpty ? ["Repo Admin"] : t.signers).enumerated() {
                    if n > 0 { out += ",\n" }
                    out += "\(i4)    "
                    out.appendJSONString(signer)
                }
                out += "\n\(i4)]\n\(i3)}"
            }
            out += "\n\(i2)]"
        }
        out += ",\n"
        let signerItems = signers.sorted { goLess($1.name, $0.name) }.map { signer($0.name, $0.keys, i3) }
        let admin = [signer("Root", rootKeyIDs, i3), signer("Repository", repositoryKeyIDs, i3)]
        out += "\(i2)\"Signers\": " + list(signerItems, i2) + ",\n"
        out += "\(i2)\"AdministrativeKeys\": " + list(admin, i2) + "\n    }\n]\n"
        out.finish()
    }
}

/// Text handed on in pieces of about 64 KiB, each cut just after a line break.
struct ChunkedText {
    private var text = ""
    private let emit: (String) -> Void
    private static let size = 1 << 16

    init(_ emit: @escaping (String) -> Void) {
        self.emit = emit
        text.reserveCapacity(Self.size + 1024)
    }

    static func += (c: inout ChunkedText, s: String) {
        c.text += s
        if c.text.utf8.count >= size, c.text.utf8.last == UInt8(ascii: "\n") {
            c.emit(c.text)
            c.text.removeAll(keepingCapacity: true)
        }
    }

    /// `s` as Go's `encoding/json` writes it, without a string made for it when it needs no escape.
    mutating func appendJSONString(_ s: String) {
        if DockerTrustView.isPlainJSON(s) {
            text += "\""
            text += s
            self += "\""
        } else {
            self += DockerTrustView.goJSONString(s)
        }
    }

    /// Hands on what is left.
    mutating func finish() {
        if !text.isEmpty { emit(text) }
        text = ""
    }
}

extension DockerTrustView {
    /// Printable ASCII without `"`, `\\`, `<`, `>` or `&`: written between quotes as it is.
    static func isPlainJSON(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { bytes in
            for b in bytes where b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x5C || b == 0x3C || b == 0x3E || b == 0x26 { return false }
            return true
        }
    }

    /// A string as Go's `encoding/json` writes it (HTML-escaped); plain ASCII without `"`, `\\`,
    /// `<`, `>` or `&` (every tag and digest of a usual repository) is only quoted.
    static func goJSONString(_ s: String) -> String {
        if isPlainJSON(s) { return "\"" + s + "\"" }
        return String(decoding: JSONValue.goHTMLEscaped(JSONValue.string(s).canonicalBytes), as: UTF8.self)
    }
}

/// Go's string `<` (byte order), as `sort.Strings` sorts.
func goLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

/// The natural order docker sorts tags and signers by (`sortorder.NaturalLess`): runs of ASCII
/// digits compare as numbers (fewer leading zeros first on a tie), everything else bytewise.
public enum NaturalOrder {
    public static func less(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { s1 in b.withUTF8 { s2 in less(s1, s2) } }
    }

    static func less(_ s1: UnsafeBufferPointer<UInt8>, _ s2: UnsafeBufferPointer<UInt8>) -> Bool {
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        var i = 0, j = 0
        while i < s1.count, j < s2.count {
            let d1 = digit(s1[i]), d2 = digit(s2[j])
            if d1 != d2 { return d1 }
            if !d1 {
                if s1[i] != s2[j] { return s1[i] < s2[j] }
                i += 1
                j += 1
                continue
            }
            while i < s1.count, s1[i] == 0x30 { i += 1 }
            while j < s2.count, s2[j] == 0x30 { j += 1 }
            let nz1 = i, nz2 = j
            while i < s1.count, digit(s1[i]) { i += 1 }
            while j < s2.count, digit(s2[j]) { j += 1 }
            if i - nz1 != j - nz2 { return i - nz1 < j - nz2 }
            let n1 = s1[nz1..<i], n2 = s2[nz2..<j]
            if !n1.elementsEqual(n2) { return n1.lexicographicallyPrecedes(n2) }
            if nz1 != nz2 { return nz1 < nz2 }
        }
        return s1.count < s2.count
    }
}

/// Go's `text/tabwriter` as docker's table formatter configures it (minwidth 10, padding 3,
/// spaces): every cell but the last of a line is padded to its column's width.
public enum GoTabWriter {
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = ""
        let append = { (piece: String) in out += piece }
        withoutActuallyEscaping(append) { append in
            var chunked = ChunkedText(append)
            write(into: &chunked, header: header, rows: rows.count) { rows[$0][$1] }
            chunked.finish()
        }
        return out
    }

    /// Appends the table to `out`, asking `cell(row, column)` for each cell (twice: widths first),
    /// so a table of 100,000 rows needs no array of rows.
    static func write(into out: inout ChunkedText, header: [String], rows: Int, cell: (Int, Int) -> String) {
        let columns = header.count
        var widths = header.dropLast().map { max(10, scalarCount($0) + 3) }
        for r in 0..<rows {
            for c in 0..<(columns - 1) { widths[c] = max(widths[c], scalarCount(cell(r, c)) + 3) }
        }
        func line(_ text: (Int) -> String) {
            for c in 0..<columns {
                let t = text(c)
                out += t
                if c < columns - 1 { out += String(repeating: " ", count: widths[c] - scalarCount(t)) }
            }
            out += "\n"
        }
        line { header[$0] }
        for r in 0..<rows { line { cell(r, $0) } }
    }

    /// The number of Unicode scalars (tabwriter's cell width): UTF-8 bytes that start one.
    static func scalarCount(_ s: String) -> Int {
        var count = 0
        for b in s.utf8 where b & 0xC0 != 0x80 { count += 1 }
        return count
    }
}
