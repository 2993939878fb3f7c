import ArgumentParser
import CLISupport
import Foundation
import KeyVault

/// Prints a TUF ceremony's result; exits 0 even when other holders still have work to do
/// (that is the normal course of a threshold ceremony), and says so plainly.
func report(_ output: TUFCeremonies.Output) {
    report(
        summary: output.summary, written: output.written, notes: output.notes, missing: output.missing,
        complete: "Complete: nothing is missing.")
}

/// The common shape of every TUF result: summary, files written, notes, then what is missing
/// (or `complete` when nothing is).
func report(summary: [String], written: [String], notes: [String], missing: [String], complete: String) {
    for line in summary { printOut(line) }
    if !written.isEmpty {
        printOut("Wrote:")
        for f in written { printOut("  \(f)") }
    }
    for n in notes { printOut("note: \(n)") }
    if missing.isEmpty {
        printOut(complete)
    } else {
        printOut("Still missing:")
        for m in missing { printOut("  - \(m)") }
    }
}

/// `--expires ROLE=DURATION`.
func parseExpiries(_ list: [String]) throws(TrustVaultError) -> [String: Int64] {
    var out: [String: Int64] = [:]
    for item in list {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw TrustVaultError.invalid("--expires \(item): write ROLE=DURATION, e.g. root=365d or timestamp=1d")
        }
        out[parts[0]] = try TUF1.Lifetime.parse(parts[1])
    }
    return out
}

extension TrustVault {
    struct Tuf: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tuf",
            abstract: "TUF 1.0 repositories (python-tuf, tuf-on-ci, RSTUF, sigstore-style) from the same vault and cards.",
            discussion: """
                Writes and signs TUF specification metadata (OLPC canonical JSON, securesystemslib key \
                IDs and signatures), not Notary's dialect. DIR/metadata/ holds what clients fetch \
                (N.root.json, timestamp.json, snapshot.json, targets.json, <role>.json) and DIR/targets/ \
                the target files. See docs/guide-tuf-offline-root.md.
                """,
            subcommands: [
                TufInit.self, TufSign.self, TufVerify.self, TufAddTargets.self, TufRemoveTargets.self,
                TufRotate.self, TufDelegate.self, TufRefresh.self, TufSignEvent.self, TufRSTUF.self,
            ])
    }
}

struct TufInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a TUF 1.0 repository: DIR/metadata/1.root.json, targets, snapshot, timestamp, and DIR/targets/.",
        discussion: """
            K is a vault key ID (or prefix; vault or card key) or a public key file from another holder \
            ('trustvault key export KEYID --format public'). Roles without a key get a new vault key \
            (ECDSA P-256; the timestamp key is recorded as role tuf-timestamp). Roles whose keys are \
            elsewhere are written unsigned, and the command lists who must sign what.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory (created; its metadata/ must not exist yet).") var dir: String
    @Option(name: .customLong("root-key"), help: ArgumentHelp("A root key (repeat for several holders).", valueName: "K")) var rootKeys: [String] = []
    @Option(name: .customLong("root-threshold"), help: ArgumentHelp("Root signatures required (default 1).", valueName: "n")) var rootThreshold: Int?
    @Option(name: .customLong("targets-key"), help: ArgumentHelp("The targets key.", valueName: "K")) var targetsKey: String?
    @Option(name: .customLong("snapshot-key"), help: ArgumentHelp("The snapshot key.", valueName: "K")) var snapshotKey: String?
    @Option(name: .customLong("timestamp-key"), help: ArgumentHelp("The timestamp key.", valueName: "K")) var timestampKey: String?
    @Option(help: ArgumentHelp("Lifetime of a role's metadata, e.g. root=365d, timestamp=1d (repeatable).", valueName: "ROLE=DURATION")) var expires: [String] =
        []
    @Flag(name: .customLong("consistent-snapshot"), help: "Version-prefixed metadata and hash-prefixed target files.") var consistentSnapshot = false
    @Option(help: ArgumentHelp("Name recorded with new vault keys (default tuf/<dir name>).", valueName: "name")) var name: String?
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        var o = TUFCeremonies.InitOptions(rootKeys: rootKeys)
        o.rootThreshold = rootThreshold
        o.roleKeys["targets"] = targetsKey
        o.roleKeys["snapshot"] = snapshotKey
        o.roleKeys["timestamp"] = timestampKey
        o.expires = try parseExpiries(expires)
        o.consistentSnapshot = consistentSnapshot
        o.name = name
        report(try ceremonies.initRepository(dir: dir, options: o))
    }
}

struct TufSign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Add one signature to a TUF 1.0 metadata file (also one written by python-tuf, tuf-on-ci or RSTUF).",
        discussion: """
            Shows what is being signed first. For a root, both thresholds are shown: the file's own root \
            keys and, with --previous (or N-1.root.json beside it), the keys of the root clients trust \
            now. The file is rewritten in place; the signed part is never changed.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The metadata file.") var file: String
    @Option(help: ArgumentHelp("The vault key (ID or prefix) to sign with.", valueName: "K")) var key: String
    @Option(help: ArgumentHelp("The root now in force (for a new root version).", valueName: "file")) var previous: String?
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        let out = try ceremonies.sign(file: file, key: key, previous: previous) { lines in
            printOut("Signing:")
            for l in lines { printOut("  \(l)") }
        }
        report(out)
    }
}

