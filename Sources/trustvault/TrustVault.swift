import ArgumentParser
import BuildInfo
import Foundation
import KeyVault
import TrustCore

@main
struct TrustVault: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trustvault",
        abstract: "An offline vault for Docker Content Trust / Notary signing keys.",
        discussion: """
            Keys live encrypted in a vault directory (--vault, else $TRUSTVAULT_HOME, else \
            ~/.trustvault) or on PIV cards. Secrets come from TRUSTVAULT_* environment variables \
            or a no-echo prompt, never from the command line.
            """,
        version: BuildInfo.versionText,
        subcommands: [
            Init.self,
            Key.self,
            Repo.self,
            Root.self,
            Delegation.self,
            Verify.self,
            Inspect.self,
            Backup.self,
            Card.self,
            Tuf.self,
        ])

    @OptionGroup var global: GlobalOptions

    /// Parses, runs, and turns every failure into one `error:` line (+ `hint:`) and a
    /// sysexits status.
    static func main() {
        // However the command ends, reset the cards it used so no PIN stays verified.
        atexit { cliCardSigners.closeAll() }
        StepProgress.sink = { line in writeError(line) }  // slow steps say what they do, on stderr
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as TrustVaultError {
            fail(error)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            var message = message(for: error)
            if message.isEmpty { message = "\(error)" }
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
            writeError("error: \(firstLine)")
            writeError("hint: run 'trustvault help' or add --help to the command for its usage")
            Foundation.exit(code.rawValue)
        }
    }

    static func fail(_ error: TrustVaultError) -> Never {
        writeError("error: \(error.message)")
        if let hint = error.recovery { writeError("hint: \(hint)") }
        Foundation.exit(exitStatus(for: error.code))
    }

    /// The one place where error codes become exit statuses (sysexits.h).
    static func exitStatus(for code: TrustVaultError.Code) -> Int32 {
        switch code {
        case .wrongPassphrase, .wrongPIN, .insecurePermissions: 77  // EX_NOPERM
        case .corruptData, .unsupported, .missingSecret: 65  // EX_DATAERR
        case .invalidArgument: 64  // EX_USAGE
        case .notFound: 66  // EX_NOINPUT
        case .alreadyExists: 73  // EX_CANTCREAT
        case .serviceUnavailable: 69  // EX_UNAVAILABLE
        case .ioFailure: 74  // EX_IOERR
        case .busy: 75  // EX_TEMPFAIL
        default: 1
        }
    }

    static func writeError(_ line: String) {
        FileHandle.standardError.write(Data((Escape.visible(line) + "\n").utf8))  // one line, always
    }
}
