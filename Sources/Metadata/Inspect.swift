public import TrustCore
internal import Formats
internal import X509

/// What `docker trust inspect --pretty` shows for a repository, plus expiries and warnings.
public struct InspectReport: Sendable {
    public struct SignedTag: Sendable, Hashable {
        public var tag: String
        /// Hex SHA-256 of the target (the image manifest digest for docker).
        public var digest: String
        /// "Repo Admin" for targets and targets/releases, else the signer (delegation) name.
        public var signers: [String]
    }
    public struct Signer: Sendable, Hashable {
        public var name: String
        public var role: String
        /// Canonical key IDs.
        public var keys: [String]
        public var threshold: Int
        public var paths: [String]
    }
    public struct Expiry: Sendable, Hashable {
        public var role: String
        public var version: Int
        public var expires: TUFTime
    }

    public var gun: String
    public var signedTags: [SignedTag] = []
    public var signers: [Signer] = []
    /// Canonical IDs of the targets ("Repository Key") and root keys.
    public var repositoryKeys: [String] = []
    public var rootKeys: [String] = []
    public var rootThreshold = 1
    public var snapshotKeys: [String] = []
    public var timestampKeys: [String] = []
    public var expiries: [Expiry] = []
    public var warnings: [String] = []

    /// Builds the report; structural problems become warnings, not errors (use `verify` for those).
    public init(_ set: MetadataSet, now: TUFTime = .now()) throws(TrustVaultError) {
        gun = set.gun
        let (_, root) = try set.root()
        rootKeys = root.keys(of: .root).map(\.displayID)
        rootThreshold = root.role(.root).threshold
        repositoryKeys = root.keys(of: .targets).map(\.displayID)
        snapshotKeys = root.keys(of: .snapshot).map(\.displayID)
        timestampKeys = root.keys(of: .timestamp).map(\.displayID)
        expiries.append(Expiry(role: "root", version: root.version, expires: root.expires))
        for key in root.keys(of: .root) {
            if let leaf = try? key.certificates().first {
                expiries.append(Expiry(role: "root certificate \(key.displayID.prefix(12))", version: 0, expires: TUFTime(leaf.notValidAfter)))
            }
        }
        var tags: [String: SignedTag] = [:]
        func add(_ t: Targets, signer: String) {
            for e in t.targets {
                let digest = e.meta.hashes["sha256"].map { Hex.encode($0) } ?? ""
                var tag = tags[e.name] ?? SignedTag(tag: e.name, digest: digest, signers: [])
                if !tag.signers.contains(signer) { tag.signers.append(signer) }
                tags[e.name] = tag
            }
        }
        if let (_, targets) = try set.targets() {
            expiries.append(Expiry(role: "targets", version: targets.version, expires: targets.expires))
            add(targets, signer: "Repo Admin")
            for d in targets.delegations {
                let name = d.name == "targets/releases" ? "releases" : String(d.name.dropFirst("targets/".count))
                let keys = d.keyIDs.compactMap { targets.delegationKeys[$0]?.displayID }
                if d.name != "targets/releases" {
                    signers.append(Signer(name: name, role: d.name, keys: keys, threshold: d.threshold, paths: d.paths))
                }
                if let (_, dt) = try? set.targets(d.name) {
                    expiries.append(Expiry(role: d.name, version: dt.version, expires: dt.expires))
                    add(dt, signer: d.name == "targets/releases" ? "Repo Admin" : name)
                }
            }
        } else {
            warnings.append("targets.json is missing")
        }
        for role in ["snapshot", "timestamp"] {
            if let env = try? set.envelope(role),
                let m = try? MetaListing(json: env.signed, type: role == "snapshot" ? "Snapshot" : "Timestamp", name: role)
            {
                expiries.append(Expiry(role: role, version: m.version, expires: m.expires))
            }
        }
        signedTags = tags.values.sorted { $0.tag.utf8.lexicographicallyPrecedes($1.tag.utf8) }
        for e in expiries {
            if e.expires <= now {
                warnings.append("\(e.role) expired on \(e.expires.display)")
            } else if e.role != "timestamp", e.expires <= now.adding(seconds: Verifier.warningSeconds) {
                warnings.append("\(e.role) expires on \(e.expires.display), within 6 months")
            }
        }
    }

    /// The text `docker trust inspect --pretty` prints, plus expiries and warnings.
    public var pretty: String {
        func table(_ header: [String], _ rows: [[String]]) -> String {
            var widths = header.map(\.count)
            for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
            func line(_ r: [String]) -> String {
                var s = ""
                for (i, c) in r.enumerated() {
                    s += i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 3)
                }
                return s + "\n"
            }
            return line(header) + rows.map(line).joined()
        }
        var out = "\nSignatures for \(gun)\n\n"
        if signedTags.isEmpty {
            out += "No signatures for \(gun)\n"
        } else {
            out += table(["SIGNED TAG", "DIGEST", "SIGNERS"], signedTags.map { [$0.tag, $0.digest, $0.signers.joined(separator: ", ")] })
        }
        if !signers.isEmpty {
            out += "\nList of signers and their keys for \(gun)\n\n"
            out += table(["SIGNER", "KEYS"], signers.map { [$0.name, $0.keys.map { String($0.prefix(12)) }.joined(separator: ", ")] })
        }
        out += "\nAdministrative keys for \(gun)\n\n"
        out += "  Repository Key:\t\(repositoryKeys.joined(separator: ", "))\n"
        out += "  Root Key:\t\(rootKeys.joined(separator: ", "))"
        out += rootThreshold > 1 ? " (threshold \(rootThreshold))\n" : "\n"
        out += "\nExpiries\n\n"
        out += table(["ROLE", "VERSION", "EXPIRES"], expiries.map { [$0.role, $0.version > 0 ? String($0.version) : "-", $0.expires.display] })
        if !warnings.isEmpty {
            out += "\nWarnings\n\n" + warnings.map { "  ! \($0)\n" }.joined()
        }
        return out
    }

    /// A JSON document for scripts.
    public var json: JSONValue {
        .obj([
            "gun": .string(gun),
            "signedTags": .array(signedTags.map {
                .obj(["tag": .string($0.tag), "digest": .string($0.digest), "signers": .array($0.signers.map { .string($0) })])
            }),
            "signers": .array(signers.map {
                .obj([
                    "name": .string($0.name), "role": .string($0.role), "keys": .array($0.keys.map { .string($0) }),
                    "threshold": .integer(Int64($0.threshold)), "paths": .array($0.paths.map { .string($0) }),
                ])
            }),
            "administrativeKeys": .obj([
                "repository": .array(repositoryKeys.map { .string($0) }), "root": .array(rootKeys.map { .string($0) }),
                "rootThreshold": .integer(Int64(rootThreshold)),
                "snapshot": .array(snapshotKeys.map { .string($0) }), "timestamp": .array(timestampKeys.map { .string($0) }),
            ]),
            "expiries": .array(expiries.map {
                .obj(["role": .string($0.role), "version": .integer(Int64($0.version)), "expires": .string($0.expires.rfc3339)])
            }),
            "warnings": .array(warnings.map { .string($0) }),
        ])
    }
}
