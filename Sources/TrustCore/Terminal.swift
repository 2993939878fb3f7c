#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The controlling terminal, for secrets typed by a person: one place for both executables
/// (`trustvault` asks for passphrases and PINs, `trustvault-online` for a server password).
public enum Terminal {
    /// Whether a person can be asked: `/dev/tty` opens and stdin or stderr is a terminal.
    public static var isAvailable: Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return isatty(STDIN_FILENO) == 1 || isatty(STDERR_FILENO) == 1
    }

    /// Writes `text` to the terminal (prompts and notes never go to stdout or stderr).
    public static func write(_ text: String) {
        let fd = open("/dev/tty", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// Shows `prompt` and reads one line with echo off, at most 1024 bytes, straight into secure
    /// memory; the line break is dropped. The terminal's settings are restored on every path.
    public static func readSecretLine(_ prompt: String) throws(TrustVaultError) -> SecretBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw TrustVaultError(.missingSecret, "cannot open the terminal to ask for a secret") }
        defer { close(fd) }
        // Echo goes off before the prompt appears, so that an answer typed (or pasted) the moment
        // the prompt shows is never echoed.
        var saved = termios()
        let haveTermios = tcgetattr(fd, &saved) == 0
        if haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(fd, TCSANOW, &quiet)
        }
        defer { if haveTermios { tcsetattr(fd, TCSANOW, &saved) } }
        write(prompt)
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
