import ArgumentParser
import CLISupport
import KeyVault

extension TrustVault {
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypted backups of the whole vault: create, verify (restore drill), restore.",
            discussion: """
                A backup holds every file of the vault (key records stay sealed under their own \
                passphrases). It is encrypted with a key derived from TRUSTVAULT_BACKUP_PASSPHRASE \
                (or a prompt) using Argon2id's sensitive profile, or with a random key split K-of-N \
                into printable share files (--shares K/N --share-dir DIR). See docs/backup-format.md \
                and docs/recovery.md.
                """,
            subcommands: [Create.self, Verify.self, Restore.self])
    }
}

/// `K/N` as given to `--shares`.
struct ShareSpec: ExpressibleByArgument {
    let threshold: Int
    let count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        threshold = k
        count = n
    }
}

extension TrustVault.Backup {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an encrypted backup of the vault.",
            discussion: """
                Without --shares the backup key comes from TRUSTVAULT_BACKUP_PASSPHRASE or a \
                passphrase typed twice (Argon2id, sensitive profile: 1 GiB, a few seconds). With \
                --shares K/N a random key is split so that any K of the N share files written to \
                --share-dir open the backup; give each custodian one share and keep the shares \
                apart from the backup file. Existing files are never overwritten.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The backup file to write.", valueName: "file"))
        var out: String

        @Option(help: ArgumentHelp("Split the backup key K-of-N into share files (2 ≤ K ≤ N ≤ 255).", valueName: "K/N"))
        var shares: ShareSpec?

        @Option(name: "--share-dir", help: ArgumentHelp("Where the N share files go (with --shares).", valueName: "dir"))
        var shareDirectory: String?

        func validate() throws {
            if shares != nil, shareDirectory == nil {
                throw ValidationError("--shares needs --share-dir DIR for the share files")
            }
            if shares == nil, shareDirectory != nil {
                throw ValidationError("--share-dir is only used with --shares K/N")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let protection: BackupProtection
            if let shares, let shareDirectory {
                protection = .shares(threshold: shares.threshold, count: shares.count, directory: shareDirectory)
            } else {
                let passphrase = try context.secrets.passphrase(for: .backup, creating: true)
                protection = .passphrase(passphrase, profile: .sensitive)
            }
            let created = try KeyVault.Backup.create(of: vault, to: out, protection: protection)
            let c = created.contents
            printOut("Backed up \(vault.path): \(c.keys.count) key\(c.keys.count == 1 ? "" : "s"), \(c.paths.count) files")
            printOut("Backup ID: \(c.header.backupIDHex)")
            if created.shareFiles.isEmpty {
                printOut("Protected by the backup passphrase: \(KDFProfile.sensitive).")
            } else if let shares {
                printOut("Any \(shares.threshold) of these \(shares.count) share files open the backup; give one to each custodian:")
                for file in created.shareFiles { printOut("  \(file)") }
            }
            printOut("Check it now and from time to time: trustvault backup verify \(c.file)\(created.shareFiles.isEmpty ? "" : " --share FILE ...")")
            printOut(c.file)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a backup completely without writing anything (a restore drill).",
            discussion: """
                Checks the header, the key (passphrase, or that the given shares combine), the \
                authentication of every chunk and the final mark (so truncation is found), and \
                every key record inside. Exit status 0 only if all of it holds.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The backup file.", valueName: "file"))
        var file: String

        @Option(name: "--share", help: ArgumentHelp("A share file (repeat for K shares).", valueName: "file"))
        var shares: [String] = []

        @Flag(help: "Print a JSON object for scripts (a failure is still one error: line and a non-zero exit).")
        var json = false

