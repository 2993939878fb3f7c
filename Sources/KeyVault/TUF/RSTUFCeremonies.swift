public import TrustCore
internal import Formats
public import Metadata
internal import MetadataStore

/// The offline side of an RSTUF (Repository Service for TUF) deployment: the bootstrap ceremony
/// payload, the root-rotation payload and the sign payload, written as files for the online
/// machine's `rstuf admin send …` (or a plain POST to the RSTUF API).
///
/// Payload shapes (RSTUF 1.0, `repository_service_tuf.cli.admin.helpers`):
/// - bootstrap (`POST /api/v1/bootstrap`): `{"settings": {"roles": {"root"|"targets"|"snapshot"|
///   "timestamp": {"expiration": DAYS}, "bins": {"expiration": DAYS, "number_of_delegated_bins": N}}},
///   "metadata": {"root": ROOT}, "timeout": SECONDS}`
/// - root rotation (`POST /api/v1/metadata`): `{"metadata": {"root": ROOT}}`
/// - sign (`POST /api/v1/metadata/sign`): `{"role": ROLE, "signature": {"keyid": ID, "sig": HEX}}`
///
/// ROOT is a TUF 1.0 root envelope whose timestamp, snapshot and targets roles share one online
/// key, marked with `x-rstuf-online-key-uri`; every key carries `x-rstuf-key-name`.
public struct RSTUFCeremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// The clock (tests pass a fixed one).
    public var now: TUFTime = .now()

    public init(vault: Vault, secrets: SecretSource) {
        self.vault = vault
        self.secrets = secrets
    }

    public typealias Output = TUFCeremonies.Output

    public static let keyNameField = "x-rstuf-key-name"
    public static let onlineKeyURIField = "x-rstuf-online-key-uri"
    /// The roles RSTUF signs with its one online key.
    public static let onlineRoles = ["timestamp", "snapshot", "targets"]
    /// The roles whose expiry the bootstrap settings carry, and RSTUF's defaults in days.
    public static let defaultExpiryDays: [(role: String, days: Int64)] = [
        ("root", 365), ("targets", 365), ("snapshot", 1), ("timestamp", 1), ("bins", 1),
    ]
    /// RSTUF's default number of hash bins, and the range its API accepts.
    public static let defaultBins = 256
    public static let binsRange = 2...16384
    /// How long the API waits for the bootstrap task (the value RSTUF's CLI writes).
    public static let bootstrapTimeout: Int64 = 300

    var tuf: TUFCeremonies {
        var t = TUFCeremonies(vault: vault, secrets: secrets)
        t.now = now
        return t
    }

    // MARK: Shared pieces

    /// `--expires ROLE=DURATION` as RSTUF counts it: whole days.
    static func days(_ expires: [String: Int64], roles: [String]) throws(TrustVaultError) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (role, days) in defaultExpiryDays where roles.contains(role) { out[role] = days }
        for (role, seconds) in expires {
            guard roles.contains(role) else {
                throw .invalid("--expires \(role)=…: the role must be one of \(roles.joined(separator: ", "))")
            }
            guard seconds % TUF1.Lifetime.day == 0 else {
                throw .invalid("--expires \(role)=…: RSTUF counts expiry in whole days", recovery: "write e.g. \(role)=\(max(1, seconds / TUF1.Lifetime.day))d")
            }
            out[role] = seconds / TUF1.Lifetime.day
        }
        return out
    }

    /// A key entry with RSTUF's extra fields.
    static func named(_ key: TUF1.Key, name: String, uri: String? = nil) throws(TrustVaultError) -> TUF1.Key {
        var json = key.json
        json[keyNameField] = .string(name)
        if let uri { json[onlineKeyURIField] = .string(uri) }
        return try TUF1.Key(json: json, context: "key \(name)")
    }

    /// The name shown for a key: its `x-rstuf-key-name`, else the start of its ID.
    static func name(of key: TUF1.Key?, id: String) -> String {
        if let n = key?.json[keyNameField]?.stringValue, !n.isEmpty { return "\(Escape.visible(String(n.prefix(40)))) (\(id.prefix(12)))" }
        return String(id.prefix(12))
    }

    static func names(_ ids: [String], _ keys: [String: TUF1.Key]) -> String {
        ids.isEmpty ? "none" : ids.map { name(of: keys[$0], id: $0) }.joined(separator: ", ")
    }

    /// The default name of a key given on the command line.
    static func defaultName(for spec: String, resolved: TUFCeremonies.ResolvedKey) -> String {
        if let rec = resolved.record, !AtomicFile.exists(spec) { return "trustvault-\(rec.id.prefix(12))" }
        var base = AtomicFile.fileName(of: spec)
        for ext in [".pem", ".pub", ".json", ".crt"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base.isEmpty ? String(resolved.id.prefix(12)) : base
    }

    static func envelopeJSON(_ env: TUF1.Envelope) -> JSONValue {
        .obj([
            "signatures": .array(env.signatures.map { .obj(["keyid": .string($0.keyID), "sig": .string($0.hex)]) }),
            "signed": env.signed,
        ])
    }

    static func payloadBytes(_ value: JSONValue) -> [UInt8] { TUF1.Pretty.bytes(value) + [0x0A] }

    func checkOut(_ out: String) throws(TrustVaultError) {
        if AtomicFile.exists(out) {
            throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose a new --out file; trustvault never overwrites a payload")
        }
        let parent = AtomicFile.parent(of: out)
        guard AtomicFile.isDirectory(parent) else {
            throw .notFound("the directory of --out \(out) does not exist", recovery: "create \(parent) first")
        }
    }

    /// Signs `env` with every vault-held key among `ids` (each once); returns the IDs used.
    func signHeld(_ env: inout TUF1.Envelope, ids: [String], keys: [String: TUF1.Key]) throws(TrustVaultError) -> [String] {
        var used: [String] = []
        for id in ids where !used.contains(id) {
            guard let key = keys[id], let rec = try tuf.record(for: key) else { continue }
            try env.sign(with: try vault.signer(for: rec, secrets: secrets, note: "RSTUF root"), key: key, keyID: id)
            used.append(id)
        }
        return used
    }

    /// The online key from `--online-key`, with RSTUF's name and URI fields.
    func onlineKey(_ spec: String, uri: String?, name: String?) throws(TrustVaultError) -> TUF1.Key {
        let r = try tuf.resolve(spec)
        if let uri {
            guard !uri.isEmpty, uri.contains(":"), !uri.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw .invalid(
                    "--online-key-uri \"\(Escape.visible(uri))\" is not a signer URI",
                    recovery: "e.g. fn:KEYID (a key file on the worker), awskms:…, gcpkms:…, hv:…, azurekms:…")
            }
        }
        return try Self.named(r.key, name: name ?? Self.defaultName(for: spec, resolved: r), uri: uri ?? "fn:\(r.id)")
    }

    func thresholdLines(
        _ env: TUF1.Envelope, newRoot: TUF1.Root, previous: TUF1.Root?, out: inout Output, howToSign: String
    ) {
        let n = env.thresholdStatus(newRoot.role("root"), keys: newRoot.keys)
        out.summary.append("root keys of version \(newRoot.version): \(n.valid) valid signature(s), threshold \(n.threshold)")
        if n.valid < n.threshold {
            out.missing.append(
                "\(n.threshold - n.valid) more signature(s) from the root keys of version \(newRoot.version): \(Self.names(n.missing, newRoot.keys))")
        }
        if let previous {
            let p = env.thresholdStatus(previous.role("root"), keys: previous.keys)
            out.summary.append("root keys of version \(previous.version): \(p.valid) valid signature(s), threshold \(p.threshold)")
            if p.valid < p.threshold {
                out.missing.append(
                    "\(p.threshold - p.valid) more signature(s) from the root keys of version \(previous.version): \(Self.names(p.missing, previous.keys))")
            }
        }
        if !out.missing.isEmpty { out.missing.append(howToSign) }
    }

    static let howToSign =
        "RSTUF keeps the root pending: each holder fetches GET /api/v1/metadata/sign ('rstuf admin metadata sign' or curl, on the online machine) and signs it offline with 'trustvault tuf rstuf sign PENDING --key KEYID --out sign-payload.json'"

    // MARK: Bootstrap ceremony

    public struct CeremonyOptions: Sendable {
        /// Vault key IDs (or prefixes) or public key files of the other holders.
        public var rootKeys: [String]
        public var rootThreshold: Int
        /// The online key's public key file (or vault key).
        public var onlineKey: String
        /// Where RSTUF's worker finds the online key (`x-rstuf-online-key-uri`); default `fn:KEYID`.
        public var onlineKeyURI: String?
        /// Lifetimes by role (root, targets, snapshot, timestamp, bins), whole days.
        public var expires: [String: Int64] = [:]
        public var bins: Int?
        public var out: String
        public init(rootKeys: [String], rootThreshold: Int, onlineKey: String, out: String) {
            self.rootKeys = rootKeys
            self.rootThreshold = rootThreshold
            self.onlineKey = onlineKey
            self.out = out
        }
    }

    public func ceremony(_ o: CeremonyOptions) throws(TrustVaultError) -> Output {
        guard !o.rootKeys.isEmpty else { throw .invalid("give at least one --root-key") }
        let days = try Self.days(o.expires, roles: Self.defaultExpiryDays.map(\.role))
        let bins = o.bins ?? Self.defaultBins
        guard Self.binsRange.contains(bins) else {
            throw .invalid("--bins \(bins): RSTUF accepts \(Self.binsRange.lowerBound) to \(Self.binsRange.upperBound) hash bins")
        }
        var rootKeys: [(id: String, key: TUF1.Key)] = []
        for spec in o.rootKeys {
            let r = try tuf.resolve(spec)
            if rootKeys.contains(where: { $0.id == r.id }) { throw .invalid("root key \(spec) is given twice") }
            rootKeys.append((r.id, try Self.named(r.key, name: Self.defaultName(for: spec, resolved: r))))
        }
        guard o.rootThreshold >= 1, o.rootThreshold <= rootKeys.count else {
            throw .invalid("--root-threshold \(o.rootThreshold) needs between 1 and \(rootKeys.count) (the number of root keys)")
        }
        let online = try onlineKey(o.onlineKey, uri: o.onlineKeyURI, name: "online")
        let onlineID = online.defaultKeyID
        if rootKeys.contains(where: { $0.id == onlineID }) {
            throw .invalid("--online-key \(o.onlineKey) is also a root key", recovery: "the online key sits on RSTUF's worker; give it a key of its own")
        }
        try checkOut(o.out)

        var keys: [String: TUF1.Key] = [onlineID: online]
        for k in rootKeys { keys[k.id] = k.key }
        var roles: [String: TUF1.RoleKeys] = ["root": TUF1.RoleKeys(keyIDs: rootKeys.map(\.id), threshold: o.rootThreshold)]
        for r in Self.onlineRoles { roles[r] = TUF1.RoleKeys(keyIDs: [onlineID], threshold: 1) }
        let signed = TUF1.Root.json(
            version: 1, expires: TUF1.expiry(after: days["root"]! * TUF1.Lifetime.day, from: now), keys: keys, roles: roles,
            consistentSnapshot: true)
        var env = TUF1.Envelope(signed: signed)
        let root = try TUF1.Root(signed, name: "root")

        var out = Output()
        out.summary.append("root version 1: \(rootKeys.count) root key(s), threshold \(o.rootThreshold): \(Self.names(rootKeys.map(\.id), keys))")
        out.summary.append(
            "online key for timestamp, snapshot, targets and bins: \(Self.names([onlineID], keys)), \(online.scheme), at \(Escape.visible(online.json[Self.onlineKeyURIField]?.stringValue ?? ""))"
        )
        out.summary.append(
            "expiry: root \(days["root"]!) day(s) (until \(root.expires.display)), targets \(days["targets"]!), snapshot \(days["snapshot"]!), timestamp \(days["timestamp"]!), bins \(days["bins"]!); \(bins) hash bins"
        )
        let used = try signHeld(&env, ids: root.role("root").keyIDs, keys: keys)
        out.summary.append("signed by \(used.isEmpty ? "no key in this vault" : Self.names(used, keys))")
        thresholdLines(env, newRoot: root, previous: nil, out: &out, howToSign: Self.howToSign)
        if o.rootThreshold == 1 { out.notes.append("RSTUF's own ceremony asks for a root threshold of at least 2; one key alone can replace this root") }

        var settings = JSONValue.object([])
        for (role, _) in Self.defaultExpiryDays where role != "bins" { settings[role] = .obj(["expiration": .integer(days[role]!)]) }
        settings["bins"] = .obj(["expiration": .integer(days["bins"]!), "number_of_delegated_bins": .integer(Int64(bins))])
        let payload = JSONValue.obj([
            "settings": .obj(["roles": settings]),
            "metadata": .obj(["root": Self.envelopeJSON(env)]),
            "timeout": .integer(Self.bootstrapTimeout),
        ])
        try AtomicFile.create(Self.payloadBytes(payload), at: o.out, mode: 0o644)
        out.written.append(o.out)
        out.notes.append("on the online machine: 'rstuf admin send bootstrap \(o.out)' (or POST it to /api/v1/bootstrap)")
        return out
    }

    // MARK: Root rotation

    public struct UpdateOptions: Sendable {
        /// The root RSTUF serves now (`N.root.json`).
        public var current: String
        public var newKeys: [String] = []
        public var removeKeys: [String] = []
        public var threshold: Int?
        public var onlineKey: String?
        public var onlineKeyURI: String?
        /// The new root's lifetime in seconds (whole days); default 365 days.
        public var expires: Int64?
        public var out: String
        public init(current: String, out: String) {
            self.current = current
            self.out = out
        }
    }

    /// A trusted root read from a file or a payload: it must carry its own threshold.
    static func selfVerifiedRoot(_ env: TUF1.Envelope, name: String) throws(TrustVaultError) -> TUF1.Root {
        let root = try TUF1.Root(env.signed, name: name)
        let s = env.thresholdStatus(root.role("root"), keys: root.keys)
        guard s.valid >= s.threshold else {
            throw .verification(
                "\(name) (root version \(root.version)) carries \(s.valid) valid signature(s) of its own root keys, below its threshold \(s.threshold)",
                recovery: "give the complete root RSTUF serves now (its metadata URL, N.root.json)")
        }
        return root
    }

    /// The root key `spec` names in `root`: a TUF key ID (or prefix), a vault key, or a public key file.
    func rootKeyID(_ spec: String, in root: TUF1.Root) throws(TrustVaultError) -> String {
        let ids = root.role("root").keyIDs
        let lower = spec.lowercased()
        let byID = ids.filter { !lower.isEmpty && $0.hasPrefix(lower) }
        if byID.count == 1 { return byID[0] }
        let r = try tuf.resolve(spec)
        let pub = r.key.vaultPublicKey
        if let id = ids.first(where: { $0 == r.id || (pub != nil && root.keys[$0]?.isSameKey(as: pub!) == true) }) { return id }
        throw .notFound("\(spec) is not a root key of root version \(root.version)", recovery: "its root keys: \(Self.names(ids, root.keys))")
    }

    public func update(_ o: UpdateOptions) throws(TrustVaultError) -> Output {
        let currentEnv = try TUF1.Envelope.load(o.current)
        guard currentEnv.type == "root" else { throw .invalid("\(o.current) is a \(currentEnv.type ?? "?") file, not a root") }
        let current = try Self.selfVerifiedRoot(currentEnv, name: o.current)
        let newVersion = current.version + 1
        var lifetime = 365 * TUF1.Lifetime.day
        if let e = o.expires {
            lifetime = try Self.days(["root": e], roles: ["root"])["root"]! * TUF1.Lifetime.day
        }

        var rootIDs = current.role("root").keyIDs
        var keys = current.keys
        var removed: [String] = []
        for spec in o.removeKeys {
            let id = try rootKeyID(spec, in: current)
            if removed.contains(id) { throw .invalid("--remove-key \(spec) is given twice") }
            removed.append(id)
        }
        rootIDs.removeAll { removed.contains($0) }
        var added: [String] = []
        for spec in o.newKeys {
            let r = try tuf.resolve(spec)
            if rootIDs.contains(r.id) || added.contains(r.id) { throw .invalid("--new-key \(spec) is already a root key") }
            keys[r.id] = try Self.named(r.key, name: Self.defaultName(for: spec, resolved: r))
            added.append(r.id)
        }
        rootIDs += added
        guard !rootIDs.isEmpty else { throw .invalid("the new root would have no root key", recovery: "add one with --new-key") }
        let threshold = o.threshold ?? min(current.role("root").threshold, rootIDs.count)
        guard threshold >= 1, threshold <= rootIDs.count else {
            throw .invalid("--threshold \(threshold) needs between 1 and \(rootIDs.count) (the number of root keys)")
        }
        var signed = currentEnv.signed
        var rolesJSON = signed["roles"] ?? .object([])
        rolesJSON["root"] = .obj(["keyids": .array(rootIDs.map { .string($0) }), "threshold": .integer(Int64(threshold))])
        let oldOnline = current.role("timestamp").keyIDs
        var newOnlineID: String?
        if let spec = o.onlineKey {
            let k = try onlineKey(spec, uri: o.onlineKeyURI, name: "online")
            let id = k.defaultKeyID
            if rootIDs.contains(id) { throw .invalid("--online-key \(spec) is a root key", recovery: "give the online key a key of its own") }
            if oldOnline == [id] { throw .invalid("--online-key \(spec) is the online key already") }
            keys[id] = k
            newOnlineID = id
            for r in Self.onlineRoles { rolesJSON[r] = .obj(["keyids": .array([.string(id)]), "threshold": .integer(1)]) }
        } else if o.onlineKeyURI != nil {
            throw .invalid("--online-key-uri needs --online-key")
        }
        signed["roles"] = rolesJSON
        // Keys no role lists any more leave the root.
        var inUse = Set(rootIDs)
        for r in TUF1.Root.roleNames where r != "root" {
            for id in rolesJSON[r]?["keyids"]?.arrayValue?.compactMap(\.stringValue) ?? [] { inUse.insert(id) }
        }
        var keyJSON = JSONValue.object([])
        for (id, k) in keys.sorted(by: { $0.key < $1.key }) where inUse.contains(id) { keyJSON[id] = k.json }
        signed["keys"] = keyJSON
        signed["version"] = .integer(newVersion)
        signed["expires"] = .string(TUF1.expiry(after: lifetime, from: now))
        let newRoot = try TUF1.Root(signed, name: "root version \(newVersion)")
        try checkOut(o.out)

        var out = Output()
        out.summary.append("root version \(newVersion) replaces version \(current.version); expires \(newRoot.expires.display)")
        out.summary.append("root keys: \(Self.names(rootIDs, newRoot.keys)); threshold \(threshold) (was \(current.role("root").threshold))")
        if !added.isEmpty { out.summary.append("added root key(s): \(Self.names(added, newRoot.keys))") }
        if !removed.isEmpty { out.summary.append("removed root key(s): \(Self.names(removed, current.keys))") }
        if let id = newOnlineID {
            out.summary.append("online key: \(Self.names([id], newRoot.keys)) replaces \(Self.names(oldOnline, current.keys))")
        }
        var env = TUF1.Envelope(signed: signed)
        var signers: [String: TUF1.Key] = current.keys
        for (id, k) in newRoot.keys { signers[id] = k }
        let used = try signHeld(&env, ids: current.role("root").keyIDs + newRoot.role("root").keyIDs, keys: signers)
        out.summary.append("signed by \(used.isEmpty ? "no key in this vault" : Self.names(used, signers))")
        thresholdLines(env, newRoot: newRoot, previous: current, out: &out, howToSign: Self.howToSign)

        let payload = JSONValue.obj(["metadata": .obj(["root": Self.envelopeJSON(env)])])
        try AtomicFile.create(Self.payloadBytes(payload), at: o.out, mode: 0o644)
        out.written.append(o.out)
        out.notes.append("on the online machine: 'rstuf admin send update \(o.out)' (or POST it to /api/v1/metadata)")
        return out
    }
}
