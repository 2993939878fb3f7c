import Testing
import Foundation
import TrustCore
import Formats
@testable import Metadata

/// `inspect`'s rules without peers: verification first, docker's ordering and layout, the policy's
/// name rules. The byte-for-byte comparison with the real docker CLI is in TrustVaultCLITests
/// (`DockerInspectTests`).
@Suite struct InspectTests {
    @Test func realNotaryRepositoryShowsAsDockerDoes() throws {
        let repo = try VerifiedRepository(vectorSet(), now: vectorNow)
        let view = DockerTrustView(repo)
        #expect(view.signedTags.map(\.tag) == ["v1<&>"])
        #expect(view.signedTags.first?.signers == [])
        #expect(view.pretty.hasPrefix("\nSignatures for example.com/ref\n\nSIGNED TAG   DIGEST "))
        #expect(view.pretty.contains("v1<&>        "))
        #expect(view.pretty.contains("   (Repo Admin)\n"))
        #expect(!view.pretty.contains("List of signers"))
        let rootLine = "  Root Key:\t\(repo.root.role(.root).keyIDs[0])\n"
        #expect(view.pretty.hasSuffix(rootLine))
        // Go's encoding/json escapes <, > and & in the JSON view.
        #expect(view.json.contains(#""SignedTag": "v1\u003c\u0026\u003e""#))
        #expect(view.json.contains("\"Signers\": []"))
        #expect(view.json.hasSuffix("    }\n]\n"))
        let parsed = try JSONSerialization.jsonObject(with: Data(view.json.utf8)) as? [[String: Any]]
        #expect(parsed?.first?["Name"] as? String == "example.com/ref")
        // A tag that is not there: docker's empty case.
        let none = DockerTrustView(repo, tag: "v2")
        #expect(none.pretty.hasPrefix("\nNo signatures for example.com/ref:v2\n\n\nAdministrative keys for example.com/ref:v2\n\n"))
        #expect(none.json.contains("\"SignedTags\": []"))
    }

    @Test func expiriesViewShowsBothRootKeyIDs() throws {
        let repo = try VerifiedRepository(vectorSet(), now: vectorNow)
        let key = try #require(repo.root.keys(of: .root).first)
        #expect(key.id != key.displayID)
        #expect(repo.expiriesText.contains("\(key.id)   \(key.displayID)\n"))
        #expect(repo.expiries.map(\.role).contains("timestamp"))
    }

    @Test func forgedTagIsAnErrorNotARow() throws {
        var set = vectorSet()
        let env = try SignedMetadata(parsing: set.files["targets"]!, name: "targets.json")
        guard case .object(var members) = env.signed, let i = members.firstIndex(where: { $0.key == "targets" }),
            case .object(var targets) = members[i].value
        else { Issue.record("no targets object"); return }
        targets.append(.init("evil", targets[0].value))
        members[i].value = .object(targets)
        var forged = env
        forged.signed = .object(members)
        set.files["targets"] = forged.encoded()
        // The signature no longer holds (and snapshot.json's hash no longer matches).
        let problems = Verifier.verify(set, now: vectorNow).problems
        #expect(problems.first?.contains("targets.json") == true && problems.count == 2, "\(problems)")
        do {
            _ = try VerifiedRepository(set, now: vectorNow)
            Issue.record("a forged targets.json was accepted")
        } catch {
            #expect(error.code == .verificationFailed)
            #expect(error.message.contains("targets.json"), "\(error.message)")
        }
    }

    @Test func foreignGUNIsRefusedNamingBothRootKeyIDs() throws {
        var set = vectorSet()
        set.gun = "example.com/other"
        let key = try #require(try set.root().1.keys(of: .root).first)
        do {
            _ = try VerifiedRepository(set, now: vectorNow)
            Issue.record("a foreign GUN was accepted")
        } catch {
            #expect(error.message.contains("root.json: root key \(key.id.prefix(12)) (vault key ID \(key.displayID.prefix(12)))"), "\(error.message)")
            #expect(error.message.contains("does not match the GUN"))
        }
    }

    @Test func naturalOrderIsDockers() {
        #expect(NaturalOrder.less("v2", "v10"))
        #expect(!NaturalOrder.less("v10", "v2"))
        #expect(NaturalOrder.less("2", "02"))
        #expect(NaturalOrder.less("ab1", "abc1"))
        #expect(NaturalOrder.less("1.9", "1.10"))
        #expect(NaturalOrder.less("latest", "latest2"))
        #expect(!NaturalOrder.less("a", "a"))
        let tags = ["v10", "v9", "1.10", "1.9", "latest", "V1"].sorted(by: NaturalOrder.less)
        #expect(tags == ["1.9", "1.10", "V1", "latest", "v9", "v10"])
    }

    @Test func tabWriterPadsAsDockersTables() {
        #expect(GoTabWriter.table(["SIGNER", "KEYS"], [["alice", "abc"]]) == "SIGNER    KEYS\nalice     abc\n")
        #expect(
            GoTabWriter.table(["SIGNER", "KEYS"], [["continuous-integration", "abc"]])
                == "SIGNER                   KEYS\ncontinuous-integration   abc\n")
    }

    @Test func policyNamesAreSignerRolesNeverReleases() throws {
        let p = try SigningPolicy(teams: [["alice", "targets/bob"], ["carol"]])
        #expect(p.teams == [["alice", "bob"], ["carol"]])
        for bad in [["releases"], ["targets/releases"], [""], ["Alice"], ["a b"]] {
            #expect(throws: TrustVaultError.self) { try SigningPolicy(teams: [bad]) }
        }
        // targets (the repository key) alone never meets a team: v1<&> is only in targets.
        let repo = try VerifiedRepository(vectorSet(), now: vectorNow)
        let r = try SigningPolicy(teams: [["alice"]]).evaluate(repo, tag: "v1<&>")
        #expect(r.releasedIn == "targets")
        #expect(!r.isMet)
        #expect(r.teams.first?.signedBy == [])
        let missing = p.evaluate(repo, tag: "nope")
        #expect(missing.digest == nil && !missing.isMet)
    }
}
