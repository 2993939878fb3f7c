import ArgumentParser
import CLISupport
import Foundation
import KeyVault

extension TrustVault {
    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate, list, import, export and manage keys.",
            subcommands: [Generate.self, List.self, Import.self, Export.self, Passwd.self, Remove.self, CopyToCard.self, Register.self])
    }
}

extension TrustVault.Key {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a new key in the vault.",
            discussion: """
                The key is sealed under the passphrase of its role (TRUSTVAULT_ROOT_PASSPHRASE, \
                TRUSTVAULT_TARGETS_PASSPHRASE, TRUSTVAULT_SNAPSHOT_PASSPHRASE or \
                TRUSTVAULT_DELEGATION_PASSPHRASE), or one typed twice at a prompt. The last line \
                of output is the key ID, as 'notary key list' shows it.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "root, targets, snapshot, targets/<name>, delegation, or a signer name.")
        var role: String

        @Option(help: "The repository (GUN); required for targets and snapshot keys.")
        var gun: String?

        @Option(help: "ecdsa (P-256, default), ed25519 or rsa (2048 bits).")
        var algorithm: AlgorithmChoice = .ecdsa

        @Option(help: "Generate the key on the PIV card with this serial instead of in the vault.")
        var card: String?

        @Option(help: "The card slot (default 9c).")
        var slot: String?

        @OptionGroup var safety: CardSafetyOptions

        @OptionGroup var policies: CardKeyPolicyOptions

        func validate() throws {
            if role == "root", algorithm == .ed25519 {
                throw ValidationError("root keys must be ecdsa or rsa: notary's root certificates cannot hold Ed25519 keys")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let algorithm = algorithm.algorithm
            let gun = try KeyRole.normalise(role: role, gun: gun)
            if let card {
                try CardKeys.generate(
                    context, vault: vault, role: role, gun: gun, algorithm: algorithm,
                    serial: card, slot: slot, policies: policies, options: safety.unlock)
                return
            }
            if slot != nil { throw ValidationError("--slot needs --card") }
            if policies.isGiven { throw ValidationError("--pin-policy, --touch-policy and --overwrite need --card") }
            let passphrase = try context.secrets.passphrase(for: .key(role: role), creating: true)
            let key = try PrivateKey.generate(algorithm)
            let record = try vault.add(key, role: role, gun: gun, passphrase: passphrase)
            printOut("Generated \(record.algorithm) \(record.role) key\(record.gun.map { " for \($0)" } ?? "") in \(vault.path)")
            printOut(record.id)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the vault's keys (no passphrase needed).",
            discussion: """
                The table fits 100 columns: key IDs are shortened to their first 16 hex digits (every \
                command accepts a unique prefix of a key ID) and long names are shortened with …. \
                --wide shows full key IDs and the root certificate IDs; --json has every field.
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array instead of a table.")
        var json = false

        @Flag(help: "Full key IDs and root certificate IDs (wider than 100 columns).")
        var wide = false

