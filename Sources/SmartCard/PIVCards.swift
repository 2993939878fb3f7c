public import TrustCore
public import Formats
internal import Foundation

/// A PIV card seen through pcscd.
public struct PIVCardInfo: Sendable, Equatable {
    public var reader: String
    public var serial: UInt32?
    public var version: PIVVersion?
}

/// Options of an unlock: the safety rules.
public struct CardUnlockOptions: Sendable {
    /// Accept a card that still has its factory PIN (or management key).
    public var allowDefaultPIN: Bool
    /// Spend the last PIN try.
    public var force: Bool
    public init(allowDefaultPIN: Bool = false, force: Bool = false) {
        self.allowDefaultPIN = allowDefaultPIN
        self.force = force
    }
}

/// Finding cards and opening sessions on them.
public enum PIVCards {
    /// All readers with a PIV card in them. Readers without a card, or with a non-PIV card, are
    /// left out; pcscd not running is a `.serviceUnavailable` error.
    public static func list(context: PCSCContext? = nil) throws(TrustVaultError) -> [PIVCardInfo] {
        let ctx: PCSCContext
        if let context { ctx = context } else { ctx = try PCSCContext() }
        var out: [PIVCardInfo] = []
        for reader in try ctx.readers() {
            if let held = OpenCards.info(reader: reader) {
                out.append(held)
                continue
            }
            guard (try? ctx.isCardPresent(in: reader)) == true else { continue }
            guard let card = try? ctx.connect(reader) else { continue }
            defer { card.disconnect(reset: false) }
            let session = PIVSession(transport: card, readerName: reader)
            guard (try? session.select()) != nil else { continue }
            let serial = try? session.serial()
            let version = try? session.version()
            out.append(PIVCardInfo(reader: reader, serial: serial ?? nil, version: version ?? nil))
        }
        return out
    }

    /// Opens a session on the card with `serial` (or the only card when `serial` is nil),
    /// inside a PC/SC transaction so that no other program interleaves commands.
    public static func open(serial: UInt32?, context: PCSCContext? = nil) throws(TrustVaultError)
        -> (session: PIVSession, info: PIVCardInfo)
    {
        let ctx: PCSCContext
        if let context { ctx = context } else { ctx = try PCSCContext() }
        let cards = try list(context: ctx)
        let chosen: PIVCardInfo
        if let serial {
            guard let c = cards.first(where: { $0.serial == serial }) else {
                let seen = cards.compactMap { $0.serial.map(String.init) }.joined(separator: ", ")
                throw .notFound(
                    "no PIV card with serial \(serial) is connected" + (seen.isEmpty ? "" : " (connected: \(seen))"),
                    recovery: "insert the card and check `trustvault card list`")
            }
            chosen = c
        } else {
            guard let c = cards.first else {
                throw TrustVaultError(
                    .notFound, "no PIV card is connected", recovery: "insert a card and check `trustvault card list`")
            }
            guard cards.count == 1 else {
                throw .invalid(
                    "\(cards.count) PIV cards are connected", recovery: "choose one with --serial (see `trustvault card list`)")
            }
            chosen = c
        }
        let card = try ctx.connect(chosen.reader)
        try card.beginTransaction()
        let session = PIVSession(transport: card, readerName: chosen.reader)
        try session.select()
        // The card may have changed between listing and connecting.
        if let serial, try session.serial() != serial {
            card.disconnect(reset: false)
            throw .notFound("the card in reader \"\(chosen.reader)\" is no longer the one with serial \(serial)")
        }
        OpenCards.add(chosen)
        return (session, chosen)
    }

    /// Opens the key in `slot` of card `serial` for signing, applying the safety rules:
    /// the card's serial and the slot's public key are checked **before** the PIN is asked for;
    /// a blocked PIN or (without `force`) a last remaining try is refused; the factory PIN is
    /// refused unless allowed; a wrong PIN reports the tries left.
    public static func openSigningKey(
        serial: UInt32, slot: PIVSlot, expectedPublicKey: PublicKey, options: CardUnlockOptions = .init(),
        context: PCSCContext? = nil, pin: () throws(TrustVaultError) -> SecretBytes
    ) throws(TrustVaultError) -> CardSigningKey {
        let (session, _) = try open(serial: serial, context: context)
        do {
            return try signingKey(
                session: session, serial: serial, slot: slot, expectedPublicKey: expectedPublicKey, options: options, pin: pin)
        } catch {
            (session.transport as? PCSCCard)?.disconnect(reset: true)
            throw error
        }
    }

