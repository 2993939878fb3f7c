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
    static var isAvailable: Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return isatty(STDIN_FILENO) == 1 || isatty(STDERR_FILENO) == 1
    }

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

    static func writeTTY(_ text: String) {
        let fd = open("/dev/tty", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// One line with echo off, into secure memory; the trailing newline is dropped.
    private static func readOnce(_ prompt: String) throws(TrustVaultError) -> SecretBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw TrustVaultError(.missingSecret, "cannot open the terminal to ask for a secret") }
        defer { close(fd) }
        writeTTY(prompt)
        var saved = termios()
        let haveTermios = tcgetattr(fd, &saved) == 0
        if haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(fd, TCSANOW, &quiet)
        }
        defer { if haveTermios { tcsetattr(fd, TCSANOW, &saved) } }
        let capacity = 1024
        var length = 0
        let line = SecretBytes(count: capacity) { buffer in
            while length < capacity {
                var byte: UInt8 = 0
                let n = Glibc.read(fd, &byte, 1)
                if n <= 0 || byte == 0x0A || byte == 0x0D { break }
                buffer[length] = byte
                length += 1
            }
        }
        return line.withUnsafeBytes { raw in SecretBytes(copying: raw.prefix(length)) }
    }
}
