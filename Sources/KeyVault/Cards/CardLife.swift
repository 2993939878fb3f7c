public import TrustCore
internal import Formats
public import SmartCard
internal import Foundation

// MARK: - setup, PIN and PUK

/// What `card setup` changes.
public struct CardSetupRequest: Sendable {
    public var serial: UInt32
    public var randomManagementKey: Bool
    /// nil: keep the card's current algorithm.
    public var managementKeyAlgorithm: ManagementKeyAlgorithm?
    public init(serial: UInt32, randomManagementKey: Bool = false, managementKeyAlgorithm: ManagementKeyAlgorithm? = nil) {
        self.serial = serial
        self.randomManagementKey = randomManagementKey
        self.managementKeyAlgorithm = managementKeyAlgorithm
    }
}

extension CardProcedures {
    static func checkNewValue(_ value: SecretBytes, name: String, factory: String) throws(TrustVaultError) {
        guard (6...8).contains(value.count) else {
            throw .invalid("the new \(name) must have 6 to 8 characters, it has \(value.count)")
        }
        if value.withUnsafeBytes({ $0.contains(0xFF) }) { throw .invalid("the new \(name) contains an invalid byte") }
        if value.constantTimeEquals(SecretBytes(copying: Array(factory.utf8))) {
            throw TrustVaultError(.refused, "the new \(name) is the factory \(name)", recovery: "choose another \(name)")
        }
    }

    /// A current PIN/PUK: its variable when set; the factory value only when the card says it
    /// still has it; else a prompt.
    static func current(_ env: CardEnvironment, _ purpose: SecretPurpose, factory: String, cardSaysDefault: Bool?)
        throws(TrustVaultError) -> SecretBytes
    {
        let variable = SecretSource.variables(for: purpose)[0]
        if env.secrets.environment[variable] == nil, cardSaysDefault == true { return SecretBytes(copying: Array(factory.utf8)) }
        return try env.secrets.secret(for: purpose)
    }

    static func refuseBlockedOrLast(_ status: PINStatus?, what: String, serial: UInt32, force: Bool) throws(TrustVaultError) {
        guard let status else { return }
        if status.isBlocked {
            throw TrustVaultError(
                .wrongPIN, "the \(what) of card \(serial) is blocked",
                recovery: what == "PIN"
                    ? "unblock it with the PUK: trustvault card unblock-pin --serial \(serial)"
                    : "only a reset can make the card usable again: trustvault card reset --serial \(serial) (its keys are lost)")
        }
        if status.triesLeft == 1 && !force {
            throw TrustVaultError(
                .refused, "card \(serial) has one \(what) try left; a wrong \(what) would block it",
                recovery: "rerun with --force if you are sure of the \(what)")
        }
    }

