import ArgumentParser
import BuildInfo
import CLISupport
import KeyVault
#if canImport(Glibc)
import Glibc
#endif

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
    /// sysexits status (CLISupport's one map).
    static func main() {
        // However the command ends, reset the cards it used so no PIN stays verified.
        atexit { cliCardSigners.closeAll() }
        StepProgress.sink = { line in writeError(line) }  // slow steps say what they do, on stderr
        CommandRunner.run(TrustVault.self, usageHint: "run 'trustvault help' or add --help to the command for its usage")
    }
}
