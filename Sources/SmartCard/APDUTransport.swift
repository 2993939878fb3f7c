public import TrustCore

/// Something that carries one command APDU to a card and brings back its response APDU
/// (data ‖ SW1 ‖ SW2): a PC/SC card handle, or an in-process emulator in unit tests.
public protocol APDUTransport: AnyObject {
    func transmit(_ apdu: [UInt8]) throws(TrustVaultError) -> [UInt8]
}
