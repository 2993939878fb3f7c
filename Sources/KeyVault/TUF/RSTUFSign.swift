public import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore

extension RSTUFCeremonies {
    /// What `tuf rstuf sign` is about to sign, computed from verified data only.
    public struct SignReview: Sendable {
        /// The pending role's name (`root`).
        public let role: String
        public let version: Int64
        /// The TUF key ID the signature is listed under.
        public let keyID: String
        /// What is being signed, in words.
        public let lines: [String]
        let envelope: TUF1.Envelope
        let key: TUF1.Key
        let record: KeyRecord
        let newRoot: TUF1.Root
        let trusted: TUF1.Root?
        let out: String
    }

    /// Reads the answer of `GET /api/v1/metadata/sign` (`{"data": {"metadata": {"root": …,
    /// "trusted_root": …|null, …}}, "message": …}`), checks the pending root against the trusted
    /// root in the same file, and describes it. Nothing is unlocked or written yet.
    public func reviewSign(pending path: String, key spec: String, role wanted: String?, out: String) throws(TrustVaultError) -> SignReview {
        let doc: JSONValue
        do { doc = try JSONValue(parsing: try AtomicFile.read(path, kind: .metadata)) } catch { throw error.code == .corruptData ? error.located(path) : error }
        guard let metadata = doc["data"]?["metadata"]?.objectValue else {
            throw .corrupt(
                "\(path) is not RSTUF's list of metadata pending signing (no data.metadata object)",
                recovery: "save the answer of GET /api/v1/metadata/sign as it is")
        }
        var pending: [String: JSONValue] = [:]
        var order: [String] = []
        var trustedJSON: JSONValue?
        for m in metadata {
            if m.key == "trusted_root" {
                if !m.value.isNull { trustedJSON = m.value }
            } else if !m.key.hasPrefix("trusted_"), !m.value.isNull {
                pending[m.key] = m.value
                order.append(m.key)
            }
        }
        guard !order.isEmpty else { throw .notFound("\(path) lists no metadata pending signing") }
        let role: String
        if let wanted {
            guard pending[wanted] != nil else {
                throw .notFound(
                    "\(path) has no pending role \"\(Escape.visible(wanted))\"",
                    recovery: "pending: \(order.map { Escape.visible($0) }.joined(separator: ", "))")
            }
            role = wanted
        } else {
            guard order.count == 1 else {
                throw .invalid(
                    "\(path) lists several pending roles (\(order.map { Escape.visible($0) }.joined(separator: ", ")))", recovery: "choose one with --role")
            }
            role = order[0]
        }
        let env = try TUF1.Envelope(parsing: TUF1.Pretty.bytes(pending[role]!), name: "\(path) (\(Escape.visible(role)))")
        guard env.type == "root", role == "root" else {
            throw .unsupported(
                "\(path): the pending \(Escape.visible(role)) is \(env.type.map { "a \(Escape.visible($0))" } ?? "not a") file; trustvault signs RSTUF's pending root",
                recovery: "sign delegated targets roles with 'rstuf admin metadata sign'")
        }
        let newRoot = try TUF1.Root(env.signed, name: "\(path) (pending root)")
        var trusted: TUF1.Root?
        if let trustedJSON {
            let tenv = try TUF1.Envelope(parsing: TUF1.Pretty.bytes(trustedJSON), name: "\(path) (trusted_root)")
            trusted = try Self.selfVerifiedRoot(tenv, name: "\(path) (trusted_root)")
            guard newRoot.version == trusted!.version + 1 else {
                throw .verification(
                    "\(path): the pending root has version \(newRoot.version), the trusted root \(trusted!.version); a new root must be exactly one version newer"
                )
            }
        } else if newRoot.version != 1 {
            throw .verification(
                "\(path): the pending root has version \(newRoot.version) but no trusted_root to check it against",
                recovery: "only the bootstrap root (version 1) is signed without a trusted root")
        }
        // Every signature already present must verify with a key of either root.
        var allKeys = trusted?.keys ?? [:]
        for (id, k) in newRoot.keys { allKeys[id] = k }
        let message = env.canonicalSigned
        for s in env.signatures {
            guard let k = allKeys[s.keyID] else {
                throw .verification("\(path): the pending root carries a signature by key \(s.keyID.prefix(12)), which neither root lists")
            }
            guard let raw = Hex.decode(s.hex), k.isValidSignature(raw, for: message) else {
                throw .verification(
                    "\(path): the signature by \(Self.name(of: k, id: s.keyID)) (\(Escape.visible(k.scheme))) does not verify over the pending root",
                    recovery: "the pending root was changed after it was signed, or the key is one trustvault cannot check; fetch it again and compare")
            }
        }
        let newStatus = env.thresholdStatus(newRoot.role("root"), keys: newRoot.keys)
        let oldStatus = trusted.map { env.thresholdStatus($0.role("root"), keys: $0.keys) }
        if newStatus.valid >= newStatus.threshold, oldStatus.map({ $0.valid >= $0.threshold }) ?? true {
            throw TrustVaultError(.refused, "\(path): the pending root version \(newRoot.version) is fully signed already; there is nothing to sign")
        }

        // The signing key: a vault key that is a root key of the new or of the trusted root.
        let record = try signingRecord(spec, in: allKeys)
        var candidates = newRoot.role("root").keyIDs
        for id in trusted?.role("root").keyIDs ?? [] where !candidates.contains(id) { candidates.append(id) }
        guard let keyID = candidates.first(where: { allKeys[$0]?.isSameKey(as: record.publicKey) == true }), let key = allKeys[keyID] else {
            throw .invalid(
                "vault key \(record.id.prefix(12)) is not a root key of the pending root version \(newRoot.version)\(trusted.map { " nor of the trusted root version \($0.version)" } ?? "")",
                recovery: "RSTUF counts only those keys: \(Self.names(candidates, allKeys))")
        }
        if env.signatures.contains(where: { $0.keyID == keyID }) {
            throw TrustVaultError(.refused, "\(path): the pending root already carries the signature of \(Self.name(of: key, id: keyID))")
        }
        try checkOut(out)

        var lines: [String] = []
        lines.append(
            "RSTUF root version \(newRoot.version)\(trusted.map { ", replacing the trusted root version \($0.version)" } ?? " (the bootstrap root)"); expires \(newRoot.expires.display)"
        )
        let rootRole = newRoot.role("root")
        lines.append("root keys (\(rootRole.threshold) of \(rootRole.keyIDs.count) must sign): \(Self.names(rootRole.keyIDs, newRoot.keys))")
        let onlineIDs = newRoot.role("timestamp").keyIDs
        let onlineURI = onlineIDs.first.flatMap { newRoot.keys[$0]?.json[Self.onlineKeyURIField]?.stringValue }
        lines.append("online key (timestamp, snapshot, targets): \(Self.names(onlineIDs, newRoot.keys))\(onlineURI.map { " at \(Escape.visible($0))" } ?? "")")
        for r in Self.onlineRoles where newRoot.role(r) != newRoot.role("timestamp") {
            lines.append("\(r) keys: \(Self.names(newRoot.role(r).keyIDs, newRoot.keys)), threshold \(newRoot.role(r).threshold)")
        }
        if let trusted {
            lines += Self.changes(from: trusted, to: newRoot, newSigned: env.signed)
        }
        var present =
            "signatures present: \(env.signatures.isEmpty ? "none" : Self.names(env.signatures.map(\.keyID), allKeys)); root keys of version \(newRoot.version): \(newStatus.valid) valid, threshold \(newStatus.threshold)"
        if let trusted, let oldStatus { present += "; of version \(trusted.version): \(oldStatus.valid) valid, threshold \(oldStatus.threshold)" }
        lines.append(present)
        var roles: [String] = []
        if rootRole.keyIDs.contains(keyID) { roles.append("a root key of version \(newRoot.version)") }
        if let trusted, trusted.role("root").keyIDs.contains(keyID) { roles.append("a root key of version \(trusted.version)") }
        lines.append("signing with \(Self.name(of: key, id: keyID)), vault key \(record.id.prefix(12)) (\(roles.joined(separator: " and ")))")
        return SignReview(
            role: role, version: newRoot.version, keyID: keyID, lines: lines, envelope: env, key: key, record: record,
            newRoot: newRoot, trusted: trusted, out: out)
    }

