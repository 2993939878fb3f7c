public import TrustCore
internal import Foundation

/// UCP's "run only images signed by a member of each of these teams", evaluated offline on a
/// ``VerifiedRepository``. A team is a list of signer names (delegation roles `targets/<name>`);
/// it is met when at least one of its signers signed the tag with the digest `docker pull`
/// resolves, in that signer's own role. `targets/releases` (anyone with a delegation key may sign
/// it) and the repository key (`targets`) never count.
public struct SigningPolicy: Sendable, Hashable {
    public var teams: [[String]]

    /// `teams`: one entry per team, each the signer names (`alice` or `targets/alice`).
    public init(teams: [[String]]) throws(TrustVaultError) {
        var list: [[String]] = []
        for (i, team) in teams.enumerated() {
            var names: [String] = []
            for untrimmed in team {
                let raw = untrimmed.trimmingCharacters(in: .whitespaces)
                let name = raw.hasPrefix("targets/") ? String(raw.dropFirst("targets/".count)) : raw
                guard !name.isEmpty, DelegatedRole.isValidName("targets/" + name) else {
                    throw .invalid(
                        "team \(i + 1): \"\(raw)\" is not a signer name",
                        recovery: "give the names 'docker trust inspect' lists under SIGNER, e.g. --require-signer alice,bob")
                }
                guard name != "releases" else {
                    throw .invalid(
                        "team \(i + 1): targets/releases never satisfies a team (any delegated signer may sign it)",
                        recovery: "name the team's own signers, e.g. --require-signer alice,bob")
                }
                if !names.contains(name) { names.append(name) }
            }
            guard !names.isEmpty else { throw .invalid("team \(i + 1) names no signer") }
            list.append(names)
        }
        self.teams = list
    }

    public struct TeamResult: Sendable, Hashable {
        public var signers: [String]
        /// The team's signers that signed the tag and digest in their own role.
        public var signedBy: [String]
        /// The team's names that are no delegation of the repository at all (a typo?).
        public var unknown: [String] = []
        /// The team's roles whose files are present but not trusted (their tags never count), with why.
        public var untrusted: [String] = []
        public var isMet: Bool { !signedBy.isEmpty }
    }

    public struct Result: Sendable, Hashable {
        public var gun: String
        public var tag: String
        /// The digest `docker pull` resolves and the role it comes from; nil when the tag is not
        /// released (not in `targets/releases` nor `targets`).
        public var digest: String?
        public var releasedIn: String?
        /// Roles that have the tag with another digest (never counted).
        public var otherDigests: [String: String] = [:]
        public var teams: [TeamResult]
        public var isMet: Bool { digest != nil && teams.allSatisfy(\.isMet) }

        public var lines: [String] {
            var out: [String] = []
            if let digest, let releasedIn {
                out.append("tag \(tag): digest \(digest) (released in \(releasedIn))")
            } else {
                out.append("tag \(tag): not released in \(gun) (neither targets nor targets/releases signed it); docker pull would refuse it")
            }
            for (role, d) in otherDigests.sorted(by: { $0.key < $1.key }) {
                out.append("tag \(tag): \(role) signed another digest \(d); not counted")
            }
            for (i, t) in teams.enumerated() {
                let who = t.signers.joined(separator: ", ")
                if t.isMet {
                    out.append("team \(i + 1) (\(who)): met, signed by \(t.signedBy.joined(separator: ", "))")
                } else {
                    var line = "team \(i + 1) (\(who)): NOT met, no signer of this team signed \(tag) with this digest in its own role"
                    if !t.unknown.isEmpty { line += "; not a signer of \(gun): " + t.unknown.joined(separator: ", ") }
                    if !t.untrusted.isEmpty { line += "; not trusted, so not counted: " + t.untrusted.joined(separator: "; ") }
                    out.append(line)
                }
            }
            return out
        }

        public var json: JSONValue {
            .obj([
                "tag": .string(tag),
                "digest": digest.map { .string($0) } ?? .null,
                "releasedIn": releasedIn.map { .string($0) } ?? .null,
                "met": .bool(isMet),
                "teams": .array(
                    teams.map {
                        .obj([
                            "signers": .array($0.signers.map { .string($0) }), "met": .bool($0.isMet),
                            "signedBy": .array($0.signedBy.map { .string($0) }), "unknown": .array($0.unknown.map { .string($0) }),
                        ])
                    }),
            ])
        }
    }

    public func evaluate(_ repo: VerifiedRepository, tag: String) -> Result {
        let released = repo.releasedTarget(tag)
        var others: [String: String] = [:]
        let teams = teams.map { team in
            var by: [String] = []
            for name in team {
                guard let released, let digest = repo.targets(of: "targets/" + name)?.sha256Hex(of: tag) else { continue }
                if digest == released.digest { by.append(name) } else { others["targets/" + name] = digest }
            }
            let declared = Set(repo.delegations.map(\.role.name))
            var result = TeamResult(signers: team, signedBy: by, unknown: team.filter { !declared.contains("targets/" + $0) })
            result.untrusted = repo.report.untrusted.filter { u in team.contains { "targets/" + $0 == u.role } }
                .map { "\($0.role).json (\($0.reason))" }
            return result
        }
        return Result(
            gun: repo.gun, tag: tag, digest: released?.digest, releasedIn: released?.role, otherDigests: others, teams: teams)
    }
}