        func run() throws {
            let vault = try CLIContext(global).openVault()
            let records = try vault.records()
            let status = try vault.keyStatus()
            func certs(_ r: KeyRecord) -> [String: String] { status.rootCertificates[r.id] ?? [:] }
            if json {
                let items = records.map { r in
                    JSONValue.obj([
                        "id": .string(r.id),
                        "role": .string(r.role),
                        "gun": r.gun.map(JSONValue.string) ?? .null,
                        "algorithm": .string(r.algorithm.rawValue),
                        "location": .string(r.location.description),
                        "certificate": .bool(r.certificatePEM != nil),
                        "created": .string(r.created),
                        "status": .string(status.state(of: r.id)),
                        // As before: the (latest) retirement of a key no repository lists any more.
                        "retired": status.state(of: r.id) == "retired"
                            ? status.retired[r.id].map { JSONValue.obj(["gun": .string($0.gun), "time": .string($0.time)]) } ?? .null : .null,
                        "card_reset": status.cardReset[r.id].map { JSONValue.obj(["serial": .string($0.serial), "time": .string($0.time)]) } ?? .null,
                        "root_certificate_ids": .object(certs(r).map { .init($0.key, .string($0.value)) }),
                        "repositories": .object(status.uses(of: r.id).map { .init($0.gun, .array($0.roles.map(JSONValue.string))) }),
                        "retired_from": .object(status.retirements(of: r.id).map { .init($0.gun, .string($0.time)) }),
                    ])
                }
                printOut(JSONValue.array(items).canonicalString)
                return
            }
            if records.isEmpty {
                printOut("No keys in \(vault.path). Create one with 'trustvault key generate --role root'.")
                return
            }
            func repositories(_ r: KeyRecord) -> String {
                let used = status.uses(of: r.id).map { "\($0.gun): \($0.roles.joined(separator: ","))" }
                let retired = status.retirements(of: r.id).map { "\($0.gun): retired" }
                return (used + retired).joined(separator: "; ")
            }
            if wide {
                let rows = records.map { r in
                    [
                        r.role, r.gun ?? "", r.id, r.algorithm.rawValue, r.location.description, status.state(of: r.id), repositories(r),
                        certs(r).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "),
                    ]
                }
                printTable(header: ["ROLE", "GUN", "KEY ID", "ALGORITHM", "LOCATION", "STATUS", "REPOSITORIES", "ROOT CERTIFICATE IDS"], rows: rows)
                return
            }
            let rows = records.map { r in
                [String(r.id.prefix(16)), r.role, r.gun ?? "-", r.algorithm.rawValue, r.location.description, status.state(of: r.id)]
            }
            printTable(
                header: ["KEY ID", "ROLE", "GUN", "ALGORITHM", "LOCATION", "STATUS"],
                rows: fitted(rows, header: ["KEY ID", "ROLE", "GUN", "ALGORITHM", "LOCATION", "STATUS"], width: 100, shrinkable: [2, 1, 4]))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write keys for other tools.",
            discussion: """
                --format notary (the default) writes notary's own encrypted key format, \
                encrypted with TRUSTVAULT_EXPORT_PASSPHRASE (or one typed twice): into a FILE as \
                a bundle with path:/role:/gun: headers that 'notary key import' and \
                'docker trust key load' accept, or into a DIRECTORY (existing, or written with a \
                trailing /) as DIRECTORY/private/<id>.key, a trust-dir fragment to copy into \
                ~/.notary or ~/.docker/trust. \
                --format public writes each key's public key (or its certificate) as PEM. \
                --format pem writes unencrypted PKCS#8 and needs --i-understand-this-is-unencrypted;                 it asks for confirmation on a terminal (otherwise --yes). Every export of private                 key material leaves a record in the vault's audit log.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Key IDs (or unique prefixes).")
        var keyIDs: [String]

        @Option(help: "Output file, or directory for --format notary (created with mode 0600; never overwritten).")
        var out: String

        @Option(help: "notary (default), pem or public.")
        var format: ExportFormat = .notary

        @Flag(name: .customLong("i-understand-this-is-unencrypted"), help: "Allow --format pem.")
        var unencryptedOK = false

        @Flag(help: "With --format pem: do not ask for confirmation (required without a terminal).")
        var yes = false

        func validate() throws {
            if format == .pem, !unencryptedOK {
                throw ValidationError("--format pem writes private keys unencrypted; add --i-understand-this-is-unencrypted")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            var records: [KeyRecord] = []
            for id in keyIDs { records.append(try vault.record(matching: id)) }
            if format == .notary {
                let files = try vault.exportNotary(records, to: out, secrets: context.secrets)
                printOut("Wrote \(records.count) key\(records.count == 1 ? "" : "s") in notary's format (encrypted with the export passphrase):")
                for file in files { printOut("  \(file)") }
                if files.count == 1, files[0] == out {
                    printOut("On the online machine: notary key import \(out)   or   docker trust key load \(out)")
                } else {
                    printOut("On the online machine: copy the private/ files into ~/.notary/private or ~/.docker/trust/private")
                }
                return
            }
            if format == .pem {
                if !yes {
                    let names = records.map { "\($0.role) key \($0.id.prefix(12))" }.joined(separator: ", ")
                    guard let answer = context.confirm("Write \(names) UNENCRYPTED to \(out)?") else {
                        throw TrustVaultError(
                            .invalidArgument, "writing unencrypted private keys needs confirmation",
                            recovery: "add --yes to confirm without a terminal")
                    }
                    guard answer else {
                        printOut("Nothing written.")
                        return
                    }
                }
                try vault.exportUnencryptedPEM(records, to: out, secrets: context.secrets)
                printOut("Wrote \(records.count) key\(records.count == 1 ? "" : "s") to \(out) (\(format.rawValue), unencrypted; recorded in the audit log)")
                return
            }
            var text = ""
            for record in records { text += record.certificatePEM ?? record.publicKey.pemString }
            try createOutputFile(Array(text.utf8), at: out, mode: 0o644)
            printOut("Wrote \(records.count) key\(records.count == 1 ? "" : "s") to \(out) (\(format.rawValue))")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a key's passphrase.",
            discussion:
                "The current passphrase comes from TRUSTVAULT_PASSPHRASE_<first 12 characters of the key ID> or the role's variable, the new one (at least 8 characters) from TRUSTVAULT_NEW_PASSPHRASE (or prompts)."
        )

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The key ID (or a unique prefix).")
        var keyID: String

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let record = try vault.record(matching: keyID)
            let old = try context.secrets.passphrase(for: .unlock(KeyDescription(record)))
            _ = try vault.unlock(record, passphrase: old)  // fail before asking for the new one
            let new = try context.secrets.passphrase(for: .newPassphrase(role: record.role), creating: true)
            try vault.changePassphrase(record, from: old, to: new)
            printOut("Changed the passphrase of \(record.role) key")
            printOut(record.id)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a key from the vault for good.",
            discussion: """
                Refuses a key that a repository in the vault's records (what the last ceremony for \
                each repository recorded, shown by 'key list') still lists as a root, targets, snapshot \
                or delegation key, unless each such repository is named with --repository.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The key ID (or a unique prefix).")
        var keyID: String

        @Option(help: ArgumentHelp("A repository that still lists the key and that you accept to lose it (repeat for each).", valueName: "gun"))
        var repository: [String] = []

        @Flag(help: "Do not ask for confirmation (required without a terminal).")
        var yes = false

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let record = try vault.record(matching: keyID)
            let uses = try vault.checkRemoval(of: record, named: repository)
            let still =
                uses.isEmpty
                ? ""
                : " \(uses.map(\.listing).joined(separator: ", ")) still list\(uses.count == 1 ? "s" : "") it: \(uses.map(\.impossible).joined(separator: ", ")) becomes impossible here."
            if !yes {
                guard let answer = context.confirm("Remove \(record.role) key \(record.id)?\(still) It cannot be undone without a backup.") else {
                    throw TrustVaultError(.invalidArgument, "removing a key needs confirmation", recovery: "add --yes to confirm without a terminal")
                }
                guard answer else {
                    printOut("Nothing removed.")
                    return
                }
            }
            try vault.remove(record)
            printOut("Removed \(record.role) key \(record.id)")
            for use in uses {
                printOut("note: \(use.gun) still lists it (\(use.roles.joined(separator: ", "))); this vault can no longer do: \(use.impossible)")
            }
        }
    }
}

/// Left-aligned columns separated by two spaces.
/// Shortens the cells of the `shrinkable` columns (in that order of preference) with a middle
/// ellipsis until every line of the table fits `width` columns (2 spaces between columns).
func fitted(_ rows: [[String]], header: [String], width: Int, shrinkable: [Int]) -> [[String]] {
    var rows = rows
    func widths() -> [Int] {
        var w = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { w[i] = max(w[i], cell.count) } }
        return w
    }
    func total() -> Int { widths().reduce(0, +) + 2 * (header.count - 1) }
    for column in shrinkable {
        let excess = total() - width
        guard excess > 0 else { break }
        let target = max(header[column].count, 8, widths()[column] - excess)
        rows = rows.map { row in
            var row = row
            if row[column].count > target {
                let keep = target - 1, head = (keep + 1) / 2, tail = keep - head
                row[column] = String(row[column].prefix(head)) + "…" + String(row[column].suffix(tail))
            }
            return row
        }
    }
    return rows
}

func printTable(header: [String], rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }
    printOut(line(header))
    for row in rows { printOut(line(row)) }
}
