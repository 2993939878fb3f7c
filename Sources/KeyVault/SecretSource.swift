public import TrustCore
public import Formats

/// What a secret is for; decides the environment variable and the prompt text.
public enum SecretPurpose: Sendable, Hashable {
    /// Unlock (or, when creating, protect) a vault key of this role.
    case key(role: String)
    /// Unlock one named vault key: its prompt names it and it may have its own variable
    /// (`TRUSTVAULT_PASSPHRASE_<key ID prefix>`, before the role's variable).
    case unlock(KeyDescription)
    /// Decrypt a key file being imported (role from its `role:` header, if any).
    case importFile(role: String?, file: String)
    /// Encrypt key files written for online tools.
    case export
    /// Encrypt or open a backup file.
    case backup
    /// The new passphrase in `key passwd`.
    case newPassphrase(role: String)
    case pin, puk, managementKey, newPIN, newPUK, newManagementKey
}

/// Supplies passphrases and PINs: from environment variables when set (automation), else from
/// an injected no-echo prompt (a terminal), else a clear `.missingSecret` error. Never argv.
public struct SecretSource: Sendable {
    /// Asks the user for a secret. `confirm` asks twice; `minimumLength` applies to new ones.
    public typealias Prompter = @Sendable (_ prompt: String, _ confirm: Bool, _ minimumLength: Int) throws(TrustVaultError) -> SecretBytes

    public let environment: [String: String]
    public let prompter: Prompter?

    public init(environment: [String: String], prompter: Prompter? = nil) {
        self.environment = environment
        self.prompter = prompter
    }

    /// `ROOT`, `TARGETS`, `SNAPSHOT`, or `DELEGATION` for any other role.
    public static func envRoleName(_ role: String) -> String {
        switch role {
        case "root": "ROOT"
        case "targets": "TARGETS"
        case "snapshot": "SNAPSHOT"
        default: "DELEGATION"
        }
    }

