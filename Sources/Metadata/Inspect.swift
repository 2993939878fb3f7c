public import TrustCore
internal import Formats
internal import X509

/// A repository whose metadata verified completely (``Verifier/verify(_:trustedRoot:now:)`` found
/// no problem and no delegation file is absent), with its targets parsed. Everything `inspect` and
/// the signing policy show comes from here, so nothing unverified is ever listed.
public struct VerifiedRepository: Sendable {
    public struct Expiry: Sendable, Hashable {
        public var role: String
        /// 0 for certificates.
        public var version: Int
        public var expires: TUFTime
    }

    public var gun: String
    public var root: Root
    /// Verified targets roles in notary's walk order, with their targets.
    public var roles: [(name: String, targets: Targets)]
    /// Every declared delegation in walk order, with the keys its parent lists for it.
    public var delegations: [(role: DelegatedRole, keys: [TUFKey])]
    public var expiries: [Expiry] = []
    /// The verification behind this (what was checked, warnings, unpublished roles).
    public var report: VerificationReport

    /// Verifies `set` and keeps what verified; throws the first problem, or names the first
    /// delegation file that snapshot.json lists but the set lacks.
    public init(_ set: MetadataSet, trustedRoot: [UInt8]? = nil, now: TUFTime = .now()) throws(TrustVaultError) {
        try self.init(set, report: Verifier.verify(set, trustedRoot: trustedRoot, now: now))
    }

    /// Keeps what verified in `report` (the result of ``Verifier/verify(_:trustedRoot:now:)`` on `set`).
    public init(_ set: MetadataSet, report: VerificationReport) throws(TrustVaultError) {
        if let first = report.problems.first {
            throw .verification(
                first,
                recovery: report.problems.count > 1
                    ? "\(report.problems.count) problems in total; 'trustvault verify' lists them all" : nil)
        }
        if let missing = report.absent.first {
            let others = report.absent.dropFirst().map { $0 + ".json" }
            throw .notFound(
                "\(missing).json is listed in snapshot.json but is not in the directory; its tags cannot be verified",
                recovery: "fetch it from the server (GET …/v2/\(set.gun)/_trust/tuf/\(missing).json) and save it as \(missing).json beside targets.json"
                    + (others.isEmpty ? "" : "; also missing: " + others.joined(separator: ", ")))
        }
        guard set.files["targets"] != nil else { throw .notFound("targets.json is missing") }
        self.report = report
        gun = set.gun
        let (_, root) = try set.root()
        self.root = root
        var roles: [(name: String, targets: Targets)] = []
        var byName: [String: Targets] = [:]
        for name in report.walkOrder {
            guard let (_, t) = try set.targets(name) else { continue }
            roles.append((name, t))
            byName[name] = t
        }
        self.roles = roles
        delegations = report.declaredDelegations.map { entry in
            let keys = entry.role.keyIDs.compactMap { byName[entry.parent]?.delegationKeys[$0] }
            return (entry.role, keys)
        }
        expiries.append(Expiry(role: "root", version: root.version, expires: root.expires))
        for key in root.keys(of: .root) {
            if let leaf = try? key.certificates().first {
                expiries.append(
                    Expiry(role: "root certificate \(key.id.prefix(12))", version: 0, expires: TUFTime(leaf.notValidAfter)))
            }
        }
        for (name, t) in roles { expiries.append(Expiry(role: name, version: t.version, expires: t.expires)) }
        for role in ["snapshot", "timestamp"] {
            if let env = try set.envelope(role) {
                let m = try MetaListing(json: env.signed, type: role == "snapshot" ? "Snapshot" : "Timestamp", name: role + ".json")
                expiries.append(Expiry(role: role, version: m.version, expires: m.expires))
            }
        }
    }

    public func targets(of role: String) -> Targets? { roles.first { $0.name == role }?.targets }

    /// The digest `docker pull` resolves for `tag`: `targets/releases` first, then `targets`;
    /// nil when neither has it (docker refuses tags that only delegated signers signed).
    public func releasedTarget(_ tag: String) -> (role: String, digest: String)? {
        for role in ["targets/releases", "targets"] {
            if let e = targets(of: role)?.targets.first(where: { $0.name == tag }) { return (role, e.digest) }
        }
        return nil
    }

    /// Root keys as users can match them: the ID root.json lists (docker's and notary's "Root
    /// Key") and the canonical ID the vault and `notary key list` use.
    public var rootKeys: [(listedID: String, canonicalID: String)] {
        root.keys(of: .root).map { ($0.id, $0.displayID) }
    }

    /// Expiries, root keys with both IDs, and warnings (what docker's view leaves out).
    public var expiriesText: String {
        var out = "Expiries for \(gun)\n\n"
        out += GoTabWriter.table(
            ["ROLE", "VERSION", "EXPIRES"],
            expiries.map { [$0.role, $0.version > 0 ? String($0.version) : "-", $0.expires.display] })
        out += "\nRoot keys (threshold \(root.role(.root).threshold))\n\n"
        out += GoTabWriter.table(["ROOT KEY ID (docker, notary)", "VAULT KEY ID"], rootKeys.map { [$0.listedID, $0.canonicalID] })
        if !report.warnings.isEmpty { out += "\nWarnings\n\n" + report.warnings.map { "  ! \($0)\n" }.joined() }
        return out
    }

    public var expiriesJSON: JSONValue {
        .obj([
            "gun": .string(gun),
            "expiries": .array(expiries.map {
                .obj(["role": .string($0.role), "version": .integer(Int64($0.version)), "expires": .string($0.expires.rfc3339)])
            }),
            "rootKeys": .array(rootKeys.map { .obj(["id": .string($0.listedID), "canonicalID": .string($0.canonicalID)]) }),
            "rootThreshold": .integer(Int64(root.role(.root).threshold)),
            "warnings": .array(report.warnings.map { .string($0) }),
        ])
    }
}

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
        let s1 = Array(a.utf8), s2 = Array(b.utf8)
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
            if n1 != n2 { return n1.lexicographicallyPrecedes(n2) }
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
