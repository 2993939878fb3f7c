import ArgumentParser
import CLISupport
import Foundation
import KeyVault

extension TrustVault {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a repository's metadata offline, and optionally a signing policy for one tag.",
            discussion: """
                Checks signatures and thresholds, root certificates (CN, validity, encoding), expiry, \
                versions against --root (an older, trusted root.json), snapshot and timestamp hashes, \
                byte-exact encoding, and delegation names and paths. It names every file it checked and \
                every file snapshot.json lists that is not in DIR (an absent delegation file fails: its \
                tags cannot be vouched for). As notary clients do, a delegation whose file fails its \
                current keys or has expired, and a file no role delegates to, do not fail the repository: \
                each is named ('not trusted: FILE, because …') and its tags are never shown or counted. With --tag and --require-signer, each --require-signer is \
                one team (comma-separated signer names, any one suffices): the tag passes only if, for \
                every team, one of its signers signed that tag with the digest docker pull resolves, in \
                the signer's own role (targets/<name>); targets/releases and the repository key never \
                count. Exit 0 only if everything holds.
                """)

        @Argument(help: "A notary cache directory (root.json …) or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Option(help: ArgumentHelp("A previously trusted root.json the metadata must chain to.", valueName: "file")) var root: String?
        @Option(help: ArgumentHelp("A tag to check: it must be released (signed in targets or targets/releases).", valueName: "tag")) var tag: String?
        @Option(
            name: .customLong("require-signer"),
            help: ArgumentHelp(
                "One team: signer names, comma-separated, any one of which must have signed --tag in its own role. Repeat for more teams.",
                valueName: "name[,name…]")) var requireSigner: [String] = []
        @Flag(help: "Print a JSON report for scripts (errors still go to stderr with a non-zero exit).") var json = false

        func validate() throws {
            if !requireSigner.isEmpty && tag == nil { throw ValidationError("--require-signer needs --tag") }
        }

        func run() throws {
            let policy = try SigningPolicy(teams: requireSigner.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) })
            let set = try MetadataSet.load(directory: dir, gun: gun)
            let trusted = try root.map { (p: String) throws(TrustVaultError) in try AtomicFile.read(p, kind: .metadata) }
            let report = Verifier.verify(set, trustedRoot: trusted)
            var result: SigningPolicy.Result?
            if report.isComplete, let tag {
                result = policy.evaluate(try VerifiedRepository(set, report: report), tag: tag)
            }
            if json {
                var members: [JSONValue.Member] = [
                    .init("gun", .string(gun)), .init("valid", .bool(report.isComplete && (result?.isMet ?? true))),
                    .init("checked", .array(report.checked.map { .string($0) })),
                    .init("absent", .array(report.absent.map { .string($0 + ".json") })),
                    .init("unpublished", .array(report.unpublished.map { .string($0) })),
                    .init("untrusted", .array(report.untrusted.map { .obj(["file": .string($0.role + ".json"), "reason": .string($0.reason)]) })),
                    .init("passed", .array(report.passed.map { .string($0) })),
                    .init("warnings", .array(report.warnings.map { .string($0) })),
                    .init("problems", .array(report.problems.map { .string($0) })),
                ]
                if let result { members.append(.init("policy", result.json)) }
                printOut(JSONValue.object(members).canonicalString)
            } else {
                for line in report.passed { printOut("ok: \(line)") }
                printOut("checked \(report.checked.count) file(s): \(report.checked.joined(separator: ", "))")
                for role in report.absent { printOut("absent: \(role).json (listed in snapshot.json, not in \(dir))") }
                for role in report.unpublished { printOut("note: \(role) is delegated but has no file yet (snapshot.json does not list it)") }
                for u in report.untrusted { printOut(u.line) }
                for w in report.warnings { printOut("warning: \(w)") }
                for line in result?.lines ?? [] { printOut("policy: \(line)") }
            }
            if let first = report.problems.first {
                if !json { for p in report.problems.dropFirst() { writeError("problem: \(p)") } }
                throw TrustVaultError.verification(
                    first, recovery: report.problems.count > 1 ? "\(report.problems.count) problems in total; the others are listed above" : nil)
            }
            if let missing = report.absent.first {
                throw TrustVaultError.notFound(
                    "\(dir): \(missing).json is listed in snapshot.json but is not in the directory; its tags were not verified",
                    recovery: "fetch it (GET …/v2/\(gun)/_trust/tuf/\(missing).json) and save it as \(missing).json beside targets.json")
            }
            if let result, let tag {
                guard result.digest != nil else {
                    throw TrustVaultError.verification(
                        "\(gun):\(tag) is not released: neither targets nor targets/releases signed it",
                        recovery: "'trustvault inspect \(dir) --gun \(gun)' lists the released tags")
                }
                let unmet = result.teams.enumerated().filter { !$0.element.isMet }.map {
                    "team \($0.offset + 1) (\($0.element.signers.joined(separator: ", ")))"
                }
                if !unmet.isEmpty {
                    throw TrustVaultError.verification(
                        "signing policy not met for \(gun):\(tag): no signature from \(unmet.joined(separator: "; "))",
                        recovery: "the team's signer must sign this digest with 'docker trust sign' (its own role, targets/<name>)")
                }
            }
            if !json { printOut("Verified: \(gun) in \(dir)" + (result.map { " (tag \($0.tag): policy met)" } ?? "")) }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what 'docker trust inspect --pretty' shows, from verified metadata only.",
            discussion: """
                Verifies DIR first (as 'verify' does) and prints nothing but an error if anything fails \
                to verify or a delegation file that snapshot.json lists is missing. The output is byte \
                for byte what 'docker trust inspect --pretty GUN[:TAG]' prints; --json what 'docker \
                trust inspect GUN[:TAG]' prints. --expiries shows each role's version and expiry and the \
                root keys with both IDs (the one docker and notary show, and the vault's).
                """)

        @Argument(help: "A notary cache directory or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Option(help: ArgumentHelp("Show one tag (docker trust inspect GUN:TAG).", valueName: "tag")) var tag: String?
        @Option(help: ArgumentHelp("A previously trusted root.json the metadata must chain to.", valueName: "file")) var root: String?
        @Flag(help: "Print docker trust inspect's JSON.") var json = false
        @Flag(help: "Show expiries and root key IDs instead of the docker view.") var expiries = false

        func run() throws {
            let set = try MetadataSet.load(directory: dir, gun: gun)
            let trusted = try root.map { (p: String) throws(TrustVaultError) in try AtomicFile.read(p, kind: .metadata) }
            let repo: VerifiedRepository
            do { repo = try VerifiedRepository(set, trustedRoot: trusted) } catch {
                throw TrustVaultError(error.code, "\(dir) does not verify: \(error.message)", recovery: error.recovery)
            }
            for w in repo.report.warnings { writeError("warning: \(w)") }
            for u in repo.report.untrusted { writeError("warning: \(u.line)") }
            if expiries {
                if json { printOut(repo.expiriesJSON.canonicalString) } else { Output.block(repo.expiriesText) }
                return
            }
            let view = DockerTrustView(repo, tag: tag)
            // Both views go through the output escaping (a no-op on JSON, whose encoder escapes
            // control characters; bidi marks become \u escapes of the same meaning).
            // In pieces that end at line breaks: a view of 100,000 tags is never one string.
            if json { view.writeJSON { Output.block($0) } } else { view.writePretty { Output.block($0) } }
        }
    }
}