    /// `card setup`: replaces the PIN, PUK and management key.
    ///
    /// Every new value is checked, then the current PIN, PUK and management key are verified,
    /// before anything changes. A random management key is handed to `saveManagementKey` (which
    /// prints or stores it) **before** it is sent to the card. `progress` reports each change.
    /// If the card stops answering, the error says which values are already new.
    public static func setup(
        _ request: CardSetupRequest, env: CardEnvironment,
        saveManagementKey: (_ hex: String) throws(TrustVaultError) -> Void,
        progress: (String) -> Void
    ) throws(TrustVaultError) -> ManagementKeyAlgorithm {
        let serial = request.serial
        let (session, info) = try open(serial, env)
        defer { close(session) }
        let pinStatus = try session.pinStatus()
        let pukStatus = try session.pukStatus()
        let mkInfo = try session.managementKeyInfo()

        let newPIN = try env.secrets.secret(for: .newPIN)
        try checkNewValue(newPIN, name: "PIN", factory: PIVSession.factoryPIN)
        let newPUK = try env.secrets.secret(for: .newPUK)
        try checkNewValue(newPUK, name: "PUK", factory: PIVSession.factoryPUK)
        if newPUK.constantTimeEquals(newPIN) {
            throw TrustVaultError(.refused, "the new PUK equals the new PIN", recovery: "choose a PUK different from the PIN")
        }
        let algorithm = request.managementKeyAlgorithm ?? mkInfo?.algorithm ?? .tripleDES
        if algorithm != .tripleDES, let v = info.version, v < PIVVersion(5, 4, 0) {
            throw .unsupported(
                "card \(serial) (firmware \(v)) supports only 3DES management keys; AES needs 5.4 or later",
                recovery: "drop --management-key-algorithm or choose 3des")
        }
        let newKey: SecretBytes
        if request.randomManagementKey {
            newKey = SecretBytes(copying: Sodium.randomBytes(algorithm.keyLength))
        } else {
            newKey = try decodeManagementKey(env.secrets.secret(for: .newManagementKey), what: "new management key")
        }
        guard newKey.count == algorithm.keyLength else {
            throw TrustVaultError(
                .invalidArgument, "a \(algorithm) management key has \(algorithm.keyLength * 2) hex digits, the new one has \(newKey.count * 2)",
                recovery: "give a key of that length, or choose --management-key-algorithm")
        }
        if newKey.constantTimeEquals(SecretBytes(copying: PIVSession.factoryManagementKey)) {
            throw TrustVaultError(.refused, "the new management key is the factory key", recovery: "choose another key or use --random-management-key")
        }
        try refuseBlockedOrLast(pinStatus, what: "PIN", serial: serial, force: env.options.force)
        try refuseBlockedOrLast(pukStatus, what: "PUK", serial: serial, force: env.options.force)

        // The current values: factory ones only where the card says they are still set.
        let oldPIN = try current(env, .pin, factory: PIVSession.factoryPIN, cardSaysDefault: pinStatus.isDefault)
        let oldPUK = try current(env, .puk, factory: PIVSession.factoryPUK, cardSaysDefault: pukStatus?.isDefault)
        let oldKey: SecretBytes
        if env.secrets.environment["TRUSTVAULT_MANAGEMENT_KEY"] == nil, mkInfo?.isDefault == true {
            oldKey = SecretBytes(copying: PIVSession.factoryManagementKey)
        } else {
            oldKey = try decodeManagementKey(env.secrets.secret(for: .managementKey), what: "management key")
        }

        // Verify all three before changing anything.
        let unchanged = "nothing was changed on card \(serial)"
        try during(unchanged) { () throws(TrustVaultError) in
            try session.verifyPIN(oldPIN)
            try session.verifyPUK(oldPUK)
            try session.authenticate(
                managementKey: oldKey, algorithm: mkInfo?.algorithm ?? (oldKey.count == 24 ? .tripleDES : (oldKey.count == 16 ? .aes128 : .aes256)))
        }
        if request.randomManagementKey { try saveManagementKey(newKey.withTemporaryArray { Hex.encode($0) }) }
        try during(
            "the management key of card \(serial) may or may not be the new one\(request.randomManagementKey ? " (shown above)" : ""); the PIN and PUK are unchanged; insert the card and rerun `trustvault card setup` with TRUSTVAULT_MANAGEMENT_KEY set to the old or the new key"
        ) { () throws(TrustVaultError) in
            try session.setManagementKey(newKey, algorithm: algorithm)
        }
        progress("Management key changed (\(algorithm)).")
        try during(
            "card \(serial) has the new management key; the PIN may or may not be the new one and the PUK is unchanged; rerun `trustvault card setup` with TRUSTVAULT_MANAGEMENT_KEY set to the new key and TRUSTVAULT_PIN to the old or new PIN"
        ) { () throws(TrustVaultError) in
            try session.changePIN(old: oldPIN, new: newPIN)
        }
        progress("PIN changed.")
        try during(
            "card \(serial) has the new management key and PIN; the PUK may or may not be the new one; finish with `trustvault card change-puk --serial \(serial)`"
        ) { () throws(TrustVaultError) in
            try session.changePUK(old: oldPUK, new: newPUK)
        }
        progress("PUK changed.")
        return algorithm
    }

    /// `card change-pin`: TRUSTVAULT_PIN (or the factory PIN where the card says it is still
    /// set, or a prompt) → TRUSTVAULT_NEW_PIN.
    public static func changePIN(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) {
        let (session, _) = try open(serial, env)
        defer { close(session) }
        let status = try session.pinStatus()
        try refuseBlockedOrLast(status, what: "PIN", serial: serial, force: env.options.force)
        let new = try env.secrets.secret(for: .newPIN)
        try checkNewValue(new, name: "PIN", factory: PIVSession.factoryPIN)
        if let puk = env.secrets.environment["TRUSTVAULT_PUK"], new.constantTimeEquals(SecretBytes(copying: Array(puk.utf8))) {
            throw TrustVaultError(.refused, "the new PIN equals the PUK", recovery: "choose a PIN different from the PUK")
        }
        let old = try current(env, .pin, factory: PIVSession.factoryPIN, cardSaysDefault: status.isDefault)
        try session.changePIN(old: old, new: new)
    }

