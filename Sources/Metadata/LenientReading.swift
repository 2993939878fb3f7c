internal import TrustCore

/// A metadata file that is present but not trusted, and why.
public struct UntrustedFile: Sendable, Hashable {
    /// The role, e.g. `targets/releases`.
    public var role: String
    /// Why it is not trusted ("its signatures …", "no role delegates to it …").
    public var reason: String
    public init(role: String, reason: String) {
        self.role = role
        self.reason = reason
    }

    /// `not trusted: targets/releases.json, because …` — the line every command prints.
    public var line: String { "not trusted: \(role).json, because \(reason); its targets are not shown or counted" }
}

/// Reading a repository as notary clients do (`client/tufclient.go` `downloadTargets`): the
/// client walks from targets.json to the delegations each verified parent lists. A delegated
/// role whose file fails its threshold (`signed.ErrRoleThreshold`) or has expired
/// (`signed.ErrExpired`) is skipped with a warning, and so are the roles below it; a file that no
/// verified role delegates to is never downloaded. For targets.json the same faults are fatal,
/// and so are, for any file, a missing signature list, a hash or length that differs from
/// snapshot.json, or unparsable content. trustvault follows that walk and names each skipped file.
public enum LenientReading {
    /// Why a delegation's file is not trusted, or nil when it verifies against its parent's
    /// current keys (and, when `expiryCounts`, has not expired).
    static func untrustedReason(
        _ env: SignedMetadata, _ t: Targets, role d: DelegatedRole, keys: [String: TUFKey], canonical: [UInt8]?,
        now: TUFTime, expiryCounts: Bool
    ) throws(TrustVaultError) -> String? {
        guard !env.signatures.isEmpty else {
            // notary: signed.ErrNoSignatures is not skipped but fatal.
            throw .verification("\(d.name).json has no signatures; notary clients refuse the whole repository")
        }
        let allowed = Set(d.keyIDs)
        let valid = env.validSignatureKeyIDs(keys: keys.filter { allowed.contains($0.key) }, canonical: canonical)
        if valid.count < d.threshold {
            let others = Array(Set(env.signatures.map(\.keyID).filter { !allowed.contains($0) })).sorted()
            var why = "\(valid.count) valid signature(s) from the role's current keys, \(d.threshold) required"
            if !others.isEmpty {
                why += " (signed by \(others.map { String($0.prefix(12)) }.joined(separator: ", ")), no longer a key of \(d.name))"
            }
            return why
        }
        if expiryCounts, t.expires <= now {
            return "it expired on \(t.expires.display)"
        }
        return nil
    }

    /// Why a present file that the walk never reached is not trusted.
    static func orphanReason(_ role: String, verified: [String: Targets], untrusted: Set<String>) -> String {
        var ancestor = DelegatedRole.parent(of: role)
        while ancestor != "targets", !ancestor.isEmpty {
            if untrusted.contains(ancestor) { return "the role above it, \(ancestor), is not trusted" }
            ancestor = DelegatedRole.parent(of: ancestor)
        }
        let parent = DelegatedRole.parent(of: role)
        if verified[parent] != nil {
            return "no role delegates to it (\(parent).json does not list \(role); the role was removed)"
        }
        return "no role delegates to it (\(parent).json is not in the directory or not trusted)"
    }
}
