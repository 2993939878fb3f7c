internal import TrustCore
internal import Formats
internal import Metadata
internal import Foundation

/// Which vault keys sign a Notary ceremony's files (each unlocked once, see `UnlockedSigners`).
extension Ceremonies {
    /// The vault records that can sign for the keys with these canonical IDs.
    func records(forCanonicalIDs ids: [String]) throws(TrustVaultError) -> [KeyRecord] {
        let all = try vault.records()
        return ids.compactMap { id in all.first { $0.id == id } }
    }

    func canonicalIDs(_ keys: [TUFKey]) -> [String] { keys.map(\.displayID) }

    /// Signers for the root role of `root`: every root key that is in the vault (or on a card).
    /// `also`: the server's root when a pending output changed root keys (its keys sign too).
    /// `kept`: in a root rotation, the root keys the new root keeps (the others are named in the
    /// prompt as being replaced).
    func rootSigners(_ root: Root, gun: String, allowNone: Bool = false, also: Root? = nil, kept: Set<String>? = nil) throws(TrustVaultError)
        -> [any SigningKey]
    {
        var wanted = canonicalIDs(root.keys(of: .root))
        for id in also.map({ canonicalIDs($0.keys(of: .root)) }) ?? [] where !wanted.contains(id) { wanted.append(id) }
        let recs = try records(forCanonicalIDs: wanted)
        if recs.isEmpty, allowNone { return [] }
        guard !recs.isEmpty else {
            throw .notFound(
                "none of \(gun)'s root keys (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is in the vault at \(vault.path)",
                recovery: "run this on the machine that holds a root key, or import it with 'trustvault key import'")
        }
        // Every root.json a ceremony writes is signed by all the root keys this vault holds for it.
        var signers: [any SigningKey] = []
        for r in recs { signers.append(try signer(r, gun: gun, note: kept.map { $0.contains(r.id) ? "kept" : "being replaced" })) }
        return signers
    }

    func targetsSigner(_ root: Root, gun: String) throws(TrustVaultError) -> any SigningKey {
        let wanted = canonicalIDs(root.keys(of: .targets))
        guard let rec = try records(forCanonicalIDs: wanted).first else {
            throw .notFound(
                "\(gun)'s targets key (\(wanted.map { String($0.prefix(12)) }.joined(separator: ", "))) is not in the vault",
                recovery: "if the key is lost, replace it with 'trustvault repo rotate \(gun) targets'")
        }
        return try signer(rec, gun: gun)
    }

    /// The snapshot signer if the vault holds the snapshot key; nil means the server holds it.
    func snapshotSigner(_ root: Root) throws(TrustVaultError) -> (any SigningKey)? {
        guard let rec = try records(forCanonicalIDs: canonicalIDs(root.keys(of: .snapshot))).first else { return nil }
        return try signer(rec, gun: nil)
    }

    /// The certificates for `sources` and the signers this vault holds among them.
    func resolveRootKeys(
        _ sources: [RootKeySource], gun: String, currentRoot: Root?, now: TUFTime, note: String? = nil
    ) throws(TrustVaultError) -> (keys: [TUFKey], signers: [any SigningKey]) {
        var keys: [TUFKey] = []
        var signers: [any SigningKey] = []
        let all = try vault.records()
        for source in sources {
            switch source {
            case .certificateFile(let path):
                let text = String(decoding: try AtomicFile.read(path, kind: .publicKey), as: UTF8.self)
                let key: TUFKey
                do throws(TrustVaultError) {
                    key = try TUFKey(certificatePEM: text)
                    var ignored: [String] = []
                    try Verifier.checkRootCertificate(key, gun: gun, now: now, warnings: &ignored)
                } catch { throw error.located(path) }
                keys.append(key)
                if let rec = all.first(where: { $0.id == key.displayID }) { signers.append(try signer(rec, gun: gun, note: note)) }
            case .vaultKey(let id):
                let wanted = id.lowercased()
                if let currentRoot, !wanted.isEmpty,
                    let kept = currentRoot.keys(of: .root).first(where: { $0.displayID.hasPrefix(wanted) || $0.id.hasPrefix(wanted) })
                {
                    keys.append(kept)
                    if let rec = all.first(where: { $0.id == kept.displayID }) { signers.append(try signer(rec, gun: gun, note: "kept")) }
                    continue
                }
                let rec = try vault.record(matching: id)
                guard rec.role == "root" else {
                    throw .invalid("key \(rec.id.prefix(12)) is a \(rec.role) key, not a root key", recovery: "pass a root key ID from 'trustvault key list'")
                }
                let signer = try signer(rec, gun: gun, note: note)
                keys.append(try TUFKey(certificatePEM: try RootCertificate.make(gun: gun, signer: signer, now: now.date)))
                signers.append(signer)
            }
        }
        return (keys, signers)
    }
}
