public import TrustCore
public import Formats

/// One vault key as a prompt names it: role, repository, short key ID, where it lives, and what
/// the ceremony does with it ("being replaced", "new").
public struct KeyDescription: Sendable, Hashable {
    public let id: String
    public let role: String
    public let gun: String?
    /// `vault`, or `card SERIAL`.
    public let location: String
    public let note: String?

    public init(_ record: KeyRecord, gun: String? = nil, note: String? = nil) {
        id = record.id
        role = record.role
        self.gun = gun ?? record.gun
        switch record.location {
        case .vault: location = "vault"
        case .card(let serial, _): location = "card \(serial)"
        }
        self.note = note
    }

    /// The key ID characters a per-key variable must name at least.
    public static let minimumIDPrefix = 12

    /// `root key 3f2a9c01b7d4… of docker.io/acme/app (vault, being replaced)`.
    public var name: String {
        let of = gun.map { " of \(Escape.visible($0))" } ?? ""
        return "\(Escape.visible(role)) key \(id.prefix(Self.minimumIDPrefix))…\(of) (\(location)\(note.map { ", \($0)" } ?? ""))"
    }

    /// The per-key variable as documented: `TRUSTVAULT_PASSPHRASE_` and the key ID's first 12
    /// characters (more characters, or upper case, name the same key).
    public static func variable(forKeyID id: String) -> String {
        perKeyPrefix + String(id.prefix(minimumIDPrefix))
    }

    static let perKeyPrefix = "TRUSTVAULT_PASSPHRASE_"
}

extension SecretSource {
    static let minimumPassphraseLength = 8

    /// Whether `purpose` asks for a passphrase that will protect something new: it must have
    /// at least 8 characters, whether typed or taken from the environment.
    static func isNewPassphrase(_ purpose: SecretPurpose, creating: Bool) -> Bool {
        switch purpose {
        case .newPassphrase: true
        case .key, .export, .backup: creating
        case .unlock, .importFile, .pin, .puk, .managementKey, .newPIN, .newPUK, .newManagementKey: false
        }
    }

    /// The variable that supplies `purpose` and its value, if any: for one named key its own
    /// `TRUSTVAULT_PASSPHRASE_<ID prefix>` beats the role's variable. Each variable `V` may
    /// instead be given as `V_FILE`, naming a file that holds the secret (one trailing line
    /// break is dropped); `V` itself wins when both are set.
    func environmentValue(for purpose: SecretPurpose) throws(TrustVaultError) -> (String, String)? {
        if case .unlock(let key) = purpose {
            func perKey(_ suffix: String) -> [String: String] {
                environment.filter { name, _ in
                    guard name.hasPrefix(KeyDescription.perKeyPrefix), name.hasSuffix(suffix) else { return false }
                    let prefix = name.dropFirst(KeyDescription.perKeyPrefix.count).dropLast(suffix.count).lowercased()
                    return prefix.count >= KeyDescription.minimumIDPrefix && prefix.allSatisfy(\.isHexDigit) && key.id.hasPrefix(prefix)
                }
            }
            for suffix in ["", "_FILE"] {
                let matches = perKey(suffix)
                if matches.count > 1, Set(matches.values).count > 1 {
                    throw TrustVaultError(
                        .invalidArgument,
                        "\(matches.keys.sorted().joined(separator: " and ")) both name \(key.role) key \(key.id.prefix(12)) with different values",
                        recovery: "set one variable per key")
                }
                if let match = matches.min(by: { $0.key < $1.key }) {
                    return suffix.isEmpty ? (match.key, match.value) : (match.key, try Self.readSecretFile(match.value, variable: match.key))
                }
            }
        }
        let names = Self.variables(for: purpose)
        for name in names {
            if let value = environment[name] { return (name, value) }
        }
        for name in names {
            if let file = environment[name + "_FILE"] { return (name + "_FILE", try Self.readSecretFile(file, variable: name + "_FILE")) }
        }
        return nil
    }

    static let secretFile = InputKind("passphrase file", maximumSize: 4096)

    /// The secret in `path` (named by `variable`), less one trailing line break.
    static func readSecretFile(_ path: String, variable: String) throws(TrustVaultError) -> String {
        var bytes = try AtomicFile.read(path, kind: secretFile)
        defer { Sodium.wipe(&bytes) }
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TrustVaultError(.corruptData, "\(path) (\(variable)) is not UTF-8 text", recovery: "write the passphrase as text, on one line")
        }
        return text
    }

    /// The variable that will supply `purpose` (nil: a prompt will ask).
    public func variable(for purpose: SecretPurpose) throws(TrustVaultError) -> String? {
        try environmentValue(for: purpose)?.0
    }
}

extension Vault {
    /// Unlocks a vault key with its passphrase: from its own variable or its role's (one try, the
    /// error names the variable), or typed at a terminal with the key named in the prompt and
    /// three tries. Nothing changes on any failure.
    public func unlock(
        _ record: KeyRecord, secrets: SecretSource, gun: String? = nil, note: String? = nil
    ) throws(TrustVaultError) -> PrivateKey {
        let purpose = SecretPurpose.unlock(KeyDescription(record, gun: gun, note: note))
        if let variable = try secrets.variable(for: purpose) {
            let passphrase = try secrets.passphrase(for: purpose)
            do {
                return try unlock(record, passphrase: passphrase)
            } catch  where error.code == .wrongPassphrase {
                throw .wrongPassphrase(
                    "\(variable): \(error.message)",
                    recovery: "set \(variable) to that key's passphrase, or give the key its own with \(KeyDescription.variable(forKeyID: record.id))")
            }
        }
        guard let prompter = secrets.prompter else {
            return try unlock(record, passphrase: secrets.passphrase(for: purpose))  // names the variable to set
        }
        let attempts = 3
        for attempt in 1...attempts {
            let again = attempt == 1 ? "" : "That passphrase does not unlock it (\(attempts - attempt + 1) of \(attempts) tries left).\n"
            let typed = Passphrase(try prompter(again + SecretSource.promptText(for: purpose, creating: false), false, 1))
            do {
                return try unlock(record, passphrase: typed)
            } catch  where error.code == .wrongPassphrase {
                continue
            }
        }
        throw .wrongPassphrase(
            "\(attempts) passphrases typed for \(record.role) key \(record.id.prefix(12)) did not unlock it; nothing was changed",
            recovery: "run the command again with the passphrase chosen when the key was made (or last set with 'trustvault key passwd')")
    }
}
