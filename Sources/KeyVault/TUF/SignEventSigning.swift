public import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore

/// Adding this key's signatures to a signing event and writing its files back in one transaction.
extension TUFSignEvent {
    // MARK: Signing

    /// Adds this key's signatures to every role of `plan` it must sign and writes the files (and
    /// `root_history/N.root.json` for root) in tuf-on-ci's form; all or nothing.
    public func sign(_ plan: Plan) throws(TrustVaultError) -> Result {
        var result = Result()
        var roles = plan.roles
        var writes: [(path: String, bytes: [UInt8])] = []
        if !plan.alreadySigned {
            let signer = try vault.signer(for: plan.record, secrets: secrets, note: "tuf-on-ci signing event")
            for i in roles.indices where !roles[i].signAs.isEmpty {
                let all = roles[i].allKeys
                for id in roles[i].signAs {
                    guard let key = all[id] else { continue }
                    var scratch = roles[i].envelope
                    try scratch.sign(with: signer, key: key, keyID: id)
                    guard let sig = scratch.signatures.last, sig.keyID == id else { continue }
                    roles[i].envelope = Self.setting(sig, in: roles[i].envelope)
                    roles[i].document = Self.setting(sig, inDocument: roles[i].document)
                }
                let bytes = EventJSON.bytes(roles[i].document)
                // The signed part must be what was shown, byte for byte once canonical.
                let reread = try TUF1.Envelope(parsing: bytes, name: roles[i].path)
                guard reread.canonicalSigned == plan.roles[i].envelope.canonicalSigned else {
                    throw .verification("\(roles[i].path): the signed part changed while writing; nothing was written")
                }
                writes.append((roles[i].path, bytes))
                if roles[i].role == "root", let v = roles[i].envelope.version {
                    writes.append((plan.event + "/root_history/\(v).root.json", bytes))
                }
                if EventJSON.bytes(plan.roles[i].document) != plan.roles[i].originalBytes {
                    result.notes.append("\(roles[i].path) was not in tuf-on-ci's JSON form; its diff shows more than the new signature")
                }
                result.summary.append("\(roles[i].role): signed as \(roles[i].signAs.map { Self.describeKey($0, all) }.joined(separator: ", "))")
            }
        } else {
            result.summary.append("nothing to sign: this key has signed every changed role it must sign")
        }
        try writeAll(writes, in: plan.event)
        result.written = writes.map(\.path)

        // What is still missing, by owner.
        for w in roles {
            let s = w.envelope.thresholdStatus(w.roleKeys, keys: w.keys)
            let pending = s.missing.map { Self.ownerName($0, w.keys) }
            result.summary.append("\(w.role): \(s.valid) of \(s.threshold) signature(s)\(s.valid >= s.threshold ? " — threshold met" : "")")
            if s.valid < s.threshold {
                result.missing.append(
                    "\(w.role): \(s.threshold - s.valid) more signature(s) for version \(w.envelope.version ?? 0); not yet signed by \(pending.joined(separator: ", "))"
                )
            } else if !pending.isEmpty {
                result.notes.append("\(w.role): tuf-on-ci still asks \(pending.joined(separator: ", ")) to sign (the threshold is met)")
            }
            if let p = w.previous {
                let ps = w.envelope.thresholdStatus(p.roleKeys, keys: p.keys)
                let ppending = ps.missing.map { Self.ownerName($0, p.keys) }
                result.summary.append(
                    "\(w.role): \(ps.valid) of \(ps.threshold) signature(s) from version \(p.version)'s root keys\(ps.valid >= ps.threshold ? " — threshold met" : "")"
                )
                if ps.valid < ps.threshold {
                    result.missing.append(
                        "root: \(ps.threshold - ps.valid) more signature(s) from version \(p.version)'s root keys; not yet signed by \(ppending.joined(separator: ", "))"
                    )
                }
            }
        }
        return result
    }

    static func setting(_ sig: TUF1.Signature, in env: TUF1.Envelope) -> TUF1.Envelope {
        var e = env
        if let i = e.signatures.firstIndex(where: { $0.keyID == sig.keyID }) { e.signatures[i] = sig } else { e.signatures.append(sig) }
        return e
    }

    /// Sets `sig` in a file's `signatures` array in place (tuf-on-ci's empty placeholder replaced,
    /// every other field and the order kept), or appends it.
    static func setting(_ sig: TUF1.Signature, inDocument doc: JSONValue) -> JSONValue {
        var d = doc
        var list = d["signatures"]?.arrayValue ?? []
        if let i = list.firstIndex(where: { $0["keyid"]?.stringValue == sig.keyID }) {
            list[i]["sig"] = .string(sig.hex)
        } else {
            list.append(.obj(["keyid": .string(sig.keyID), "sig": .string(sig.hex)]))
        }
        d["signatures"] = .array(list)
        return d
    }

    /// Writes the changed files in one ``CeremonyTransaction``: the event's metadata directory is
    /// rebuilt under a staging name and exchanged whole, so after a failure (or kill -9) the
    /// directory is as it was, never half signed.
    func writeAll(_ writes: [(path: String, bytes: [UInt8])], in dir: String) throws(TrustVaultError) {
        var changed: [(path: String, bytes: [UInt8])] = []
        for w in writes {
            let old = AtomicFile.exists(w.path) ? try AtomicFile.read(w.path, kind: .metadata) : nil
            if old != w.bytes { changed.append(w) }
        }
        guard !changed.isEmpty else { return }
        try CeremonyTransaction.run(vault: vault) { (t) throws(TrustVaultError) in
            try t.stage(dir)
            for w in changed { try t.write(w.bytes, to: w.path, mode: 0o644) }
        }
    }
}
