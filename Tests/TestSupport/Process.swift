public import Foundation

/// The outcome of running a program.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    /// The last non-empty line of stdout (commands print the key ID last).
    public var lastLine: String {
        stdout.split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }
    /// stderr lines starting with `error:`.
    public var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("error:") } }
}

/// Runs programs for tests with a controlled environment; output goes through temporary files,
/// so large outputs cannot dead-lock on a full pipe.
public enum Run {
    /// Environment variables a developer's shell might carry that would change what trustvault
    /// or notary do; they are removed before every run.
    static let scrubbedPrefixes = ["TRUSTVAULT_", "NOTARY_", "DOCKER_CONTENT_TRUST", "DOCKER_CONFIG"]

    public static func baseEnvironment() -> [String: String] {
        ProcessInfo.processInfo.environment.filter { key, _ in !scrubbedPrefixes.contains { key.hasPrefix($0) } }
    }

    /// Runs `executable` with `arguments`; `environment` is added to the scrubbed base.
    @discardableResult
    public static func program(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdin: String? = nil, directory: String? = nil, timeout: TimeInterval = 300
    ) throws -> ProcessResult {
        let process = try start(executable, arguments, environment: environment, stdin: stdin, directory: directory)
        return try process.wait(timeout: timeout)
    }

    /// Starts a program without waiting (for kill tests and servers).
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdin: String? = nil, directory: String? = nil
    ) throws -> RunningProcess {
        try RunningProcess(executable, arguments, environment: environment, stdin: stdin, directory: directory)
    }

    /// Finds `name` on PATH.
    public static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A started child process whose output is captured in temporary files.
public final class RunningProcess: @unchecked Sendable {
    public let process = Process()
    let outPath: String
    let errPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String], stdin: String?, directory: String?) throws {
        try TestTier.refusePeer(executable)
        let tmp = FileManager.default.temporaryDirectory.path
        let id = UUID().uuidString
        outPath = "\(tmp)/tv-out-\(id)"
        errPath = "\(tmp)/tv-err-\(id)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = Run.baseEnvironment()
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        if let stdin {
            let inPath = "\(tmp)/tv-in-\(id)"
            _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8))
            process.standardInput = FileHandle(forReadingAtPath: inPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    /// Waits for exit (killing the process after `timeout` seconds) and returns its output.
    public func wait(timeout: TimeInterval = 300) throws -> ProcessResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(pid, SIGKILL)
                process.waitUntilExit()
                throw TestFailure("\(process.executableURL?.path ?? "?") timed out after \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return ProcessResult(status: process.terminationStatus, stdout: out, stderr: err)
    }

    /// Sends SIGKILL and reaps the process.
    public func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
}

/// A plain error for test harness failures.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
