import ArgumentParser
import CLISupport
import Foundation
import KeyVault

extension TrustVault {
    struct Card: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "PIV cards (YubiKey and compatible) seen through pcscd.",
            subcommands: [
                List.self, Status.self, Setup.self, VerifyPIN.self, ChangePIN.self, ChangePUK.self, UnblockPIN.self,
                Reset.self, Attest.self, Certificate.self,
            ])
    }
}

/// Card options shared by commands that change or use a card.
struct CardSafetyOptions: ParsableArguments {
    @Flag(name: .customLong("allow-default-pin"), help: "Accept a card that still has its factory PIN or management key.")
    var allowDefaultPIN = false

    @Flag(help: "Spend the last PIN try (a wrong PIN then blocks the card).")
    var force = false

    var unlock: CardUnlockOptions { CardUnlockOptions(allowDefaultPIN: allowDefaultPIN, force: force) }
}

/// `--pin-policy`, `--touch-policy`, `--overwrite` for keys put on cards.
struct CardKeyPolicyOptions: ParsableArguments {
    @Option(name: .customLong("pin-policy"), help: "never, once or always (default: always for root keys, once for others).")
    var pinPolicy: PINPolicyChoice?

    @Option(name: .customLong("touch-policy"), help: "never, always or cached (default: the card's, never on a YubiKey).")
    var touchPolicy: TouchPolicyChoice?

    @Flag(help: "Write into a slot that holds a key, or whose contents the card cannot report (firmware before 5.3).")
    var overwrite = false

    var isGiven: Bool { pinPolicy != nil || touchPolicy != nil || overwrite }

    var pin: PIVPINPolicy? { pinPolicy?.policy }
    var touch: CardTouchPolicy { touchPolicy?.policy ?? .cardDefault }
}

extension CLIContext {
    func cards(_ options: CardUnlockOptions = .init()) -> CardEnvironment { CardEnvironment(secrets: secrets, options: options) }

    /// Runs a PIN or PUK procedure on the card with serial `serialText` (`--force`: spend the
    /// last try); returns the serial.
    func onCard(
        _ serialText: String, force: Bool, _ procedure: (UInt32, CardEnvironment) throws(TrustVaultError) -> Void
    ) throws(TrustVaultError) -> UInt32 {
        let serial = try parseSerial(serialText)
        try procedure(serial, cards(CardUnlockOptions(force: force)))
        return serial
    }
}

/// `--serial S [--slot SLOT]`: one slot of one card.
struct CardSlotOptions: ParsableArguments {
    @Option(help: "The card's serial.") var serial: String
    @Option(help: "The slot (default 9c).") var slot: String?
    func parsed() throws(TrustVaultError) -> (serial: UInt32, slot: PIVSlot) { (try parseSerial(serial), try parseSlot(slot)) }
}

