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
            // The verifier's reading when it holds the entries (a table over the file's bytes),
            // else the file read again with its entries built.
            let read: Targets? = if let t = report.verifiedTargets[name], t.holdsEntries { t } else { try set.targets(name)?.1 }
            guard let t = read else { continue }
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
            if let digest = targets(of: role)?.sha256Hex(of: tag) { return (role, digest) }
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
            "expiries": .array(
                expiries.map {
                    .obj(["role": .string($0.role), "version": .integer(Int64($0.version)), "expires": .string($0.expires.rfc3339)])
                }),
            "rootKeys": .array(rootKeys.map { .obj(["id": .string($0.listedID), "canonicalID": .string($0.canonicalID)]) }),
            "rootThreshold": .integer(Int64(root.role(.root).threshold)),
            "warnings": .array(report.warnings.map { .string($0) }),
        ])
    }
}
