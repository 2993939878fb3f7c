import ArgumentParser
import CLISupport
import Foundation
import KeyVault

/// Prints a ceremony's result: files written, notes, and the commands to run online.
func report(_ output: CeremonyOutput, out: String) {
    printOut("Wrote to \(out):")
    for f in output.metadataFiles { printOut("  \(f.path)") }
    for k in output.privateKeyFiles { printOut("  \(k.path)  (\(k.role) key, encrypted with the export passphrase)") }
    for r in output.newVaultKeys { printOut("New \(r.role) key in the vault: \(r.id)") }
    for n in output.notes { printOut("note: \(n)") }
    guard !output.onlineCommands.isEmpty else { return }
    printOut("")
    printOut("On the online machine, run:")
    for c in output.onlineCommands { printOut("  \(c)") }
}

struct PendingOption: ParsableArguments {
    @Option(
        name: .customLong("pending"),
        help: ArgumentHelp(
            "The --out of an earlier ceremony not uploaded yet: build on it; the new output carries its files (upload only the new one). Repeat in order.",
            valueName: "dir"))
    var pending: [String] = []
}

struct ServerOption: ParsableArguments {
    @Option(help: ArgumentHelp("The notary server URL to print in the online commands (nothing is contacted).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("The online machine's CA file for that server, to print with --tlscacert in the online commands.", valueName: "file"))
    var tlscacert: String?
}

/// `--current DIR [--pending DIR]… --out DIR [--server URL --tlscacert FILE]`: what a delegation
/// change reads, builds on and writes.
struct ChangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
    @OptionGroup var pendingOption: PendingOption
    @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
    @OptionGroup var serverOption: ServerOption
}

extension TrustVault {
    struct Repo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create repositories, rotate their keys and renew their expiry offline.",
            subcommands: [Init.self, Rotate.self, Refresh.self])
    }

    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Root certificates and root.json signatures for several key holders.", subcommands: [Cert.self, Sign.self])
    }

    struct Delegation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or remove delegations (signers) offline, signed with the targets key.",
            subcommands: [Add.self, Remove.self, Purge.self, Review.self, Reset.self])
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
                Then run the command it prints on the online machine: 'trustvault-online publish OUT \
                --server URL' when the server holds the snapshot key (--snapshot-key), or 'notary -s URL \
                -d OUT publish GUN' when the snapshot key was made here; no root key is needed there. \
                Needs TRUSTVAULT_ROOT_PASSPHRASE, TRUSTVAULT_TARGETS_PASSPHRASE (new key), \
                TRUSTVAULT_SNAPSHOT_PASSPHRASE (without --snapshot-key) and TRUSTVAULT_EXPORT_PASSPHRASE \
                (the key files in OUT/private), or prompts.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository, e.g. docker.io/org/app.") var gun: String
        @Option(
            name: .customLong("root-key"),
            help: ArgumentHelp(
                "A root key: a vault key ID, or a root certificate file from another holder ('trustvault root cert'). Repeat for several holders.",
                valueName: "k"))
        var rootKeys: [String]
        @Option(name: .customLong("root-threshold"), help: "How many root keys must sign root.json (default 1).") var rootThreshold: Int = 1
        @Option(
            name: .customLong("expires"),
            help: ArgumentHelp("A lifetime other than notary's default, e.g. targets=1y (root, targets, snapshot, delegations).", valueName: "role=duration"))
        var expires: [String] = []
        @Option(name: .customLong("timestamp-key"), help: ArgumentHelp("The server's …/_trust/tuf/timestamp.key file.", valueName: "file")) var timestampKey:
            String
        @Option(name: .customLong("snapshot-key"), help: ArgumentHelp("The server's snapshot.key file: the server signs snapshots.", valueName: "file"))
        var snapshotKey: String?
        @Option(help: ArgumentHelp("Output directory (a notary trust-dir fragment).", valueName: "dir")) var out: String
        @Flag(
            name: .customLong("replace-existing"),
            help: "Make new trust data although the GUN already has some (made by this vault, or on the server per the fetched keys' existing-root.json).")
        var replaceExisting = false
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            var ceremonies = try CLIContext(global).ceremonies(server: serverOption, card: card)
            ceremonies.consent.replaceExisting = replaceExisting
            var policy = ExpiryPolicy.notary
            for e in expires { try policy.set(e) }
            let output = try ceremonies.initRepository(
                gun: gun, rootKeys: rootKeys.map(Ceremonies.RootKeySource.init), rootThreshold: rootThreshold,
                timestampKeyFile: timestampKey, snapshotKeyFile: snapshotKey, out: out, expiries: policy)
            report(output, out: out)
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate or recover a repository key from the current metadata.",
            discussion: """
                targets: replace a lost or compromised targets key (root.json v+1 signed by the root keys, \
                targets.json re-signed with its targets and delegations intact). root: the new root role is \
                every --new-key (repeat it; without it, one new vault root key as notary makes) with \
                --threshold; root.json is signed by every old and new root key in this vault, the other \
                holders add theirs with 'trustvault root sign'; old certificates are kept as notary does. snapshot: let the server sign snapshots (--snapshot-key: the key \
                from POST …/_trust/tuf/snapshot.key). --current is what the server serves now (notary's \
                cache layout or a trust directory).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "root, targets or snapshot.") var role: RotatedRoleChoice
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @OptionGroup var pendingOption: PendingOption
        @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
        @Option(
            name: .customLong("new-key"),
            help: ArgumentHelp(
                "root: each key of the new root role (a vault key ID, a current root key's ID, or a holder's root certificate file); default one new vault key. targets: the new vault key; default a new key.",
                valueName: "k"))
        var newKeys: [String] = []
        @Option(help: "root: how many of the new root keys must sign (default: the current threshold, at most the number of keys).") var threshold: Int?
        @Option(
            name: .customLong("remove-key"),
            help: ArgumentHelp(
                "root: a current root key held by another key holder that the new root leaves out (repeat for each); needed to remove it.", valueName: "keyid"))
        var removeKeys: [String] = []
        @Flag(name: .customLong("lower-threshold"), help: "root: needed when the new root threshold is lower than the current one.")
        var lowerThreshold = false
        @Option(name: .customLong("snapshot-key"), help: ArgumentHelp("The server's snapshot key file (snapshot rotation).", valueName: "file"))
        var snapshotKey: String?
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func validate() throws {
            if let threshold, threshold < 1 { throw ValidationError("--threshold must be at least 1") }
        }

        func run() throws {
            var ceremonies = try CLIContext(global).ceremonies(server: serverOption, pending: pendingOption, card: card)
            ceremonies.consent.removeRootKeys = removeKeys
            ceremonies.consent.lowerRootThreshold = lowerThreshold
            if role == .root {
                // What the rotation changes, shown before any key is unlocked; refused there if a
                // removal of another holder's key or a lower threshold is not named.
                let change = try ceremonies.rootRotationChange(
                    gun: gun, currentDir: current, newKeys: newKeys.map(Ceremonies.RootKeySource.init), newThreshold: threshold)
                if !change.removedOthers.isEmpty || change.lowersThreshold { for line in change.lines { printOut(line) } }
            } else if !removeKeys.isEmpty || lowerThreshold {
                throw ValidationError("--remove-key and --lower-threshold are only for root rotations")
            }
            let output = try ceremonies.rotate(
                gun: gun, role: role.role, currentDir: current, out: out,
                newKeys: newKeys.map(Ceremonies.RootKeySource.init), newThreshold: threshold, snapshotKeyFile: snapshotKey)
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
        @Option(
            help: ArgumentHelp(
                "The root.json now in force: shows the keys added and removed, and counts its threshold (default: previous-root.json beside the ceremony's fragment).",
                valueName: "file")) var previous: String?
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            let context = CLIContext(global)
            cliCardSigners.options = card.unlock
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets)
            // One read: what is shown is what is signed.
            let request = try Ceremonies.readRootForSigning(file: file, previous: previous)
            printOut("Signing:")
            for line in request.lines { printOut(line) }
            try requireWritableOutput(out ?? file, replacing: out == nil)
            let result = try ceremonies.signRoot(request, keyID: key)
            if let out {
                try createOutputFile(result.bytes, at: out, mode: 0o644)
            } else {
                try AtomicFile.write(result.bytes, to: file, mode: 0o644)
            }
            for n in result.notes { printOut("note: \(n)") }
            printOut("Signed \(out ?? file) with root key \(key)")
            printOut(result.status.summary)
            // Inside a ceremony's fragment (OUT/tuf/<GUN>/metadata/root.json), print the online step.
            let written = out ?? file
            if result.status.complete, let range = written.range(of: "/tuf/", options: .backwards),
                written.hasSuffix("/metadata/root.json")
            {
                let outDir = String(written[..<range.lowerBound])
                let gun = String(written[range.upperBound...].dropLast("/metadata/root.json".count))
                if let set = try? MetadataSet.load(directory: outDir, gun: gun) {
                    let base = outDir + "/tuf/" + gun + "/metadata/"
                    let files = set.files.keys.sorted(by: MetadataSet.uploadOrder).map { (role: $0, path: base + $0 + ".json") }
                    let step = Ceremonies.onlineStep(
                        out: outDir, gun: gun, files: files, rootStatus: result.status, server: serverOption.server, tlsCAFile: serverOption.tlscacert)
                    printOut("")
                    printOut("On the online machine, run:")
                    for c in step.commands { printOut("  \(c)") }
                }
            }
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
        @OptionGroup var change: ChangeOptions

        func validate() throws {
            if certs.isEmpty && keyFiles.isEmpty && keys.isEmpty { throw ValidationError("give at least one --cert, --key-file or --key") }
            if allPaths && !paths.isEmpty { throw ValidationError("--paths and --all-paths exclude each other") }
            if let threshold, threshold < 1 { throw ValidationError("--threshold must be at least 1") }
        }

        func run() throws {
            let ceremonies = try CLIContext(global).ceremonies(server: change.serverOption, pending: change.pendingOption)
            let sources =
                certs.map { Ceremonies.DelegationKeySource.certificate(path: $0) }
                + keyFiles.map { .publicKeyFile(path: $0) } + keys.map { .vaultKey(id: $0) }
            let output = try ceremonies.addDelegation(
                gun: gun, role: role, keys: sources, paths: paths, allPaths: allPaths, threshold: threshold,
                currentDir: change.current, out: change.out)
            report(output, out: change.out)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a delegation role, or one of its keys, offline.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Argument(help: "targets/<name>.") var role: String
        @Option(name: .customLong("key"), help: ArgumentHelp("Remove only this key (ID or prefix).", valueName: "keyid")) var keys: [String] = []
        @OptionGroup var change: ChangeOptions

        func run() throws {
            let ceremonies = try CLIContext(global).ceremonies(server: change.serverOption, pending: change.pendingOption)
            let output = try ceremonies.removeDelegation(gun: gun, role: role, keyIDs: keys, currentDir: change.current, out: change.out)
            report(output, out: change.out)
        }
    }
}

extension TrustVault.Repo {
    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Renew expiry: re-sign roles that expired or expire soon (version+1).",
            discussion: """
                Re-signs, with the keys in this vault, every role of --current that has expired or expires \
                within --within (default 182d, as notary warns) — or exactly --roles — with version+1 and a \
                new expiry (notary's defaults, or --expires ROLE=DURATION). Root certificates that expire \
                within the window are renewed (same keys, new certificates) when their keys are here. \
                Expired current metadata is accepted: signatures, thresholds and hashes must still hold. \
                Once every root certificate has expired, notary-server refuses any update; then \
                --replace-expired-root writes root.json v1 for the same root keys under new certificates \
                with every targets file carried over, for 'trustvault-online publish OUT --replace-trust-data' \
                (docs/guide-expired-root-certificate.md).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Option(help: ArgumentHelp("The repository's current metadata.", valueName: "dir")) var current: String
        @OptionGroup var pendingOption: PendingOption
        @Option(help: ArgumentHelp("Output directory.", valueName: "dir")) var out: String
        @Option(help: ArgumentHelp("Re-sign exactly these roles (root, targets, snapshot, targets/<name>), comma-separated.", valueName: "r,…")) var roles:
            String?
        @Option(help: ArgumentHelp("Re-sign what expires within this time (default 182d).", valueName: "duration")) var within: String?
        @Option(name: .customLong("expires"), help: ArgumentHelp("A lifetime other than notary's default, e.g. targets=1y.", valueName: "role=duration"))
        var expires: [String] = []
        @Flag(help: "Every root certificate has expired: replace the trust data (root v1, same root keys, new certificates).")
        var replaceExpiredRoot = false
        @OptionGroup var serverOption: ServerOption
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            if replaceExpiredRoot, roles != nil {
                throw TrustVaultError.invalid(
                    "--roles cannot be combined with --replace-expired-root", recovery: "the replacement carries every role; leave out --roles")
            }
            var policy = ExpiryPolicy.notary
            for e in expires { try policy.set(e) }
            let window = try within.map { (w: String) throws(TrustVaultError) in try ExpiryPolicy.parseDuration(w) } ?? Verifier.warningSeconds
            let roleList = roles.map { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty } }
            if let roleList, roleList.isEmpty { throw TrustVaultError.invalid("--roles is empty", recovery: "for example --roles targets,targets/releases") }
            let ceremonies = try CLIContext(global).ceremonies(server: serverOption, pending: pendingOption, card: card)
            let output =
                replaceExpiredRoot
                ? try ceremonies.replaceExpiredRoot(gun: gun, currentDir: current, out: out, window: window, expiries: policy)
                : try ceremonies.refresh(gun: gun, currentDir: current, out: out, roles: roleList, window: window, expiries: policy)
            report(output, out: out)
        }
    }
}

