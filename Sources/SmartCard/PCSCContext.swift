// The only file of trustvault that talks to libpcsclite.
internal import CPCSCLite
public import TrustCore
internal import Foundation

/// A PC/SC status code, kept raw so that unknown values survive (`LONG` is 64-bit on Linux and
/// 32-bit on macOS; both are normalised to the 32-bit code here).
public struct PCSCStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    init(_ rv: LONG) { rawValue = UInt32(truncatingIfNeeded: rv) }

    public static let success = PCSCStatus(rawValue: 0)
    public static let timeout = PCSCStatus(rawValue: 0x8010_000A)
    public static let sharingViolation = PCSCStatus(rawValue: 0x8010_000B)
    public static let noSmartcard = PCSCStatus(rawValue: 0x8010_000C)
    public static let unknownReader = PCSCStatus(rawValue: 0x8010_0009)
    public static let readerUnavailable = PCSCStatus(rawValue: 0x8010_0017)
    public static let noService = PCSCStatus(rawValue: 0x8010_001D)
    public static let serviceStopped = PCSCStatus(rawValue: 0x8010_001E)
    public static let noReadersAvailable = PCSCStatus(rawValue: 0x8010_002E)
    public static let unresponsiveCard = PCSCStatus(rawValue: 0x8010_0066)
    public static let unpoweredCard = PCSCStatus(rawValue: 0x8010_0067)
    public static let resetCard = PCSCStatus(rawValue: 0x8010_0068)
    public static let removedCard = PCSCStatus(rawValue: 0x8010_0069)

    public var description: String {
        let text = String(cString: pcsc_stringify_error(LONG(bitPattern: UInt(rawValue))))
        return String(format: "0x%08X (%@)", rawValue, text)
    }

    /// The card or reader went away.
    var meansCardGone: Bool {
        [.noSmartcard, .removedCard, .unpoweredCard, .unresponsiveCard, .readerUnavailable, .unknownReader].contains(self)
    }

    /// pcscd itself is not reachable.
    var meansNoService: Bool { self == .noService || self == .serviceStopped }
}

extension TrustVaultError {
    /// The error for a failed PC/SC call `what` (in `reader`, if known).
    static func pcsc(_ status: PCSCStatus, _ what: String, reader: String? = nil) -> TrustVaultError {
        let place = reader.map { " (reader \"\($0)\")" } ?? ""
        if status.meansNoService {
            return TrustVaultError(
                .serviceUnavailable, "the PC/SC service pcscd is not running: \(what) failed with \(status)",
                recovery: "start pcscd (e.g. `systemctl start pcscd.socket`, or `pcscd` as root) and try again")
        }
        if status.meansCardGone {
            return TrustVaultError(
                .serviceUnavailable, "the card was removed or stopped answering\(place): \(what) failed with \(status)",
                recovery: "insert the card again and rerun the command; a signature or change in progress was not completed")
        }
        if status == .resetCard {
            return TrustVaultError(
                .cardError, "another program reset the card\(place) during \(what)",
                recovery: "close other smart-card programs (gpg-agent, browsers, yubico-piv-tool) and rerun the command")
        }
        if status == .sharingViolation {
            return TrustVaultError(
                .busy, "another program holds the card exclusively\(place)",
                recovery: "close the other smart-card program and try again")
        }
        return TrustVaultError(.cardError, "\(what) failed with PC/SC status \(status)\(place)")
    }
}

/// A connection to pcscd (an `SCARDCONTEXT`).
public final class PCSCContext: @unchecked Sendable {
    let handle: SCARDCONTEXT

