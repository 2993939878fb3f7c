import ArgumentParser
import CLISupport
import Foundation
import KeyVault

extension TrustVault.Key {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import keys from key files, trust directories or client bundles.",
            discussion: """
                PATH may be a PEM file in any form notary, docker or OpenSSL writes (ENCRYPTED \
                PRIVATE KEY, PRIVATE KEY, EC/RSA PRIVATE KEY with or without legacy encryption, \
                notary's ED25519 PRIVATE KEY, multi-key bundles from 'notary key export'), a \
                notary or docker trust directory (its private/ keys, including the legacy \
                root_keys/ and tuf_keys/<gun>/ layouts), or a client bundle (a zip file or a \
                directory with cert.pem and key.pem).

                Role and GUN: the key's role:/gun: headers win; otherwise --role/--gun; a key \
                with no role becomes 'delegation'. targets and snapshot keys need a GUN.

                Passphrases of encrypted inputs: TRUSTVAULT_IMPORT_PASSPHRASE, else the \
                matching NOTARY_<ROLE>_PASSPHRASE / DOCKER_CONTENT_TRUST_*_PASSPHRASE, else a \
                prompt. Imported keys are sealed with TRUSTVAULT_<ROLE>_PASSPHRASE (or a prompt).

                All or nothing: if any file or PEM block is refused, each refusal is listed \
                and nothing is imported. Keys already in the vault are left as they are.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Key files, trust directories or client bundles.")
        var paths: [String]

        @Option(help: "Role for keys without a role: header (default: delegation).")
        var role: String?

        @Option(help: "Repository (GUN) for targets/snapshot keys without a gun: header.")
        var gun: String?

        func validate() throws {
            if let role, !KeyRole.isValid(role) {
                throw ValidationError("--role '\(role)' is not a valid role (root, targets, snapshot, targets/<name>, delegation or a signer name)")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let outcome = try vault.importKeys(
                from: paths, defaults: KeyImportDefaults(role: role, gun: gun), secrets: context.secrets)
            for note in outcome.notes { writeError("note: \(note)") }
            guard outcome.succeeded else {
                for refusal in outcome.refusals {
                    writeError("refused: \(refusal.error.message)")
                    if let recovery = refusal.error.recovery { writeError("  to fix: \(recovery)") }
                }
                let n = outcome.refusals.count
                let readable = outcome.keysRead
                // The error line itself names the refused files (the first three).
                var sources: [String] = []
                for r in outcome.refusals where !sources.contains(r.source) { sources.append(r.source) }
                let named = sources.prefix(3).joined(separator: ", ") + (sources.count > 3 ? ", …" : "")
                throw TrustVaultError(
                    outcome.refusals[0].error.code,
                    "\(n) input\(n == 1 ? " was" : "s were") refused (\(named); listed above)"
                        + (readable > 0 ? " and \(readable) key\(readable == 1 ? "" : "s") could be read" : "")
                        + "; nothing was imported",
                    recovery: "fix or leave out the refused inputs and run the import again (it is all or nothing)")
            }
            if outcome.imported.isEmpty && outcome.alreadyPresent.isEmpty {
                throw TrustVaultError(.notFound, "no keys found in \(paths.joined(separator: " "))")
            }
            for record in outcome.alreadyPresent {
                printOut("Already in the vault: \(record.role) key \(record.id)")
            }
            for record in outcome.imported {
                let extras = (record.gun.map { " for \($0)" } ?? "") + (record.certificatePEM != nil ? " with its certificate" : "")
                printOut("Imported \(record.algorithm) \(record.role) key\(extras)")
                printOut(record.id)
            }
        }
    }
}