    /// What changed between the trusted root and the pending one, in words.
    static func changes(from old: TUF1.Root, to new: TUF1.Root, newSigned: JSONValue) -> [String] {
        var lines: [String] = []
        let oldRoot = old.role("root"), newRole = new.role("root")
        let added = newRole.keyIDs.filter { !oldRoot.keyIDs.contains($0) }
        let removed = oldRoot.keyIDs.filter { !newRole.keyIDs.contains($0) }
        if !added.isEmpty { lines.append("changed: root key(s) added: \(names(added, new.keys))") }
        if !removed.isEmpty { lines.append("changed: root key(s) removed: \(names(removed, old.keys))") }
        if oldRoot.threshold != newRole.threshold { lines.append("changed: root threshold \(oldRoot.threshold) → \(newRole.threshold)") }
        for r in TUF1.Root.roleNames where r != "root" {
            let a = old.role(r), b = new.role(r)
            if Set(a.keyIDs) != Set(b.keyIDs) {
                lines.append("changed: \(r) key \(names(a.keyIDs, old.keys)) → \(names(b.keyIDs, new.keys))")
            } else {
                for id in b.keyIDs where old.keys[id]?.json != new.keys[id]?.json {
                    lines.append("changed: the entry of \(r) key \(names([id], new.keys)) (name or signer URI)")
                }
            }
            if a.threshold != b.threshold { lines.append("changed: \(r) threshold \(a.threshold) → \(b.threshold)") }
        }
        for id in newRole.keyIDs where oldRoot.keyIDs.contains(id) && old.keys[id]?.json != new.keys[id]?.json {
            lines.append("changed: the entry of root key \(names([id], new.keys)) (name or fields)")
        }
        if old.consistentSnapshot != new.consistentSnapshot {
            lines.append("changed: consistent_snapshot \(old.consistentSnapshot) → \(new.consistentSnapshot)")
        }
        lines.append("expiry: \(old.expires.display) → \(new.expires.display)")
        if lines.count == 1 { lines.insert("no key, threshold or role changes: a new version with a new expiry", at: 0) }
        return lines
    }

