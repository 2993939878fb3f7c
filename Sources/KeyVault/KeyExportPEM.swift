public import TrustCore
internal import Formats

extension Vault {
    /// Writes vault keys as **unencrypted** PKCS#8 PEM to a new file `out` (mode 0600, never
    /// replacing a file) and leaves an audit record: the one way private key bytes leave the
    /// vault without a passphrase. The caller has asked for confirmation.
    public func exportUnencryptedPEM(_ records: [KeyRecord], to out: String, secrets: SecretSource) throws(TrustVaultError) {
        guard !records.isEmpty else { throw .invalid("no keys to export") }
        if AtomicFile.exists(out) {
            throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose another --out path or remove it first")
        }
        var text = ""
        for record in records {
            if case .card(let serial, let slot) = record.location {
                throw .invalid(
                    "key \(record.id) lives on card \(serial) slot \(slot); its private half cannot leave the card",
                    recovery: "export only vault keys, or use --format public for the card key's public key")
            }
            text += try unlock(record, secrets: secrets).unencryptedPKCS8PEM()
        }
        var bytes = Array(text.utf8)
        defer { Sodium.wipe(&bytes) }
        try AtomicFile.create(bytes, at: out, mode: 0o600)
        audit("export", ["ids": .array(records.map { .string($0.id) }), "format": .string("pem-unencrypted"), "file": .string(out)])
    }
}