        func run() throws {
            let context = CLIContext(global)
            let contents = try KeyVault.Backup.verify(file, unlock: try unlock(file: file, shares: shares, context: context))
            if json {
                printOut(backupJSON(contents, file: file, unlockedWith: shares.isEmpty ? "passphrase" : "shares").canonicalString)
                return
            }
            describe(contents)
            printOut("OK: \(contents.file) is complete and opens with the \(shares.isEmpty ? "passphrase" : "shares given")")
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new vault or merge it into an existing one.",
            discussion: """
                Into a missing or empty --vault directory the whole vault is rebuilt next to it and \
                renamed into place (an interrupted restore leaves no vault). Into an existing vault \
                only keys it lacks are added; a key it already holds is never overwritten, and the \
                vault's own settings and audit log stay as they are.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The backup file.", valueName: "file"))
        var file: String

        @Option(name: "--share", help: ArgumentHelp("A share file (repeat for K shares).", valueName: "file"))
        var shares: [String] = []

        func run() throws {
            let context = CLIContext(global)
            let report = try KeyVault.Backup.restore(
                file, unlock: try unlock(file: file, shares: shares, context: context), into: context.vaultPath)
            describe(report.contents)
            if report.createdVault {
                printOut("Restored a new vault at \(report.vaultPath) with \(report.added.count) key\(report.added.count == 1 ? "" : "s").")
            } else {
                printOut(
                    "Merged into \(report.vaultPath): \(report.added.count) key\(report.added.count == 1 ? "" : "s") added, \(report.alreadyPresent.count) already present."
                )
                for path in report.keptExisting { printOut("  kept the vault's own \(path)") }
            }
            printOut("Key passphrases are those the keys had when the backup was made.")
            printOut(report.vaultPath)
        }
    }
}

/// The secret that opens `file`: shares when given, else the backup passphrase.
private func unlock(file: String, shares: [String], context: CLIContext) throws(TrustVaultError) -> BackupUnlock {
    if !shares.isEmpty { return .shares(shares) }
    let header = try KeyVault.Backup.header(of: file)
    if case let .shares(k, n) = header.keyMode {
        throw TrustVaultError(
            .missingSecret, "\(file) is split into \(n) shares; \(k) are needed and none was given",
            recovery: "pass \(k) share files with --share FILE")
    }
    return .passphrase(try context.secrets.passphrase(for: .backup))
}

private func describe(_ contents: BackupContents) {
    let header = contents.header
    printOut("Backup \(contents.file)")
    printOut("  ID:      \(header.backupIDHex)")
    printOut("  created: \(header.created)")
    switch header.keyMode {
    case .passphrase(let ops, let mem, _):
        printOut("  key:     passphrase (Argon2id, \(ops) passes, \(mem / (1024 * 1024)) MiB)")
    case .shares(let k, let n):
        printOut("  key:     \(k) of \(n) shares")
    }
    printOut("  files:   \(contents.paths.count)\(contents.hasAuditLog ? " (with audit log)" : "")")
    printOut("  keys:    \(contents.keys.count)")
    for key in contents.keys {
        printOut("    \(key.id)  \(key.role)\(key.gun.map { " \($0)" } ?? "")  \(key.algorithm)  \(key.location)")
    }
}

/// `backup verify --json` (docs/json-output.md).
private func backupJSON(_ contents: BackupContents, file: String, unlockedWith: String) -> JSONValue {
    let header = contents.header
    let key: JSONValue
    switch header.keyMode {
    case .passphrase(let ops, let mem, _):
        key = .obj(["mode": .string("passphrase"), "argon2id_passes": .integer(Int64(ops)), "argon2id_memory_bytes": .integer(Int64(mem))])
    case .shares(let k, let n):
        key = .obj(["mode": .string("shares"), "threshold": .integer(Int64(k)), "shares": .integer(Int64(n))])
    }
    return .obj([
        "file": .string(file),
        "valid": .bool(true),
        "backup_id": .string(header.backupIDHex),
        "created": .string(header.created),
        "key": key,
        "opened_with": .string(unlockedWith),
        "files": .integer(Int64(contents.paths.count)),
        "audit_log": .bool(contents.hasAuditLog),
        "keys": .array(
            contents.keys.map { k in
                .obj([
                    "id": .string(k.id), "role": .string(k.role), "gun": k.gun.map(JSONValue.string) ?? .null,
                    "algorithm": .string(k.algorithm.rawValue), "location": .string(k.location.description),
                ])
            }),
    ])
}
