import ArgumentParser
import CLISupport
import Foundation
import KeyVault

struct TufSignEvent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-event",
        abstract: "Take part in a tuf-on-ci signing event as an offline key holder: review the changes, sign every changed role this key must sign.",
        discussion: """
            EVENT is the signing event's metadata/ directory (a checkout of the event branch), KNOWN the \
            known-good metadata/ it changes (the main branch). The known-good root chain \
            (root_history/) and targets must verify. Shows what changed, role by role, and the \
            signatures already present; then, after confirmation (or --yes), signs each changed role \
            that lists this key (for root also as a key of the previous root), writes each file back in \
            tuf-on-ci's JSON form (the git diff shows only the new signature) with \
            root_history/N.root.json for root, and says who must still sign. \
            See docs/guide-tuf-on-ci-signing-event.md.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The signing event's metadata/ directory.", valueName: "event")) var event: String
    @Option(help: ArgumentHelp("The known-good metadata/ directory the event changes.", valueName: "known")) var previous: String
    @Option(help: ArgumentHelp("This holder's key: a vault key ID or a TUF key ID from the metadata (or prefix).", valueName: "K")) var key: String
    @Flag(help: "Sign without asking (required without a terminal).") var yes = false
    @Flag(help: "Print one JSON object (the changes, what was signed and written, what is missing); needs --yes.") var json = false
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let context = CLIContext(global)
        cliCardSigners.options = card.unlock
        let signEvent = TUFSignEvent(vault: try context.openVault(), secrets: context.secrets)
        let event = Self.trimmed(self.event), previous = Self.trimmed(self.previous)
        if json, !yes {
            throw TrustVaultError.invalid(
                "--json prints the review with the result, so it needs --yes",
                recovery: "review the changes without --json first, then run again with --json --yes")
        }
        let plan = try signEvent.plan(event: event, previous: previous, key: key)
        if json {
            let result = try signEvent.sign(plan)
            func strings(_ list: [String]) -> JSONValue { .array(list.map(JSONValue.string)) }
            printOut(
                JSONValue.obj([
                    "event": .string(event), "previous": .string(previous), "key": .string(plan.record.id),
                    "location": .string(plan.record.location.description), "owners": strings(plan.owners),
                    "changes": strings(plan.lines), "signed": strings(plan.rolesToSign), "written": strings(result.written),
                    "summary": strings(result.summary), "missing": strings(result.missing), "notes": strings(plan.notes + result.notes),
                    "complete": .bool(result.missing.isEmpty),
                ]).canonicalString)
            return
        }
        printOut(
            "Signing event \(event) (known-good: \(previous)), key \(plan.record.id.prefix(12)) (\(plan.record.location))\(plan.owners.isEmpty ? "" : " listed as \(plan.owners.joined(separator: ", "))"):"
        )
        for line in plan.lines { printOut("  \(line)") }
        for n in plan.notes { printOut("note: \(n)") }
        if !plan.alreadySigned && !yes {
            guard let answer = context.confirm("Sign \(plan.rolesToSign.joined(separator: ", ")) with key \(plan.record.id.prefix(12))?") else {
                throw TrustVaultError(
                    .refused, "signing \(plan.rolesToSign.joined(separator: ", ")) needs confirmation; nothing was signed",
                    recovery: "run it in a terminal, or pass --yes after reviewing the changes")
            }
            guard answer else { throw TrustVaultError(.refused, "nothing was signed; \(event) is unchanged") }
        }
        let result = try signEvent.sign(plan)
        report(
            summary: result.summary, written: result.written, notes: result.notes, missing: result.missing,
            complete: "Complete: every changed role meets its threshold.")
    }

    /// `metadata/` and `metadata` name the same directory.
    static func trimmed(_ path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        return p
    }
}
