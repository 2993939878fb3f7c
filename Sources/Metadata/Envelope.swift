public import TrustCore

/// A metadata file of either dialect: `{"signed":{…},"signatures":[…]}`.
///
/// `signed` is kept as parsed, unknown fields included, so adding a signature never changes the
/// signed bytes of a file another tool wrote. Parsing, the signed bytes, the per-signature check
/// and threshold counting are here once; what the file bytes and signatures look like is the
/// dialect's (`SignedMetadata` = Notary v1, `TUF1.Envelope` = TUF 1.0).
public struct MetadataEnvelope<D: MetadataDialect>: Sendable {
    public var signed: JSONValue { didSet { fileForm = nil } }
    public var signatures: [D.Signature] { didSet { fileForm?.isExactFile = false } }

    /// The file this envelope was read from and its signed bytes, when the dialect's fast reader
    /// took it (`D.readExactForm`); dropped as soon as `signed` changes.
    struct FileForm: Sendable {
        var file: [UInt8]
        /// The buffer holding the signed bytes: the file itself (Notary), or the file without its
        /// whitespace (TUF's indented files).
        var signedBuffer: [UInt8]
        var canonicalSigned: Range<Int>
        /// The file is what ``MetadataEnvelope/envelopeBytes`` writes for the unchanged envelope.
        var isExactFile: Bool
    }
    private var fileForm: FileForm?

    public init(signed: JSONValue, signatures: [D.Signature] = []) {
        self.signed = signed
        self.signatures = signatures
    }

    /// Parses a metadata file; `name` names it in errors.
    public init(parsing bytes: [UInt8], name: String) throws(TrustVaultError) {
        if let read = try D.readExactForm(bytes, name: name) {
            self.init(signed: read.signed, signatures: read.signatures)
            // The file is kept only when it is what the dialect writes (``exactFile``).
            fileForm = FileForm(
                file: read.isExactFile ? read.file : [], signedBuffer: read.signedBuffer, canonicalSigned: read.canonicalSigned,
                isExactFile: read.isExactFile)
            return
        }
        let doc: JSONValue
        do { doc = try JSONValue(parsing: bytes) } catch { throw error.located(name) }
        guard let signed = doc["signed"], case .object = signed else {
            throw .corrupt("\(name): no \"signed\" object", recovery: "is this a \(D.fileKind) metadata file?")
        }
        guard let sigs = doc["signatures"]?.arrayValue else { throw .corrupt("\(name): no \"signatures\" array") }
        var list: [D.Signature] = []
        for (i, s) in sigs.enumerated() {
            let sig = try D.parseSignature(s, index: i, name: name)
            if list.contains(where: { $0.keyID == sig.keyID }), let refusal = D.duplicateSignature(keyID: sig.keyID, name: name) {
                throw refusal
            }
            list.append(sig)
        }
        self.init(signed: signed, signatures: list)
    }

    /// The bytes that are signed (the dialect's canonical form of `signed`).
    public var canonicalSigned: [UInt8] {
        if let f = fileForm { return Array(f.signedBuffer[f.canonicalSigned]) }
        return D.canonicalBytes(signed)
    }

    /// Whether the file this was read from is, byte for byte, what the dialect writes for this
    /// envelope (known without re-encoding for a file read in exact form; false after a change).
    public var isExactFileForm: Bool { fileForm?.isExactFile ?? false }

    /// The file bytes this envelope was read from, while it is unchanged and they were in the
    /// dialect's exact form.
    public var exactFile: [UInt8]? { fileForm?.isExactFile == true ? fileForm?.file : nil }

    public var type: String? { signed["_type"]?.stringValue }
    public var version: Int64? { signed["version"]?.intValue }
    public var expires: TUFTime? { signed["expires"]?.stringValue.flatMap { try? TUFTime(rfc3339: $0) } }

    /// The signed bytes without a copy when they are a slice of the file read.
    var signedSlice: ArraySlice<UInt8> {
        if let f = fileForm { return f.signedBuffer[f.canonicalSigned] }
        return D.canonicalBytes(signed)[...]
    }

    /// Each signature by one of `keyIDs` (any key in `keys` when nil) that has a key in `keys`,
    /// checked, telling a key or signature trustvault cannot read apart from one that does not
    /// match.
    public func signatureChecks(
        _ keyIDs: [String]?, keys: [String: D.Key], canonical: [UInt8]? = nil
    ) -> [(keyID: String, check: SignatureCheck)] {
        signatureChecks(keyIDs, keys: keys, message: canonical.map { $0[...] } ?? signedSlice)
    }

