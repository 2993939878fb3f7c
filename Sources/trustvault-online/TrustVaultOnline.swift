import ArgumentParser
import BuildInfo
import CLISupport
import Foundation
import Online

/// The online hand-off: carries files between an authenticated notary server and the offline
/// vault's ceremonies. The offline `trustvault` binary has no network code; this one does.
@main
struct TrustVaultOnline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trustvault-online",
        abstract: "Fetch a repository's current metadata for the offline vault, and publish a ceremony's output.",
        discussion: """
            Credentials for Docker token authentication come from --username (password from \
            TRUSTVAULT_SERVER_PASSWORD or a no-echo prompt), NOTARY_AUTH (base64 of user:password), \
            or $DOCKER_CONFIG/config.json (default ~/.docker/config.json, as 'docker login' writes it, \
            including credential helpers); without any, access is anonymous. Never on the command line.
            """,
        version: BuildInfo.versionText,
        subcommands: [Fetch.self, Publish.self])

    static func main() async {
        await CommandRunner.runAsync(TrustVaultOnline.self, usageHint: "add --help to the command for its usage")
    }
}

/// Server, TLS and account options shared by fetch and publish.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The notary server's base URL, e.g. https://notary.example.com.", valueName: "url"))
    var server: String

    @Option(
        help: ArgumentHelp(
            "Trust only this CA file (PEM) for the server's TLS certificate, as notary --tlscacert (default: $SSL_CERT_FILE when set, else the system's CAs).",
            valueName: "file"))
    var tlscacert: String?

    @Option(help: ArgumentHelp("The registry account; its password comes from TRUSTVAULT_SERVER_PASSWORD or a no-echo prompt.", valueName: "name"))
    var username: String?

    func session(gun: String) throws(TrustVaultError) -> NotarySession {
        let environment = ProcessInfo.processInfo.environment
        let sources = CredentialSources(
            username: username, environment: environment, prompt: TerminalPrompt.isAvailable ? TerminalPrompt.password : nil)
        // SSL_CERT_FILE replaces the default CA bundle, as it does for OpenSSL, curl and git.
        return try NotarySession(
            server: server, gun: gun, caFile: tlscacert, defaultCAFile: environment["SSL_CERT_FILE"].flatMap { $0.isEmpty ? nil : $0 },
            sources: sources, username: username)
    }
}

func trimmedDirectory(_ path: String) -> String {
    var p = path
    while p.count > 1, p.hasSuffix("/") { p.removeLast() }
    return p
}

struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a repository's current metadata (verified) for --current, or the server's keys for repo init.",
        discussion: """
            Writes root.json, targets.json, snapshot.json, timestamp.json, targets/<name>.json for \
            every delegation in snapshot.json, and N.root.json for every root version back to 1, \
            into --out (new or empty). Everything is verified first; on any failure nothing is written. \
            With --allow-expired, authentic metadata that has expired (files or root certificates), names a \
            delegation nobody can sign for, or lacks a delegation file is written anyway, with a warning per \
            problem, for an offline repair; signatures, thresholds and hashes must still hold. \
            With --keys-only, writes timestamp.key and snapshot.key for 'trustvault repo init'.
            """)

    @Argument(help: ArgumentHelp("The repository's GUN, e.g. registry.example.com/team/app.", valueName: "gun"))
    var gun: String

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: ArgumentHelp("A new or empty directory to write into.", valueName: "dir"))
    var out: String

    @Flag(help: "Fetch only the server's timestamp.key and snapshot.key (for repo init).")
    var keysOnly = false

    @Flag(
        help:
            "Write authentic metadata even if it has expired (files or root certificates) or is incomplete, with a warning per problem, for an offline repair.")
    var allowExpired = false

    func validate() throws {
        if keysOnly && allowExpired { throw ValidationError("--allow-expired applies to metadata, not to --keys-only") }
    }

    @Flag(help: "Print one JSON object instead of text (docs/json-output.md).")
    var json = false

    func run() async throws {
        try Names.checkGUN(gun)
        let session = try serverOptions.session(gun: gun)
        let out = trimmedDirectory(out)
        do {
            if json {
                let summary = keysOnly ? try await session.fetchKeys(out: out) : try await session.fetchMetadata(out: out)
                printOut(OnlineJSON.fetch(summary, gun: gun, server: session.server, out: out, keysOnly: keysOnly).canonicalString)
            } else if keysOnly {
                let summary = try await session.fetchKeys(out: out)
                for f in summary.written { printOut("wrote \(f)") }
                for w in summary.warnings { printOut("warning: \(w)") }
                printOut(
                    "next, offline: trustvault repo init \(gun) --root-key KEYID --timestamp-key \(out)/timestamp.key --snapshot-key \(out)/snapshot.key --out OUT"
                )
            } else {
                let summary = try await session.fetchMetadata(out: out, allowExpired: allowExpired)
                let versions = ["root", "targets", "snapshot", "timestamp"].compactMap { r in summary.versions[r].map { "\(r) v\($0)" } }
                printOut(
                    "fetched \(gun): \(versions.joined(separator: ", ")); \(summary.delegations.count) delegation(s); root chain v\(summary.rootVersions.first ?? 0)…v\(summary.rootVersions.last ?? 0) verified"
                )
                for w in summary.warnings { printOut("warning: \(w)") }
                printOut("wrote \(summary.written.count) files into \(out)")
                printOut("next, offline: pass --current \(out) to the ceremony")
            }
        } catch {
            await session.close()
            throw error
        }
        await session.close()
    }
}

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upload a ceremony's --out directory to the server as one update, then check what the server serves.",
        discussion: """
            Uploads DIR/tuf/<GUN>/metadata/ (root, targets, snapshot, delegations; never a \
            timestamp) in one multipart POST as notary does, then reads every file back and checks \
            that the server serves exactly the uploaded bytes. With --replace-trust-data (only when \
            every root certificate on the server has expired, for the output of 'trustvault repo \
            refresh … --replace-expired-root'): checks the replacement, asks for the GUN at a terminal \
            (or --yes), deletes the GUN's trust data on the server, then publishes.
            """)

    @Argument(help: ArgumentHelp("The --out directory a trustvault ceremony wrote.", valueName: "dir"))
    var directory: String

    @OptionGroup var serverOptions: ServerOptions

    @Flag(help: "Delete the GUN's trust data on the server first (every root certificate there has expired), then publish DIR in its place.")
    var replaceTrustData = false

    @Flag(help: "With --replace-trust-data: do not ask for confirmation (needed without a terminal).")
    var yes = false

    @Flag(help: "Print one JSON object instead of text (docs/json-output.md).")
    var json = false

    func run() async throws {
        let fragment = try UploadFragment.load(trimmedDirectory(directory))
        try fragment.checkRootSignatures()  // an under-signed root.json is refused before any connection
        let session = try serverOptions.session(gun: fragment.gun)
        do {
            let summary: PublishSummary
            if replaceTrustData {
                summary = try await replace(fragment, session)
            } else {
                summary = try await session.publish(fragment)
            }
            if json {
                printOut(OnlineJSON.publish(summary, fragment: fragment, server: session.server).canonicalString)
                await session.close()
                return
            }
            if summary.alreadyPublished {
                let files = summary.uploaded.map { "\($0.role) v\($0.version)" }.joined(separator: ", ")
                printOut("already published: \(session.server) serves exactly these bytes for \(fragment.gun) (\(files)); nothing was uploaded")
                await session.close()
                return
            }
            let uploaded = summary.uploaded.map { "\($0.role) v\($0.version)" }.joined(separator: ", ")
            let server = ["snapshot", "timestamp"].compactMap { r in summary.serverVersions[r].map { "\(r) v\($0)" } }.joined(separator: ", ")
            printOut("published \(fragment.gun): \(uploaded); the server serves exactly these bytes\(server.isEmpty ? "" : "; now at \(server)")")
            for s in fragment.skipped { printOut("note: \(s) was not uploaded (the server always signs its own timestamp)") }
        } catch {
            await session.close()
            throw error
        }
        await session.close()
    }
}