    /// Environment variables consulted for `purpose`, in order.
    public static func variables(for purpose: SecretPurpose) -> [String] {
        switch purpose {
        case .key(let role): ["TRUSTVAULT_\(envRoleName(role))_PASSPHRASE"]
        case .unlock(let key): ["TRUSTVAULT_\(envRoleName(key.role))_PASSPHRASE"]
        case .importFile(let role, _):
            ["TRUSTVAULT_IMPORT_PASSPHRASE"]
                + (role.map { role in
                    [
                        "NOTARY_\(envRoleName(role))_PASSPHRASE",
                        role == "root" ? "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE" : "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                    ]
                } ?? ["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"])
        case .export: ["TRUSTVAULT_EXPORT_PASSPHRASE"]
        case .backup: ["TRUSTVAULT_BACKUP_PASSPHRASE"]
        case .newPassphrase: ["TRUSTVAULT_NEW_PASSPHRASE"]
        case .pin: ["TRUSTVAULT_PIN"]
        case .puk: ["TRUSTVAULT_PUK"]
        case .managementKey: ["TRUSTVAULT_MANAGEMENT_KEY"]
        case .newPIN: ["TRUSTVAULT_NEW_PIN"]
        case .newPUK: ["TRUSTVAULT_NEW_PUK"]
        case .newManagementKey: ["TRUSTVAULT_NEW_MANAGEMENT_KEY"]
        }
    }

    static func promptText(for purpose: SecretPurpose, creating: Bool) -> String {
        let verb = creating ? "Choose" : "Enter"
        switch purpose {
        case .key(let role): return "\(verb) the passphrase for the \(role) key: "
        case .unlock(let key): return "Passphrase for \(key.name): "
        case .importFile(let role, let file):
            return "Enter the passphrase of \(file)\(role.map { " (\($0) key)" } ?? ""): "
        case .export: return "\(verb) a passphrase for the exported key files: "
        case .backup: return "\(verb) the backup passphrase: "
        case .newPassphrase(let role): return "Choose a new passphrase for the \(role) key: "
        case .pin: return "Enter the card PIN: "
        case .puk: return "Enter the card PUK: "
        case .managementKey: return "Enter the card management key (hex): "
        case .newPIN: return "Choose a new PIN (6-8 characters): "
        case .newPUK: return "Choose a new PUK (6-8 characters): "
        case .newManagementKey: return "Enter the new management key (48 hex digits): "
        }
    }

    /// A secret for `purpose`. With `creating`, a prompt asks twice and wants ≥ 8 characters
    /// (passphrases); environment values are taken as they are but must not be empty.
    public func secret(for purpose: SecretPurpose, creating: Bool = false) throws(TrustVaultError) -> SecretBytes {
        let names = Self.variables(for: purpose)
        if let (name, value) = try environmentValue(for: purpose) {
            guard !value.isEmpty else {
                throw TrustVaultError(
                    .missingSecret, "\(name) is set but empty",
                    recovery: "set it to the secret, or unset it to be prompted")
            }
            if Self.isNewPassphrase(purpose, creating: creating), value.utf8.count < Self.minimumPassphraseLength {  // as the prompt counts
                throw TrustVaultError(
                    .invalidArgument, "\(name) is shorter than \(Self.minimumPassphraseLength) characters",
                    recovery: "a new passphrase needs at least \(Self.minimumPassphraseLength) characters, typed or from the environment")
            }
            return SecretBytes(copying: Array(value.utf8))
        }
        guard let prompter else {
            var variables = names[0]
            if case .unlock(let key) = purpose { variables += " (or \(KeyDescription.variable(forKeyID: key.id)) for this key alone)" }
            throw TrustVaultError(
                .missingSecret,
                "no terminal to ask for the \(Self.describe(purpose)) and \(names[0]) is not set",
                recovery: "set \(variables) or run trustvault in a terminal")
        }
        let isPassphrase: Bool
        switch purpose {
        case .pin, .puk, .managementKey, .newPIN, .newPUK, .newManagementKey: isPassphrase = false
        default: isPassphrase = true
        }
        let newOne: Bool
        switch purpose {
        case .newPassphrase, .newPIN, .newPUK, .newManagementKey: newOne = true
        default: newOne = creating
        }
        return try prompter(Self.promptText(for: purpose, creating: creating), newOne, newOne && isPassphrase ? Self.minimumPassphraseLength : 1)
    }

    /// A passphrase for `purpose` (see ``secret(for:creating:)``).
    public func passphrase(for purpose: SecretPurpose, creating: Bool = false) throws(TrustVaultError) -> Passphrase {
        Passphrase(try secret(for: purpose, creating: creating))
    }

    static func describe(_ purpose: SecretPurpose) -> String {
        switch purpose {
        case .key(let role): "\(role) key passphrase"
        case .unlock(let key): "passphrase for \(key.name)"
        case .importFile(_, let file): "passphrase of \(file)"
        case .export: "export passphrase"
        case .backup: "backup passphrase"
        case .newPassphrase: "new passphrase"
        case .pin: "card PIN"
        case .puk: "card PUK"
        case .managementKey: "card management key"
        case .newPIN: "new card PIN"
        case .newPUK: "new card PUK"
        case .newManagementKey: "new card management key"
        }
    }
}

extension Vault {
    /// The signing key for `record`: a vault key unlocked with its own or its role's passphrase
    /// (named in the prompt, with `gun` and `note`; three tries at a terminal), or (for card
    /// records) the card key. Ceremonies obtain every signer through this function.
    public func signer(
        for record: KeyRecord, secrets: SecretSource, gun: String? = nil, note: String? = nil
    ) throws(TrustVaultError) -> any SigningKey {
        switch record.location {
        case .vault:
            return try unlock(record, secrets: secrets, gun: gun, note: note)
        case .card(let serial, _):
            do {
                return try cardSigners.signer(for: record, secrets: secrets)
            } catch  where (error.code == .notFound || error.code == .refused) && cardWasReset(record) {
                throw TrustVaultError(
                    error.code,
                    "\(error.message); card \(serial) was reset after this key was made (key list: card reset), so key \(record.id.prefix(12))… is gone",
                    recovery: "use another holder's copy of the key, or replace it (see docs/recovery.md, \"Lost or broken card\")")
            }
        }
    }
}
