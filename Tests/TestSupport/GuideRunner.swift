public import Foundation

/// Runs a guide in `docs/` literally, as a person would follow it: every ```sh block in order, in
/// one shell whose working directory is a fresh folder (the guide's relative paths are relative to
/// it), at a terminal (``PseudoTerminal``) whose prompts are answered as
/// a person would type the answers. The convention a guide follows, visible in its text:
///
/// - ```sh blocks run; ```text, ```console and every other block are shown only.
/// - A block whose first line is a comment naming a machine — `# on the online machine`,
///   `# on Bea's offline machine`, `# on the CI machine` — runs on that machine: its own home
///   directory (so its own default vault `~/.trustvault`, `~/.docker`, `~/.notary`); the working
///   directory (the USB stick, as it were) is shared. A machine whose name says `offline` has no
///   network set-up; every other one is set up to reach the server. Without such a line a block runs on the machine before it
///   (at first: the offline machine).
/// - `Follows: [guide-x.md](guide-x.md)` on a line of its own: that guide runs first, in the same
///   folder and on the same machines, and this one goes on where it ended.
/// - Only names and ports are substituted: `https://notary.example.com` becomes the loopback
///   notary-server, a card reader named `"Yubico YubiKey"` the emulated card's reader. Key IDs are captured from output into shell variables by the guide itself.
///
/// Online machines are set up as their operator would have set them up once: `docker login`'s
/// credentials in `~/.docker/config.json`, `NOTARY_AUTH` for the notary client, the server's CA
/// where docker, notary and trustvault-online look for it (`~/.docker/tls/HOST:PORT/ca.crt`,
/// `~/.notary/config.json`, `SSL_CERT_FILE`).
public struct GuideRunner {
    public struct Block: Sendable {
        public var line: Int
        public var machine: String?
        public var text: String
    }

    /// What a person types at each kind of prompt.
    public struct Answers: Sendable {
        public var passphrase = "guide passphrase 1"
        public var pin = "246810"
        public var puk = "13579135"
        public var managementKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978"
        public var username = "officer"
        public var password = "officer-password"
        public init() {}
    }

    public let docs: String
    public var answers = Answers()
    /// The reader a guide's `"Yubico YubiKey"` stands for (the emulated card's reader).
    public var cardReader = "TrustVault Test Reader"
    /// Extra environment for every block (e.g. PATH additions).
    public var environment: [String: String] = [:]
    /// Files the person has before starting (path relative to the working folder → contents).
    public var setupCommands: [String] = []

    public init(docs: String = TokenIssuer.packageRoot + "/docs") { self.docs = docs }

