public import TrustCore
public import Metadata
internal import Formats

extension Ceremonies {
    /// Every ceremony's output for a repository whose root certificates have all expired would be
    /// refused by the server (it cannot load the root it stores): say so, and what works.
    func refuseUpdateOfExpiredRoot(_ current: MetadataSet, gun: String, currentDir: String, now: TUFTime) throws(TrustVaultError) {
        guard let (_, root) = try? current.root(), let expiredOn = ExpiredRoot.allCertificatesExpired(root, now: now) else { return }
        throw .invalid(
            ExpiredRoot.serverRule(gun: gun, expiredOn: expiredOn) + "; nothing was written",
            recovery:
                "replace the trust data first: 'trustvault repo refresh \(gun) --current \(Self.shellWord(currentDir)) --out NEWDIR --replace-expired-root'"
                + " (docs/guide-expired-root-certificate.md)")
    }

    /// `repo refresh GUN --current DIR --out DIR --replace-expired-root`: for a repository whose
    /// root certificates have all expired (the server refuses every update), root.json v1 with
    /// the same root keys under new certificates and every targets file carried over (re-signed
    /// when it expires within `window` and its keys are here), uploaded with
    /// `trustvault-online publish OUT --replace-trust-data`. Refused while a root certificate is
    /// still valid: then the server accepts an ordinary renewal.
    public func replaceExpiredRoot(
        gun: String, currentDir: String, out: String, window: Int64 = Verifier.warningSeconds,
        expiries: ExpiryPolicy = .notary, now: TUFTime = .now()
    ) throws(TrustVaultError) -> CeremonyOutput {
        try KeyRole.checkGUN(gun)
        guard pending.isEmpty else {
            throw .invalid(
                "--replace-expired-root builds on the server's metadata only, not on --pending outputs",
                recovery: "leave out --pending; run the other changes after the replacement is published")
        }
        try refuseExistingOutput(out, gun: gun)
        var output = CeremonyOutput()
        var warnings: [String] = []
        let current = try Self.readCurrent(currentDir, gun: gun, now: now, warnings: &warnings)
        output.notes += warnings.filter { !$0.contains("the certificate expired") }.map { "current metadata: " + $0 }
        let (_, root) = try current.root()
        guard let expiredOn = ExpiredRoot.allCertificatesExpired(root, now: now) else {
            let until = root.keys(of: .root).compactMap(\.certificateNotAfter).max()?.display ?? "?"
            throw .invalid(
                "a root certificate of \(gun) in \(currentDir) is valid until \(until): the server still accepts a renewal, so its trust data is not replaced",
                recovery:
                    "renew it with 'trustvault repo refresh \(gun) --current \(Self.shellWord(currentDir)) --out \(Self.shellWord(out))' (without --replace-expired-root)"
            )
        }
        // Every root key must be here: each gets a new certificate signed by itself.
        let all = try vault.records()
        var rootSigners: [any SigningKey] = []
        var certificates: [TUFKey] = []
        for key in root.keys(of: .root) {
            guard let rec = all.first(where: { $0.id == key.displayID }) else {
                throw .notFound(
                    "root key \(key.displayID.prefix(12)) of \(gun) is not in the vault at \(vault.path); every root key needs a new certificate",
                    recovery:
                        "run this on the machine that holds all of \(gun)'s root keys (import them with 'trustvault key import'), or rebuild the repository with 'trustvault repo init'"
                )
            }
            let signer = try vault.signer(for: rec, secrets: secrets)
            rootSigners.append(signer)
            certificates.append(try TUFKey(certificatePEM: try RootCertificate.make(gun: gun, signer: signer, now: now.date)))
        }
        var targets: (any SigningKey)?
        if let rec = try records(forCanonicalIDs: canonicalIDs(root.keys(of: .targets))).first { targets = try vault.signer(for: rec, secrets: secrets) }
        var delegationSigners: [String: [Transitions.RoleSigner]] = [:]
        let limit = now.adding(seconds: window)
        for role in current.delegationRoles {
            // Only roles that need re-signing ask for their keys' passphrases.
            guard let env = try current.envelope(role), let text = env.signed["expires"]?.stringValue, try TUFTime(rfc3339: text) <= limit else { continue }
            var signers: [Transitions.RoleSigner] = []
            for (id, key) in try Transitions.delegationKeys(of: role, in: current).sorted(by: { $0.key < $1.key }) {
                guard let rec = all.first(where: { $0.id == key.displayID }) else { continue }
                signers.append((id, try vault.signer(for: rec, secrets: secrets)))
            }
            delegationSigners[role] = signers
        }
        let result = try Transitions.replaceExpiredRoot(
            current: current, newCertificates: certificates, rootSigners: rootSigners, targetsSigner: targets,
            delegationSigners: delegationSigners, snapshotSigner: try snapshotSigner(root), window: window, expiries: expiries, now: now)
        var plan = CeremonyPlan(gun: gun, current: nil, result: result)
        plan.onlineStep = .none
        try commit(plan, out: out, output: &output)
        output.notes.insert(ExpiredRoot.serverRule(gun: gun, expiredOn: expiredOn), at: 0)
        output.notes.append(
            "this output replaces all of \(gun)'s trust data on the server (root v1, \(result.files.files.count - 1) other file(s));"
                + " keep \(currentDir): it is the copy of what the server holds now")
        output.notes.append(ExpiredRoot.clientAdvice(gun: gun))
        output.onlineCommands.append(Self.publishCommand(out: out, server: serverText, tlsCAFile: tlsCAFile) + " --replace-trust-data")
        return output
    }
}
