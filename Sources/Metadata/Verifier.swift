public import TrustCore
internal import Foundation
internal import X509
internal import Formats

/// The result of ``Verifier/verify(_:trustedRoot:now:)``: problems make the set invalid;
/// warnings (expiring within 6 months, missing optional files) do not.
public struct VerificationReport: Sendable {
    public var problems: [String] = []
    public var warnings: [String] = []
    /// What was checked and held, one line each.
    public var passed: [String] = []
    /// The files whose signatures were checked and held (`root.json`, `targets.json`, …).
    public var checked: [String] = []
    /// Delegated roles that snapshot.json lists and a verified parent delegates to, but whose
    /// files are not in the directory: their tags cannot be shown or vouched for until fetched.
    public var absent: [String] = []
    /// Delegated roles with no file that snapshot.json does not list (nothing signed there yet).
    public var unpublished: [String] = []
    /// Files that are present but not trusted, and why, as the notary client skips them: a
    /// delegation whose file fails its current keys' threshold or has expired, a file no verified
    /// role delegates to. Their targets are never shown or counted; they do not make the set
    /// invalid (see ``LenientReading``).
    public var untrusted: [UntrustedFile] = []
    /// Verified targets roles in notary's walk order (breadth first from `targets`, each parent's
    /// delegations in their listed order).
    public var walkOrder: [String] = []
    /// Every delegation a verified targets file declares, in walk order, with its parent.
    public var declaredDelegations: [(parent: String, role: DelegatedRole)] = []
    /// The verified targets roles as read (for ``VerifiedRepository``, which need not read them
    /// again).
    var verifiedTargets: [String: Targets] = [:]
    /// No problem found (absent delegation files are listed in ``absent``, not here).
    public var isValid: Bool { problems.isEmpty }
    /// No problem and nothing absent: everything the repository names was checked.
    public var isComplete: Bool { problems.isEmpty && absent.isEmpty }
}

/// Full offline verification of a repository's metadata, with notary's rules.
public enum Verifier {
    /// 6 months, as notary's `nearExpiry` (`time.Now().AddDate(0, 6, 0)` ≈ 182 days).
    public static let warningSeconds: Int64 = 182 * 86_400

