import ArgumentParser
import Foundation
import KeyVault
import Metadata
import TrustCore

/// Prints a ceremony's result: files written, notes, and the commands to run online.
func report(_ output: CeremonyOutput, out: String) {
    printOut("Wrote to \(out):")
    for f in output.metadataFiles { printOut("  \(f.path)") }
    for k in output.privateKeyFiles { printOut("  \(k.path)  (\(k.role) key, encrypted with the export passphrase)") }
    for r in output.newVaultKeys { printOut("New \(r.role) key in the vault: \(r.id)") }
    for n in output.notes { printOut("note: \(n)") }
    printOut("")
    printOut("On the online machine, run:")
    for c in output.onlineCommands { printOut("  \(c)") }
}

struct ServerOption: ParsableArguments {
    @Option(help: ArgumentHelp("The notary server URL to print in the online commands (nothing is contacted).", valueName: "url"))
    var server: String?
}

extension TrustVault {
    struct Repo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create repositories and rotate their keys offline.", subcommands: [Init.self, Rotate.self])
    }

    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Work with root.json files.", subcommands: [Sign.self])
    }

    struct Delegation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or remove delegations (signers) offline, signed with the targets key.", subcommands: [Add.self, Remove.self])
    }
}

extension TrustVault.Repo {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a repository's trust data with an offline root key.",
            discussion: """
                Makes root.json (the root key wrapped in a certificate for GUN, a new targets key, the \
                server's timestamp key, and the server's snapshot key or a new one) and targets.json, \
                and writes them with the online keys as a notary trust-dir fragment into --out. \
                Publish it with 'notary -d OUT publish GUN'; no root key is needed there. \
                Needs TRUSTVAULT_ROOT_PASSPHRASE, TRUSTVAULT_TARGETS_PASSPHRASE (new key), \
                TRUSTVAULT_SNAPSHOT_PASSPHRASE (without --snapshot-key) and TRUSTVAULT_EXPORT_PASSPHRASE \
                (the key files in OUT/private), or prompts.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository, e.g. docker.io/org/app.") var gun: String
        @Option(name: .customLong("root-key"), help: ArgumentHelp("The vault's root key ID.", valueName: "keyid")) var rootKey: String
        @Option(name: .customLong("timestamp-key"), help: ArgumentHelp("The server's …/_trust/tuf/timestamp.key file.", valueName: "file")) var timestampKey: String
        @Option(name: .customLong("snapshot-key"), help: ArgumentHelp("The server's snapshot.key file: the server signs snapshots.", valueName: "file")) var snapshotKey: String?
        @Option(help: ArgumentHelp("Output directory (a notary trust-dir fragment).", valueName: "dir")) var out: String
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            let context = CLIContext(global)
            cliCardSigners.options = card.unlock
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets, server: serverOption.server)
            let output = try ceremonies.initRepository(
                gun: gun, rootKeyID: rootKey, timestampKeyFile: timestampKey, snapshotKeyFile: snapshotKey, out: out)
            report(output, out: out)
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate or recover a repository key from the current metadata.",
            discussion: """
                targets: replace a lost or compromised targets key (root.json v+1 signed by the root key, \
                targets.json re-signed with its targets and delegations intact). root: a new root key \
                (--new-key, a vault root key), signed by the old and the new root keys; the old certificate \
                is kept as notary does. snapshot: let the server sign snapshots (--snapshot-key: the key \
                from POST …/_trust/tuf/snapshot.key). --current is what the server serves now (notary's \
                cache layout or a trust directory).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "root, targets or snapshot.") var role: String
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
        @Option(name: .customLong("new-key"), help: ArgumentHelp("The new key (root: required; targets: default a new key).", valueName: "keyid")) var newKey: String?
        @Option(name: .customLong("snapshot-key"), help: ArgumentHelp("The server's snapshot key file (snapshot rotation).", valueName: "file")) var snapshotKey: String?
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func validate() throws {
            guard Ceremonies.RotatedRole(rawValue: role) != nil else {
                throw ValidationError("the role must be root, targets or snapshot, not '\(role)'")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            cliCardSigners.options = card.unlock
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets, server: serverOption.server)
            let output = try ceremonies.rotate(
                gun: gun, role: Ceremonies.RotatedRole(rawValue: role) ?? .targets, currentDir: current, out: out,
                newKeyID: newKey, snapshotKeyFile: snapshotKey)
            report(output, out: out)
        }
    }
}

