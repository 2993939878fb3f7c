import TrustCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every line either executable shows goes through here, and so through TrustCore's one escaping
/// step: control characters in GUNs, roles, headers, paths or server answers are shown as
/// `\u001b` and never reach the terminal raw.
public enum Output {
    /// `text` as it is shown: every line escaped, line breaks and tabs kept.
    public static func shown(_ text: String) -> String { Escape.visibleLines(text) }

    /// One line (or several) on stdout, escaped, flushed at once so that output and prompts
    /// interleave in order.
    public static func line(_ text: String = "") {
        emit(shown(text) + "\n", to: STDOUT_FILENO)
    }

    /// A block of text on stdout as it is (its own line breaks), escaped: views and PEM files.
    public static func block(_ text: String) {
        emit(shown(text), to: STDOUT_FILENO)
    }

    /// One line on stderr, escaped, its line breaks escaped too: an `error:` line stays one line.
    public static func error(_ line: String) {
        emit(Escape.visible(line) + "\n", to: STDERR_FILENO)
    }

    private static func emit(_ text: String, to fd: Int32) {
        fflush(nil)  // anything print() buffered comes first
        var text = text
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return  // a closed pipe: nothing more can be shown
                }
                done += n
            }
        }
    }
}

/// Prints one (escaped) line on stdout: the commands' printer.
public func printOut(_ line: String = "") { Output.line(line) }

/// Prints one (escaped) line on stderr: notes, warnings and problems beside the output.
public func writeError(_ line: String) { Output.error(line) }