    /// The ```sh blocks of `guide` (after those of the guides it follows), with machine names.
    /// With `section`, only the blocks under the heading that starts with it (up to the next
    /// heading of the same or a higher level): the README's walk-through, for example.
    public func blocks(of guide: String, section: String? = nil) throws -> [(guide: String, block: Block)] {
        let text = try String(contentsOfFile: docs + "/" + guide, encoding: .utf8)
        var result: [(String, Block)] = []
        var inBlock = false, runs = false, start = 0, body: [String] = []
        var inSection = section == nil, sectionLevel = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBlock, let section, line.hasPrefix("#") {
                let level = line.prefix(while: { $0 == "#" }).count
                let title = line.dropFirst(level).trimmingCharacters(in: .whitespaces)
                if title.hasPrefix(section) {
                    inSection = true
                    sectionLevel = level
                } else if inSection, level <= sectionLevel {
                    inSection = false
                }
            }
            if !inSection { continue }
            if !inBlock, trimmed.hasPrefix("Follows: ["), let open = trimmed.range(of: "]("),
                let close = trimmed.range(of: ")", range: open.upperBound..<trimmed.endIndex)
            {
                result += try blocks(of: String(trimmed[open.upperBound..<close.lowerBound]))
                continue
            }
            if trimmed.hasPrefix("```") {
                if inBlock {
                    if runs { result.append((guide, Block(line: start, machine: Self.machine(in: body), text: body.joined(separator: "\n")))) }
                    inBlock = false
                } else {
                    inBlock = true
                    runs = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces) == "sh"
                    start = index + 1
                    body = []
                }
                continue
            }
            if inBlock { body.append(String(line)) }
        }
        return result
    }

    /// `# on the online machine` → `online`; `# on Bea's offline machine` → `bea-offline`.
    static func machine(in body: [String]) -> String? {
        guard let first = body.first?.trimmingCharacters(in: .whitespaces), first.hasPrefix("# on "), first.hasSuffix("machine") else { return nil }
        var words = first.dropFirst(5).dropLast("machine".count).split(separator: " ").map { $0.lowercased() }
        if words.first == "the" { words.removeFirst() }
        let slug = words.map { $0.replacingOccurrences(of: "'s", with: "").filter { $0.isLetter || $0.isNumber } }.filter { !$0.isEmpty }
        return slug.isEmpty ? "offline" : slug.joined(separator: "-")
    }

    public struct Result: CustomStringConvertible {
        public var status: Int32
        public var transcript: String
        public var commands: Int
        public var description: String { "exit \(status) after \(commands) commands\n--- transcript ---\n\(transcript)" }
    }

    /// Runs `guide` in `folder` against `server` (the loopback URL that replaces
    /// `https://notary.example.com`), with online machines set up for `ca` and `credentials`.
    public func run(
        _ guide: String, section: String? = nil, in folder: String, server: String?, ca: String?, timeout: TimeInterval = 600
    ) throws -> Result {
        let blocks = try blocks(of: guide, section: section)
        let work = folder + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var script = """
            set -eo pipefail
            __machine() {
              export HOME="\(folder)/home-$1"
              if [ ! -d "$HOME" ]; then mkdir -p "$HOME"; __setup_home "$1"; fi
              case "$1" in
                *offline*) unset SSL_CERT_FILE NOTARY_AUTH ;;
                *) \(ca.map { "export SSL_CERT_FILE=\(shellQuote($0)); " } ?? "")export NOTARY_AUTH=\(shellQuote(Data("\(answers.username):\(answers.password)".utf8).base64EncodedString())) ;;
              esac
            }
            __setup_home() {
              case "$1" in
                *offline*) ;;
                *)
            \(onlineSetup(server: server, ca: ca))
                ;;
              esac
            }
            cd \(shellQuote(work))
            __machine offline

            """
        var commands = 0
        var machine = "offline"
        for (n, entry) in blocks.enumerated() {
            var text = entry.block.text
            if let server { text = text.replacingOccurrences(of: "https://notary.example.com", with: server) }
            text = text.replacingOccurrences(of: "\"Yubico YubiKey\"", with: "\"\(cardReader)\"")
            if let m = entry.block.machine { machine = m }
            commands +=
                text.split(separator: "\n").filter {
                    let t = $0.trimmingCharacters(in: .whitespaces)
                    return !t.isEmpty && !t.hasPrefix("#") && !t.hasSuffix("\\") == true
                }.count
            script += "printf '%s\\n' \(shellQuote("::guide \(entry.guide) block \(n + 1) (line \(entry.block.line), \(machine) machine)::"))\n"
            script += "__machine \(machine)\n"
            script += text + "\n"
        }
        script += "printf '%s\\n' '::guide finished::'\n"
        let scriptPath = folder + "/guide.sh"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let (status, transcript) = try runAtTerminal(["bash", scriptPath], directory: work, timeout: timeout)
        return Result(status: status, transcript: transcript, commands: commands)
    }

    func onlineSetup(server: String?, ca: String?) -> String {
        guard let server, let host = URL(string: server).flatMap({ u in u.host.map { "\($0):\(u.port ?? 443)" } }) else { return "      :" }
        let auth = Data("\(answers.username):\(answers.password)".utf8).base64EncodedString()
        var lines = [
            "mkdir -p \"$HOME/.docker\" \"$HOME/.notary\"",
            // docker login to the server, and to Docker Hub: docker trust sends the registry's
            // credentials (index.docker.io for docker.io/… names) to the trust server.
            "printf '%s' \(shellQuote(#"{"auths": {"\#(host)": {"auth": "\#(auth)"}, "https://index.docker.io/v1/": {"auth": "\#(auth)"}}}"#)) > \"$HOME/.docker/config.json\"",
        ]
        if let ca {
            lines.append("mkdir -p \"$HOME/.docker/tls/\(host)\" && cp \(shellQuote(ca)) \"$HOME/.docker/tls/\(host)/ca.crt\"")
            lines.append("printf '%s' \(shellQuote(#"{"remote_server": {"root_ca": "\#(ca)"}}"#)) > \"$HOME/.notary/config.json\"")
        }
        return lines.map { "      " + $0 }.joined(separator: "\n")
    }

    /// Runs `arguments` at a pseudo-terminal and answers its prompts; returns the exit status
    /// and everything the terminal showed.
    func runAtTerminal(_ arguments: [String], directory: String, timeout: TimeInterval) throws -> (Int32, String) {
        var env = ["PATH": TrustVaultCLI.productsDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
        for (k, v) in environment { env[k] = v }
        let tty = try PseudoTerminal.spawn(executable: arguments[0], arguments: Array(arguments.dropFirst()), environment: env, directory: directory)
        var last: String?
        do {
            let status = try tty.answerPrompts(timeout: timeout) { line in
                let reply = promptAnswer(line, previous: last)
                if reply != nil { last = reply }
                return reply
            }
            return (status, tty.transcript)
        } catch {
            return (-1, "\(error)")
        }
    }

    /// The answer a person gives to the prompt at the end of `line`, if it is one.
    func promptAnswer(_ line: String?, previous: String?) -> String? {
        guard let line else { return nil }
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.hasSuffix(":") || t.hasSuffix("]") || t.hasSuffix("?") else { return nil }
        let lower = t.lowercased()
        if lower.contains("[y/n]") { return "y" }
        // "Repeat it:", "again:", "Confirm …:" — the same answer once more.
        if ["repeat", "again", "confirm"].contains(where: lower.contains), let previous { return previous }
        if lower.contains("passphrase") { return answers.passphrase }
        if lower.contains("management key") { return answers.managementKey }
        if lower.contains("puk") { return answers.puk }
        if lower.contains("pin") { return answers.pin }
        if lower.contains("username") { return answers.username }
        if lower.contains("password") { return answers.password }
        return nil
    }
}

/// One shell word.
public func shellQuote(_ s: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,")
    if !s.isEmpty, s.allSatisfy({ safe.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
