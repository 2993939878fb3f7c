import ArgumentParser
import CLISupport
import Foundation
import KeyVault

extension TrustVault.Delegation {
    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a delegation's current tags and who signed its file, before a reset.",
            discussion: """
                Reads the role's file in --current whether or not it is trusted, and lists each tag \
                with its digest and size, and each signature on the file: valid (a current key of the \
                role), invalid, or from a key that is no longer the role's (removed or replaced: not \
                verified). Tags of a file that is not trusted are UNVERIFIED: they count for nothing \
                until 'delegation reset' re-signs the ones you keep with a current key. Needs no passphrase.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "targets/<name>.") var role: String
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @OptionGroup var pendingOption: PendingOption
        @Flag(help: "Print the review as JSON.") var json = false

        func run() throws {
            let ceremonies = try CLIContext(global).ceremonies(pending: pendingOption)
            let (review, held, notes) = try ceremonies.reviewDelegation(gun: gun, role: role, currentDir: current)
            if json {
                printOut(Self.json(review, held: held).canonicalString)
                return
            }
            for line in Self.lines(review, held: held, gun: gun, current: current) { printOut(line) }
            for n in notes where !n.contains("not trusted: \(role).json") { printOut("note: \(n)") }
        }

        static func lines(_ r: DelegationReview, held: Set<String>, gun: String, current: String) -> [String] {
            var out: [String] = []
            func short(_ id: String) -> String { String(id.prefix(12)) }
            if r.delegated {
                let keys = r.currentKeys.map { short($0) + (held.contains($0) ? " (in this vault)" : "") }
                out.append("\(r.role): threshold \(r.threshold), current keys \(keys.joined(separator: ", "))")
            } else {
                out.append("\(r.role): no trusted role delegates to it now")
            }
            guard let version = r.version else {
                out.append("\(r.role).json: no file yet")
                return out
            }
            let state = r.untrustedReason.map { "NOT TRUSTED, because \($0)" } ?? "trusted"
            out.append("\(r.role).json v\(version), expires \(r.expires?.display ?? "?"): \(state)")
            out.append("signatures on the file:")
            if r.signatures.isEmpty { out.append("  none") }
            for s in r.signatures {
                switch s.status {
                case .valid: out.append("  \(short(s.canonicalID ?? s.keyID))  current key, signature valid")
                case .invalid: out.append("  \(short(s.canonicalID ?? s.keyID))  current key, signature does NOT verify")
                case .notACurrentKey: out.append("  \(short(s.keyID))  not a key of \(r.role) any more (removed or replaced): not verified")
                }
            }
            if !r.subroles.isEmpty { out.append("it delegates to: \(r.subroles.joined(separator: ", ")) (a reset drops these)") }
            out.append("")
            if r.tags.isEmpty {
                out.append("No tags in \(r.role).json")
            } else {
                out.append(
                    r.isTrusted
                        ? "Tags in \(r.role).json (they count now):"
                        : "UNVERIFIED tags in \(r.role).json (listed for review only; none of them counts):")
                out.append("")
                out += GoTabWriter.table(
                    ["TAG", "DIGEST (SHA-256)", "SIZE"], r.tags.map { [$0.name, $0.digest, String($0.length)] }
                ).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            }
            out.append("")
            out.append("A reset writes a fresh \(r.role).json signed by a current key held here, with only the tags you keep:")
            let key = r.currentKeys.first { held.contains($0) } ?? "KEYID"
            out.append("  trustvault delegation reset \(gun) \(r.role) --key \(key) --keep TAG… | --keep-none --current \(current) --out DIR")
            return out
        }

        static func json(_ r: DelegationReview, held: Set<String>) -> JSONValue {
            .obj([
                "gun": .string(r.gun), "role": .string(r.role), "delegated": .bool(r.delegated),
                "threshold": .integer(Int64(r.threshold)),
                "currentKeys": .array(r.currentKeys.map { .obj(["id": .string($0), "inVault": .bool(held.contains($0))]) }),
                "version": r.version.map { .integer(Int64($0)) } ?? .null,
                "expires": r.expires.map { .string($0.rfc3339) } ?? .null,
                "trusted": .bool(r.isTrusted),
                "untrustedReason": r.untrustedReason.map { .string($0) } ?? .null,
                "signatures": .array(
                    r.signatures.map {
                        .obj(["keyid": .string($0.keyID), "canonicalID": $0.canonicalID.map { .string($0) } ?? .null, "status": .string($0.status.rawValue)])
                    }),
                "tags": .array(r.tags.map { .obj(["name": .string($0.name), "sha256": .string($0.digest), "length": .integer($0.length)]) }),
                "subroles": .array(r.subroles.map { .string($0) }),
            ])
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a delegation a fresh file after its key was removed, replaced or purged.",
            discussion: """
                Writes ROLE's file at version + 1, signed by --key (a current key of the role held in \
                this vault, e.g. a CI key imported from its client bundle), carrying only the tags named \
                with --keep (copied from the current file after you reviewed them with 'delegation \
                review') or none with --keep-none. A tag signed only by a removed key counts again only \
                if kept here. Upload the output with trustvault-online publish; afterwards the role's \
                key publishes with the notary client as before. Needs TRUSTVAULT_DELEGATION_PASSPHRASE \
                (or the key's card PIN).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "targets/<name>.") var role: String
        @Option(name: .customLong("key"), help: ArgumentHelp("A current key of the role held in this vault (repeat up to its threshold).", valueName: "keyid"))
        var keys: [String] = []
        @Option(name: .customLong("keep"), help: ArgumentHelp("A tag of the current file to keep (re-signed now). Repeat.", valueName: "tag")) var keep:
            [String] = []
        @Flag(name: .customLong("keep-none"), help: "Keep no tag: the role starts empty.") var keepNone = false
        @OptionGroup var change: ChangeOptions
        @OptionGroup var card: CardSafetyOptions

        func validate() throws {
            if keys.isEmpty { throw ValidationError("give --key: a current key of \(role) held in this vault") }
            if keepNone && !keep.isEmpty { throw ValidationError("--keep and --keep-none exclude each other") }
            if !keepNone && keep.isEmpty {
                throw ValidationError("say which tags to keep: --keep TAG (repeat) or --keep-none; 'trustvault delegation review' lists them")
            }
        }

        func run() throws {
            let ceremonies = try CLIContext(global).ceremonies(server: change.serverOption, pending: change.pendingOption, card: card)
            let output = try ceremonies.resetDelegation(
                gun: gun, role: role, keyIDs: keys, keep: keep, keepNone: keepNone, currentDir: change.current, out: change.out)
            report(output, out: change.out)
        }
    }
}