    public init() throws(TrustVaultError) {
        var ctx: SCARDCONTEXT = 0
        let rv = PCSCStatus(SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &ctx))
        guard rv == .success else { throw .pcsc(rv, "connecting to pcscd") }
        handle = ctx
    }

    deinit { SCardReleaseContext(handle) }

    /// The names of all readers pcscd knows (empty when there are none).
    public func readers() throws(TrustVaultError) -> [String] {
        var length: DWORD = 0
        var rv = PCSCStatus(SCardListReaders(handle, nil, nil, &length))
        if rv == .noReadersAvailable { return [] }
        guard rv == .success else { throw .pcsc(rv, "listing readers") }
        var buffer = [CChar](repeating: 0, count: Int(length))
        rv = PCSCStatus(SCardListReaders(handle, nil, &buffer, &length))
        if rv == .noReadersAvailable { return [] }
        guard rv == .success else { throw .pcsc(rv, "listing readers") }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether a card is present in `reader`.
    public func isCardPresent(in reader: String) throws(TrustVaultError) -> Bool {
        let rv: PCSCStatus
        var eventState: DWORD = 0
        (rv, eventState) = reader.withCString { name in
            var state = SCARD_READERSTATE()
            state.szReader = name
            state.dwCurrentState = DWORD(SCARD_STATE_UNAWARE)
            let r = PCSCStatus(SCardGetStatusChange(handle, 0, &state, 1))
            return (r, state.dwEventState)
        }
        if rv == .timeout { return false }
        guard rv == .success else { throw .pcsc(rv, "reading the reader state", reader: reader) }
        return eventState & DWORD(SCARD_STATE_PRESENT) != 0 && eventState & DWORD(SCARD_STATE_MUTE) == 0
    }

    /// Connects to the card in `reader` (shared, T=1).
    public func connect(_ reader: String) throws(TrustVaultError) -> PCSCCard {
        var card: SCARDHANDLE = 0
        var proto: DWORD = 0
        let rv = PCSCStatus(
            SCardConnect(handle, reader, DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T1), &card, &proto))
        guard rv == .success else { throw .pcsc(rv, "connecting to the card", reader: reader) }
        return PCSCCard(context: self, handle: card, reader: reader)
    }
}

/// A connected card (an `SCARDHANDLE`): the APDU transport of a PIV session.
public final class PCSCCard: APDUTransport, @unchecked Sendable {
    let context: PCSCContext
    let handle: SCARDHANDLE
    public let reader: String
    private var inTransaction = false
    private var connected = true

    init(context: PCSCContext, handle: SCARDHANDLE, reader: String) {
        self.context = context
        self.handle = handle
        self.reader = reader
    }

    deinit { disconnect(reset: true) }

    public func transmit(_ apdu: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        guard connected else { throw TrustVaultError(.cardError, "the card in reader \"\(reader)\" is already disconnected") }
        var response = [UInt8](repeating: 0, count: 65538)
        var length = DWORD(response.count)
        let rv = PCSCStatus(
            SCardTransmit(handle, CPCSCLite_PCI_T1(), apdu, DWORD(apdu.count), nil, &response, &length))
        guard rv == .success else { throw .pcsc(rv, "sending a command to the card", reader: reader) }
        // vpcd (and some readers) report success with an empty answer when the card vanished.
        guard length >= 2 else { throw .pcsc(.removedCard, "sending a command to the card", reader: reader) }
        return Array(response.prefix(Int(length)))
    }

    /// Takes the card exclusively until ``endTransaction()`` so no other program can interleave.
    public func beginTransaction() throws(TrustVaultError) {
        let rv = PCSCStatus(SCardBeginTransaction(handle))
        guard rv == .success else { throw .pcsc(rv, "reserving the card", reader: reader) }
        inTransaction = true
    }

    public func endTransaction() {
        guard inTransaction else { return }
        _ = SCardEndTransaction(handle, DWORD(SCARD_LEAVE_CARD))
        inTransaction = false
    }

    /// Releases the card; with `reset` the card forgets a verified PIN and management key.
    public func disconnect(reset: Bool) {
        guard connected else { return }
        OpenCards.remove(reader: reader)
        endTransaction()
        _ = SCardDisconnect(handle, DWORD(reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD))
        connected = false
    }
}

/// Readers on which this process holds an open PIV session inside a transaction. Listing cards
/// must not send commands there: another handle's transaction would block until it ends.
enum OpenCards {
    nonisolated(unsafe) private static var byReader: [String: PIVCardInfo] = [:]
    private static let lock = NSLock()

    static func add(_ info: PIVCardInfo) { lock.withLock { byReader[info.reader] = info } }
    static func remove(reader: String) { _ = lock.withLock { byReader.removeValue(forKey: reader) } }
    static func info(reader: String) -> PIVCardInfo? { lock.withLock { byReader[reader] } }
}
