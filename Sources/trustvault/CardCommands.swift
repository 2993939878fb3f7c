import ArgumentParser
import Formats
import Foundation
import KeyVault
import SmartCard
import TrustCore

extension TrustVault {
    struct Card: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "PIV cards (YubiKey and compatible) seen through pcscd.",
            subcommands: [List.self, Status.self, Setup.self, VerifyPIN.self])
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

enum CardSecrets {
    /// Decodes a hex management key typed or set in the environment.
    static func managementKey(_ text: SecretBytes, what: String) throws(TrustVaultError) -> SecretBytes {
        var chars: [UInt8] = []
        chars.reserveCapacity(text.count)
        defer { Sodium.wipe(&chars) }
        text.withUnsafeBytes { for c in $0 where c != 0x20 && c != 0x3A { chars.append(c) } }
        guard [32, 48, 64].contains(chars.count) else {
            throw .invalid("the \(what) must have 32, 48 or 64 hex digits, not \(chars.count)",
                           recovery: "give it as hex, e.g. 48 digits for a 3DES or AES-192 key")
        }
        var out = [UInt8](repeating: 0, count: chars.count / 2)
        defer { Sodium.wipe(&out) }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        for i in 0..<out.count {
            guard let hi = nibble(chars[2 * i]), let lo = nibble(chars[2 * i + 1]) else {
                throw .invalid("the \(what) is not hex", recovery: "use only the digits 0-9 and a-f")
            }
            out[i] = hi << 4 | lo
        }
        return SecretBytes(copying: out)
    }

    /// The card's current management key: TRUSTVAULT_MANAGEMENT_KEY, else (when the card says it
    /// still has it and factory values are allowed) the factory key, else a prompt.
    static func currentManagementKey(_ context: CLIContext, session: PIVSession, options: CardUnlockOptions)
        throws(TrustVaultError) -> SecretBytes
    {
        if context.environment["TRUSTVAULT_MANAGEMENT_KEY"] == nil, options.allowDefaultPIN,
            try session.managementKeyInfo()?.isDefault != false
        {
            return SecretBytes(copying: PIVSession.factoryManagementKey)
        }
        return try managementKey(context.secrets.secret(for: .managementKey), what: "management key")
    }