    /// - Parameter forCeremony: the mode ceremonies read current metadata in: expiry (of files and
    ///   of root certificates) and roles that cannot sign (fewer keys than their threshold) become
    ///   warnings, because the ceremony's output replaces them; signatures, thresholds, hashes and
    ///   versions must still hold.
    public static func verify(
        _ set: MetadataSet, trustedRoot: [UInt8]? = nil, now: TUFTime = .now(), forCeremony: Bool = false
    ) -> VerificationReport {
        var report = VerificationReport()
        // Hash the large files on another core while the signatures are checked on this one.
        let digests = FileDigests(set.files.filter { $0.key != "snapshot" && $0.key != "timestamp" })
        func attempt<T>(_ what: String, _ body: () throws(TrustVaultError) -> T) -> T? {
            do { return try body() } catch {
                report.problems.append(error.recovery.map { "\(error.message) (\($0))" } ?? error.message)
                return nil
            }
        }
        func expiry(_ name: String, _ t: TUFTime) {
            // The server re-signs the timestamp every 14 days; only longer-lived files get warnings.
            switch ExpiryState.of(t, now: now, window: name == "timestamp.json" ? nil : warningSeconds) {
            case .current: break
            case .expired:
                if forCeremony {
                    report.warnings.append("\(name) expired on \(t.display); the new files get a fresh expiry")
                } else {
                    report.problems.append("\(name) expired on \(t.display)")
                }
            case .expiresSoon:
                report.warnings.append(
                    "\(name) expires on \(t.display), within 6 months"
                        + (name == "root.json" ? "; renew it before then with '\(renewCommand(set.gun))'" : ""))
            }
        }
        func exactBytes(_ role: String, _ env: SignedMetadata, _ canonical: [UInt8]?) {
            if env.isExactFileForm { return }  // read in exact form: the file is notary's encoding
            if env.encoded(canonical: canonical) != set.files[role] {
                report.problems.append(
                    "\(role).json is not byte-identical to notary's encoding of its content"
                        + " (whitespace, escaping, base64 or a trailing newline differ); notary clients would reject it")
            }
        }

        // Root.
        guard let (rootEnv, root) = attempt("root", { () throws(TrustVaultError) in try set.root() }) else { return report }
        let rootCanonical = rootEnv.canonicalSigned
        exactBytes("root", rootEnv, rootCanonical)
        attempt("root certs") { () throws(TrustVaultError) in
            for key in root.keys(of: .root) {
                try checkRootCertificate(key, gun: set.gun, now: now, warnings: &report.warnings, expiryIsWarning: forCeremony)
            }
            report.passed.append("root certificates: CN \(set.gun), valid, notary-encoded")
        }
        attempt("root self") { () throws(TrustVaultError) in
            try rootEnv.verify(role: root.role(.root), keys: root.keys, name: "root.json", canonical: rootCanonical)
            let ids = root.keys(of: .root).map(Self.rootKeyLabel).joined(separator: ", ")
            report.passed.append("root.json v\(root.version): signed by \(root.role(.root).threshold) of its root key(s) \(ids)")
            report.checked.append("root.json")
        }
        if let trustedRoot {
            attempt("trusted root") { () throws(TrustVaultError) in
                // A chain of N.root.json files in the directory is followed (RootChain.swift).
                if let chain = try RootChain.follow(from: trustedRoot, in: set, to: rootEnv, now: now) {
                    report.passed.append(chain)
                    return
                }
                let old = try SignedMetadata(parsing: trustedRoot, name: "trusted root")
                let oldRoot = try Root(json: old.signed, name: "trusted root")
                guard root.version >= oldRoot.version else {
                    throw .verification("root.json v\(root.version) is older than the trusted root v\(oldRoot.version)")
                }
                if root.version == oldRoot.version {
                    guard old.canonicalSigned == rootCanonical else {
                        throw .verification("root.json v\(root.version) differs from the trusted root of the same version")
                    }
                } else {
                    try rootEnv.verify(role: oldRoot.role(.root), keys: oldRoot.keys, name: "root.json (against the trusted root)", canonical: rootCanonical)
                }
                report.passed.append("root.json chains to the trusted root v\(oldRoot.version)")
            }
        }
        expiry("root.json", root.expires)

        // Targets and delegations.
        var targetsByRole: [String: Targets] = [:]
        if let targetsBytes = set.files["targets"] {
            _ = targetsBytes
            attempt("targets") { () throws(TrustVaultError) in
                guard let (env, t) = try set.targets(buildTargets: false) else { return }
                // A file in exact form is checked over its own signed bytes, without a copy.
                let c: [UInt8]? = env.isExactFileForm ? nil : env.canonicalSigned
                exactBytes("targets", env, c)
                try env.verify(role: root.role(.targets), keys: root.keys, name: "targets.json", canonical: c)
                expiry("targets.json", t.expires)
                report.warnings += try checkDelegations(of: t, role: "targets", parentPaths: nil, allowStuck: forCeremony)
                targetsByRole["targets"] = t
                report.walkOrder.append("targets")
                report.checked.append("targets.json")
                report.passed.append("targets.json v\(t.version): \(t.targetCount) target(s), \(t.delegations.count) delegation(s)")
            }
        } else {
            report.problems.append("targets.json is missing")
        }
        // Walk delegations breadth first from targets.
        var queue = ["targets"]
        var seen: Set<String> = []
        while !queue.isEmpty {
            let parentName = queue.removeFirst()
            guard let parent = targetsByRole[parentName] else { continue }
            for d in parent.delegations {
                guard seen.insert(d.name).inserted else { continue }
                report.declaredDelegations.append((parentName, d))
                guard set.files[d.name] != nil else { continue }
                if d.keyIDs.count < d.threshold {
                    // A stuck role (reported by checkDelegations): notary's client fails its file on
                    // the threshold and skips it; a ceremony repairs the role.
                    if set.files[d.name] != nil {
                        report.untrusted.append(
                            UntrustedFile(
                                role: d.name,
                                reason: "\(parentName).json gives it threshold \(d.threshold) with \(d.keyIDs.count) key(s), so no file can verify"))
                    }
                    continue
                }
                attempt(d.name) { () throws(TrustVaultError) in
                    guard let (env, t) = try set.targets(d.name, buildTargets: false) else { return }
                    let c: [UInt8]? = env.isExactFileForm ? nil : env.canonicalSigned
                    exactBytes(d.name, env, c)
                    // notary's client skips a delegation that fails its keys' threshold or has
                    // expired (LenientReading.swift); other faults stay fatal, as there.
                    if let why = try LenientReading.untrustedReason(
                        env, t, role: d, keys: parent.delegationKeys, canonical: c, now: now, expiryCounts: !forCeremony)
                    {
                        report.untrusted.append(UntrustedFile(role: d.name, reason: why))
                        return
                    }
                    expiry("\(d.name).json", t.expires)
                    // An empty path (notary's --all-paths) is a prefix of every name.
                    for name in d.paths.contains("") ? [] : t.targetNames where !d.covers(name) {
                        throw .verification("\(d.name).json signs \"\(name)\", outside its delegated paths \(d.paths)")
                    }
                    report.warnings += try checkDelegations(of: t, role: d.name, parentPaths: d.paths, allowStuck: forCeremony)
                    targetsByRole[d.name] = t
                    queue.append(d.name)
                    report.walkOrder.append(d.name)
                    report.checked.append("\(d.name).json")
                    report.passed.append("\(d.name).json v\(t.version): \(t.targetCount) target(s)")
                }
            }
        }
        report.verifiedTargets = targetsByRole
        let untrustedNames = Set(report.untrusted.map(\.role))
        for role in set.delegationRoles where !seen.contains(role) {
            report.untrusted.append(
                UntrustedFile(role: role, reason: LenientReading.orphanReason(role, verified: targetsByRole, untrusted: untrustedNames)))
        }

        // Snapshot and timestamp: parsed, in notary's exact bytes, signed by their role, not expired.
        func listing(_ role: BaseRole, _ bytes: [UInt8]) throws(TrustVaultError) -> MetaListing {
            let name = role.rawValue + ".json"
            let env = try SignedMetadata(parsing: bytes, name: name)
            let c = env.canonicalSigned
            exactBytes(role.rawValue, env, c)
            let listing = try MetaListing(json: env.signed, type: NotaryV1.typeName(role.rawValue), name: name)
            try env.verify(role: root.role(role), keys: root.keys, name: name, canonical: c)
            expiry(name, listing.expires)
            return listing
        }

        // Snapshot.
        var snapshotListing: MetaListing?
        if let snapBytes = set.files["snapshot"] {
            attempt("snapshot") { () throws(TrustVaultError) in
                let snap = try listing(.snapshot, snapBytes)
                for role in ["root", "targets"] {
                    guard let m = snap.meta[role], m.hashes["sha256"] != nil else {
                        throw .verification("snapshot.json has no sha256 entry for \(role)")
                    }
                }
                for (role, bytes) in set.files where role != "snapshot" && role != "timestamp" {
                    guard let m = snap.meta[role] else {
                        throw .verification("snapshot.json does not list \(role).json")
                    }
                    guard m.matches(bytes, digests: digests.digests(of: role)) else {
                        throw .verification(
                            "\(role).json does not match its length/hashes in snapshot.json (\(bytes.count) bytes, snapshot says \(m.length))")
                    }
                }
                report.checked.append("snapshot.json")
                let listed = snap.meta.keys.sorted(by: MetadataSet.uploadOrder)
                let present = listed.filter { set.files[$0] != nil }
                var line = "snapshot.json v\(snap.version): lists \(listed.count) file(s); hashes of the \(present.count) present match"
                line += " (" + present.map { $0 + ".json" }.joined(separator: ", ") + ")"
                let missing = listed.filter { set.files[$0] == nil }
                if !missing.isEmpty { line += "; not in the directory: " + missing.map { $0 + ".json" }.joined(separator: ", ") }
                report.passed.append(line)
                snapshotListing = snap
            }
        } else {
            report.warnings.append("no snapshot.json (the server makes it when the snapshot key is server-managed)")
        }
        // Delegations a verified parent declares but whose files are not here.
        for (_, d) in report.declaredDelegations where set.files[d.name] == nil {
            if let snap = snapshotListing {
                if snap.meta[d.name] != nil { report.absent.append(d.name) } else { report.unpublished.append(d.name) }
            } else if set.files["snapshot"] == nil {
                report.warnings.append(
                    "\(d.name).json is not in the directory and there is no snapshot.json to tell whether it exists;"
                        + " its tags are not shown")
            }
        }

        // Timestamp.
        if let tsBytes = set.files["timestamp"] {
            attempt("timestamp") { () throws(TrustVaultError) in
                let ts = try listing(.timestamp, tsBytes)
                if let snap = set.files["snapshot"] {
                    guard let m = ts.meta["snapshot"], m.matches(snap) else {
                        throw .verification("snapshot.json does not match its length/hashes in timestamp.json")
                    }
                }
                report.checked.append("timestamp.json")
                report.passed.append(
                    set.files["snapshot"] == nil
                        ? "timestamp.json v\(ts.version): signature holds (no snapshot.json here to compare its hash with)"
                        : "timestamp.json v\(ts.version): snapshot hash matches")
            }
        } else {
            report.warnings.append("no timestamp.json (the server always makes it)")
        }
        return report
    }

