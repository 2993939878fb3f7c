public import TrustCore
public import Formats
public import SmartCard
internal import Foundation

// MARK: - status

/// One occupied slot as `card status` shows it.
public struct CardSlotReport: Sendable {
    public var slot: PIVSlot
    public var publicKey: PublicKey?
    public var algorithm: UInt8?
    public var pinPolicy: PIVPINPolicy?
    public var touchPolicy: UInt8?
    /// nil when the card cannot say (no metadata).
    public var generatedOnCard: Bool?
    public var certificate: CertificateInfo?
    /// The certificate names another key than the slot holds.
    public var certificateMismatch: Bool
    /// This vault's record for the slot, if any.
    public var record: KeyRecord?
}

/// What `card status` shows.
public struct CardReport: Sendable {
    public var info: PIVCardInfo
    public var pin: PINStatus
    public var puk: PINStatus?
    public var managementKey: (algorithm: ManagementKeyAlgorithm, isDefault: Bool?)?
    public var hasMetadata: Bool
    public var slots: [CardSlotReport]
}

extension CardProcedures {
    /// Every key slot (9a, 9c, 9d, 9e and the retired 82–95) that holds a key or certificate.
    public static let allSlots: [PIVSlot] =
        [0x9A, 0x9C, 0x9D, 0x9E].compactMap(PIVSlot.init(rawValue:)) + (0x82...0x95).compactMap(PIVSlot.init(rawValue:))

    /// `card status`: reads only (no PIN, no management key).
    public static func status(serial: UInt32?, vault: Vault?, env: CardEnvironment) throws(TrustVaultError) -> CardReport {
        let (session, info) = try PIVCards.open(serial: serial, context: env.pcsc)
        defer { close(session, reset: false) }
        let pin = try session.pinStatus()
        let puk = try session.pukStatus()
        let mk = try session.managementKeyInfo()
        let hasMetadata = try session.hasMetadata()
        var slots: [CardSlotReport] = []
        for slot in allSlots {
            var report = CardSlotReport(slot: slot, certificateMismatch: false)
            if hasMetadata, case .key(let m) = try session.probeSlot(slot) {
                report.algorithm = m.algorithm
                report.pinPolicy = m.pinPolicy
                report.touchPolicy = m.touchPolicy
                report.generatedOnCard = m.generatedOnCard
                report.publicKey = try? m.publicKey.map { (p: PublicKeyBytes) throws(TrustVaultError) in try PIVSession.publicKey(p) }
            }
            if let der = try? session.readCertificate(slot: slot) {
                report.certificate = try? CertificateInfo(derEncoded: der)
                let certKey = try? CardCertificate.publicKey(ofCertificate: der)
                if report.publicKey == nil && !hasMetadata {
                    report.publicKey = certKey
                } else if hasMetadata {
                    report.certificateMismatch = certKey == nil || certKey != report.publicKey
                }
            }
            if let serial = info.serial, let vault { report.record = try recordedKey(vault: vault, serial: serial, slot: slot) }
            if !hasMetadata, report.publicKey == nil, let record = report.record { report.publicKey = record.publicKey }
            if report.algorithm != nil || report.certificate != nil || report.record != nil { slots.append(report) }
        }
        return CardReport(info: info, pin: pin, puk: puk, managementKey: mk, hasMetadata: hasMetadata, slots: slots)
    }
}
