import Testing
import Foundation
import TrustCore
import Formats
@testable import Metadata

/// A repository built in-process with tags in targets, targets/releases and named delegations
/// (the same shapes as the peer test in TrustVaultCLITests, without peers): the policy per team
/// shape, honest counts, absent and unpublished delegation files.
struct PolicyRepo {
    let k = Keys()
    let alice = try! PrivateKey.generate(.ecdsa)
    let bob = try! PrivateKey.generate(.ecdsa)
    let carol = try! PrivateKey.generate(.ecdsa)
    let set: MetadataSet
    static func digest(_ payload: String) -> String { Hex.encode(FileMeta(of: Array(payload.utf8)).hashes["sha256"]!) }

    init() throws {
        var set = try newRepo(k)
        let expires = TUFTime.now().adding(days: 365)
        func file(_ json: JSONValue, _ key: PrivateKey) throws -> [UInt8] {
            var env = SignedMetadata(signed: json)
            try env.sign(with: key, as: TUFKey(key.publicKey).id)
            return env.encoded()
        }
        func entries(_ tags: [(String, String)]) -> [TargetEntry] {
            tags.map { TargetEntry(name: $0.0, meta: FileMeta(of: Array($0.1.utf8))) }
        }
        let (a, b, c) = (TUFKey(alice.publicKey), TUFKey(bob.publicKey), TUFKey(carol.publicKey))
        let targets = Targets(
            expires: expires, version: 2, targets: entries([("v1", "p1")]),
            delegationKeys: [a.id: a, b.id: b, c.id: c],
            delegations: [
                DelegatedRole(name: "targets/releases", keyIDs: [a.id, b.id], paths: [""]),
                DelegatedRole(name: "targets/alice", keyIDs: [a.id], paths: [""]),
                DelegatedRole(name: "targets/bob", keyIDs: [b.id], paths: [""]),
                DelegatedRole(name: "targets/carol", keyIDs: [c.id], paths: [""]),
            ])
        set.files["targets"] = try file(targets.json, k.targets)
        set.files["targets/releases"] = try file(
            Targets(expires: expires, version: 1, targets: entries([("v2", "p2"), ("v3", "p3"), ("v5", "p2"), ("v6", "p6")])).json, alice)
        set.files["targets/alice"] = try file(
            Targets(expires: expires, version: 1, targets: entries([("v2", "p2"), ("v5", "p2"), ("v6", "p6")])).json, alice)
        set.files["targets/bob"] = try file(
            Targets(expires: expires, version: 1, targets: entries([("v4", "p4"), ("v5", "p2"), ("v6", "p7")])).json, bob)
        var meta: [String: FileMeta] = [:]
        for (role, bytes) in set.files { meta[role] = FileMeta(of: bytes) }
        set.files["snapshot"] = try file(MetaListing(type: "Snapshot", expires: expires, meta: meta, version: 1).json, k.snapshot)
        self.set = set
    }
}

@Suite struct PolicyTests {
    let repo: PolicyRepo
    let verified: VerifiedRepository
    init() throws {
        repo = try PolicyRepo()
        verified = try VerifiedRepository(repo.set)
    }

    func evaluate(_ tag: String, _ teams: [[String]]) throws -> SigningPolicy.Result {
        try SigningPolicy(teams: teams).evaluate(verified, tag: tag)
    }

    @Test func oneSigner() throws {
        #expect(try evaluate("v2", [["alice"]]).isMet)
        #expect(try evaluate("v2", [["alice"]]).teams[0].signedBy == ["alice"])
        #expect(try !evaluate("v2", [["bob"]]).isMet)
    }

    @Test func twoTeams() throws {
        #expect(try evaluate("v5", [["alice"], ["bob"]]).isMet)
        let r = try evaluate("v2", [["alice"], ["bob"]])
        #expect(!r.isMet && r.teams.map(\.isMet) == [true, false])
        #expect(r.lines.contains("team 2 (bob): NOT met, no signer of this team signed v2 with this digest in its own role"))
    }