    /// A root key as users can match it: the ID root.json lists (the certificate key ID that
    /// `docker trust inspect` and `notary` show), and the canonical (vault) ID when it differs.
    public static func rootKeyLabel(_ key: TUFKey) -> String {
        let canonical = key.displayID
        return canonical == key.id ? String(key.id.prefix(12)) : "\(key.id.prefix(12)) (vault key ID \(canonical.prefix(12)))"
    }

    /// Structural rules for the delegations a targets file declares.
    /// With `allowStuck` (ceremonies), a role with fewer keys than its threshold is returned as a
    /// warning instead of being an error, so a ceremony can repair it.
    @discardableResult
    static func checkDelegations(
        of t: Targets, role: String, parentPaths: [String]?, allowStuck: Bool = false
    ) throws(TrustVaultError) -> [String] {
        var stuck: [String] = []
        var names: Set<String> = []
        for d in t.delegations {
            guard DelegatedRole.isValidName(d.name) else {
                throw .verification("\(role).json delegates to \"\(d.name)\", which is not a valid role name")
            }
            guard DelegatedRole.parent(of: d.name) == role else {
                throw .verification("\(role).json delegates to \"\(d.name)\", which is not its direct child")
            }
            guard names.insert(d.name).inserted else { throw .verification("\(role).json lists \(d.name) twice") }
            // notary checks only threshold >= 1 and the key list here (isValidRootRoleStructure); a
            // threshold above the key count fails when the role's file is read, which skips it.
            if d.threshold >= 1, d.threshold > d.keyIDs.count {
                stuck.append(
                    "\(role).json: \(d.name) has threshold \(d.threshold) with \(d.keyIDs.count) key(s), so nobody can sign for it;"
                        + " repair it with 'trustvault delegation add' (a key) or 'delegation remove' (the whole role)")
                continue
            }
            guard d.threshold >= 1, d.threshold <= d.keyIDs.count else {
                throw .verification("\(role).json: \(d.name) has threshold \(d.threshold) with \(d.keyIDs.count) key(s)")
            }
            if allowStuck, d.keyIDs.contains(where: { t.delegationKeys[$0] == nil }) {
                stuck.append("\(role).json: \(d.name) lists a key that is not in the delegation keys; repair it with 'trustvault delegation remove'")
                continue
            }
            for id in d.keyIDs where t.delegationKeys[id] == nil {
                throw .verification("\(role).json: \(d.name) lists key \(id) that is not in the delegation keys")
            }
            if let parentPaths {
                for p in d.paths where !parentPaths.contains(where: { p.utf8.starts(with: $0.utf8) }) {
                    throw .verification("\(role).json: \(d.name) path \"\(p)\" is outside the parent's paths")
                }
            }
        }
        return stuck
    }

