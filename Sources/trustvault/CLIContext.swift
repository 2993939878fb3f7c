import ArgumentParser
import CLISupport
import Foundation
import KeyVault

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: "--vault", help: ArgumentHelp("The vault directory (default: $TRUSTVAULT_HOME, else ~/.trustvault).", valueName: "dir"))
    var vault: String?
}

/// The card sessions of this process (one command): closed (cards reset) at exit.
let cliCardSigners = CardSigners()

/// What a command needs from its surroundings: the vault path, secrets, output.
struct CLIContext {
    let vaultPath: String
    let secrets: SecretSource
    let environment: [String: String]

    init(_ global: GlobalOptions) {
        let env = ProcessInfo.processInfo.environment
        environment = env
        vaultPath = global.vault ?? Vault.defaultPath(environment: env)
        secrets = SecretSource(environment: env, prompter: TerminalPrompt.isAvailable ? TerminalPrompt.read : nil)
    }

    func openVault() throws(TrustVaultError) -> Vault { try Vault.open(at: vaultPath, cardSigners: cliCardSigners) }

    /// Asks a yes/no question on the terminal; nil when there is no terminal.
    func confirm(_ question: String) -> Bool? { TerminalPrompt.confirm(question) }
}

extension CLIContext {
    /// The Notary ceremonies of one command: `card`'s options set for this process's card
    /// signers (before the vault opens), the server named in the printed online step, and the
    /// `--pending` outputs to build on.
    func ceremonies(server: ServerOption? = nil, pending: PendingOption? = nil, card: CardSafetyOptions? = nil)
        throws(TrustVaultError) -> Ceremonies
    {
        if let card { cliCardSigners.options = card.unlock }
        var ceremonies = Ceremonies(vault: try openVault(), secrets: secrets, server: server?.server, tlsCAFile: server?.tlscacert)
        if let pending { ceremonies.pending = pending.pending }
        return ceremonies
    }

    /// The TUF ceremonies of one command, `card`'s options set for this process's card signers.
    func tufCeremonies(card: CardSafetyOptions) throws(TrustVaultError) -> TUFCeremonies {
        cliCardSigners.options = card.unlock
        return TUFCeremonies(vault: try openVault(), secrets: secrets)
    }

    /// The RSTUF ceremonies on this vault, card options applied.
    func rstufCeremonies(card: CardSafetyOptions) throws(TrustVaultError) -> RSTUFCeremonies {
        cliCardSigners.options = card.unlock
        return RSTUFCeremonies(vault: try openVault(), secrets: secrets)
    }
}
