internal import Formats
public import SmartCard
public import TrustCore
internal import Foundation

/// Card keys for the ceremonies: one open card session and one PIN entry per card per process
/// (that is, per trustvault command), however many signatures the command makes.
///
/// Before the PIN is asked for, the card in the reader must be the recorded one (serial) and its
/// slot must hold the recorded public key; the last PIN try is refused unless ``options`` has
/// `force`, the factory PIN unless it has `allowDefaultPIN`. Every signature is verified against
/// the record's public key before it is returned.
public final class CardSigners: @unchecked Sendable {
    public init() {}

    private let lock = NSLock()
    private var open: [String: CardSigningKey] = [:]
    private var sessions: [UInt32: PIVSession] = [:]
    private var pins: [UInt32: SecretBytes] = [:]
    private var _options = CardUnlockOptions()

    /// Safety overrides the current command was given (`--allow-default-pin`, `--force`).
    public var options: CardUnlockOptions {
        get { lock.withLock { _options } }
        set { lock.withLock { _options = newValue } }
    }

    /// The signing key for a card record, opening the card (and asking for its PIN) at most once.
    public func signer(for record: KeyRecord, secrets: SecretSource) throws(TrustVaultError) -> CardSigningKey {
        guard case .card(let serialText, let slotText) = record.location else {
            throw .invalid("key \(record.id.prefix(12)) is not a card key")
        }
        guard let serial = UInt32(serialText) else {
            throw .corrupt("key \(record.id.prefix(12)): the card serial \"\(serialText)\" in its record is not a number")
        }
        let slot = try PIVSlot(parsing: slotText)
        lock.lock()
        defer { lock.unlock() }
        let cacheKey = "\(serial)/\(slot)/\(record.id)"
        if let key = open[cacheKey] { return key }
        let options = _options
        let known = pins[serial]
        var entered: SecretBytes?
        let pinSource = { () throws(TrustVaultError) -> SecretBytes in
            if let known { return known }
            let pin = try secrets.secret(for: .pin)
            entered = pin
            return pin
        }
        let key: CardSigningKey
        if let session = sessions[serial] {
            // Same card, another slot: reuse the session (one transaction, one PIN entry).
            key = try PIVCards.signingKey(
                session: session, serial: serial, slot: slot, expectedPublicKey: record.publicKey, options: options,
                pin: pinSource)
        } else {
            key = try PIVCards.openSigningKey(
                serial: serial, slot: slot, expectedPublicKey: record.publicKey, options: options, pin: pinSource)
            sessions[serial] = key.session
        }
        if let entered { pins[serial] = entered }
        open[cacheKey] = key
        return key
    }

    /// Closes every open card session (resetting the cards so no PIN stays verified).
    public func closeAll() {
        lock.lock()
        defer { lock.unlock() }
        for key in open.values { key.close() }
        open = [:]
        sessions = [:]
        pins = [:]
    }
}