    /// Signs the reviewed root with the vault key and writes RSTUF's sign payload.
    public func sign(_ r: SignReview) throws(TrustVaultError) -> Output {
        var env = r.envelope
        try env.sign(with: try vault.signer(for: r.record, secrets: secrets, note: "RSTUF root version \(r.version)"), key: r.key, keyID: r.keyID)
        guard let sig = env.signatures.first(where: { $0.keyID == r.keyID }) else {
            throw .verification("the signature by \(r.keyID.prefix(12)) was not made")
        }
        let payload = JSONValue.obj([
            "role": .string(r.role),
            "signature": .obj(["keyid": .string(sig.keyID), "sig": .string(sig.hex)]),
        ])
        var out = Output()
        let n = env.thresholdStatus(r.newRoot.role("root"), keys: r.newRoot.keys)
        out.summary.append("signed root version \(r.version) with \(Self.name(of: r.key, id: r.keyID))")
        out.summary.append("with this signature: root keys of version \(r.version): \(n.valid) valid signature(s), threshold \(n.threshold)")
        if n.valid < n.threshold {
            out.missing.append(
                "\(n.threshold - n.valid) more signature(s) from the root keys of version \(r.version): \(Self.names(n.missing, r.newRoot.keys))")
        }
        if let t = r.trusted {
            let p = env.thresholdStatus(t.role("root"), keys: t.keys)
            out.summary.append("with this signature: root keys of version \(t.version): \(p.valid) valid signature(s), threshold \(p.threshold)")
            if p.valid < p.threshold {
                out.missing.append("\(p.threshold - p.valid) more signature(s) from the root keys of version \(t.version): \(Self.names(p.missing, t.keys))")
            }
        }
        try AtomicFile.create(Self.payloadBytes(payload), at: r.out, mode: 0o644)
        out.written.append(r.out)
        out.notes.append("on the online machine: 'rstuf admin send sign \(r.out)' (or POST it to /api/v1/metadata/sign)")
        return out
    }
}

extension RSTUFCeremonies {
    /// The vault record `spec` names: a vault key ID (or prefix), or a TUF key ID (or prefix)
    /// among `keys` whose key this vault holds.
    func signingRecord(_ spec: String, in keys: [String: TUF1.Key]) throws(TrustVaultError) -> KeyRecord {
        do {
            return try vault.record(matching: spec)
        } catch  where error.code == .notFound {
            let named = keys.filter { !spec.isEmpty && $0.key.hasPrefix(spec.lowercased()) }
            guard named.count == 1, let key = named.first?.value else { throw error }
            guard let held = try tuf.record(for: key) else {
                throw .notFound(
                    "the root's key \(spec) is not in the vault at \(vault.path)",
                    recovery: "sign on the machine that holds it; 'trustvault key list' shows this vault's keys")
            }
            return held
        }
    }
}