    @Test func teamOfTwo() throws {
        let r = try evaluate("v5", [["bob", "alice"]])
        #expect(r.isMet && r.teams[0].signedBy == ["bob", "alice"])
        #expect(try evaluate("v2", [["carol", "alice"]]).isMet)
        #expect(try !evaluate("v2", [["carol", "bob"]]).isMet)
        // Spaces after commas are fine; a name that is no signer at all is pointed out.
        let typo = try evaluate("v2", [[" alice", "dave "]])
        #expect(typo.isMet && typo.teams[0].signers == ["alice", "dave"] && typo.teams[0].unknown == ["dave"])
        #expect(try evaluate("v2", [["dave"]]).lines.last?.hasSuffix("; not a signer of example.com/app: dave") == true)
    }

    @Test func releasesAndTheRepositoryKeyNeverCount() throws {
        // v3 is only in targets/releases (signed with alice's key): no team is met.
        let r3 = try evaluate("v3", [["alice", "bob"]])
        #expect(r3.releasedIn == "targets/releases" && r3.digest == PolicyRepo.digest("p3") && !r3.isMet)
        // v1 is only in targets (the repository key).
        let r1 = try evaluate("v1", [["alice"]])
        #expect(r1.releasedIn == "targets" && !r1.isMet)
        #expect(throws: TrustVaultError.self) { try SigningPolicy(teams: [["releases"]]) }
    }

    @Test func anotherDigestDoesNotCount() throws {
        let r = try evaluate("v6", [["bob"]])
        #expect(!r.isMet && r.otherDigests == ["targets/bob": PolicyRepo.digest("p7")])
        #expect(try evaluate("v6", [["alice"]]).isMet)
    }

    @Test func missingOrUnreleasedTagMeetsNothing() throws {
        for tag in ["v99", "v4"] {
            let r = try evaluate(tag, [["bob"]])
            #expect(r.digest == nil && !r.isMet && r.teams[0].signedBy == [], "\(tag)")
            #expect(r.lines[0].contains("not released"))
        }
    }

    @Test func dockerViewOfTheSameRepository() {
        let view = DockerTrustView(verified)
        #expect(view.signedTags.map(\.tag) == ["v1", "v2", "v3", "v5", "v6"])
        #expect(view.signedTags.map(\.signers) == [[], ["alice"], [], ["alice", "bob"], ["alice"]])
        // Every declared delegation but releases is a signer, also carol who has signed nothing yet.
        #expect(view.signers.map(\.name) == ["alice", "bob", "carol"])
        #expect(view.pretty.contains("\nSIGNER    KEYS\nalice     "))
        #expect(DockerTrustView(verified, tag: "v4").signedTags.isEmpty)
    }

    @Test func verifyCountsWhatItCheckedAndNamesWhatIsAbsent() throws {
        let report = verified.report
        #expect(report.checked == ["root.json", "targets.json", "targets/releases.json", "targets/alice.json", "targets/bob.json", "snapshot.json"])
        #expect(report.unpublished == ["targets/carol"] && report.absent == [] && report.isComplete)
        #expect(report.passed.contains { $0.contains("lists 5 file(s); hashes of the 5 present match") })

        var partial = repo.set
        partial.files["targets/bob"] = nil
        let r = Verifier.verify(partial)
        #expect(r.isValid && !r.isComplete && r.absent == ["targets/bob"])
        #expect(r.checked.count == 5)
        #expect(
            r.passed.contains {
                $0.contains(
                    "lists 5 file(s); hashes of the 4 present match (root.json, targets.json, targets/alice.json, targets/releases.json); not in the directory: targets/bob.json"
                )
            }, "\(r.passed)")
        do {
            _ = try VerifiedRepository(partial)
            Issue.record("a missing delegation file was skipped")
        } catch {
            #expect(error.code == .notFound && error.message.hasPrefix("targets/bob.json is listed in snapshot.json"))
            #expect(error.recovery?.contains("/_trust/tuf/targets/bob.json") == true)
        }
    }

    @Test func forgedDelegationTagIsRefused() throws {
        var forged = repo.set
        var env = try SignedMetadata(parsing: forged.files["targets/alice"]!, name: "targets/alice.json")
        var t = try Targets(json: env.signed, name: "targets/alice.json")
        t.targets.append(TargetEntry(name: "v3", meta: FileMeta(of: Array("p3".utf8))))
        env.signed = t.json
        forged.files["targets/alice"] = env.encoded()
        do {
            _ = try VerifiedRepository(forged)
            Issue.record("a forged delegation was accepted")
        } catch {
            #expect(error.code == .verificationFailed && error.message.contains("targets/alice.json"), "\(error.message)")
        }
    }
}