extension Publish {
    /// `--replace-trust-data`: every check first, then a confirmation, then DELETE and POST.
    func replace(_ fragment: UploadFragment, _ session: NotarySession) async throws(TrustVaultError) -> PublishSummary {
        let checked = try await session.checkReplacement(fragment)
        if let version = checked.oldRootVersion {
            let what =
                "\(session.server) holds \(fragment.gun) with root v\(version), whose certificates all expired (the last on \(checked.expiredOn?.display ?? "?")): the server refuses every update to it"
            if !yes {
                guard Terminal.isAvailable else {
                    throw TrustVaultError.invalid(
                        "--replace-trust-data deletes \(fragment.gun)'s trust data on \(session.server) and needs a confirmation; no terminal to ask",
                        recovery: "add --yes to confirm")
                }
                let typed = TerminalPrompt.typedLine(
                    what + ".\nThis deletes all of its trust data there and publishes \(fragment.directory) in its place.\nType the GUN to confirm: ")
                guard typed == fragment.gun else {
                    throw TrustVaultError.invalid("not confirmed; nothing was changed", recovery: "type the GUN exactly, or pass --yes")
                }
            }
            printOut("note: \(what); replacing its trust data")
        } else {
            printOut("note: \(session.server) holds no trust data for \(fragment.gun); publishing the replacement")
        }
        return try await session.replaceTrustData(fragment, checked: checked)
    }
}

/// The `--json` objects of fetch and publish (the shapes are listed in docs/json-output.md).
enum OnlineJSON {
    static func fetch(_ summary: FetchSummary, gun: String, server: String, out: String, keysOnly: Bool) -> JSONValue {
        .obj([
            "gun": .string(gun),
            "server": .string(server),
            "out": .string(out),
            "keys_only": .bool(keysOnly),
            "written": .array(summary.written.map(JSONValue.string)),
            "versions": .object(summary.versions.sorted { $0.key < $1.key }.map { .init($0.key, .integer(Int64($0.value))) }),
            "root_chain": .array(summary.rootVersions.map { .integer(Int64($0)) }),
            "delegations": .array(summary.delegations.map(JSONValue.string)),
            "warnings": .array(summary.warnings.map(JSONValue.string)),
        ])
    }

    static func publish(_ summary: PublishSummary, fragment: UploadFragment, server: String) -> JSONValue {
        .obj([
            "gun": .string(fragment.gun),
            "server": .string(server),
            "already_published": .bool(summary.alreadyPublished),
            "uploaded": .array(summary.uploaded.map { .obj(["role": .string($0.role), "version": .integer(Int64($0.version))]) }),
            "server_versions": .object(summary.serverVersions.sorted { $0.key < $1.key }.map { .init($0.key, .integer(Int64($0.value))) }),
            "not_uploaded": .array(fragment.skipped.map(JSONValue.string)),
        ])
    }
}