    /// `card change-puk`: TRUSTVAULT_PUK → TRUSTVAULT_NEW_PUK (refused when equal to TRUSTVAULT_PIN).
    public static func changePUK(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) {
        let (session, _) = try open(serial, env)
        defer { close(session) }
        let status = try session.pukStatus()
        try refuseBlockedOrLast(status, what: "PUK", serial: serial, force: env.options.force)
        let new = try env.secrets.secret(for: .newPUK)
        try checkNewValue(new, name: "PUK", factory: PIVSession.factoryPUK)
        if let pin = env.secrets.environment["TRUSTVAULT_PIN"], new.constantTimeEquals(SecretBytes(copying: Array(pin.utf8))) {
            throw TrustVaultError(.refused, "the new PUK equals the PIN", recovery: "choose a PUK different from the PIN")
        }
        let old = try current(env, .puk, factory: PIVSession.factoryPUK, cardSaysDefault: status?.isDefault)
        try session.changePUK(old: old, new: new)
    }

    /// `card unblock-pin`: the PUK sets TRUSTVAULT_NEW_PIN (and resets the PIN tries).
    public static func unblockPIN(serial: UInt32, env: CardEnvironment) throws(TrustVaultError) {
        let (session, _) = try open(serial, env)
        defer { close(session) }
        let status = try session.pukStatus()
        try refuseBlockedOrLast(status, what: "PUK", serial: serial, force: env.options.force)
        let new = try env.secrets.secret(for: .newPIN)
        try checkNewValue(new, name: "PIN", factory: PIVSession.factoryPIN)
        let puk = try current(env, .puk, factory: PIVSession.factoryPUK, cardSaysDefault: status?.isDefault)
        if new.constantTimeEquals(puk) {
            throw TrustVaultError(.refused, "the new PIN equals the PUK", recovery: "choose a PIN different from the PUK")
        }
        try session.unblockPIN(puk: puk, newPIN: new)
    }
}

// MARK: - reset

/// What a card reset did.
public struct CardResetOutcome: Sendable {
    /// The vault records of keys that were on the card (now gone), marked in the audit log.
    public var lostKeys: [KeyRecord]
    public var pinCommands: Int
    public var pukCommands: Int
}

extension CardProcedures {
    /// `card reset`: blocks the PIN and PUK (as the card requires), resets the PIV application
    /// (every key, certificate, PIN, PUK and management key back to factory), and marks this
    /// vault's records of keys on that card as lost (audit log `card-reset`). The caller has
    /// asked for confirmation.
    public static func reset(serial: UInt32, vault: Vault?, env: CardEnvironment) throws(TrustVaultError) -> CardResetOutcome {
        let (session, _) = try open(serial, env)
        defer { close(session) }
        let lost =
            try vault?.records().filter { r in
                if case .card(let s, _) = r.location { return s == String(serial) }
                return false
            } ?? []
        var pinCommands = 0, pukCommands = 0
        try during("card \(serial) was not reset; its PIN (and maybe its PUK) may be blocked now: rerun `trustvault card reset --serial \(serial)`") {
            () throws(TrustVaultError) in
            if try session.pinStatus().isBlocked == false { pinCommands = try session.blockPIN() }
            pukCommands = try session.blockPUK()
            try session.resetApplication()
        }
        if let vault, !lost.isEmpty {
            try vault.markCardReset(serial: String(serial), records: lost)
        }
        return CardResetOutcome(lostKeys: lost, pinCommands: pinCommands, pukCommands: pukCommands)
    }
}

extension Vault {
    /// Marks the keys in `records` as destroyed by a reset of their card, in the key-status book
    /// (shown by `key list` as `card reset`) and in the audit log.
    func markCardReset(serial: String, records: [KeyRecord]) throws(TrustVaultError) {
        let time = Timestamp.now()
        try updateKeyStatus { book in
            for r in records { book.cardReset[r.id] = .init(serial: serial, time: time) }
        }
        try withLock { () throws(TrustVaultError) in
            audit("card-reset", ["card": .string(serial), "lost": .array(records.map { .string($0.id) })])
        }
    }

    /// Whether the card holding `record` was reset after the record was made (the key is gone).
    public func cardWasReset(_ record: KeyRecord) -> Bool {
        guard case .card = record.location, let book = try? keyStatus() else { return false }
        return book.cardReset[record.id] != nil
    }
}