    /// Opens card `serial` and authenticates with its management key (refusing the factory key
    /// unless allowed).
    static func openForChanges(_ context: CLIContext, serial: UInt32, options: CardUnlockOptions)
        throws(TrustVaultError) -> PIVSession
    {
        let (session, _) = try PIVCards.open(serial: serial)
        let key = try currentManagementKey(context, session: session, options: options)
        try PIVCards.authenticateManagementKey(session: session, serial: serial, key: key, options: options)
        return session
    }
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
            abstract: "Show a card's PIN/PUK counters, management key and keys (no PIN needed).")

        @Option(help: "The card's serial (needed when several cards are connected).")
        var serial: String?

        func run() throws {
            let serial = try serial.map(parseSerial)
            let (session, info) = try PIVCards.open(serial: serial)
            defer { (session.transport as? PCSCCard)?.disconnect(reset: false) }
            printOut("Serial:          \(info.serial.map(String.init) ?? "unknown")")
            printOut("Reader:          \(info.reader)")
            printOut("Firmware:        \(info.version?.description ?? "unknown")")
            let pin = try session.pinStatus()
            printOut("PIN:             \(describe(pin))")
            if let puk = try session.pukStatus() { printOut("PUK:             \(describe(puk))") }
            if let mk = try session.managementKeyInfo() {
                printOut("Management key:  \(mk.algorithm)\(mk.isDefault == true ? ", FACTORY DEFAULT (run card setup)" : "")")
            }
            for slot in [PIVSlot.authentication, .signature, .keyManagement, .cardAuthentication] {
                if let m = try session.slotMetadata(slot) {
                    var line = "Slot \(slot):         "
                    if let pub = m.publicKey, let key = try? PIVSession.publicKey(pub) {
                        line += "\(key.algorithm == .ed25519 ? "Ed25519" : "P-256") key \(key.keyID), "
                    } else {
                        line += String(format: "algorithm 0x%02X, ", m.algorithm)
                    }
                    line += "PIN \(m.pinPolicy), \(m.generatedOnCard ? "generated on the card" : "imported")"
                    printOut(line)
                } else if let key = try session.slotPublicKey(slot) {
                    printOut("Slot \(slot):         key \(key.keyID) (from its certificate)")
                } else {
                    printOut("Slot \(slot):         empty")
                }
            }
        }

        func describe(_ s: PINStatus) -> String {
            var text = s.isBlocked ? "BLOCKED" : s.triesLeft.map { "\($0) tries left" } ?? "verified"
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
        var managementKeyAlgorithm: String?

        func validate() throws {
            if let a = managementKeyAlgorithm, !["3des", "aes128", "aes192", "aes256"].contains(a.lowercased()) {
                throw ValidationError("--management-key-algorithm must be 3des, aes128, aes192 or aes256")
            }
        }

        func current(_ context: CLIContext, _ purpose: SecretPurpose, variable: String, factory: [UInt8], isDefault: Bool?)
            throws(TrustVaultError) -> SecretBytes
        {
            if context.environment[variable] == nil, isDefault != false { return SecretBytes(copying: factory) }
            return try context.secrets.secret(for: purpose)
        }

        func run() throws {
            let context = CLIContext(global)
            let serial = try parseSerial(serial)
            let (session, _) = try PIVCards.open(serial: serial)
            defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }

            // Collect and check every new value before changing anything on the card.
            let pinStatus = try session.pinStatus()
            let pukStatus = try session.pukStatus()
            let mkInfo = try session.managementKeyInfo()
            let newPIN = try context.secrets.secret(for: .newPIN)
            let newPUK = try context.secrets.secret(for: .newPUK)
            try checkNew(newPIN, name: "PIN", factory: PIVSession.factoryPIN)
            try checkNew(newPUK, name: "PUK", factory: PIVSession.factoryPUK)
            let algorithm: ManagementKeyAlgorithm
            switch managementKeyAlgorithm?.lowercased() {
            case "3des": algorithm = .tripleDES
            case "aes128": algorithm = .aes128
            case "aes192": algorithm = .aes192
            case "aes256": algorithm = .aes256
            default: algorithm = mkInfo?.algorithm ?? .tripleDES
            }
            let newKey: SecretBytes
            if randomManagementKey {
                newKey = SecretBytes(copying: Sodium.randomBytes(algorithm.keyLength))
            } else {
                newKey = try CardSecrets.managementKey(context.secrets.secret(for: .newManagementKey), what: "new management key")
            }
            guard newKey.count == algorithm.keyLength else {
                throw TrustVaultError(.invalidArgument, "a \(algorithm) management key has \(algorithm.keyLength * 2) hex digits, the new one has \(newKey.count * 2)",
                                      recovery: "give a key of that length, or choose --management-key-algorithm")
            }
            if newKey.constantTimeEquals(SecretBytes(copying: PIVSession.factoryManagementKey)) {
                throw TrustVaultError(.refused, "the new management key is the factory key", recovery: "choose another key or use --random-management-key")
            }
            if pinStatus.isBlocked {
                throw TrustVaultError(.wrongPIN, "the PIN of card \(serial) is blocked", recovery: "unblock it with the PUK first")
            }
            if pinStatus.triesLeft == 1 {
                throw TrustVaultError(.refused, "card \(serial) has one PIN try left", recovery: "unblock or reset the PIN with the PUK first")
            }

            // Management key first (the PIN and PUK changes need no authentication).
            let oldKey = try CardSecrets.managementKey(
                context.environment["TRUSTVAULT_MANAGEMENT_KEY"] == nil && mkInfo?.isDefault != false
                    ? SecretBytes(copying: Array(Hex.encode(PIVSession.factoryManagementKey).utf8))
                    : context.secrets.secret(for: .managementKey),
                what: "management key")
            try session.authenticate(managementKey: oldKey, algorithm: mkInfo?.algorithm ?? (oldKey.count == 24 ? .tripleDES : .aes128))
            try session.setManagementKey(newKey, algorithm: algorithm)
            printOut("Management key changed (\(algorithm)).")
            if randomManagementKey {
                printOut("New management key (record it offline now; trustvault does not store it): \(newKey.withTemporaryArray { Hex.encode($0) })")
            }

            let oldPIN = try current(context, .pin, variable: "TRUSTVAULT_PIN", factory: Array(PIVSession.factoryPIN.utf8), isDefault: pinStatus.isDefault)
            try session.changePIN(old: oldPIN, new: newPIN)
            printOut("PIN changed.")
            let oldPUK = try current(context, .puk, variable: "TRUSTVAULT_PUK", factory: Array(PIVSession.factoryPUK.utf8), isDefault: pukStatus?.isDefault)
            try session.changePUK(old: oldPUK, new: newPUK)
            printOut("PUK changed.")
            printOut("Card \(serial) is set up.")
        }

        @OptionGroup var global: GlobalOptions

        func checkNew(_ value: SecretBytes, name: String, factory: String) throws(TrustVaultError) {
            guard (6...8).contains(value.count) else {
                throw .invalid("the new \(name) must have 6 to 8 characters, it has \(value.count)")
            }
            if value.constantTimeEquals(SecretBytes(copying: Array(factory.utf8))) {
                throw TrustVaultError(.refused, "the new \(name) is the factory \(name)", recovery: "choose another \(name)")
            }
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
            let serial = try serial.map(parseSerial)
            let (session, info) = try PIVCards.open(serial: serial)
            defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
            try PIVCards.checkPINBeforeAsking(session: session, serial: info.serial, options: safety.unlock)
            let pin = try context.secrets.secret(for: .pin)
            try session.verifyPIN(pin)
            printOut("PIN verified for card \(info.serial.map(String.init) ?? info.reader).")
        }
    }
}

