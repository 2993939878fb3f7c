public import TrustCore

extension Vault {
    /// Writes vault keys as **unencrypted** PKCS#8 PEM to a new file `out` (mode 0600, never
    /// replacing a file) and leaves an audit record: the one way private key bytes leave the
    /// vault without a passphrase. The caller has asked for confirmation. The text is made in
    /// secure memory (`unencryptedPEM`) and written from there; no `String` ever holds it.
    public func exportUnencryptedPEM(_ records: [KeyRecord], to out: String, secrets: SecretSource) throws(TrustVaultError) {
        guard !records.isEmpty else { throw .invalid("no keys to export") }
        if AtomicFile.exists(out) {
            throw TrustVaultError(.alreadyExists, "\(out) already exists", recovery: "choose another --out path or remove it first")
        }
        let pem = try unencryptedPEM(records, secrets: secrets)
        try pem.withTemporaryArray { (bytes: inout [UInt8]) throws(TrustVaultError) in try AtomicFile.create(bytes, at: out, mode: 0o600) }
        audit("export", ["ids": .array(records.map { .string($0.id) }), "format": .string("pem-unencrypted"), "file": .string(out)])
    }
}
