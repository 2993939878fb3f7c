public import TrustCore
public import SmartCard

extension CardProcedures {
    /// `card verify-pin`: checks a card's PIN (TRUSTVAULT_PIN or a prompt) and resets the card
    /// afterwards, so the PIN does not stay verified.
    ///
    /// Nothing that can fail for another reason comes after the PIN is sent: the card is found and
    /// its PIN status read first (blocked, last try without `force`, factory PIN without
    /// `allowDefaultPIN` are refused before asking), then the PIN is read and checked for its form
    /// (6 to 8 bytes) before it goes to the card. Returns the card that was checked.
    @discardableResult
    public static func verifyPIN(serial: UInt32?, env: CardEnvironment) throws(TrustVaultError) -> PIVCardInfo {
        let (session, info) = try PIVCards.open(serial: serial, context: env.pcsc)
        defer { close(session) }
        try PIVCards.checkPINBeforeAsking(session: session, serial: info.serial, options: env.options)
        let pin = try env.secrets.secret(for: .pin)
        try session.verifyPIN(pin)
        return info
    }
}