/// Card-backed keys: generation on a card and copies of vault keys onto cards.
enum CardKeys {
    static func generate(
        _ context: CLIContext, vault: Vault, role: String, gun: String?, algorithm: KeyAlgorithm,
        serial serialText: String, slot slotText: String?, options: CardUnlockOptions
    ) throws(TrustVaultError) {
        guard algorithm != .rsa else {
            throw .unsupported("trustvault generates P-256 (ecdsa) or Ed25519 keys on cards, not RSA",
                               recovery: "drop --algorithm or use --algorithm ecdsa")
        }
        let serial = try parseSerial(serialText)
        let slot = try slotText.map { (t: String) throws(TrustVaultError) -> PIVSlot in try PIVSlot(parsing: t) } ?? .signature
        let session = try CardSecrets.openForChanges(context, serial: serial, options: options)
        defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
        if let existing = try session.slotPublicKey(slot) {
            throw TrustVaultError(
                .alreadyExists, "slot \(slot) of card \(serial) already holds key \(existing.keyID)",
                recovery: "choose another --slot; trustvault never overwrites a key on a card")
        }
        let publicKey = algorithm == .ed25519
            ? try session.generateEd25519(slot: slot, pinPolicy: .once)
            : try session.generateP256(slot: slot, pinPolicy: .once)
        let record = try vault.addCardKey(
            publicKey: publicKey, role: role, gun: gun, certificatePEM: nil, serial: String(serial), slot: slot.description)
        printOut("Generated \(algorithm == .ed25519 ? "Ed25519" : "P-256") \(role) key on card \(serial) slot \(slot) (PIN policy: once per session)")
        printOut(record.id)
    }

