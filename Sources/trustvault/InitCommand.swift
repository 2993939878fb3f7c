import ArgumentParser
import CLISupport
import KeyVault

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
        var kdf: KDFChoice = .moderate

        func run() throws {
            let context = CLIContext(global)
            let profile = kdf.profile
            let vault = try Vault.create(at: context.vaultPath, profile: profile)
            printOut("Created vault \(vault.path)")
            printOut("KDF profile: \(profile)")
        }
    }
}
