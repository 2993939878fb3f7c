public import ArgumentParser
public import TrustCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `main()` for both executables: parse, run, and turn every failure into one `error:` line
/// (plus an optional `hint:` line) on stderr and the status `ExitStatus` gives it.
public enum CommandRunner {
    /// Runs the synchronous root command `Root` and its subcommands.
    /// `usageHint` is the `hint:` line for arguments that do not parse.
    public static func run<Root: ParsableCommand>(_ root: Root.Type, usageHint: String) -> Never {
        do {
            var command = try root.parseAsRoot()
            try command.run()
            exit(ExitStatus.success)
        } catch {
            fail(error, root: root, usageHint: usageHint)
        }
    }

    /// Runs the root command `Root`, whose subcommands may be async.
    public static func runAsync<Root: AsyncParsableCommand>(_ root: Root.Type, usageHint: String) async -> Never {
        do {
            var command = try root.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(ExitStatus.success)
        } catch {
            fail(error, root: root, usageHint: usageHint)
        }
    }

    static func fail<Root: ParsableCommand>(_ error: any Error, root: Root.Type, usageHint: String) -> Never {
        if let error = error as? TrustVaultError { fail(error) }
        // ArgumentParser's own outcomes: --help and --version (status 0) are printed as it
        // prints them; a usage error is one line, ArgumentParser's status (64) and a hint.
        let code = root.exitCode(for: error)
        if code == .success { root.exit(withError: error) }
        var message = root.message(for: error)
        if message.isEmpty { message = "\(error)" }
        writeError("error: \(message.split(separator: "\n").first.map(String.init) ?? message)")
        writeError("hint: \(usageHint)")
        exit(code.rawValue)
    }

    /// One `error:` line, the error's `hint:` line if it has one, and its exit status.
    public static func fail(_ error: TrustVaultError) -> Never {
        writeError("error: \(error.message)")
        if let hint = error.recovery { writeError("hint: \(hint)") }
        exit(ExitStatus.code(for: error.code))
    }
}