/// Refuses an `--out` file that exists, before a card is asked anything.
func refuseExisting(_ out: String?) throws(TrustVaultError) {
    if let out, AtomicFile.exists(out) { throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose a new --out file") }
}

func parseSlot(_ text: String?) throws(TrustVaultError) -> PIVSlot {
    try text.map { (t: String) throws(TrustVaultError) -> PIVSlot in try PIVSlot(parsing: t) } ?? .signature
}

func parseSerial(_ text: String) throws(TrustVaultError) -> UInt32 {
    guard let s = UInt32(text) else {
        throw .invalid("\"\(text)\" is not a card serial number", recovery: "see `trustvault card list` for the serials")
    }
    return s
}

extension TrustVault.Card {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the PIV cards that pcscd sees.")

        @Flag(help: "Print a JSON array of {serial, reader, version}.")
        var json = false

        func run() throws {
            let cards = try PIVCards.list()
            if json {
                let items = cards.map { c in
                    JSONValue.obj([
                        "serial": c.serial.map { .string(String($0)) } ?? .null,
                        "reader": .string(c.reader),
                        "version": c.version.map { .string($0.description) } ?? .null,
                    ])
                }
                printOut(JSONValue.array(items).canonicalString)
                return
            }
            if cards.isEmpty {
                printOut("No PIV card found. Insert a card (is its reader connected?).")
                return
            }
            printTable(
                header: ["SERIAL", "VERSION", "READER"],
                rows: cards.map { [$0.serial.map(String.init) ?? "-", $0.version?.description ?? "-", $0.reader] })
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a card's PIN/PUK counters, management key and every occupied slot (no PIN needed).",
            discussion: """
                Lists 9a, 9c, 9d, 9e and every retired slot 82-95 that holds a key or certificate, with the \
                key's PIN and touch policy, whether it was generated on the card or imported (firmware \
                5.3+), its certificate, and a warning when the certificate names another key.
                """)

        @Option(help: "The card's serial (needed when several cards are connected).")
        var serial: String?

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let context = CLIContext(global)
            let vault = try? context.openVault()
            let report = try CardProcedures.status(serial: serial.map(parseSerial), vault: vault, env: context.cards())
            printOut("Serial:          \(report.info.serial.map(String.init) ?? "unknown")")
            printOut("Reader:          \(report.info.reader)")
            printOut(
                "Firmware:        \(report.info.version?.description ?? "unknown")\(report.hasMetadata ? "" : " (no GET METADATA: slot contents known only from certificates and vault records)")"
            )
            printOut("PIN:             \(describe(report.pin))")
            if let puk = report.puk {
                printOut("PUK:             \(describe(puk))")
            } else {
                printOut("PUK:             unknown (the card cannot report it without spending a try)")
            }
            if let mk = report.managementKey {
                printOut("Management key:  \(mk.algorithm)\(mk.isDefault == true ? ", FACTORY DEFAULT (run card setup)" : "")")
            }
            for slot in CardProcedures.allSlots {
                let label = "Slot \(slot):".padding(toLength: 17, withPad: " ", startingAt: 0)
                guard let r = report.slots.first(where: { $0.slot == slot }) else {
                    if slot.rawValue >= 0x9A { printOut(label + "empty") }
                    continue
                }
                var parts: [String] = []
                if let key = r.publicKey {
                    parts.append("\(key.algorithm == .ed25519 ? "Ed25519" : "P-256") key \(key.keyID)")
                } else if let alg = r.algorithm {
                    parts.append(String(format: "algorithm 0x%02X", alg))
                } else {
                    parts.append("key unknown")
                }
                if let p = r.pinPolicy { parts.append("PIN \(p)") }
                if let g = r.generatedOnCard { parts.append(g ? "generated on the card" : "imported") }
                if let t = r.touchPolicy, let tp = CardTouchPolicy(rawValue: t) { parts.append("touch \(tp.name)") }
                if let cert = r.certificate {
                    parts.append("certificate CN=\(cert.commonName ?? "?") until \(cert.notValidAfter.formatted(.iso8601.year().month().day()))")
                } else {
                    parts.append("no certificate")
                }
                if r.certificateMismatch { parts.append("CERTIFICATE DOES NOT MATCH THE KEY") }
                if let rec = r.record {
                    parts.append(
                        "vault: \(rec.role) key\(rec.publicKey == r.publicKey || r.publicKey == nil ? "" : " \(rec.id.prefix(12))… (NOT THE KEY IN THE SLOT)")")
                }
                printOut(label + parts.joined(separator: ", "))
            }
        }

        func describe(_ s: PINStatus) -> String {
            if s.isBlocked { return "BLOCKED (0 of \(s.totalTries.map(String.init) ?? "?") tries left)" }
            var text = s.triesLeft.map { "\($0) \($0 == 1 ? "try" : "tries") left" } ?? "verified"
            if let total = s.totalTries { text += " of \(total)" }
            if s.isDefault == true { text += ", FACTORY DEFAULT (run card setup)" }
            return text
        }
    }

    struct Setup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a card's factory PIN, PUK and management key.",
            discussion: """
                Current values: TRUSTVAULT_PIN, TRUSTVAULT_PUK, TRUSTVAULT_MANAGEMENT_KEY (hex), or the \
                factory values while the card reports them as unchanged, or prompts. New values: \
                TRUSTVAULT_NEW_PIN, TRUSTVAULT_NEW_PUK, TRUSTVAULT_NEW_MANAGEMENT_KEY (hex), or prompts. \
                With --random-management-key a random key is made and printed once: record it offline, \
                trustvault does not store it.
                """)

        @Option(help: "The card's serial.")
        var serial: String

        @Flag(help: "Make a random management key (printed once) instead of reading one.")
        var randomManagementKey = false

        @Option(help: "Algorithm of the new management key: 3des, aes128, aes192, aes256 (default: keep the card's).")
        var managementKeyAlgorithm: ManagementKeyChoice?

        @Option(
            name: .customLong("management-key-out"),
            help: "With --random-management-key: also save the new key (hex) to this new file (0600) before it is sent to the card.")
        var managementKeyOut: String?

        @Flag(help: "Spend the last PIN or PUK try.")
        var force = false

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let context = CLIContext(global)
            let serial = try parseSerial(serial)
            let algorithm = managementKeyAlgorithm?.algorithm
            if managementKeyOut != nil && !randomManagementKey { throw ValidationError("--management-key-out needs --random-management-key") }
            if let out = managementKeyOut, AtomicFile.exists(out) {
                throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose a new file for --management-key-out")
            }
            let outFile = managementKeyOut
            let chosen = try CardProcedures.setup(
                CardSetupRequest(serial: serial, randomManagementKey: randomManagementKey, managementKeyAlgorithm: algorithm),
                env: context.cards(CardUnlockOptions(force: force)),
                saveManagementKey: { (hex: String) throws(TrustVaultError) in
                    if let outFile { try AtomicFile.write(Array((hex + "\n").utf8), to: outFile, mode: 0o600) }
                    printOut("New management key (record it offline now; trustvault does not store it): \(hex)")
                    printOut("If the card is pulled before setup ends, the card has either its old or this new management key.")
                },
                progress: { printOut($0) })
            _ = chosen
            printOut("Card \(serial) is set up.")
        }
    }

    struct VerifyPIN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-pin",
            abstract: "Check a card's PIN (TRUSTVAULT_PIN or a prompt) and report the tries left.")

        @Option(help: "The card's serial (needed when several cards are connected).")
        var serial: String?

        @OptionGroup var safety: CardSafetyOptions

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let context = CLIContext(global)
            let info = try CardProcedures.verifyPIN(serial: try serial.map(parseSerial), env: context.cards(safety.unlock))
            printOut("PIN verified for card \(info.serial.map(String.init) ?? info.reader).")
        }
    }
}

