public import TrustCore

/// Follows a chain of root rotations, as notary's client does when the root it trusts is
/// several versions behind: every version from the trusted one up to the current root.json must
/// be present (as `N.root.json`), each exactly one version after the previous, signed by a
/// threshold of the previous version's root keys and by a threshold of its own.
public enum RootChain {
    /// Checks the chain from `trustedRoot` to `current`. Returns nil when there is nothing to
    /// follow (the current root is the trusted version or its direct successor: the caller's
    /// single-step check applies), otherwise a line describing the verified chain.
    /// - Throws: a verification error naming the step that fails and why.
    public static func follow(
        from trustedRoot: [UInt8], in set: MetadataSet, to current: SignedMetadata, now: TUFTime
    ) throws(TrustVaultError) -> String? {
        let trustedEnv = try SignedMetadata(parsing: trustedRoot, name: "the trusted root")
        let trusted = try Root(json: trustedEnv.signed, name: "the trusted root")
        let latest = try Root(json: current.signed, name: "root.json")
        guard latest.version > trusted.version + 1 else { return nil }
        var previous = trusted
        var steps: [String] = []
        for version in (trusted.version + 1)...latest.version {
            let env: SignedMetadata
            let name: String
            if version == latest.version {
                env = current
                name = "root.json (v\(version))"
            } else {
                name = "\(version).root.json"
                guard let bytes = set.rootVersions[version] else {
                    throw .verification(
                        "root.json v\(latest.version) does not chain to the trusted root v\(trusted.version): \(name) is missing",
                        recovery: "fetch every root version online (the server serves …/_trust/tuf/\(version).root.json) into the directory")
                }
                env = try SignedMetadata(parsing: bytes, name: name)
            }
            let root = try Root(json: env.signed, name: name)
            guard root.version == version else {
                throw .verification("step v\(previous.version) → v\(version): \(name) says version \(root.version)")
            }
            let canonical = env.canonicalSigned
            do {
                try env.verify(role: previous.role(.root), keys: previous.keys, name: name, canonical: canonical)
            } catch {
                throw .verification(
                    "step v\(previous.version) → v\(version): \(name) is not signed by \(previous.role(.root).threshold) of the v\(previous.version) root keys: \(error.message)"
                )
            }
            do {
                try env.verify(role: root.role(.root), keys: root.keys, name: name, canonical: canonical)
            } catch {
                throw .verification(
                    "step v\(previous.version) → v\(version): \(name) is not signed by \(root.role(.root).threshold) of its own root keys: \(error.message)")
            }
            // Root certificates of each new version must be notary's kind (the newest one's expiry
            // is checked by the caller; intermediate versions may have expired since).
            for key in root.keys(of: .root) {
                var ignored: [String] = []
                do {
                    try Verifier.checkRootCertificate(key, gun: set.gun, now: now, warnings: &ignored, expiryIsWarning: version != latest.version)
                } catch {
                    throw .verification("step v\(previous.version) → v\(version): \(error.message)")
                }
            }
            steps.append("v\(version)")
            previous = root
        }
        return "root.json chains to the trusted root v\(trusted.version) through \(steps.joined(separator: " → "))"
    }
}
