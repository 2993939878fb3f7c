import Testing
import TrustCore
import Formats
@testable import Metadata

/// Offline checks of the repository-life transitions (the CLI tests run them against the real notary).
@Suite struct RepositoryLifeUnitTests {
    @Test func durationsParse() throws {
        // One grammar for every --expires: minutes too (issue 19: `tuf init` took 90m, `repo init` did not).
        let cases: [(String, Int64)] = [("90m", 90 * 60), ("12h", 12 * 3600), ("90d", 90 * 86_400), ("26w", 26 * 7 * 86_400), ("3y", 3 * 365 * 86_400)]
        for (text, seconds) in cases {
            #expect(try ExpiryPolicy.parseDuration(text) == seconds)
            #expect(try TUF1.Lifetime.parse(text) == seconds, "the TUF ceremonies read the same grammar")
        }
    }

    @Test(arguments: ["", "d", "0d", "-1d", "1s", "1.5y", "101y", "9999999d", "1 d", "5300000w"])
    func badDurationsAreRefused(text: String) {
        #expect(throws: TrustVaultError.invalid("")) { try ExpiryPolicy.parseDuration(text) }
        #expect(throws: TrustVaultError.invalid("")) { try TUF1.Lifetime.parse(text) }
    }

    @Test func expirySettingsByRole() throws {
        var p = ExpiryPolicy.notary
        try p.set("targets=1y")
        try p.set("delegations=26w")
        #expect(p.lifetime(of: "targets") == 365 * 86_400)
        #expect(p.lifetime(of: "targets/releases") == 26 * 7 * 86_400)
        #expect(p.lifetime(of: "root") == 3650 * 86_400)
        #expect(throws: TrustVaultError.invalid("")) { try p.set("timestamp=1d") }
        #expect(throws: TrustVaultError.invalid("")) { try p.set("targets") }
    }

    /// A 2-of-3 root: the status line names what is missing against both thresholds, and a
    /// three-version chain verifies from v1, naming the step that breaks.
    @Test func thresholdStatusAndRootChain() throws {
        let k = Keys()
        let b = try PrivateKey.generate(.ecdsa), c = try PrivateKey.generate(.ecdsa)
        let gun = "example.com/app"
        let certs = try [k.root, b, c].map { try TUFKey(certificatePEM: RootCertificate.make(gun: gun, signer: $0)) }
        let v1 = try Transitions.newRepository(
            gun: gun, rootKeys: certs, rootThreshold: 2, rootSigners: [k.root], targetsSigner: k.targets,
            snapshotKey: TUFKey(k.snapshot.publicKey), snapshotOnServer: true, timestampKey: TUFKey(k.timestamp.publicKey))
        let status = try #require(v1.rootStatus)
        #expect(!status.complete && status.summary.hasPrefix("new root v1: 1 of 2 signatures — needs one more from"))
        // B signs: complete.
        var set = v1.files
        var env = try #require(try set.envelope("root"))
        let (_, root1) = try set.root()
        for id in Transitions.rootKeyIDs(for: b, in: root1.keys) { try env.sign(with: b, as: id) }
        set.files["root"] = env.encoded()
        #expect(RootSignatureStatus.of(env, root: root1, previous: nil).complete)
        #expect(Verifier.verify(set).problems == [])
        let trusted = set.files["root"]!

        // v2: C replaced by C2, signed by C and C2 (this holder), then A.
        let c2 = try PrivateKey.generate(.ecdsa)
        let c2cert = try TUFKey(certificatePEM: RootCertificate.make(gun: gun, signer: c2))
        let rot = try Transitions.rotateRoot(
            current: set, newRootKeys: [certs[0], certs[1], c2cert], threshold: 2, signers: [c, c2], snapshotSigner: nil)
        #expect(rot.rootStatus?.summary.contains("new root v2: 1 of 2 signatures; previous root v1: 1 of 2 — needs one more") == true)
        var env2 = try #require(try rot.files.envelope("root"))
        let root2 = try Root(json: env2.signed)
        for id in Transitions.rootKeyIDs(for: k.root, in: root2.keys) { try env2.sign(with: k.root, as: id) }
        #expect(RootSignatureStatus.of(env2, root: root2, previous: root1).complete)
        var set2 = set
        set2.files["root"] = env2.encoded()

        // v3: same keys, threshold 3, signed by all.
        let rot3 = try Transitions.rotateRoot(
            current: set2, newRootKeys: [certs[0], certs[1], c2cert], threshold: 3, signers: [k.root, b, c2], snapshotSigner: nil)
        #expect(rot3.rootStatus?.complete == true)
        var set3 = set2
        set3.files["root"] = rot3.files.files["root"]
        set3.rootVersions[2] = env2.encoded()
        let report = Verifier.verify(set3, trustedRoot: trusted)
        #expect(report.problems == [] && report.passed.contains { $0.contains("through v2 → v3") }, "\(report)")
        // v2 signed by only one of v1's keys: the step v1 → v2 is named.
        var weak = env2
        weak.signatures.removeAll { Transitions.rootKeyIDs(for: k.root, in: root2.keys).contains($0.keyID) }
        set3.rootVersions[2] = weak.encoded()
        let broken = Verifier.verify(set3, trustedRoot: trusted)
        #expect(broken.problems.contains { $0.contains("step v1 → v2") && $0.contains("v1 root keys") }, "\(broken)")
    }

    @Test func removingTheLastKeyIsRefusedAndAStuckRoleIsOnlyAWarningForCeremonies() throws {
        let k = Keys()
        var set = try newRepo(k)
        let a = try PrivateKey.generate(.ecdsa)
        set = merged(
            set,
            try Transitions.addDelegation(
                current: set, role: "targets/ci", keys: [TUFKey(a.publicKey)], paths: [], allPaths: true, threshold: nil,
                targetsSigner: k.targets, snapshotSigner: nil
            ).files)
        #expect(throws: TrustVaultError.invalid("")) {
            try Transitions.removeDelegation(
                current: set, role: "targets/ci", keyIDs: [a.publicKey.keyID], targetsSigner: k.targets, snapshotSigner: nil)
        }
        // A stuck role as notary writes it ("keyids":null), signed by the targets key.
        var env = try #require(try set.envelope("targets"))
        var d = env.signed["delegations"]!
        d["roles"] = .array([.obj(["keyids": .null, "name": .string("targets/ci"), "paths": .array([.string("")]), "threshold": .integer(1)])])
        d["keys"] = .object([])
        env.signed["delegations"] = d
        env.signatures = []
        try env.sign(with: k.targets, as: k.targets.publicKey.keyID)
        set.files["targets"] = env.encoded()
        set.files["snapshot"] = nil
        // As the notary client: the role cannot verify and is skipped; the repository stays valid.
        let strict = Verifier.verify(set)
        #expect(strict.problems == [] && strict.warnings.contains { $0.contains("targets/ci has threshold 1 with 0 key(s), so nobody can sign for it") })
        let lenient = Verifier.verify(set, forCeremony: true)
        #expect(lenient.problems == [] && lenient.warnings.contains { $0.contains("nobody can sign for it") })
        // Repair: the whole role removed.
        let fixed = merged(
            set,
            try Transitions.removeDelegation(
                current: set, role: "targets/ci", keyIDs: [], targetsSigner: k.targets, snapshotSigner: nil
            ).files)
        #expect(Verifier.verify(fixed).problems == [])
    }
}
