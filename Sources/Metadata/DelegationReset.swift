public import TrustCore
public import Formats

/// What a delegation's current file holds, for a person to review before `delegation reset`:
/// each tag with its digest and size, and each signature on the file with whether its key is
/// still one of the role's keys. Tags of a file that is not trusted are listed as unverified and
/// never count.
public struct DelegationReview: Sendable {
    public struct Tag: Sendable, Hashable {
        public var name: String
        /// Hex SHA-256 (empty without one).
        public var digest: String
        public var length: Int64
    }

    public enum SignatureStatus: String, Sendable {
        /// A current key of the role; the signature verifies.
        case valid
        /// A current key of the role, but the signature does not verify.
        case invalid
        /// Not a key of the role any more (removed or replaced): the signature cannot be checked.
        case notACurrentKey = "not-a-current-key"
    }

    public struct Signature: Sendable, Hashable {
        /// The key ID the signature names (as listed in the metadata).
        public var keyID: String
        /// The canonical ID of a current key (what `key list` and `notary key list` show).
        public var canonicalID: String?
        public var status: SignatureStatus
    }

    public var gun: String
    public var role: String
    /// Whether a trusted parent delegates to the role now.
    public var delegated: Bool
    /// The role's current keys (canonical IDs) and threshold, from its parent.
    public var currentKeys: [String] = []
    public var threshold = 0
    /// nil when the role has no file.
    public var version: Int?
    public var expires: TUFTime?
    /// nil when the file is trusted; else why not.
    public var untrustedReason: String?
    public var signatures: [Signature] = []
    public var tags: [Tag] = []
    /// Roles the file itself delegates to (a reset drops them).
    public var subroles: [String] = []

    public var isTrusted: Bool { version != nil && untrustedReason == nil }
}

extension Transitions {
    /// Reads `role`'s file in `current` (trusted or not) for review.
    public static func reviewDelegation(current: MetadataSet, role: String) throws(TrustVaultError) -> DelegationReview {
        guard DelegatedRole.isValidName(role) else {
            throw .invalid("\"\(role)\" is not a delegation role", recovery: "name it targets/<name>, as 'trustvault inspect' lists the signers")
        }
        let parentName = DelegatedRole.parent(of: role)
        let parentTrusted = current.files[parentName] != nil && current.untrusted[parentName] == nil
        let d = parentTrusted ? try delegatedRole(role, in: current) : nil
        let keys = parentTrusted ? try delegationKeys(of: role, in: current) : [:]
        var review = DelegationReview(gun: current.gun, role: role, delegated: d != nil)
        review.currentKeys = (d?.keyIDs ?? []).map { keys[$0]?.displayID ?? $0 }
        review.threshold = d?.threshold ?? 0
        guard let (env, t) = try current.targets(role) else { return review }
        review.version = t.version
        review.expires = t.expires
        review.untrustedReason = current.untrusted[role] ?? (d == nil ? "no trusted role delegates to it" : nil)
        review.tags = t.targets.map { .init(name: $0.name, digest: $0.digest, length: $0.meta.length) }
            .sorted { NaturalOrder.less($0.name, $1.name) }
        review.subroles = t.delegations.map(\.name)
        let canonical = env.canonicalSigned
        for s in env.signatures {
            if let key = keys[s.keyID] {
                let ok = env.validSignatureKeyIDs(keys: [s.keyID: key], canonical: canonical).contains(s.keyID)
                review.signatures.append(.init(keyID: s.keyID, canonicalID: key.displayID, status: ok ? .valid : .invalid))
            } else {
                review.signatures.append(.init(keyID: s.keyID, canonicalID: nil, status: .notACurrentKey))
            }
        }
        return review
    }

