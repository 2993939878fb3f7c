public import TrustCore
public import Formats
internal import Foundation

/// A P-256 key in a PIV slot that signs like a vault key.
///
/// Every signature the card returns is checked against the expected public key before it is
/// handed out, so a wrong card, a wrong slot or a faulty card can never produce metadata that
/// does not verify. For keys with PIN policy ALWAYS the PIN given at unlock is sent again before
/// each signature; it is held in `sodium_malloc`ed memory only while the key is alive.
public final class CardSigningKey: SigningKey, @unchecked Sendable {
    public let publicKey: PublicKey
    public let session: PIVSession
    public let slot: PIVSlot
    public let serial: UInt32?
    private let pinForEachSignature: SecretBytes?
    private let lock = NSLock()

    /// A signer for the key in `slot` of an open session. `pinForEachSignature` is sent (VERIFY)
    /// right before every signature: needed for PIN policy ALWAYS, and when the card cannot say
    /// its policy.
    public init(session: PIVSession, slot: PIVSlot, serial: UInt32?, publicKey: PublicKey, pinForEachSignature: SecretBytes?) {
        self.session = session
        self.slot = slot
        self.serial = serial
        self.publicKey = publicKey
        self.pinForEachSignature = pinForEachSignature
    }

    public func sign(_ message: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let pin = pinForEachSignature { try session.verifyPIN(pin) }
        let signature: [UInt8]
        switch publicKey.algorithm {
        case .ed25519: signature = try session.signEd25519(slot: slot, message: message)
        case .ecdsa: signature = try session.signP256(slot: slot, message: message)
        case .rsa: throw .unsupported("trustvault does not sign with RSA keys on cards")
        }
        guard publicKey.isValidSignature(signature, for: message, method: publicKey.algorithm.signatureMethod) else {
            let card = serial.map { "card \($0)" } ?? session.place
            throw .verification(
                "the signature from \(card) slot \(slot) does not verify with key \(publicKey.keyID.prefix(12))…",
                recovery: "the card or slot does not hold the expected key; check the card and do not use this signature")
        }
        return signature
    }

    /// Closes the card connection, resetting the card so the verified PIN is forgotten.
    public func close() {
        if let card = session.transport as? PCSCCard { card.disconnect(reset: true) }
    }
}