    func signatureChecks(
        _ keyIDs: [String]?, keys: [String: D.Key], message: ArraySlice<UInt8>
    ) -> [(keyID: String, check: SignatureCheck)] {
        var out: [(String, SignatureCheck)] = []
        for s in signatures where keyIDs?.contains(s.keyID) ?? true {
            guard let key = keys[s.keyID] else { continue }
            out.append((s.keyID, D.check(s, keyID: s.keyID, key: key, message: message)))
        }
        return out
    }

    /// The distinct key IDs among `keyIDs` (any in `keys` when nil) whose signatures verify.
    public func validKeyIDs(_ keyIDs: [String]?, keys: [String: D.Key], canonical: [UInt8]? = nil) -> Set<String> {
        Set(signatureChecks(keyIDs, keys: keys, canonical: canonical).filter { $0.check == .valid }.map(\.keyID))
    }

    /// Where `role`'s threshold stands: the valid signatures among its keys, every check made,
    /// and the role's keys that did not sign validly.
    public func thresholdCount(_ role: RoleKeys, keys: [String: D.Key], canonical: [UInt8]? = nil) -> ThresholdCount {
        thresholdCount(role, keys: keys, message: canonical.map { $0[...] } ?? signedSlice)
    }

    func thresholdCount(_ role: RoleKeys, keys: [String: D.Key], message: ArraySlice<UInt8>) -> ThresholdCount {
        let checks = signatureChecks(role.keyIDs, keys: keys, message: message)
        let valid = Set(checks.filter { $0.check == .valid }.map(\.keyID))
        return ThresholdCount(
            role: role, valid: valid, checks: checks, missing: role.keyIDs.filter { !valid.contains($0) })
    }

    /// A root rotation step, the rule both dialects share: root version N+1 counts against the
    /// threshold of version N's root role and against its own (a client follows it only when
    /// both are met).
    public func rootStepCounts(
        previous: (role: RoleKeys, keys: [String: D.Key]), own: (role: RoleKeys, keys: [String: D.Key]), canonical: [UInt8]? = nil
    ) -> (previous: ThresholdCount, own: ThresholdCount) {
        let message = canonical.map { $0[...] } ?? signedSlice
        return (thresholdCount(previous.role, keys: previous.keys, message: message), thresholdCount(own.role, keys: own.keys, message: message))
    }

    /// Adds `signature`, replacing any earlier one by the same key.
    mutating func replaceSignature(_ signature: D.Signature) {
        signatures.removeAll { $0.keyID == signature.keyID }
        signatures.append(signature)
    }
}

/// Valid signatures against a role's threshold.
public struct ThresholdCount: Sendable {
    public var role: RoleKeys
    public var valid: Set<String>
    public var checks: [(keyID: String, check: SignatureCheck)]
    /// The role's keys without a valid signature, in the role's order.
    public var missing: [String]
    public var isMet: Bool { valid.count >= role.threshold }
}

/// `{"keyids":[…],"threshold":N}` of a role, in either dialect.
public struct RoleKeys: Sendable, Hashable {
    public var keyIDs: [String]
    public var threshold: Int

    public init(keyIDs: [String], threshold: Int = 1) {
        self.keyIDs = keyIDs
        self.threshold = threshold
    }

    var json: JSONValue { .obj(["keyids": .array(keyIDs.map { .string($0) }), "threshold": .integer(Int64(threshold))]) }

    /// Reads a role; the threshold's range is the dialect's (`MetadataDialect.checkThreshold`).
    init<D: MetadataDialect>(json: JSONValue?, context: String, dialect: D.Type) throws(TrustVaultError) {
        // notary writes a role whose last key was removed as "keyids":null (a Go nil slice).
        let idsValue = json?["keyids"]
        guard let json, let ids = idsValue?.isNull == true && D.nullKeyIDsAreEmpty ? [] : idsValue?.arrayValue,
            let t = json["threshold"]?.intValue
        else {
            throw .corrupt("\(context): a role needs \"keyids\" and \"threshold\"")
        }
        var list: [String] = []
        for id in ids {
            guard let s = id.stringValue else { throw .corrupt("\(context): key IDs must be strings") }
            list.append(s)
        }
        try D.checkThreshold(t, keyCount: list.count, context: context)
        keyIDs = list
        threshold = Int(t)
    }
}