    /// The delegation entry of a role that a reset can give a fresh file: a trusted parent
    /// delegates to it now.
    public static func resettableRole(_ role: String, in current: MetadataSet) throws(TrustVaultError) -> DelegatedRole {
        let parentName = DelegatedRole.parent(of: role)
        guard DelegatedRole.isValidName(role), let d = try delegatedRole(role, in: current), current.untrusted[parentName] == nil else {
            if DelegatedRole.isValidName(role), current.untrusted[parentName] != nil {
                throw .verification(
                    "\(role) is delegated by \(parentName), which is not trusted itself",
                    recovery: "reset \(parentName) first ('trustvault delegation reset \(current.gun) \(parentName) …')")
            }
            throw .notFound(
                "\(parentName).json does not delegate to \(role), so no key can sign a fresh file for it",
                recovery:
                    "its old file stays on the server but is not trusted and counts for nothing; to use the role again, add it with 'trustvault delegation add \(current.gun) \(role) --cert FILE --all-paths' (upload), then reset it"
            )
        }
        return d
    }

    /// A fresh file for a delegated role (version + 1): only the tags in `keep`, copied from the
    /// role's current file (trusted or not) after a person reviewed them, signed by `signers`
    /// (current keys of the role, at least its threshold). Replaces a file that a removed or
    /// replaced key signed, so the repository reads cleanly and the role's new key can publish.
    public static func resetDelegation(
        current: MetadataSet, role: String, signers: [RoleSigner], keep: [String], snapshotSigner: (any SigningKey)?,
        expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let review = try reviewDelegation(current: current, role: role)
        let d = try resettableRole(role, in: current)
        let keys = try delegationKeys(of: role, in: current)
        for s in signers where keys[s.keyID] == nil {
            throw .invalid("key \(s.signer.publicKey.keyID.prefix(12)) is not a current key of \(role)")
        }
        guard Set(signers.map(\.keyID)).count >= d.threshold else {
            throw .invalid(
                "\(role) needs \(d.threshold) of its keys to sign; \(Set(signers.map(\.keyID)).count) given",
                recovery:
                    "pass --key once for each key held in this vault (its keys: \(review.currentKeys.map { String($0.prefix(12)) }.joined(separator: ", ")))")
        }
        let old = try current.targets(role)
        let oldTargets = old?.1.targets ?? []  // built once, not per kept tag
        var kept: [TargetEntry] = []
        for tag in keep {
            guard let e = oldTargets.first(where: { $0.name == tag }) else {
                let have = review.tags.map(\.name)
                throw .notFound(
                    "\(role).json has no tag \"\(tag)\"",
                    recovery: have.isEmpty
                        ? "it has no tags: use --keep-none"
                        : "its tags: \(have.joined(separator: ", ")); 'trustvault delegation review' lists them with their signers")
            }
            guard d.covers(tag) else {
                throw .invalid("\"\(tag)\" is outside \(role)'s delegated paths \(d.paths)", recovery: "keep only tags the role may sign")
            }
            if !kept.contains(where: { $0.name == tag }) { kept.append(e) }
        }
        let version = try current.nextVersion(role, after: old?.1.version ?? 0)
        let fresh = Targets(expires: expiries.expiry(of: role, from: now), version: version, targets: kept)
        var env = SignedMetadata(signed: fresh.json)
        let canonical = env.canonicalSigned
        var seen: Set<String> = []
        for s in signers where seen.insert(s.keyID).inserted { try env.sign(with: s.signer, as: s.keyID, canonical: canonical) }
        let dropped = review.tags.map(\.name).filter { name in !kept.contains { $0.name == name } }
        var notes = [
            "\(role).json v\(version): a fresh file signed by \(seen.map { (keys[$0]?.displayID ?? $0).prefix(12) }.sorted().joined(separator: ", "))"
                + (review.version.map { ", replacing v\($0)" } ?? "")
        ]
        notes.append(kept.isEmpty ? "kept: no tag" : "kept (re-signed now): " + kept.map(\.name).joined(separator: ", "))
        if !dropped.isEmpty { notes.append("dropped (they never count again unless signed anew): " + dropped.joined(separator: ", ")) }
        if !review.subroles.isEmpty {
            notes.append(
                "the old file's delegations (\(review.subroles.joined(separator: ", "))) are not carried over; their files are not trusted until delegated again"
            )
        }
        let (_, root) = try current.root()
        let changed = MetadataSet(gun: current.gun, files: [role: env.encoded(canonical: canonical)])
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes, expiries: expiries)
    }
}
