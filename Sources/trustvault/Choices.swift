import ArgumentParser
import KeyVault

// The closed choices of the command line, parsed by ArgumentParser: a value outside the list is a
// usage error (exit 64, README) naming the values, before a command runs. Spellings are the
// documented ones; where the commands always accepted any letter case, they still do.

/// A choice spelled as its raw value, in any letter case when `ignoresCase`.
protocol Choice: RawRepresentable, CaseIterable, ExpressibleByArgument where RawValue == String {
    /// Whether `NEVER` is read as `never` (the card policies always were).
    static var ignoresCase: Bool { get }
}

extension Choice {
    init?(argument: String) {
        guard let value = Self.allCases.first(where: { $0.rawValue == argument || (Self.ignoresCase && $0.rawValue == argument.lowercased()) })
        else { return nil }
        self = value
    }
    static var ignoresCase: Bool { false }
}

/// `init --kdf`: the Argon2id cost profile.
enum KDFChoice: String, Choice {
    case interactive, moderate, sensitive
    var profile: KDFProfile {
        switch self {
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        }
    }
}

/// `key generate --algorithm`.
enum AlgorithmChoice: String, Choice {
    case ecdsa, ed25519, rsa
    var algorithm: KeyAlgorithm {
        switch self {
        case .ecdsa: .ecdsa
        case .ed25519: .ed25519
        case .rsa: .rsa
        }
    }
}

/// `key export --format`.
enum ExportFormat: String, Choice {
    case notary, pem, `public`
}

/// `--pin-policy` for keys made or copied onto a card.
enum PINPolicyChoice: String, Choice {
    case never, once, always
    static var ignoresCase: Bool { true }
    var policy: PIVPINPolicy {
        switch self {
        case .never: .never
        case .once: .once
        case .always: .always
        }
    }
}

/// `--touch-policy` for keys made or copied onto a card.
enum TouchPolicyChoice: String, Choice {
    case never, always, cached
    static var ignoresCase: Bool { true }
    var policy: CardTouchPolicy {
        switch self {
        case .never: .never
        case .always: .always
        case .cached: .cached
        }
    }
}

/// `card setup --management-key-algorithm`.
enum ManagementKeyChoice: String, Choice {
    case tripleDES = "3des", aes128, aes192, aes256
    static var ignoresCase: Bool { true }
    var algorithm: ManagementKeyAlgorithm {
        switch self {
        case .tripleDES: .tripleDES
        case .aes128: .aes128
        case .aes192: .aes192
        case .aes256: .aes256
        }
    }
}

/// `repo rotate GUN ROLE`.
enum RotatedRoleChoice: String, Choice {
    case root, targets, snapshot
    var role: Ceremonies.RotatedRole {
        switch self {
        case .root: .root
        case .targets: .targets
        case .snapshot: .snapshot
        }
    }
}
