public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program running with a pseudo-terminal as its controlling terminal, stdin, stdout and
/// stderr: the way a person at a terminal runs it. Prompts are read and answered as typed.
///
///     let tty = try PseudoTerminal.spawn(executable: TrustVaultCLI.binary, arguments: [...], directory: dir)
///     try tty.expect("Passphrase for root key")
///     tty.send("correct horse")
///     let status = try tty.wait()
public final class PseudoTerminal: @unchecked Sendable {
    /// Everything the program wrote to the terminal so far (prompts, output, errors).
    public private(set) var transcript = ""
    public let pid: pid_t
    private let master: Int32
    private var cursor: String.Index
    private var bytes: [UInt8] = []
    private var exitStatus: Int32?

    private init(pid: pid_t, master: Int32) {
        self.pid = pid
        self.master = master
        cursor = transcript.startIndex
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// Starts `executable` in `directory` (the test's working directory) with `environment` added
    /// to the scrubbed base environment of ``Run``.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String] = [:], directory: String? = nil
    ) throws -> PseudoTerminal {
        try TestTier.refusePeer(executable)
        let pty = try PTYFunctions.load()
        let master = pty.openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0, pty.grantpt(master) == 0, pty.unlockpt(master) == 0, let name = pty.ptsname(master) else {
            throw TestFailure("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = String(cString: name)
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var env = Run.baseEnvironment()
        for (k, v) in environment { env[k] = v }
        env["TERM"] = env["TERM"] ?? "xterm"
        // The shell only changes directory; `exec` replaces it, so the pid is the program's.
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory ?? FileManager.default.currentDirectoryPath, executable] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // After setsid, the first terminal the child opens becomes its controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let setsid: Int16 = 0x80  // POSIX_SPAWN_SETSID (glibc)
        posix_spawnattr_setflags(&attributes, setsid | Int16(POSIX_SPAWN_SETSIGDEF))
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = envp.map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            close(master)
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return PseudoTerminal(pid: pid, master: master)
    }

    /// Reads until `substring` appears after the previous match; returns the text from the
    /// previous match up to and including this one. Throws (with the transcript) on timeout or
    /// when the program ends first.
    @discardableResult
    public func expect(_ substring: String, timeout: TimeInterval = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let range = transcript.range(of: substring, range: cursor..<transcript.endIndex) {
                let text = String(transcript[cursor..<range.upperBound])
                cursor = range.upperBound
                return text
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw TestFailure("timed out after \(Int(timeout)) s waiting for \"\(substring)\"; transcript:\n\(transcript)")
            }
            if !readAvailable(waitingMilliseconds: Int32(min(remaining, 0.2) * 1000)), processEnded() {
                _ = readAvailable(waitingMilliseconds: 0)
                if transcript.range(of: substring, range: cursor..<transcript.endIndex) != nil { continue }
                throw TestFailure("the program ended (status \(exitStatus ?? -1)) before \"\(substring)\"; transcript:\n\(transcript)")
            }
        }
    }

    /// Types `line` and Enter.
    public func send(_ line: String) {
        usleep(20_000)  // as a person would: after the prompt has settled
        let data = Array((line + "\n").utf8)
        _ = data.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Waits for the program to end (reading what it still writes) and returns its exit status
    /// (128 + the signal for a killed program).
    @discardableResult
    public func wait(timeout: TimeInterval = 120) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while !processEnded() {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                throw TestFailure("the program did not end within \(Int(timeout)) s; transcript:\n\(transcript)")
            }
            _ = readAvailable(waitingMilliseconds: 100)
        }
        while readAvailable(waitingMilliseconds: 50) {}
        return exitStatus ?? -1
    }

    /// Reads until the program ends, answering prompts as a person would: whenever the terminal
    /// has been quiet for a moment and its unfinished last line is one `answer` has a reply for,
    /// the reply is typed. Returns the exit status; throws (with the transcript) on timeout.
    @discardableResult
    public func answerPrompts(timeout: TimeInterval, _ answer: (String) -> String?) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while !processEnded() {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                throw TestFailure("the program did not end within \(Int(timeout)) s; transcript:\n\(transcript)")
            }
            if readAvailable(waitingMilliseconds: 100) { continue }
            let pending = transcript[cursor...]
            let lineStart = pending.lastIndex(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }).map { pending.index(after: $0) } ?? pending.startIndex
            let line = String(pending[lineStart...])
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty, let reply = answer(line) else { continue }
            cursor = transcript.endIndex
            send(reply)
        }
        while readAvailable(waitingMilliseconds: 50) {}
        return exitStatus ?? -1
    }

    /// The transcript after the last match of ``expect(_:timeout:)``.
    public var unread: String { String(transcript[cursor...]) }

    private func processEnded() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return true
    }

    /// Appends what the terminal has to the transcript; false when nothing arrived.
    private func readAvailable(waitingMilliseconds: Int32) -> Bool {
        var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, waitingMilliseconds) > 0, fds.revents & Int16(POLLIN) != 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(master, &buffer, buffer.count)
        guard n > 0 else { return false }
        bytes += buffer[0..<n]
        let offset = transcript.distance(from: transcript.startIndex, to: cursor)
        transcript = String(decoding: bytes, as: UTF8.self)
        cursor = transcript.index(transcript.startIndex, offsetBy: min(offset, transcript.count))
        return true
    }
}

/// glibc's pseudo-terminal functions (declared only under _XOPEN_SOURCE, so not imported by
/// Swift's Glibc module), looked up by name.
private struct PTYFunctions {
    let openpt: @convention(c) (Int32) -> Int32
    let grantpt: @convention(c) (Int32) -> Int32
    let unlockpt: @convention(c) (Int32) -> Int32
    let ptsname: @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

    static func load() throws -> PTYFunctions {
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
                throw TestFailure("\(name) is not in the C library")
            }
            return unsafeBitCast(address, to: type)
        }
        return PTYFunctions(
            openpt: try symbol("posix_openpt", as: (@convention(c) (Int32) -> Int32).self),
            grantpt: try symbol("grantpt", as: (@convention(c) (Int32) -> Int32).self),
            unlockpt: try symbol("unlockpt", as: (@convention(c) (Int32) -> Int32).self),
            ptsname: try symbol("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self))
    }
}
