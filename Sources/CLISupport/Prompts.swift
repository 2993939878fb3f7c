public import TrustCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What both executables ask a person at the controlling terminal: secrets with echo off
/// (passphrases, PINs, a server password), yes/no confirmations and a typed word. Prompts go to
/// the terminal, never to stdout or stderr, escaped as every output line is; the reading itself
/// is TrustCore's `Terminal`.
public enum TerminalPrompt {
    /// Whether a person can be asked.
    public static var isAvailable: Bool { Terminal.isAvailable }

    /// A new or current secret: at least `minimumLength` bytes, typed twice when `confirm`;
    /// three attempts, then `.missingSecret`. The shape `SecretSource` takes as its prompter.
    @Sendable public static func read(_ prompt: String, confirm: Bool, minimumLength: Int) throws(TrustVaultError) -> SecretBytes {
        for _ in 0..<3 {
            let first = try Terminal.readSecretLine(Output.shown(prompt))
            if first.count < minimumLength {
                Terminal.write("The passphrase must have at least \(minimumLength) characters.\n")
                continue
            }
            if !confirm { return first }
            let second = try Terminal.readSecretLine("Repeat it: ")
            if first.constantTimeEquals(second) { return first }
            Terminal.write("The two entries differ; try again.\n")
        }
        throw TrustVaultError(.missingSecret, "no acceptable secret was entered after 3 attempts")
    }

    /// A password (echo off) as text, for credentials sent to a server; an empty answer is
    /// `.missingSecret`.
    @Sendable public static func password(_ prompt: String) throws(TrustVaultError) -> String {
        let line = try Terminal.readSecretLine(Output.shown(prompt))
        guard line.count > 0 else { throw TrustVaultError(.missingSecret, "no password was entered") }
        return line.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Asks a yes/no question; only `y` or `yes` is yes. False when the terminal cannot be read.
    public static func ask(_ question: String) -> Bool {
        Terminal.write(Output.shown(question) + " [y/N] ")
        let answer = line(maximumBytes: 64).trimmed.lowercased()
        return answer == "y" || answer == "yes"
    }

    /// A yes/no question when there is a terminal; nil when there is none (the caller then
    /// needs `--yes`).
    public static func confirm(_ question: String) -> Bool? {
        guard isAvailable else { return nil }
        return ask(question)
    }

    /// Shows `prompt` and reads one line typed at the terminal (echo on; not a secret), without
    /// its line break; empty when the terminal cannot be read.
    public static func typedLine(_ prompt: String) -> String {
        Terminal.write(Output.shown(prompt))
        return line(maximumBytes: 1024)
    }

    private static func line(maximumBytes: Int) -> String {
        let fd = open("/dev/tty", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < maximumBytes, readByte(fd, &byte) == 1, byte != 0x0A, byte != 0x0D { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One byte from `fd` (at file scope, where `read` is the system's, not `TerminalPrompt.read`).
private func readByte(_ fd: Int32, _ byte: inout UInt8) -> Int { read(fd, &byte, 1) }

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
