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
        struct Key: Hashable { var tag: String, digest: String }
        var released: [Key: [String]] = [:]
        for (role, t) in repo.roles where isReleased(role) {
            for e in t.targets where tag == nil || e.name == tag { released[Key(tag: e.name, digest: e.digest)] = [] }
        }
        for (role, t) in repo.roles where !isReleased(role) {
            for e in t.targets where tag == nil || e.name == tag {
                let key = Key(tag: e.name, digest: e.digest)
                if released[key] != nil { released[key]?.append(signerName(role)) }
            }
        }
        signedTags = released.map { SignedTag(tag: $0.key.tag, digest: $0.key.digest, signers: $0.value) }
            .sorted { NaturalOrder.less($0.tag, $1.tag) || ($0.tag == $1.tag && $0.digest < $1.digest) }
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
        if signedTags.isEmpty {
            out += "\nNo signatures for \(name)\n\n"
        } else {
            out += "\nSignatures for \(name)\n\n"
            out += GoTabWriter.table(
                ["SIGNED TAG", "DIGEST", "SIGNERS"],
                signedTags.map {
                    [$0.tag, $0.digest, $0.signers.isEmpty ? "(Repo Admin)" : $0.signers.sorted(by: goLess).joined(separator: ", ")]
                })
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
        return out
    }

    /// Byte for byte what `docker trust inspect NAME` prints (a one-element JSON array, indented
    /// by four spaces as Go's `json.Indent`, with a final newline).
    public var json: String {
        func str(_ s: String) -> String { String(decoding: JSONValue.goHTMLEscaped(JSONValue.string(s).canonicalBytes), as: UTF8.self) }
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
        let tags = signedTags.map { t in
            "\(i3){\n\(i4)\"SignedTag\": \(str(t.tag)),\n\(i4)\"Digest\": \(str(t.digest)),\n\(i4)\"Signers\": "
                + list((t.signers.isEmpty ? ["Repo Admin"] : t.signers).map { i4 + "    " + str($0) }, i4) + "\n\(i3)}"
        }
        let signerItems = signers.sorted { goLess($1.name, $0.name) }.map { signer($0.name, $0.keys, i3) }
        let admin = [signer("Root", rootKeyIDs, i3), signer("Repository", repositoryKeyIDs, i3)]
        var out = "[\n    {\n\(i2)\"Name\": \(str(name)),\n"
        out += "\(i2)\"SignedTags\": " + list(tags, i2) + ",\n"
        out += "\(i2)\"Signers\": " + list(signerItems, i2) + ",\n"
        out += "\(i2)\"AdministrativeKeys\": " + list(admin, i2) + "\n    }\n]\n"
        return out
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
        let lines = [header] + rows
        var widths: [Int] = []
        for line in lines {
            for (i, cell) in line.dropLast().enumerated() {
                let w = max(10, cell.unicodeScalars.count + 3)
                if i < widths.count { widths[i] = max(widths[i], w) } else { widths.append(w) }
            }
        }
        var out = ""
        for line in lines {
            for (i, cell) in line.enumerated() {
                out += cell
                if i < line.count - 1 { out += String(repeating: " ", count: widths[i] - cell.unicodeScalars.count) }
            }
            out += "\n"
        }
        return out
    }
}
