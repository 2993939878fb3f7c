import Testing
import TrustCore
import Formats
@testable import Metadata

/// The replacement for a repository whose root certificates all expired (the CLI test runs it
/// against the real notary-server and notary client).
@Suite struct ExpiredRootTests {
    let gun = "example.com/app"

    /// A repository made ten years and a minute ago: its certificate and root.json have expired.
    func expiredRepository(_ k: Keys, targetsLifetime: String, now: TUFTime) throws -> (MetadataSet, TUFKey) {
        let made = now.adding(seconds: -3650 * 86_400 - 60)
        var policy = ExpiryPolicy.notary
        try policy.set("targets=" + targetsLifetime)
        let cert = try TUFKey(certificatePEM: RootCertificate.make(gun: gun, signer: k.root, now: made.date))
        let repo = try Transitions.newRepository(
            gun: gun, rootKeys: [cert], rootThreshold: 1, rootSigners: [k.root], targetsSigner: k.targets,
            snapshotKey: TUFKey(k.snapshot.publicKey), snapshotOnServer: false, timestampKey: TUFKey(k.timestamp.publicKey),
            expiries: policy, now: made)
        return (repo.files, cert)
    }

    @Test func replacementIsRootV1ForTheSameKeyWithTargetsCarriedOver() throws {
        let k = Keys()
        let now = TUFTime.now()
        let (current, oldCert) = try expiredRepository(k, targetsLifetime: "11y", now: now)
        let (_, oldRoot) = try current.root()
        #expect(ExpiredRoot.allCertificatesExpired(oldRoot, now: now) != nil)
        #expect(ExpiredRoot.allCertificatesExpired(oldRoot, now: now.adding(seconds: -3650 * 86_400)) == nil)
        #expect(!Verifier.verify(current, now: now).problems.isEmpty)

        let newCert = try TUFKey(certificatePEM: RootCertificate.make(gun: gun, signer: k.root, now: now.date))
        let r = try Transitions.replaceExpiredRoot(
            current: current, newCertificates: [newCert], rootSigners: [k.root], targetsSigner: nil, delegationSigners: [:],
            snapshotSigner: k.snapshot, window: Verifier.warningSeconds, now: now)
        let (_, root) = try r.files.root()
        #expect(root.version == 1 && r.rootStatus?.complete == true)
        #expect(root.keys(of: .root).map(\.id) == [newCert.id] && root.keys[oldCert.id] == nil, "only the new certificate")
        #expect(root.keys(of: .root).map(\.displayID) == oldRoot.keys(of: .root).map(\.displayID), "the same root key")
        for base in [BaseRole.targets, .snapshot, .timestamp] { #expect(root.role(base).keyIDs == oldRoot.role(base).keyIDs) }
        #expect(r.files.files["targets"] == current.files["targets"], "targets.json valid for a year: carried byte for byte")
        #expect(r.files.files["snapshot"] != nil)
        let report = Verifier.verify(r.files, now: now)
        #expect(report.problems == [], "\(report.problems)")
    }

    @Test func anExpiredTargetsFileIsReSignedOrRefused() throws {
        let k = Keys()
        let now = TUFTime.now()
        let (current, _) = try expiredRepository(k, targetsLifetime: "3y", now: now)
        let newCert = try TUFKey(certificatePEM: RootCertificate.make(gun: gun, signer: k.root, now: now.date))
        // Without the targets key: refused (the server refuses an expired file).
        #expect(throws: TrustVaultError.notFound("")) {
            try Transitions.replaceExpiredRoot(
                current: current, newCertificates: [newCert], rootSigners: [k.root], targetsSigner: nil, delegationSigners: [:],
                snapshotSigner: k.snapshot, window: Verifier.warningSeconds, now: now)
        }
        // With it: version + 1 and a fresh expiry.
        let r = try Transitions.replaceExpiredRoot(
            current: current, newCertificates: [newCert], rootSigners: [k.root], targetsSigner: k.targets, delegationSigners: [:],
            snapshotSigner: k.snapshot, window: Verifier.warningSeconds, now: now)
        let targets = try #require(try r.files.envelope("targets"))
        #expect(targets.signed["version"]?.intValue == 2)
        #expect(Verifier.verify(r.files, now: now).problems == [])
    }
}
