import ArgumentParser
import CLISupport
import Foundation
import KeyVault

/// `trustvault tuf rstuf …`: the offline ceremonies of an RSTUF (Repository Service for TUF)
/// deployment, as payload files the online machine hands to the RSTUF API.
struct TufRSTUF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rstuf",
        abstract: "RSTUF's offline ceremonies: the bootstrap payload, a root rotation, signing pending metadata.",
        discussion: """
            Writes the JSON payloads of RSTUF 1.0 (Repository Service for TUF) as files: the online \
            machine sends them with 'rstuf admin send bootstrap|update|sign FILE' or POSTs them to the \
            RSTUF API. Root keys stay in this vault or on its cards. See docs/guide-rstuf-ceremony.md.
            """,
        subcommands: [RSTUFCeremonyCommand.self, RSTUFUpdateCommand.self, RSTUFSignCommand.self])
}

struct RSTUFCeremonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceremony",
        abstract: "Write RSTUF's bootstrap ceremony payload: settings, role expiries, the online key and a signed root.",
        discussion: """
            K is a vault key ID (or prefix; vault or card key) or another holder's public key file \
            ('trustvault key export KEYID --format public'). The root (version 1, consistent snapshots) \
            lists every root key and the online key for timestamp, snapshot, targets and the hash bins, \
            and is signed by the root keys this vault holds; RSTUF keeps it pending until the other \
            holders have signed ('trustvault tuf rstuf sign'). Expiries are whole days (RSTUF's \
            defaults: root=365d targets=365d snapshot=1d timestamp=1d bins=1d).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("root-key"), help: ArgumentHelp("A root key (repeat for several holders).", valueName: "K")) var rootKeys: [String] = []
    @Option(name: .customLong("root-threshold"), help: ArgumentHelp("Root signatures required.", valueName: "n")) var rootThreshold: Int
    @Option(name: .customLong("online-key"), help: ArgumentHelp("The public key of RSTUF's online signer.", valueName: "pubfile")) var onlineKey: String
    @Option(name: .customLong("online-key-uri"), help: ArgumentHelp("Where the worker finds the online key (default fn:KEYID, a key file).", valueName: "uri"))
    var onlineKeyURI: String?
    @Option(help: ArgumentHelp("Lifetime of a role in days, e.g. root=365d, bins=1d (repeatable).", valueName: "ROLE=DURATION")) var expires: [String] = []
    @Option(help: ArgumentHelp("Number of hash bins RSTUF delegates targets to (default 256).", valueName: "n")) var bins: Int?
    @Option(help: ArgumentHelp("The payload file to write (must not exist).", valueName: "file")) var out: String
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).rstufCeremonies(card: card)
        var o = RSTUFCeremonies.CeremonyOptions(rootKeys: rootKeys, rootThreshold: rootThreshold, onlineKey: onlineKey, out: out)
        o.onlineKeyURI = onlineKeyURI
        o.expires = try parseExpiries(expires)
        o.bins = bins
        report(try ceremonies.ceremony(o))
    }
}

struct RSTUFUpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Write RSTUF's root-rotation payload: the next root version, signed by this vault's old and new root keys.",
        discussion: """
            ROOT.json is the root RSTUF serves now (from its metadata storage); it must carry its own \
            threshold. The new root keeps every field, adds --new-key keys, drops --remove-key keys \
            (a TUF key ID or prefix, a vault key or a public key file), and may replace the online key. \
            It is signed by every key this vault holds among the old root keys and the new ones.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The current root.", valueName: "root.json")) var current: String
    @Option(name: .customLong("new-key"), help: ArgumentHelp("A root key to add (repeatable).", valueName: "K")) var newKeys: [String] = []
    @Option(name: .customLong("remove-key"), help: ArgumentHelp("A root key to remove (repeatable).", valueName: "K")) var removeKeys: [String] = []
    @Option(help: ArgumentHelp("Root signatures required (default: unchanged, at most the number of keys).", valueName: "n")) var threshold: Int?
    @Option(name: .customLong("online-key"), help: ArgumentHelp("A new online key's public key.", valueName: "pubfile")) var onlineKey: String?
    @Option(name: .customLong("online-key-uri"), help: ArgumentHelp("Where the worker finds the new online key (default fn:KEYID).", valueName: "uri"))
    var onlineKeyURI: String?
    @Option(help: ArgumentHelp("Lifetime of the new root in whole days (default 365d).", valueName: "duration")) var expires: String?
    @Option(help: ArgumentHelp("The payload file to write (must not exist).", valueName: "file")) var out: String
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let ceremonies = try CLIContext(global).rstufCeremonies(card: card)
        var o = RSTUFCeremonies.UpdateOptions(current: current, out: out)
        o.newKeys = newKeys
        o.removeKeys = removeKeys
        o.threshold = threshold
        o.onlineKey = onlineKey
        o.onlineKeyURI = onlineKeyURI
        if let expires { o.expires = try TUF1.Lifetime.parse(expires) }
        report(try ceremonies.update(o))
    }
}

struct RSTUFSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign metadata RSTUF has pending (GET /api/v1/metadata/sign) and write the sign payload.",
        discussion: """
            PENDING is the API's answer saved as it is. The pending root is checked against the \
            trusted root in the same answer (one version newer; every signature present verifies; the \
            trusted root carries its own threshold), then shown in words: keys, thresholds, online key, \
            expiry and what changed. Asks before signing on a terminal; otherwise needs --yes.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saved answer of GET /api/v1/metadata/sign.") var pending: String
    @Option(help: ArgumentHelp("The vault key (ID or prefix, or the root's TUF key ID) to sign with.", valueName: "K")) var key: String
    @Option(help: ArgumentHelp("The pending role, when several are pending (root).", valueName: "role")) var role: String?
    @Option(help: ArgumentHelp("The sign payload to write (must not exist).", valueName: "file")) var out: String
    @Flag(help: "Sign without asking (required without a terminal).") var yes = false
    @OptionGroup var card: CardSafetyOptions

    func run() throws {
        let context = CLIContext(global)
        let ceremonies = try context.rstufCeremonies(card: card)
        let review = try ceremonies.reviewSign(pending: pending, key: key, role: role, out: out)
        printOut("Signing:")
        for l in review.lines { printOut("  \(l)") }
        if !yes {
            guard let answer = context.confirm("Sign root version \(review.version) with key \(review.keyID.prefix(12))?") else {
                throw TrustVaultError(.invalidArgument, "signing needs confirmation", recovery: "add --yes to sign without a terminal")
            }
            guard answer else {
                printOut("Nothing signed; \(out) was not written.")
                return
            }
        }
        report(try ceremonies.sign(review))
    }
}