/// `card change-pin`, `change-puk` and `unblock-pin`: one command over the card procedure that
/// changes a PIN or PUK (`--force` spends the last try).
protocol CardSecretChange {
    static var commandName: String { get }
    static var abstract: String { get }
    /// The secret whose last try `--force` spends: PIN or PUK.
    static var tried: String { get }
    static func change(serial: UInt32, env: CardEnvironment) throws(TrustVaultError)
    static func done(serial: UInt32) -> String
}

struct CardSecretCommand<Change: CardSecretChange>: ParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: Change.commandName, abstract: Change.abstract) }
    @Option(help: "The card's serial.") var serial: String
    @Flag(help: ArgumentHelp("Spend the last \(Change.tried) try.")) var force = false
    @OptionGroup var global: GlobalOptions
    func run() throws {
        let serial = try CLIContext(global).onCard(serial, force: force, Change.change)
        printOut(Change.done(serial: serial))
    }
}

enum PINChange: CardSecretChange {
    static let commandName = "change-pin", tried = "PIN"
    static let abstract = "Change a card's PIN: TRUSTVAULT_PIN (or prompt) to TRUSTVAULT_NEW_PIN (or prompt)."
    static func change(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) { try CardProcedures.changePIN(serial: serial, env: env) }
    static func done(serial: UInt32) -> String { "PIN of card \(serial) changed." }
}

enum PUKChange: CardSecretChange {
    static let commandName = "change-puk", tried = "PUK"
    static let abstract = "Change a card's PUK: TRUSTVAULT_PUK (or prompt) to TRUSTVAULT_NEW_PUK (or prompt)."
    static func change(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) { try CardProcedures.changePUK(serial: serial, env: env) }
    static func done(serial: UInt32) -> String { "PUK of card \(serial) changed." }
}

enum PINUnblock: CardSecretChange {
    static let commandName = "unblock-pin", tried = "PUK"
    static let abstract = "Set a new PIN with the PUK (TRUSTVAULT_PUK, TRUSTVAULT_NEW_PIN), also when the PIN is blocked."
    static func change(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) { try CardProcedures.unblockPIN(serial: serial, env: env) }
    static func done(serial: UInt32) -> String { "PIN of card \(serial) set; it has all its tries again." }
}

