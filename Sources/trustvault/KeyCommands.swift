import ArgumentParser
import Formats
import Foundation
import KeyVault
import TrustCore

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
        var algorithm: String = "ecdsa"

        @Option(help: "Generate the key on the PIV card with this serial instead of in the vault.")
        var card: String?

        @Option(help: "The card slot (default 9c).")
        var slot: String?

        @OptionGroup var safety: CardSafetyOptions

        @OptionGroup var policies: CardKeyPolicyOptions

        func validate() throws {
            try policies.validate()
            guard let algorithm = KeyAlgorithm(rawValue: algorithm) else {
                throw ValidationError("--algorithm must be ecdsa, ed25519 or rsa, not '\(self.algorithm)'")
            }
            if role == "root", algorithm == .ed25519 {
                throw ValidationError("root keys must be ecdsa or rsa: notary's root certificates cannot hold Ed25519 keys")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let algorithm = KeyAlgorithm(rawValue: algorithm) ?? .ecdsa
            let gun = try KeyRole.normalise(role: role, gun: gun)
            if let card {
                try CardKeys.generate(context, vault: vault, role: role, gun: gun, algorithm: algorithm,
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
        static let configuration = CommandConfiguration(abstract: "List the vault's keys (no passphrase needed).")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array instead of a table.")
        var json = false

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
                        "retired": status.retired[r.id].map { JSONValue.obj(["gun": .string($0.gun), "time": .string($0.time)]) } ?? .null,
                        "card_reset": status.cardReset[r.id].map { JSONValue.obj(["serial": .string($0.serial), "time": .string($0.time)]) } ?? .null,
                        "root_certificate_ids": .object(certs(r).map { .init($0.key, .string($0.value)) }),
                    ])
                }
                printOut(JSONValue.array(items).canonicalString)
                return
            }
            if records.isEmpty {
                printOut("No keys in \(vault.path). Create one with 'trustvault key generate --role root'.")
                return
            }
            let rows = records.map { r in
                [r.role, r.gun ?? "", r.id, r.algorithm.rawValue, r.location.description, status.state(of: r.id),
                 certs(r).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")]
            }
            printTable(header: ["ROLE", "GUN", "KEY ID", "ALGORITHM", "LOCATION", "STATUS", "ROOT CERTIFICATE IDS"], rows: rows)
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
        var format: String = "notary"

        @Flag(name: .customLong("i-understand-this-is-unencrypted"), help: "Allow --format pem.")
        var unencryptedOK = false

        @Flag(help: "With --format pem: do not ask for confirmation (required without a terminal).")
        var yes = false

        func validate() throws {
            guard ["notary", "pem", "public"].contains(format) else {
                throw ValidationError("--format must be notary, pem or public, not '\(format)'")
            }
            if format == "pem", !unencryptedOK {
                throw ValidationError("--format pem writes private keys unencrypted; add --i-understand-this-is-unencrypted")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            var records: [KeyRecord] = []
            for id in keyIDs { records.append(try vault.record(matching: id)) }
            if format == "notary" {
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
            if format == "pem" {
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
                printOut("Wrote \(records.count) key\(records.count == 1 ? "" : "s") to \(out) (\(format), unencrypted; recorded in the audit log)")
                return
            }
            var text = ""
            for record in records { text += record.certificatePEM ?? record.publicKey.pemString }
            try createOutputFile(Array(text.utf8), at: out, mode: 0o644)
            printOut("Wrote \(records.count) key\(records.count == 1 ? "" : "s") to \(out) (\(format))")
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a key's passphrase.",
            discussion: "The current passphrase comes from TRUSTVAULT_PASSPHRASE_<first 12 characters of the key ID> or the role's variable, the new one (at least 8 characters) from TRUSTVAULT_NEW_PASSPHRASE (or prompts).")

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
        static let configuration = CommandConfiguration(abstract: "Remove a key from the vault for good.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The key ID (or a unique prefix).")
        var keyID: String

        @Flag(help: "Do not ask for confirmation (required without a terminal).")
        var yes = false

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let record = try vault.record(matching: keyID)
            if !yes {
                guard let answer = context.confirm("Remove \(record.role) key \(record.id)? It cannot be undone without a backup.") else {
                    throw TrustVaultError(.invalidArgument, "removing a key needs confirmation", recovery: "add --yes to confirm without a terminal")
                }
                guard answer else {
                    printOut("Nothing removed.")
                    return
                }
            }
            try vault.remove(record)
            printOut("Removed \(record.role) key \(record.id)")
        }
    }
}

/// Left-aligned columns separated by two spaces.
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

/// Creates an output file atomically, never replacing an existing one.
func createOutputFile(_ bytes: [UInt8], at path: String, mode: UInt32 = 0o600) throws(TrustVaultError) {
    if AtomicFile.exists(path) {
        throw TrustVaultError(.alreadyExists, "\(path) already exists", recovery: "choose another --out path or remove it first")
    }
    try AtomicFile.create(bytes, at: path, mode: mode)
}