    /// The key in `slot` of an already open session on card `serial`, with the same checks as
    /// ``openSigningKey(serial:slot:expectedPublicKey:options:context:pin:)``.
    public static func signingKey(
        session: PIVSession, serial: UInt32, slot: PIVSlot, expectedPublicKey: PublicKey, options: CardUnlockOptions,
        pin: () throws(TrustVaultError) -> SecretBytes
    ) throws(TrustVaultError) -> CardSigningKey {
        let metadata = try session.slotMetadata(slot)
        let fromMetadata = try metadata?.publicKey.map { (p: PublicKeyBytes) throws(TrustVaultError) -> PublicKey in
            try PIVSession.publicKey(p)
        }
        var found = fromMetadata
        if found == nil { found = try session.slotPublicKey(slot) }
        guard let onCard = found else {
            throw .notFound(
                "card \(serial) has no key in slot \(slot)",
                recovery: "check that this is the card that holds the key (trustvault key list shows card:SERIAL/SLOT)")
        }
        guard onCard == expectedPublicKey else {
            throw .refused(
                "the key in slot \(slot) of card \(serial) is not key \(expectedPublicKey.keyID.prefix(12))… (it is \(onCard.keyID.prefix(12))…)",
                recovery: "insert the card that holds this key; no PIN try was spent")
        }
        let policy = metadata?.pinPolicy
        try checkPINBeforeAsking(session: session, serial: serial, options: options)
        let secret = try pin()
        try refuseDefaultPIN(secret, serial: serial, options: options)
        try session.verifyPIN(secret)
        return CardSigningKey(
            session: session, slot: slot, serial: serial, publicKey: expectedPublicKey,
            // A card without metadata cannot say its policy: verify before each signature (a
            // right PIN costs no try).
            pinForEachSignature: policy == .always || metadata == nil ? secret : nil)
    }

    /// Refuses a blocked PIN, a last try (unless forced) and a known factory PIN (unless allowed).
    public static func checkPINBeforeAsking(session: PIVSession, serial: UInt32?, options: CardUnlockOptions)
        throws(TrustVaultError)
    {
        let name = serial.map { "card \($0)" } ?? session.place
        let status = try session.pinStatus()
        if status.isBlocked {
            throw TrustVaultError(
                .wrongPIN, "the PIN of \(name) is blocked",
                recovery: "unblock it with the PUK: trustvault card unblock-pin --serial \(serial.map(String.init) ?? "SERIAL")")
        }
        if status.triesLeft == 1 && !options.force {
            throw .refused(
                "\(name) has one PIN try left; a wrong PIN would block it",
                recovery: "rerun with --force if you are sure of the PIN, or unblock/reset the PIN with the PUK first")
        }
        if status.isDefault == true && !options.allowDefaultPIN {
            throw .refused(
                "\(name) still has its factory PIN",
                recovery: "run `trustvault card setup --serial \(serial.map(String.init) ?? "SERIAL")` first, or pass --allow-default-pin")
        }
    }

    public static func refuseDefaultPIN(_ pin: SecretBytes, serial: UInt32?, options: CardUnlockOptions) throws(TrustVaultError) {
        guard !options.allowDefaultPIN else { return }
        if pin.constantTimeEquals(SecretBytes(copying: Array(PIVSession.factoryPIN.utf8))) {
            throw .refused(
                "the PIN given is the factory PIN",
                recovery: "run `trustvault card setup --serial \(serial.map(String.init) ?? "SERIAL")` first, or pass --allow-default-pin")
        }
    }

    /// Authenticates with the management key, refusing the factory key unless allowed.
    public static func authenticateManagementKey(
        session: PIVSession, serial: UInt32?, key: SecretBytes, options: CardUnlockOptions
    ) throws(TrustVaultError) {
        let info = try session.managementKeyInfo()
        let isFactory = key.constantTimeEquals(SecretBytes(copying: PIVSession.factoryManagementKey))
        if (isFactory || info?.isDefault == true) && !options.allowDefaultPIN {
            throw .refused(
                "card \(serial.map(String.init) ?? "") still uses the factory management key",
                recovery: "run `trustvault card setup --serial \(serial.map(String.init) ?? "SERIAL")` first, or pass --allow-default-pin")
        }
        let algorithm: ManagementKeyAlgorithm
        if let info {
            algorithm = info.algorithm
        } else {
            algorithm = key.count == 24 ? .tripleDES : (key.count == 16 ? .aes128 : .aes256)
        }
        try session.authenticate(managementKey: key, algorithm: algorithm)
    }
}

extension TrustVaultError {
    static func refused(_ message: String, recovery: String? = nil) -> Self {
        Self(.refused, message, recovery: recovery)
    }
}
