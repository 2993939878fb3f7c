public import TrustCore
internal import Formats
public import Metadata
internal import MetadataStore

/// TUF 1.0 ceremonies (`trustvault tuf …`): the same vault, card keys and signer protocol as the
/// Notary ceremonies, writing specification metadata that python-tuf's ngclient accepts.
///
/// Every signer comes from ``Vault/signer(for:secrets:)``; keys held elsewhere (another holder,
/// an online signer) are named in ``Output/missing`` and their files are left for them.
public struct TUFCeremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// The clock (tests pass a fixed one).
    public var now: TUFTime = .now()
    /// Keys being unlocked while the ceremony reads (``unlockAhead(_:)``).
    private let ahead = UnlockAhead()

    public init(vault: Vault, secrets: SecretSource) {
        self.vault = vault
        self.secrets = secrets
    }

    public struct Output: Sendable {
        public var written: [String] = []
        public var newVaultKeys: [KeyRecord] = []
        /// What other key holders still have to do.
        public var missing: [String] = []
        public var notes: [String] = []
        /// Lines describing what was signed.
        public var summary: [String] = []
    }

    // MARK: Keys

    /// A key named on the command line: a vault key ID (or prefix) or a public key file.
    public struct ResolvedKey: Sendable {
        public let key: TUF1.Key
        /// The vault record that can sign for it, if this vault holds it.
        public let record: KeyRecord?
        public var id: String { key.defaultKeyID }
    }

    public func resolve(_ spec: String) throws(TrustVaultError) -> ResolvedKey {
        if AtomicFile.exists(spec), !AtomicFile.isDirectory(spec) {
            let key = try TUF1.Key(file: try AtomicFile.read(spec, kind: .publicKey), name: spec)
            return ResolvedKey(key: key, record: try record(for: key))
        }
        if spec.contains("/") || spec.hasSuffix(".pem") || spec.hasSuffix(".json") {
            throw .notFound("\(spec) does not exist", recovery: "give a vault key ID or a public key file from 'trustvault key export --format public'")
        }
        let rec = try vault.record(matching: spec)
        return ResolvedKey(key: TUF1.Key(rec.publicKey), record: rec)
    }

    /// The vault record holding `key`, compared by key material.
    public func record(for key: TUF1.Key) throws(TrustVaultError) -> KeyRecord? {
        guard let pub = key.vaultPublicKey else { return nil }
        return try vault.records().first { $0.publicKey == pub }
    }

    /// How many of `keys` this vault holds.
    func held(_ keys: [TUF1.Key]) throws(TrustVaultError) -> Int {
        var n = 0
        for k in keys where try record(for: k) != nil { n += 1 }
        return n
    }

    /// Signs `env` with every vault-held key among `keyIDs` (at most `limit`); returns the key IDs used.
    func signWithVault(
        _ env: inout TUF1.Envelope, keyIDs: [String], keys: [String: TUF1.Key], limit: Int = .max,
        extra: [(PrivateKey, String)] = []
    ) throws(TrustVaultError) -> [String] {
        var used: [String] = []
        for id in keyIDs where used.count < limit {
            guard let key = keys[id] else { continue }
            if let fresh = extra.first(where: { key.isSameKey(as: $0.0.publicKey) }) {
                try env.sign(with: fresh.0, key: key, keyID: id)
                used.append(id)
            } else if let rec = try record(for: key) {
                let signer: any SigningKey
                if let unlocked = try ahead.take(rec) { signer = unlocked } else { signer = try vault.signer(for: rec, secrets: secrets) }
                try env.sign(with: signer, key: key, keyID: id)
                used.append(id)
            }
        }
        return used
    }

    /// Starts unlocking the vault keys ``signWithVault(_:keyIDs:keys:limit:extra:)`` will sign
    /// with for these roles (``UnlockAhead``: only those the environment has passphrases for).
    func unlockAhead(_ roles: [(keyIDs: [String], keys: [String: TUF1.Key], limit: Int)]) {
        var records: [KeyRecord] = []
        for role in roles {
            var count = 0
            for id in role.keyIDs where count < role.limit {
                guard let key = role.keys[id], let rec = try? record(for: key) else { continue }
                records.append(rec)
                count += 1
            }
        }
        ahead.start(records, vault: vault, secrets: secrets)
    }

    /// Vault role and GUN for a new key of a TUF role (`tuf-timestamp` for timestamp keys,
    /// whose passphrase is TRUSTVAULT_DELEGATION_PASSPHRASE; the vault keeps timestamp for notary-server).
    static func vaultRole(for role: String, name: String) -> (role: String, gun: String?) {
        switch role {
        case "root": ("root", nil)
        case "targets", "snapshot": (role, name)
        default: ("tuf-\(role)", nil)
        }
    }

    /// The vault key `spec` names: a vault key ID (or unique prefix), or a TUF key ID (or unique
    /// prefix) of the file being signed — what "Still missing" lists — held in this vault.
    func signingRecord(_ spec: String, ctx: SigningContext) throws(TrustVaultError) -> KeyRecord {
        do {
            return try vault.record(matching: spec)
        } catch  where error.code == .notFound {
            var keys = ctx.keys
            for (id, key) in ctx.previous?.keys ?? [:] where keys[id] == nil { keys[id] = key }
            let named = keys.filter { $0.key.hasPrefix(spec.lowercased()) }
            guard named.count == 1, let key = named.first?.value else { throw error }
            guard let held = try vault.records().first(where: { key.isSameKey(as: $0.publicKey) }) else {
                throw .notFound(
                    "the file's key \(spec) is not in the vault at \(vault.path)",
                    recovery: "sign on the machine that holds it; 'trustvault key list' shows this vault's keys")
            }
            return held
        }
    }
}
