import Testing
import TrustCore
import Formats
@testable import Metadata

struct Keys {
    let root = try! PrivateKey.generate(.ecdsa)
    let targets = try! PrivateKey.generate(.ecdsa)
    let snapshot = try! PrivateKey.generate(.ecdsa)
    let timestamp = try! PrivateKey.generate(.ed25519)
}

func newRepo(_ k: Keys, gun: String = "example.com/app") throws -> MetadataSet {
    try Transitions.newRepository(
        gun: gun, rootSigner: k.root, targetsSigner: k.targets, snapshotKey: TUFKey(k.snapshot.publicKey),
        snapshotOnServer: false, timestampKey: TUFKey(k.timestamp.publicKey)
    ).files
}

func merged(_ a: MetadataSet, _ b: MetadataSet) -> MetadataSet {
    var out = a
    for (k, v) in b.files { out.files[k] = v }
    return out
}

@Suite struct TransitionTests {
    @Test func newRepositoryVerifies() throws {
        let k = Keys()
        let set = try newRepo(k)
        #expect(Set(set.files.keys) == ["root", "targets"])
        let r = Verifier.verify(set)
        #expect(r.problems == [])
        let (_, root) = try set.root()
        #expect(root.version == 1)
        #expect(root.keys(of: .targets).first?.id == k.targets.publicKey.keyID)
        #expect(try root.keys(of: .root).first?.canonicalID() == k.root.publicKey.keyID)
    }

    @Test func rotateTargetsKeepsTargetsAndChainsToOldRoot() throws {
        let k = Keys()
        var set = try newRepo(k)
        let ci = try PrivateKey.generate(.ecdsa)
        let add = try Transitions.addDelegation(
            current: set, role: "targets/releases", keys: [TUFKey(ci.publicKey)], paths: [], allPaths: true, threshold: nil,
            targetsSigner: k.targets, snapshotSigner: k.snapshot)
        set = merged(set, add.files)
        #expect(Verifier.verify(set).problems == [])
        let newTargets = try PrivateKey.generate(.ecdsa)
        let rot = try Transitions.rotateTargets(current: set, newTargets: newTargets, rootSigners: [k.root], snapshotSigner: k.snapshot)
        #expect(rot.notes == [])
        let after = merged(set, rot.files)
        let report = Verifier.verify(after, trustedRoot: set.files["root"])
        #expect(report.problems == [])
        let (_, t) = try #require(try after.targets())
        #expect(t.version == 3)
        #expect(t.delegations.map(\.name) == ["targets/releases"])
        let (_, root) = try after.root()
        #expect(root.role(.targets).keyIDs == [newTargets.publicKey.keyID])
        #expect(root.keys[k.targets.publicKey.keyID] == nil)
        // The old targets key no longer verifies targets.json.
        #expect(throws: TrustVaultError.invalid("")) {
            try Transitions.addDelegation(
                current: after, role: "targets/x", keys: [TUFKey(ci.publicKey)], paths: ["a"], allPaths: false,
                threshold: nil, targetsSigner: k.targets, snapshotSigner: nil)
        }
    }

    @Test func rootRotationNeedsOldAndNewSignatures() throws {
        let k = Keys()
        let set = try newRepo(k)
        let newRoot = try PrivateKey.generate(.ecdsa)
        let rot = try Transitions.rotateRoot(current: set, newRoot: newRoot, oldRootSigners: [k.root], snapshotSigner: k.snapshot)
        let after = merged(set, rot.files)
        #expect(Verifier.verify(after, trustedRoot: set.files["root"]).problems == [])
        let (env, root) = try after.root()
        #expect(env.signatures.count == 2)
        #expect(root.keys.values.filter(\.isCertificate).count == 2)  // old certificate kept
        // Without the old key's signature the chain breaks.
        var onlyNew = env
        onlyNew.signatures.removeAll { sig in
            sig.keyID == Transitions.rootKeyID(for: k.root, in: root)
        }
        var broken = after
        broken.files["root"] = onlyNew.encoded()
        broken.files.removeValue(forKey: "snapshot")
        let r = Verifier.verify(broken, trustedRoot: set.files["root"])
        #expect(r.problems.contains { $0.contains("against the trusted root") })
    }

    @Test func rootSignThresholdTwoNotes() throws {
        let k = Keys()
        let set = try newRepo(k)
        let (_, root0) = try set.root()
        var root = root0
        let second = try PrivateKey.generate(.ecdsa)
        let cert2 = try TUFKey(certificatePEM: RootCertificate.make(gun: set.gun, signer: second))
        root.keys[cert2.id] = cert2
        root.roles["root"] = RoleKeys(keyIDs: root0.role(.root).keyIDs + [cert2.id], threshold: 2)
        root.version = 2
        var notes: [String] = []
        var env = try Transitions.signRoot(root, signers: [k.root], previous: root0, notes: &notes)
        #expect(notes.count == 1)
        #expect(throws: TrustVaultError.verification("")) {
            try env.verify(role: root.role(.root), keys: root.keys, name: "root")
        }
        try env.sign(with: second, as: cert2.id)
        try env.verify(role: root.role(.root), keys: root.keys, name: "root")
    }

    @Test func delegationRemoveAndBadNames() throws {
        let k = Keys()
        var set = try newRepo(k)
        let a = try PrivateKey.generate(.ecdsa), b = try PrivateKey.generate(.ecdsa)
        set = merged(
            set,
            try Transitions.addDelegation(
                current: set, role: "targets/ci", keys: [TUFKey(a.publicKey), TUFKey(b.publicKey)], paths: ["v"], allPaths: false,
                threshold: 2, targetsSigner: k.targets, snapshotSigner: nil
            ).files)
        set = merged(
            set,
            try Transitions.removeDelegation(
                current: set, role: "targets/ci", keyIDs: [String(b.publicKey.keyID.prefix(10))], targetsSigner: k.targets, snapshotSigner: nil
            ).files)
        var (_, t) = try #require(try set.targets())
        #expect(t.delegations.first?.keyIDs == [a.publicKey.keyID])
        #expect(t.delegations.first?.threshold == 1)
        #expect(t.delegationKeys.count == 1)
        set = merged(
            set,
            try Transitions.removeDelegation(
                current: set, role: "targets/ci", keyIDs: [], targetsSigner: k.targets, snapshotSigner: nil
            ).files)
        (_, t) = try #require(try set.targets())
        #expect(t.delegations.isEmpty && t.delegationKeys.isEmpty)
        for bad in ["releases", "targets/A", "targets/a/b", "targets/", "targets/a b"] {
            #expect(throws: TrustVaultError.invalid("")) {
                try Transitions.addDelegation(
                    current: set, role: bad, keys: [TUFKey(a.publicKey)], paths: [], allPaths: true, threshold: nil,
                    targetsSigner: k.targets, snapshotSigner: nil)
            }
        }
        #expect(throws: TrustVaultError.invalid("")) {
            try Transitions.addDelegation(
                current: set, role: "targets/x", keys: [TUFKey(a.publicKey)], paths: [], allPaths: true, threshold: 2,
                targetsSigner: k.targets, snapshotSigner: nil)
        }
    }
}
