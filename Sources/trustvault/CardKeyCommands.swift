import ArgumentParser
import CLISupport
import KeyVault

/// Card-backed keys: generation on a card and copies of vault keys onto cards.
enum CardKeys {
    static func generate(
        _ context: CLIContext, vault: Vault, role: String, gun: String?, algorithm: KeyAlgorithm,
        serial serialText: String, slot slotText: String?, policies: CardKeyPolicyOptions, options: CardUnlockOptions
    ) throws(TrustVaultError) {
        let request = CardKeyRequest(
            role: role, gun: gun, algorithm: algorithm, serial: try parseSerial(serialText), slot: try parseSlot(slotText),
            pinPolicy: policies.pin, touchPolicy: policies.touch, overwrite: policies.overwrite)
        let outcome = try CardProcedures.generateKey(request, vault: vault, env: context.cards(options))
        printOut(
            "Generated \(algorithm == .ed25519 ? "Ed25519" : "P-256") \(role) key on card \(request.serial) slot \(request.slot) (PIN policy \(outcome.pinPolicy), touch policy \(outcome.touchPolicy.name))\(outcome.certificatePEM != nil ? " with a self-signed certificate (CN=\(CardProcedures.certificateName(role: role)))" : "")"
        )
        for note in outcome.notes { printOut("Note: \(note)") }
        printOut(outcome.record.id)
    }

    static func copy(
        _ context: CLIContext, vault: Vault, keyID: String, serial serialText: String, slot slotText: String?,
        policies: CardKeyPolicyOptions, options: CardUnlockOptions
    ) throws(TrustVaultError) {
        let serial = try parseSerial(serialText)
        let slot = try parseSlot(slotText)
        let outcome = try CardProcedures.copyKey(
            keyID: keyID, serial: serial, slot: slot, pinPolicy: policies.pin, touchPolicy: policies.touch,
            overwrite: policies.overwrite, vault: vault, env: context.cards(options))
        if outcome.alreadyThere {
            printOut("Card \(serial) slot \(slot) already holds key \(outcome.record.id)")
        } else {
            printOut("Copied \(outcome.record.role) key to card \(serial) slot \(slot) with its certificate (PIN policy \(outcome.pinPolicy))")
        }
        printOut(outcome.record.id)
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

        @OptionGroup var policies: CardKeyPolicyOptions

        func run() throws {
            let context = CLIContext(global)
            let vault = try context.openVault()
            try CardKeys.copy(context, vault: vault, keyID: keyID, serial: card, slot: slot, policies: policies, options: safety.unlock)
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
            let record = try CardProcedures.registerKey(
                serial: try parseSerial(card), slot: try parseSlot(slot), role: role, gun: gun,
                vault: vault, env: context.cards())
            let certificatePEM = record.certificatePEM
            let serial = card
            let slot = try parseSlot(slot)
            printOut("Recorded the \(role) key on card \(serial) slot \(slot)\(certificatePEM != nil ? " with its certificate" : "")")
            printOut(record.id)
        }
    }
}