    static func copy(_ context: CLIContext, vault: Vault, keyID: String, serial serialText: String, slot slotText: String?,
                     options: CardUnlockOptions) throws(TrustVaultError) {
        let record = try vault.record(matching: keyID)
        guard case .vault = record.location else {
            throw .invalid("key \(record.id.prefix(12)) is already on a card (\(record.location)); keys cannot leave a card")
        }
        guard record.algorithm == .ecdsa else {
            throw .unsupported("only P-256 (ecdsa) keys can be put on a PIV card; key \(record.id.prefix(12)) is \(record.algorithm)")
        }
        let serial = try parseSerial(serialText)
        let slot = try slotText.map { (t: String) throws(TrustVaultError) -> PIVSlot in try PIVSlot(parsing: t) } ?? .signature
        // Unlock first: a wrong passphrase must not cost a management-key attempt.
        let key = try vault.unlock(record, passphrase: context.secrets.passphrase(for: .key(role: record.role)))
        let session = try CardSecrets.openForChanges(context, serial: serial, options: options)
        defer { (session.transport as? PCSCCard)?.disconnect(reset: true) }
        if let existing = try session.slotPublicKey(slot) {
            guard existing == record.publicKey else {
                throw TrustVaultError(
                    .alreadyExists, "slot \(slot) of card \(serial) already holds another key (\(existing.keyID.prefix(12))…)",
                    recovery: "choose another --slot; trustvault never overwrites a key on a card")
            }
            printOut("Card \(serial) slot \(slot) already holds key \(record.id)")
            printOut(record.id)
            return
        }
        try session.importP256(slot: slot, scalar: key.exportSecret(), pinPolicy: .once)
        guard try session.slotPublicKey(slot) == record.publicKey else {
            throw TrustVaultError(.verificationFailed, "card \(serial) does not report the imported key in slot \(slot)",
                                  recovery: "do not rely on this card copy")
        }
        if let pem = record.certificatePEM, let der = pemDER(pem) {
            try session.writeCertificate(slot: slot, der: der)
        }
        printOut("Copied \(record.role) key to card \(serial) slot \(slot)\(record.certificatePEM != nil ? " with its certificate" : "")")
        printOut(record.id)
    }

    static func pemDER(_ pem: String) -> [UInt8]? {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: body).map(Array.init)
    }
}

extension TrustVault.Key {
    struct CopyToCard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy-to-card",
            abstract: "Put a vault key (and its certificate) on a PIV card, e.g. a backup copy of a root key.",
            discussion: """
                The key stays in the vault. The card's management key comes from TRUSTVAULT_MANAGEMENT_KEY \
                (hex) or a prompt; the key's passphrase from its role's variable or a prompt.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The key ID (or a unique prefix).")
        var keyID: String

        @Option(help: "The serial of the card to write to.")
        var card: String

        @Option(help: "The card slot (default 9c).")
        var slot: String?

        @OptionGroup var safety: CardSafetyOptions

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            try CardKeys.copy(context, vault: vault, keyID: keyID, serial: card, slot: slot, options: safety.unlock)
        }
    }
}

extension TrustVault.Key {
    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register-card-key",
            abstract: "Record in this vault a key that is already on a PIV card (e.g. a backup card).",
            discussion: """
                Reads the slot's public key (and certificate, if stored) from the card; no PIN or \
                management key is needed. The record's key ID is the key's canonical ID, so a root key \
                copied with 'key copy-to-card' keeps its ID. The last line of output is the key ID.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "The card's serial.")
        var card: String

        @Option(help: "The card slot (default 9c).")
        var slot: String?

        @Option(help: "The key's role (root, targets, ...).")
        var role: String

        @Option(help: "The repository (GUN), for repository keys.")
        var gun: String?

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            let gun = try KeyRole.normalise(role: role, gun: gun)
            let serial = try parseSerial(card)
            let slot = try slot.map { (t: String) throws(TrustVaultError) -> PIVSlot in try PIVSlot(parsing: t) } ?? .signature
            let (session, _) = try PIVCards.open(serial: serial)
            defer { (session.transport as? PCSCCard)?.disconnect(reset: false) }
            guard let publicKey = try session.slotPublicKey(slot) else {
                throw TrustVaultError(.notFound, "card \(serial) has no key in slot \(slot)",
                                      recovery: "check the slot with 'trustvault card status --serial \(serial)'")
            }
            var certificatePEM: String?
            if let der = try session.readCertificate(slot: slot) {
                guard (try? CardCertificate.publicKey(ofCertificate: der)) == publicKey else {
                    throw TrustVaultError(.verificationFailed, "the certificate in slot \(slot) of card \(serial) is not for the slot's key",
                                          recovery: "replace or delete the certificate on the card")
                }
                certificatePEM = PEMText.encode(type: "CERTIFICATE", der: der)
            }
            let record = try vault.addCardKey(publicKey: publicKey, role: role, gun: gun, certificatePEM: certificatePEM,
                                              serial: String(serial), slot: slot.description)
            printOut("Recorded the \(role) key on card \(serial) slot \(slot)\(certificatePEM != nil ? " with its certificate" : "")")
            printOut(record.id)
        }
    }
}