extension TrustVault.Root {
    struct Cert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the root certificate (CN = GUN, as notary makes it) for a root key in this vault.",
            discussion: """
                Hand the file to the holder who runs 'repo init GUN --root-key FILE …' or \
                'repo rotate GUN root --new-key FILE …'. It contains only the public key. \
                Needs the key's passphrase (TRUSTVAULT_ROOT_PASSPHRASE) or card PIN: the certificate is self-signed.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository the certificate is for.") var gun: String
        @Option(help: ArgumentHelp("The root key ID in the vault.", valueName: "keyid")) var key: String
        @Option(help: ArgumentHelp("The certificate file to write (must not exist).", valueName: "file")) var out: String
        @OptionGroup var card: CardSafetyOptions

        func run() throws {
            let context = CLIContext(global)
            cliCardSigners.options = card.unlock
            let ceremonies = Ceremonies(vault: try context.openVault(), secrets: context.secrets)
            if AtomicFile.exists(out) {
                throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose a new file name; trustvault never overwrites it")
            }
            let cert = try ceremonies.rootCertificate(gun: gun, keyID: key)
            try createOutputFile(Array(cert.pem.utf8), at: out, mode: 0o644)
            printOut("Wrote \(out): root certificate for \(gun), key \(cert.key.displayID) (in root.json as \(cert.key.id))")
        }
    }
}

extension TrustVault.Delegation {
    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove one key from every delegation in one change (a compromised signer).",
            discussion: """
                Removes the key from every delegation role of targets.json and from its key list, in one \
                targets.json version. A role whose only key it is would be left unable to sign: that is \
                refused unless --remove-emptied-roles removes such roles whole.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The repository.") var gun: String
        @Option(name: .customLong("key"), help: ArgumentHelp("The key to remove (canonical or TUF ID, or a unique prefix).", valueName: "keyid")) var key:
            String
        @Flag(name: .customLong("remove-emptied-roles"), help: "Remove roles whose only key this is.") var removeEmptiedRoles = false
        @OptionGroup var change: ChangeOptions

        func run() throws {
            let ceremonies = try CLIContext(global).ceremonies(server: change.serverOption, pending: change.pendingOption)
            let output = try ceremonies.purgeDelegationKey(
                gun: gun, keyID: key, removeEmptiedRoles: removeEmptiedRoles, currentDir: change.current, out: change.out)
            report(output, out: change.out)
        }
    }
}