extension TrustVault.Root {
    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add one root key's signature to a root.json.",
            discussion: """
                Shows what is being signed first: version, expiry, each role's keys and threshold, the \
                signatures already present, and with --previous the keys added and removed. Key holders \
                sign one after another; the file is rewritten in place unless --out is given.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The root.json to sign.") var file: String
        @Option(help: ArgumentHelp("The root key ID in the vault.", valueName: "keyid")) var key: String
        @Option(help: ArgumentHelp("Write the signed file here instead of replacing FILE.", valueName: "file")) var out: String?
        @Option(help: ArgumentHelp("The root.json now in force, to show which keys are added and removed.", valueName: "file")) var previous: String?
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            let context = CLIContext(global)
            cliCardSigners.options = card.unlock
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets)
            let bytes = try AtomicFile.read(file, kind: .metadata)
            let env = try SignedMetadata(parsing: bytes, name: file)
            let root = try Metadata.Root(json: env.signed, name: file)
            printOut("Signing:")
            for line in Ceremonies.describeRoot(env, root: root) { printOut(line) }
            if let previous {
                let prev = try SignedMetadata(parsing: try AtomicFile.read(previous, kind: .metadata), name: previous)
                for line in Ceremonies.describeChanges(from: try Metadata.Root(json: prev.signed, name: previous), to: root) { printOut(line) }
            }
            try requireWritableOutput(out ?? file, replacing: out == nil)
            let result = try ceremonies.signRoot(file: file, keyID: key)
            if let out {
                try createOutputFile(result.bytes, at: out, mode: 0o644)
            } else {
                try AtomicFile.write(result.bytes, to: file, mode: 0o644)
            }
            for n in result.notes { printOut("note: \(n)") }
            printOut("Signed \(out ?? file) with root key \(key)")
        }
    }
}

extension TrustVault.Delegation {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a delegation role (or keys and paths to one) offline.",
            discussion: """
                Docker's signer model uses targets/releases (the released tags) and targets/<name> \
                with the same keys. Keys come from certificates (--cert, e.g. a client bundle's cert.pem), \
                PEM public keys (--key-file) or vault keys (--key). Signed with the targets key \
                (TRUSTVAULT_TARGETS_PASSPHRASE).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "targets/<name>.") var role: String
        @Option(name: .customLong("cert"), help: ArgumentHelp("A certificate PEM.", valueName: "file")) var certs: [String] = []
        @Option(name: .customLong("key-file"), help: ArgumentHelp("A PUBLIC KEY PEM.", valueName: "file")) var keyFiles: [String] = []
        @Option(name: .customLong("key"), help: ArgumentHelp("A vault key ID.", valueName: "keyid")) var keys: [String] = []
        @Option(name: .customLong("paths"), help: ArgumentHelp("A path prefix the role may sign.", valueName: "p")) var paths: [String] = []
        @Flag(name: .customLong("all-paths"), help: "The role may sign every path.") var allPaths = false
        @Option(help: "How many of the role's keys must sign.") var threshold: Int?
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
        @OptionGroup var serverOption: ServerOption

        func validate() throws {
            if certs.isEmpty && keyFiles.isEmpty && keys.isEmpty { throw ValidationError("give at least one --cert, --key-file or --key") }
            if allPaths && !paths.isEmpty { throw ValidationError("--paths and --all-paths exclude each other") }
            if let threshold, threshold < 1 { throw ValidationError("--threshold must be at least 1") }
        }

        func run() throws {
            let context = CLIContext(global)
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets, server: serverOption.server)
            let sources = certs.map { Ceremonies.DelegationKeySource.certificate(path: $0) }
                + keyFiles.map { .publicKeyFile(path: $0) } + keys.map { .vaultKey(id: $0) }
            let output = try ceremonies.addDelegation(
                gun: gun, role: role, keys: sources, paths: paths, allPaths: allPaths, threshold: threshold,
                currentDir: current, out: out)
            report(output, out: out)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a delegation role, or one of its keys, offline.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "targets/<name>.") var role: String
        @Option(name: .customLong("key"), help: ArgumentHelp("Remove only this key (ID or prefix).", valueName: "keyid")) var keys: [String] = []
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
        @OptionGroup var serverOption: ServerOption

        func run() throws {
            let context = CLIContext(global)
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets, server: serverOption.server)
            let output = try ceremonies.removeDelegation(gun: gun, role: role, keyIDs: keys, currentDir: current, out: out)
            report(output, out: out)
        }
    }
}

extension TrustVault {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a repository's metadata offline.",
            discussion: """
                Checks signatures and thresholds, root certificates (CN, validity, encoding), expiry, \
                versions against --root (an older, trusted root.json), snapshot and timestamp hashes, \
                byte-exact encoding, and delegation names and paths. Exit 0 only if everything holds.
                """)

        @Argument(help: "A notary cache directory (root.json …) or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Option(help: ArgumentHelp("A previously trusted root.json the metadata must chain to.", valueName: "file")) var root: String?

        func run() throws {
            let set = try MetadataSet.load(directory: dir, gun: gun)
            let trusted = try root.map { (p: String) throws(TrustVaultError) in try AtomicFile.read(p, kind: .metadata) }
            let report = Verifier.verify(set, trustedRoot: trusted)
            for line in report.passed { printOut("ok: \(line)") }
            for w in report.warnings { printOut("warning: \(w)") }
            if let first = report.problems.first {
                for p in report.problems.dropFirst() { TrustVault.writeError("problem: \(p)") }
                throw TrustVaultError.verification(
                    first, recovery: report.problems.count > 1 ? "\(report.problems.count) problems in total; the others are listed above" : nil)
            }
            printOut("Verified: \(gun) in \(dir)")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show signed tags, signers, administrative keys and expiries (like 'docker trust inspect --pretty').")

        @Argument(help: "A notary cache directory or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() throws {
            let report = try InspectReport(try MetadataSet.load(directory: dir, gun: gun))
            if json {
                printOut(report.json.canonicalString)
            } else {
                print(Escape.visibleLines(report.pretty), terminator: "")
            }
        }
    }
}