extension TrustVault.Card {
    typealias ChangePIN = CardSecretCommand<PINChange>
    typealias ChangePUK = CardSecretCommand<PUKChange>
    typealias UnblockPIN = CardSecretCommand<PINUnblock>

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reset a card's PIV application: every key and certificate is destroyed; PIN, PUK and management key return to factory values.",
            discussion:
                "Asks for confirmation on a terminal; otherwise needs --yes. Blocks the PIN and PUK first, as the card requires. This vault's records of keys on the card are marked lost in its audit log."
        )
        @Option(help: "The card's serial.") var serial: String
        @Flag(help: "Do not ask.") var yes = false
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let context = CLIContext(global)
            let serial = try parseSerial(serial)
            if !yes {
                guard let answer = context.confirm("Destroy every key on card \(serial)?") else {
                    throw TrustVaultError(
                        .refused, "card reset destroys every key on card \(serial) and needs confirmation",
                        recovery: "run it in a terminal, or pass --yes")
                }
                guard answer else { throw TrustVaultError(.refused, "card \(serial) was not reset") }
            }
            let vault = try? context.openVault()
            let outcome = try CardProcedures.reset(serial: serial, vault: vault, env: context.cards())
            printOut("Card \(serial) was reset: PIN 123456, PUK 12345678, factory management key; run `trustvault card setup --serial \(serial)`.")
            for r in outcome.lostKeys { printOut("Lost: \(r.role) key \(r.id) (\(r.location)); marked in the vault's audit log") }
        }
    }

    struct Attest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the card's attestation for a slot: generated on the card or imported, checked up to --ca.")
        @OptionGroup var target: CardSlotOptions
        @Option(help: "Write the attestation certificate and the card's F9 certificate (PEM) to this new file.") var out: String?
        @Option(help: "A CA certificate (PEM) the card's F9 certificate must be signed by, e.g. Yubico's PIV attestation root.") var ca: String?
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let context = CLIContext(global)
            let (serial, slot) = try target.parsed()
            try refuseExisting(out)
            let a = try CardProcedures.attest(serial: serial, slot: slot, caFile: ca, env: context.cards())
            printOut("Slot \(slot) of card \(serial): key \(a.publicKey.keyID)")
            switch a.generatedOnCard {
            case true?: printOut("Origin: generated on the card (attested)")
            case false?: printOut("Origin: imported (the card attests only keys it generated)")
            case nil: printOut("Origin: unknown")
            }
            if let p = a.pinPolicy { printOut("PIN policy: \(p)") }
            if let t = a.touchPolicy, let tp = CardTouchPolicy(rawValue: t) { printOut("Touch policy: \(tp.name)") }
            if a.attestation != nil {
                printOut("Chain: attestation signed by the card's F9 certificate: ok")
                switch a.chainToCA {
                case true?: printOut("Chain: F9 certificate signed by \(ca ?? "the CA"): ok")
                default: printOut("Chain: no --ca given; the F9 certificate was not checked against a CA")
                }
            }
            if let out, let att = a.attestation, let f9 = a.intermediate {
                let text = PEMText.encode(type: "CERTIFICATE", der: att) + PEMText.encode(type: "CERTIFICATE", der: f9)
                try AtomicFile.write(Array(text.utf8), to: out)
                printOut("Wrote \(out)")
            } else if out != nil {
                throw TrustVaultError(.notFound, "slot \(slot) of card \(serial) has no attestation to write (imported key)")
            }
        }
    }

    struct Certificate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A slot's certificate: export it, or write one (a given certificate, or a new self-signed one).",
            subcommands: [Export.self, Write.self])

        struct Export: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print (or write to --out) the PEM certificate in a slot.")
            @OptionGroup var target: CardSlotOptions
            @Option(help: "Write to this new file instead of stdout.") var out: String?
            @OptionGroup var global: GlobalOptions
            func run() throws {
                let context = CLIContext(global)
                let (serial, slot) = try target.parsed()
                try refuseExisting(out)
                let der = try CardProcedures.exportCertificate(serial: serial, slot: slot, env: context.cards())
                let pem = PEMText.encode(type: "CERTIFICATE", der: der)
                if let out { try AtomicFile.write(Array(pem.utf8), to: out) } else { Output.block(pem) }
            }
        }

        struct Write: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Store a certificate for a slot's key: --cert FILE (e.g. the repository's root certificate from `root cert`), or a new self-signed one (needs the PIN)."
            )
            @OptionGroup var target: CardSlotOptions
            @Option(help: "The certificate (PEM) to store; it must be for the slot's key.") var cert: String?
            @Flag(help: "Replace a different certificate already in the slot.") var overwrite = false
            @OptionGroup var safety: CardSafetyOptions
            @OptionGroup var global: GlobalOptions
            func run() throws {
                let context = CLIContext(global)
                let vault = try context.openVault()
                let (serial, slot) = try target.parsed()
                let pem = try cert.map { (path: String) throws(TrustVaultError) -> String in
                    String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
                }
                _ = try CardProcedures.writeCertificate(
                    serial: serial, slot: slot, certificatePEM: pem, overwrite: overwrite,
                    vault: vault, env: context.cards(safety.unlock))
                printOut("Certificate written to slot \(slot) of card \(serial).")
            }
        }
    }
}
