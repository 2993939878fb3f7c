import Testing
import TrustCore
import Formats
@testable import Metadata

/// Reading repositories as notary clients do: files that are present but not trusted are named,
/// their targets never count, and everything else verifies (LenientReading.swift).
@Suite struct LenientReadingTests {
    /// A delegation file with `tags`, signed by `signer`.
    func delegationFile(
        tags: [String], signer: PrivateKey, version: Int = 1, expires: TUFTime = TUFTime.now().adding(days: 365), signed: Bool = true
    ) throws -> [UInt8] {
        let t = Targets(expires: expires, version: version, targets: tags.map { TargetEntry(name: $0, meta: FileMeta(of: Array($0.utf8))) })
        var env = SignedMetadata(signed: t.json)
        if signed { try env.sign(with: signer, as: signer.publicKey.keyID) }
        return env.encoded()
    }

    /// A repository with targets/ci (key `ci`) whose file signs `build-42`; no snapshot (server-made).
    func repoWithCI(_ k: Keys, ci: PrivateKey) throws -> MetadataSet {
        var set = try newRepo(k)
        let add = try Transitions.addDelegation(
            current: set, role: "targets/ci", keys: [TUFKey(ci.publicKey)], paths: [], allPaths: true, threshold: nil,
            targetsSigner: k.targets, snapshotSigner: nil)
        set = merged(set, add.files)
        set.files["targets/ci"] = try delegationFile(tags: ["build-42"], signer: ci)
        return set
    }

    func tags(_ set: MetadataSet, _ role: String) throws -> [String]? {
        try VerifiedRepository(set).targets(of: role)?.targets.map(\.name)
    }

