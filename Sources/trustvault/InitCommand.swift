import ArgumentParser
import KeyVault
import TrustCore

extension TrustVault {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new vault.",
            discussion: """
                The KDF profile sets the Argon2id cost of every passphrase-sealed key (root keys \
                always use at least 'moderate'). 'interactive' is for tests and demos.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Argon2id cost: interactive, moderate or sensitive.")
        var kdf: String = "moderate"

        func validate() throws {
            guard KDFProfile.named(kdf) != nil else {
                throw ValidationError("--kdf must be interactive, moderate or sensitive, not '\(kdf)'")
            }
        }

        func run() throws {
            let context = CLIContext(global)
            guard let profile = KDFProfile.named(kdf) else { return }
            let vault = try Vault.create(at: context.vaultPath, profile: profile)
            printOut("Created vault \(vault.path)")
            printOut("KDF profile: \(profile)")
        }
    }
}
