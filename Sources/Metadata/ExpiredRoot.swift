public import TrustCore
public import Formats

/// A repository whose root certificates have all expired, and the replacement notary-server
/// accepts.
///
/// notary-server checks every update against the root it stores: `validateUpdate` loads that root
/// through `loadFromStore` → `RepoBuilder.Load(root, …, allowExpired: true)` →
/// `trustpinning.ValidateRoot`, which keeps only the root role's leaf certificates that match the
/// GUN and have **not expired** (`validRootLeafCerts(…, checkExpiry: true)`) and fails when none
/// is left ("unable to retrieve valid leaf certificates"). `allowExpired` only covers the
/// root.json expiry, which is checked afterwards. So once the stored root's certificates have all
/// expired, every update to the GUN — a renewed root.json signed under the old and new
/// certificate IDs included — is refused with HTTP 400 `INVALID_UPDATE` and no detail (the error
/// is not serializable). The notary client fails the same way on a cached root
/// (`bootstrapClient`: "if we can't load the cached root, fail hard"). The way back is to replace
/// the repository's trust data: delete it on the server and publish root v1 for the same root
/// keys under new certificates, with the targets and delegations carried over.
public enum ExpiredRoot {
    /// When every root-role certificate of `root` has expired by `now`: the latest end date among
    /// them. nil while at least one is still valid (then the server can load the root and accepts
    /// a renewal made with `repo refresh`).
    public static func allCertificatesExpired(_ root: Root, now: TUFTime) -> TUFTime? {
        let ends = root.keys(of: .root).compactMap(\.certificateNotAfter)
        guard let last = ends.max(), last <= now else { return nil }
        return last
    }

    /// What to say about a repository whose root certificates have all expired.
    public static func serverRule(gun: String, expiredOn: TUFTime) -> String {
        "every root certificate of \(gun) expired (the last on \(expiredOn.display)): notary-server cannot load the root it stores"
            + " (trustpinning.ValidateRoot accepts only unexpired certificates) and refuses every update to \(gun), a renewed root.json too"
    }

    /// Clients that trusted the old root keep failing on their cached copy until it is removed.
    public static func clientAdvice(gun: String) -> String {
        "clients that trusted the old root fail on their cached copy (\"unable to retrieve valid leaf certificates\") until they remove it:"
            + " 'notary delete \(gun)' (without --remote; local trust data only) or 'rm -rf ~/.docker/trust/tuf/\(gun)' for docker;"
            + " then they trust the new root on first use, like fresh clients"
    }
}

extension Transitions {
    /// The replacement for a repository whose root certificates have all expired: root.json v1
    /// with the same root keys under `newCertificates` (one per root key, same threshold), the same
    /// targets, snapshot and timestamp keys, and every targets file of `current` — re-signed
    /// (version+1, fresh expiry) when it expires within `window` and its keys are here, otherwise
    /// carried over byte for byte. A client-held snapshot is made over all of them. The result
    /// holds every file the server needs after its trust data was deleted.
    public static func replaceExpiredRoot(
        current: MetadataSet, newCertificates: [TUFKey], rootSigners: [any SigningKey], targetsSigner: (any SigningKey)?,
        delegationSigners: [String: [RoleSigner]], snapshotSigner: (any SigningKey)?, window: Int64,
        expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> TransitionResult {
        let (_, oldRoot) = try current.root()
        var notes: [String] = []
        var root = oldRoot
        root.version = 1
        root.expires = expiries.expiry(of: "root", from: now)
        var ids: [String] = []
        for old in oldRoot.keys(of: .root) {
            guard let cert = newCertificates.first(where: { $0.displayID == old.displayID }) else {
                throw .invalid("no new certificate for root key \(old.displayID.prefix(12)) of \(current.gun)")
            }
            ids.append(cert.id)
            notes.append("root key \(old.displayID.prefix(12)): new certificate \(cert.id.prefix(12)), valid until \(cert.certificateNotAfter?.display ?? "?")")
        }
        // Only the keys the roles use: the expired certificates go.
        var keys: [String: TUFKey] = [:]
        for cert in newCertificates { keys[cert.id] = cert }
        for base in [BaseRole.targets, .snapshot, .timestamp] {
            for id in oldRoot.role(base).keyIDs { keys[id] = oldRoot.keys[id] }
        }
        root.keys = keys
        root.roles["root"] = RoleKeys(keyIDs: ids, threshold: oldRoot.role(.root).threshold)
        let (rootEnv, status) = try signRootStatus(root, signers: rootSigners, previous: nil, notes: &notes)
        var changed = MetadataSet(gun: current.gun)
        changed.files["root"] = rootEnv.encoded()

        let limit = now.adding(seconds: window)
        let targetsRoles = current.files.keys.filter { $0 == "targets" || $0.hasPrefix("targets/") }.sorted(by: MetadataSet.uploadOrder)
        for role in targetsRoles {
            guard let env = try current.envelope(role), let bytes = current.files[role] else { continue }
            guard let version = env.signed["version"]?.intValue, let text = env.signed["expires"]?.stringValue else {
                throw .corrupt("\(role).json has no version or expiry")
            }
            let expires = try TUFTime(rfc3339: text)
            var signers: [RoleSigner] = []
            var threshold = 1
            if role == "targets" {
                if let targetsSigner { signers = [(try targetsKeyID(of: targetsSigner, in: root, gun: current.gun), targetsSigner)] }
            } else {
                signers = delegationSigners[role] ?? []
                threshold = try delegatedRole(role, in: current)?.threshold ?? 1
            }
            let canSign = signers.count >= threshold
            if expires > limit || !canSign {
                guard expires > now else {
                    throw .notFound(
                        "\(role).json expired on \(expires.display) and its key is not in this vault; notary-server refuses an expired file",
                        recovery: role == "targets"
                            ? "run this where the targets key is, or replace a lost key afterwards with 'trustvault repo rotate \(current.gun) targets'"
                            : "run this where the role's keys are, or remove the role first with 'trustvault delegation remove \(current.gun) \(role)'")
                }
                if expires <= limit {
                    notes.append(
                        "\(role).json expires on \(expires.display) and its key is not in this vault: carried over as it is; refresh it where the key is")
                }
                changed.files[role] = bytes
                continue
            }
            var signed = env.signed
            signed["version"] = .integer(Int64(try current.nextVersion(role, after: Int(clamping: version))))
            signed["expires"] = .string(expiries.expiry(of: role, from: now).rfc3339)
            var out = SignedMetadata(signed: signed)
            let canonical = out.canonicalSigned
            for (id, signer) in signers.prefix(threshold) { try out.sign(with: signer, as: id, canonical: canonical) }
            changed.files[role] = out.encoded(canonical: canonical)
            notes.append("\(role).json re-signed (it expired or expires within the window)")
        }
        guard changed.files["targets"] != nil else {
            throw .notFound("targets.json is not in the current metadata", recovery: "fetch the repository again with --allow-expired")
        }
        if snapshotSigner == nil { notes.append("the server holds the snapshot key and makes snapshot.json itself") }
        return try finish(
            current: current, changed: changed, root: root, snapshotSigner: snapshotSigner, now: now, notes: notes, rootStatus: status, expiries: expiries)
    }
}
