import ArgumentParser
import Foundation
import KeyVault
import TrustCore
#if canImport(Glibc)
import Glibc
#endif

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
    func confirm(_ question: String) -> Bool? {
        guard TerminalPrompt.isAvailable else { return nil }
        return TerminalPrompt.ask(question)
    }
}

/// Every line of output goes through TrustCore's one escaping function, so control characters
/// in GUNs, roles, headers or paths are shown as `\u001b` and never reach the terminal raw.
func printOut(_ line: String = "") {
    print(Escape.visibleLines(line))
    fflush(nil)
}

/// Reads secrets from the controlling terminal with echo off.
enum TerminalPrompt {
    static var isAvailable: Bool { Terminal.isAvailable }

    @Sendable static func read(_ prompt: String, confirm: Bool, minimumLength: Int) throws(TrustVaultError) -> SecretBytes {
        for _ in 0..<3 {
            let first = try readOnce(prompt)
            if first.count < minimumLength {
                writeTTY("The passphrase must have at least \(minimumLength) characters.\n")
                continue
            }
            if !confirm { return first }
            let second = try readOnce("Repeat it: ")
            if first.constantTimeEquals(second) { return first }
            writeTTY("The two entries differ; try again.\n")
        }
        throw TrustVaultError(.missingSecret, "no acceptable secret was entered after 3 attempts")
    }

    static func ask(_ question: String) -> Bool {
        writeTTY(question + " [y/N] ")
        guard let fd = Optional(open("/dev/tty", O_RDONLY | O_CLOEXEC)), fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0 else { return false }
        let answer = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return answer.lowercased() == "y" || answer.lowercased() == "yes"
    }

    static func writeTTY(_ text: String) { Terminal.write(text) }

    private static func readOnce(_ prompt: String) throws(TrustVaultError) -> SecretBytes {
        try Terminal.readSecretLine(prompt)
    }
}