    @Test func aRemovedRolesFileIsNamedAndIgnored() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        #expect(try tags(set, "targets/ci") == ["build-42"])
        let removed = try Transitions.removeDelegation(current: set, role: "targets/ci", keyIDs: [], targetsSigner: k.targets, snapshotSigner: nil)
        set = merged(set, removed.files)  // the server keeps serving targets/ci.json
        let report = Verifier.verify(set)
        #expect(report.problems == [])
        #expect(report.untrusted.map(\.role) == ["targets/ci"])
        #expect(report.untrusted.first?.reason.contains("no role delegates to it") == true, "\(report.untrusted)")
        #expect(report.untrusted.first?.line.hasPrefix("not trusted: targets/ci.json, because ") == true)
        let repo = try VerifiedRepository(set)
        #expect(repo.targets(of: "targets/ci") == nil)
        #expect(!repo.report.checked.contains("targets/ci.json"))
    }

    @Test func aFileSignedOnlyByARemovedKeyIsNotTrustedUntilReset() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa), ci2 = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        // The new CI key is added, the old one removed: targets/ci.json is still signed by the old one.
        let add = try Transitions.addDelegation(
            current: set, role: "targets/ci", keys: [TUFKey(ci2.publicKey)], paths: [], allPaths: true, threshold: nil,
            targetsSigner: k.targets, snapshotSigner: nil)
        set = merged(set, add.files)
        let rm = try Transitions.removeDelegation(
            current: set, role: "targets/ci", keyIDs: [ci.publicKey.keyID], targetsSigner: k.targets, snapshotSigner: nil)
        set = merged(set, rm.files)
        let report = Verifier.verify(set)
        #expect(report.problems == [])
        let reason = try #require(report.untrusted.first { $0.role == "targets/ci" }?.reason)
        #expect(reason.contains("0 valid signature(s) from the role's current keys, 1 required"), "\(reason)")
        #expect(reason.contains(String(ci.publicKey.keyID.prefix(12))), "names the removed key: \(reason)")
        #expect(try tags(set, "targets/ci") == nil)
        // The policy never counts it, and says why.
        let released = try Transitions.addDelegation(
            current: set, role: "targets/releases", keys: [TUFKey(ci2.publicKey)], paths: [], allPaths: true, threshold: nil,
            targetsSigner: k.targets, snapshotSigner: nil)
        set = merged(set, released.files)
        set.files["targets/releases"] = try delegationFile(tags: ["build-42"], signer: ci2)
        let policy = try SigningPolicy(teams: [["ci"]]).evaluate(try VerifiedRepository(set), tag: "build-42")
        #expect(!policy.isMet)
        #expect(policy.lines.joined().contains("not trusted, so not counted: targets/ci.json"), "\(policy.lines)")

        // The review lists the tag with the removed key's signature as not verified.
        var current = set
        for u in Verifier.verify(set, forCeremony: true).untrusted { current.untrusted[u.role] = u.reason }
        let review = try Transitions.reviewDelegation(current: current, role: "targets/ci")
        #expect(review.version == 1 && !review.isTrusted && review.delegated)
        #expect(review.tags.map(\.name) == ["build-42"])
        #expect(review.signatures.map(\.status) == [.notACurrentKey])
        // Refresh never re-signs it (that would make build-42 count again).
        #expect(throws: TrustVaultError.verification("")) {
            try Transitions.refresh(
                current: current, roles: ["targets/ci"], renewedCertificates: [], rootSigners: [], targetsSigner: nil,
                delegationSigners: ["targets/ci": [(ci2.publicKey.keyID, ci2)]], snapshotSigner: nil)
        }
        #expect(try !Transitions.expiring(current, window: 100 * 365 * 86_400, now: .now(), includeSnapshot: false).contains("targets/ci"))

        // Reset with the new key, keeping nothing: v2, trusted, empty.
        let none = try Transitions.resetDelegation(
            current: current, role: "targets/ci", signers: [(ci2.publicKey.keyID, ci2)], keep: [], snapshotSigner: nil)
        let afterNone = merged(set, none.files)
        #expect(Verifier.verify(afterNone).untrusted == [])
        #expect(try tags(afterNone, "targets/ci") == [])
        #expect(try afterNone.targets("targets/ci")?.1.version == 2)
        // Reset keeping build-42 after review: it counts again, re-signed by the current key.
        let kept = try Transitions.resetDelegation(
            current: current, role: "targets/ci", signers: [(ci2.publicKey.keyID, ci2)], keep: ["build-42"], snapshotSigner: nil)
        let afterKeep = merged(set, kept.files)
        #expect(try tags(afterKeep, "targets/ci") == ["build-42"])
        #expect(try SigningPolicy(teams: [["ci"]]).evaluate(try VerifiedRepository(afterKeep), tag: "build-42").isMet)
        // A tag that is not in the file, the removed key, a role nobody delegates: refused.
        #expect(throws: TrustVaultError.notFound("")) {
            try Transitions.resetDelegation(current: current, role: "targets/ci", signers: [(ci2.publicKey.keyID, ci2)], keep: ["nope"], snapshotSigner: nil)
        }
        #expect(throws: TrustVaultError.invalid("")) {
            try Transitions.resetDelegation(current: current, role: "targets/ci", signers: [(ci.publicKey.keyID, ci)], keep: [], snapshotSigner: nil)
        }
        #expect(throws: TrustVaultError.notFound("")) {
            try Transitions.resetDelegation(current: current, role: "targets/gone", signers: [(ci2.publicKey.keyID, ci2)], keep: [], snapshotSigner: nil)
        }
    }

    @Test func anExpiredDelegationIsNotTrustedButACeremonyMayRenewIt() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        set.files["targets/ci"] = try delegationFile(tags: ["build-42"], signer: ci, expires: TUFTime.now().adding(days: -1))
        let strict = Verifier.verify(set)
        #expect(strict.problems == [])
        #expect(strict.untrusted.first?.reason.hasPrefix("it expired on ") == true, "\(strict.untrusted)")
        #expect(try tags(set, "targets/ci") == nil)
        // A ceremony reads it as expired but authentic, so 'repo refresh' can re-sign it.
        let ceremony = Verifier.verify(set, forCeremony: true)
        #expect(ceremony.problems == [] && ceremony.untrusted == [])
        #expect(ceremony.warnings.contains { $0.contains("targets/ci.json expired") })
    }

    @Test func noSignaturesAtAllStayFatalAsInNotary() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        set.files["targets/ci"] = try delegationFile(tags: ["build-42"], signer: ci, signed: false)
        let report = Verifier.verify(set)
        #expect(report.problems.contains { $0.contains("targets/ci.json has no signatures") }, "\(report.problems)")
    }

    @Test func rolesBelowAnUntrustedRoleAreNotTrustedEither() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa), other = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        // targets/ci delegates to targets/ci/nightly, but targets/ci.json is signed by a foreign key.
        var t = Targets(expires: TUFTime.now().adding(days: 30), version: 2)
        t.delegationKeys[ci.publicKey.keyID] = TUFKey(ci.publicKey)
        t.delegations = [DelegatedRole(name: "targets/ci/nightly", keyIDs: [ci.publicKey.keyID], paths: [""])]
        var env = SignedMetadata(signed: t.json)
        try env.sign(with: other, as: ci.publicKey.keyID)  // claims ci's ID; the signature fails
        set.files["targets/ci"] = env.encoded()
        set.files["targets/ci/nightly"] = try delegationFile(tags: ["n1"], signer: ci)
        let report = Verifier.verify(set)
        #expect(report.problems == [])
        #expect(Set(report.untrusted.map(\.role)) == ["targets/ci", "targets/ci/nightly"])
        #expect(report.untrusted.first { $0.role == "targets/ci/nightly" }?.reason == "the role above it, targets/ci, is not trusted")
        #expect(try VerifiedRepository(set).roles.map(\.name) == ["targets"])
    }

    @Test func aRoleWithFewerKeysThanItsThresholdIsSkippedNotFatal() throws {
        let k = Keys(), ci = try PrivateKey.generate(.ecdsa)
        var set = try repoWithCI(k, ci: ci)
        // What 'notary delegation remove GUN ROLE KEYID' on the last key publishes: "keyids": null.
        var env = try #require(try set.envelope("targets"))
        var d = try #require(env.signed["delegations"])
        d["roles"] = .array([.obj(["keyids": .null, "name": .string("targets/ci"), "paths": .array([.string("")]), "threshold": .integer(1)])])
        d["keys"] = .object([])
        env.signed["delegations"] = d
        env.signatures = []
        try env.sign(with: k.targets, as: k.targets.publicKey.keyID)
        set.files["targets"] = env.encoded()
        let report = Verifier.verify(set)
        #expect(report.problems == [])
        #expect(report.warnings.contains { $0.contains("targets/ci has threshold 1 with 0 key(s), so nobody can sign for it") })
        #expect(report.untrusted == [UntrustedFile(role: "targets/ci", reason: "targets.json gives it threshold 1 with 0 key(s), so no file can verify")])
        #expect(try VerifiedRepository(set).roles.map(\.name) == ["targets"])
    }
}
