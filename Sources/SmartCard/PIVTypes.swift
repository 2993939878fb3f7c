public import TrustCore
internal import Foundation

/// A PIV key slot (key reference), e.g. `9c` for digital signature.
public struct PIVSlot: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init?(rawValue: UInt8) {
        guard [0x9A, 0x9C, 0x9D, 0x9E].contains(rawValue) || (0x82...0x95).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Parses `9c`, `9C` or `0x9c`.
    public init(parsing text: String) throws(TrustVaultError) {
        var t = text.lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        guard t.count == 2, let v = UInt8(t, radix: 16), let slot = PIVSlot(rawValue: v) else {
            throw .invalid(
                "\"\(text)\" is not a PIV key slot",
                recovery: "use 9a, 9c (digital signature, the default), 9d, 9e or a retired slot 82–95")
        }
        self = slot
    }

    public static let authentication = PIVSlot(rawValue: 0x9A)!
    public static let signature = PIVSlot(rawValue: 0x9C)!
    public static let keyManagement = PIVSlot(rawValue: 0x9D)!
    public static let cardAuthentication = PIVSlot(rawValue: 0x9E)!

    /// The tag of the data object holding this slot's certificate.
    public var certificateObject: [UInt8] {
        switch rawValue {
        case 0x9A: [0x5F, 0xC1, 0x05]
        case 0x9C: [0x5F, 0xC1, 0x0A]
        case 0x9D: [0x5F, 0xC1, 0x0B]
        case 0x9E: [0x5F, 0xC1, 0x01]
        default: [0x5F, 0xC1, 0x0D + (rawValue - 0x82)]
        }
    }

    public var description: String { String(format: "%02x", rawValue) }
}

/// A management-key algorithm (3DES up to YubiKey 5.6; AES from 5.4, default from 5.7).
public struct ManagementKeyAlgorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init?(rawValue: UInt8) {
        guard [0x03, 0x08, 0x0A, 0x0C].contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }
    public static let tripleDES = ManagementKeyAlgorithm(rawValue: 0x03)!
    public static let aes128 = ManagementKeyAlgorithm(rawValue: 0x08)!
    public static let aes192 = ManagementKeyAlgorithm(rawValue: 0x0A)!
    public static let aes256 = ManagementKeyAlgorithm(rawValue: 0x0C)!

    public var keyLength: Int {
        switch rawValue {
        case 0x08: 16
        case 0x0C: 32
        default: 24
        }
    }
    public var blockSize: Int { rawValue == 0x03 ? 8 : 16 }
    public var description: String {
        switch rawValue {
        case 0x03: "3DES"
        case 0x08: "AES-128"
        case 0x0A: "AES-192"
        default: "AES-256"
        }
    }
}

/// PIN policy of a key (when the card asks for the PIN before using it).
public struct PIVPINPolicy: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let `default` = PIVPINPolicy(rawValue: 0)
    public static let never = PIVPINPolicy(rawValue: 1)
    public static let once = PIVPINPolicy(rawValue: 2)
    public static let always = PIVPINPolicy(rawValue: 3)
    public var description: String {
        switch rawValue {
        case 0: "default"
        case 1: "never"
        case 2: "once"
        case 3: "always"
        default: String(format: "0x%02x", rawValue)
        }
    }
}

/// What the card says about a PIN or PUK.
public struct PINStatus: Sendable, Equatable {
    /// Tries left, or `nil` when the card only said "already verified".
    public var triesLeft: Int?
    /// Whether the value is still the factory default (`nil` if the card cannot tell).
    public var isDefault: Bool?
    /// Total tries configured, if known.
    public var totalTries: Int?
    public init(triesLeft: Int?, isDefault: Bool? = nil, totalTries: Int? = nil) {
        self.triesLeft = triesLeft
        self.isDefault = isDefault
        self.totalTries = totalTries
    }
    public var isBlocked: Bool { triesLeft == 0 }
}

/// Facts about a populated key slot from YubiKey GET METADATA.
public struct PIVSlotMetadata: Sendable {
    public var algorithm: UInt8
    public var pinPolicy: PIVPINPolicy
    public var touchPolicy: UInt8
    /// `true` if the key was generated on the card, `false` if imported.
    public var generatedOnCard: Bool
    public var publicKey: PublicKeyBytes?
}

/// An EC public key as the card encodes it (`04‖X‖Y`), with its PIV algorithm.
public struct PublicKeyBytes: Sendable, Equatable {
    public var algorithm: UInt8
    public var point: [UInt8]
}

/// Firmware version of a card (YubiKey GET VERSION).
public struct PIVVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int
    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }
    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
    public var description: String { "\(major).\(minor).\(patch)" }
}