    /// The command that renews root.json and its certificates offline.
    public static func renewCommand(_ gun: String) -> String {
        "trustvault repo refresh \(gun) --current DIR --out DIR"
    }

    /// notary's root certificate rules (`trustpinning.ValidateRoot`, `utils.ValidateCertificate`).
    public static func checkRootCertificate(
        _ key: TUFKey, gun: String, now: TUFTime, warnings: inout [String], expiryIsWarning: Bool = false
    ) throws(TrustVaultError) {
        let label = "root.json: root key \(rootKeyLabel(key))"
        guard key.isCertificate else {
            throw .verification("\(label) is \(key.keyType); notary root keys must be ecdsa-x509 or rsa-x509")
        }
        guard key.isGoEncodedPEM else {
            throw .verification(
                "\(label): the certificate PEM is not encoded as Go encodes it; notary would compute a different key ID")
        }
        let certs = try key.certificates()
        for (i, cert) in certs.enumerated() {
            let isCA: Bool
            switch try? cert.extensions.basicConstraints {
            case .isCertificateAuthority?: isCA = true
            default: isCA = false
            }
            if i == 0, isCA { throw .verification("\(label): the first certificate is a CA, not a leaf") }
            if i > 0, !isCA { throw .verification("\(label): more than one leaf certificate") }
        }
        guard let leaf = certs.first else { throw .verification("\(label): no certificate") }
        let cn = RootCertificate.commonName(of: leaf) ?? ""
        let cnMatches = cn == gun || (cn.hasSuffix("*") && gun.hasPrefix(String(cn.dropLast())))
        guard cnMatches else {
            throw .verification("\(label): certificate CN \"\(cn)\" does not match the GUN \"\(gun)\"")
        }
        let notAfter = TUFTime(leaf.notValidAfter), notBefore = TUFTime(leaf.notValidBefore)
        guard notAfter > now else {
            if expiryIsWarning {
                warnings.append(
                    "\(label): the certificate expired on \(notAfter.display); renew it with '\(renewCommand(gun))'"
                        + " (when every root certificate has expired, add --replace-expired-root: docs/guide-expired-root-certificate.md)")
                _ = try key.publicKey()
                return
            }
            throw .verification(
                "\(label): the certificate expired on \(notAfter.display)",
                recovery:
                    "renew it with '\(renewCommand(gun))'; once every root certificate has expired, add --replace-expired-root (docs/guide-expired-root-certificate.md)"
            )
        }
        guard notBefore <= now.adding(days: 1) else {
            throw .verification("\(label): the certificate is not valid before \(notBefore.display)")
        }
        if notAfter <= now.adding(seconds: warningSeconds) {
            warnings.append(
                "\(label): the certificate expires on \(notAfter.display), within 6 months; renew it before then with '\(renewCommand(gun))'"
                    + " (once every root certificate has expired, notary-server refuses the renewal)")
        }
        let alg = leaf.signatureAlgorithm
        guard alg != .sha1WithRSAEncryption, !String(describing: alg).lowercased().contains("sha1") else {
            throw .verification("\(label): the certificate uses a SHA-1 signature, which notary rejects")
        }
        _ = try key.publicKey()
    }
}