struct TufVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a TUF 1.0 repository as a client would.",
        discussion: """
            From a trusted root (--root, else 1.root.json) through every N.root.json, then timestamp, \
            snapshot, targets and delegations: signatures and thresholds, versions, lengths and hashes, \
            expiry, delegated paths, and the target files in DIR/targets/. Exit 0 only if all hold.
            """)

    @Argument(help: "The repository directory (holding metadata/).") var dir: String
    @Option(help: ArgumentHelp("A root.json the client already trusts.", valueName: "file")) var root: String?
    @Flag(help: "Print a JSON report for scripts (errors still go to stderr with a non-zero exit).") var json = false

    func run() throws {
        let trusted = try root.map { (p: String) throws(TrustVaultError) in try AtomicFile.read(p, kind: .metadata) }
        var verifier = TUF1.Verifier(directory: dir)
        let report = verifier.verify(trustedRoot: trusted)
        if json {
            printOut(
                JSONValue.obj([
                    "directory": .string(dir), "valid": .bool(report.problems.isEmpty),
                    "passed": .array(report.passed.map(JSONValue.string)),
                    "warnings": .array(report.warnings.map(JSONValue.string)),
                    "problems": .array(report.problems.map(JSONValue.string)),
                ]).canonicalString)
        } else {
            for line in report.passed { printOut("ok: \(line)") }
            for w in report.warnings { printOut("warning: \(w)") }
        }
        if let first = report.problems.first {
            if !json { for p in report.problems.dropFirst() { writeError("problem: \(p)") } }
            throw TrustVaultError.verification(
                first,
                recovery: report.problems.count > 1
                    ? "\(report.problems.count) problems in total; the others are \(json ? "in the JSON report" : "listed above")" : nil)
        }
        if !json { printOut("Verified: \(dir)") }
    }
}

struct TufAddTargets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-targets",
        abstract: "Add target files: copied into DIR/targets/, targets.json re-signed, then snapshot and timestamp when their keys are here.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory.") var dir: String
    @Argument(help: "Files to add.") var files: [String] = []
    @Option(
        name: .customLong("files-from"),
        help: ArgumentHelp("Also add the files listed in FILE, one path per line (for thousands of files).", valueName: "FILE"))
    var filesFrom: String?
    @Option(name: .customLong("path-prefix"), help: ArgumentHelp("Target path prefix, e.g. app/v1/.", valueName: "P")) var pathPrefix: String?
    @Option(help: ArgumentHelp("Add to this delegated role instead of targets.", valueName: "role")) var role: String = "targets"
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let listed = try filesFrom.map { (path: String) throws(TrustVaultError) in try FileList.read(path) } ?? []
        guard !files.isEmpty || !listed.isEmpty else {
            throw TrustVaultError.invalid(
                filesFrom.map { "\($0) lists no files" } ?? "no files to add", recovery: "name the files, or list them in a file given with --files-from")
        }
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        report(try ceremonies.addTargets(dir: dir, files: files + listed, pathPrefix: pathPrefix, role: role))
    }
}

struct TufRemoveTargets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-targets", abstract: "Remove targets from targets.json (re-signed, then snapshot and timestamp).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory.") var dir: String
    @Argument(help: "Target paths to remove.") var names: [String]
    @Option(help: ArgumentHelp("Remove from this delegated role instead of targets.", valueName: "role")) var role: String = "targets"
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        report(try ceremonies.removeTargets(dir: dir, names: names, role: role))
    }
}

struct TufRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a role's keys: writes N+1.root.json signed by this vault's keys among the old and new root keys.",
        discussion: """
            Without --new-key a new vault key is made. Other holders complete N+1.root.json with \
            'tuf sign'. For targets, snapshot or timestamp, the role's file is re-signed with the new \
            key when it is in this vault.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory.") var dir: String
    @Argument(help: "root, targets, snapshot or timestamp.") var role: String
    @Option(name: .customLong("new-key"), help: ArgumentHelp("A new key for the role (repeatable).", valueName: "K")) var newKeys: [String] = []
    @Option(help: ArgumentHelp("Signatures the role requires.", valueName: "n")) var threshold: Int?
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        report(try ceremonies.rotate(dir: dir, role: role, newKeys: newKeys, threshold: threshold))
    }
}

struct TufDelegate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegate",
        abstract: "Delegate target paths from targets.json to a role (or remove it with --remove).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory.") var dir: String
    @Argument(help: "The delegated role's name.") var role: String
    @Option(name: .customLong("key"), help: ArgumentHelp("A key of the role (repeatable).", valueName: "K")) var keys: [String] = []
    @Option(help: ArgumentHelp("Path patterns (shell wildcards per path part), repeatable.", valueName: "P")) var paths: [String] = []
    @Option(help: ArgumentHelp("Signatures the role requires (default 1).", valueName: "n")) var threshold: Int?
    @Flag(help: "Clients stop searching at this role.") var terminating = false
    @Flag(help: "Remove the delegation instead.") var remove = false
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        if remove {
            guard keys.isEmpty, paths.isEmpty else { throw TrustVaultError.invalid("--remove takes no --key or --paths") }
            report(try ceremonies.undelegate(dir: dir, role: role))
        } else {
            report(try ceremonies.delegate(dir: dir, role: role, keys: keys, paths: paths, threshold: threshold, terminating: terminating))
        }
    }
}

struct TufRefresh: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Extend expiries (version+1): by default every top-level role but root whose key is in this vault.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The repository directory.") var dir: String
    @Option(help: ArgumentHelp("Roles to refresh, comma-separated (root, targets, snapshot, timestamp, delegated names).", valueName: "roles")) var roles:
        String?
    @Option(help: ArgumentHelp("New lifetimes, e.g. timestamp=1d (repeatable).", valueName: "ROLE=DURATION")) var expires: [String] = []
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).tufCeremonies(card: card)
        let list = roles.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        report(try ceremonies.refresh(dir: dir, roles: list, expires: try parseExpiries(expires)))
    }
}
