internal import Formats
public import TrustCore
internal import Foundation

extension Vault {
    /// Writes vault keys in notary's exact key-file format for the online side.
    ///
    /// Every key is encrypted with the export passphrase (`TRUSTVAULT_EXPORT_PASSPHRASE`, or
    /// one typed twice) as notary 0.7 encrypts `private/<id>.key` (PBES2, PBKDF2-HMAC-SHA1
    /// without PRF field, 2048 iterations, AES-256-CBC), with `role:` and, for targets and
    /// snapshot keys, `gun:` headers.
    ///
    /// - Parameter out: a **file** receives one PEM block per key, each with a `path: <id>`
    ///   header — the bundle `notary key import` and `docker trust key load` accept. A
    ///   **directory** (existing, or given with a trailing `/`) receives `private/<id>.key` per
    ///   key, a notary trust-dir fragment to copy into `~/.notary` or `~/.docker/trust`.
    ///   Files are created with mode 0600 and never overwrite anything.
    /// - Returns: the files written.
    public func exportNotary(
        _ records: [KeyRecord], to out: String, secrets: SecretSource
    ) throws(TrustVaultError) -> [String] {
        guard !records.isEmpty else { throw .invalid("no keys to export") }
        for record in records {
            if case .card(let serial, let slot) = record.location {
                throw .invalid(
                    "key \(record.id) lives on card \(serial) slot \(slot); its private half cannot leave the card",
                    recovery: "export only vault keys, or use --format public for the card key's public key")
            }
        }
        let toDirectory = out.hasSuffix("/") || AtomicFile.isDirectory(out)
        let directory = toDirectory ? String(out.reversed().drop { $0 == "/" }.reversed()) : out
        let targets: [String] =
            toDirectory
            ? records.map { "\(directory.isEmpty ? "/" : directory)/private/\($0.id).key" }
            : [out]
        for target in targets where AtomicFile.exists(target) {
            throw TrustVaultError(
                .alreadyExists, "\(target) already exists",
                recovery: "choose another --out path or remove it first; trustvault never overwrites key files")
        }

        // Unlock every key first (each named in its prompt), then encrypt for export.
        var keys: [(KeyRecord, PrivateKey)] = []
        for record in records { keys.append((record, try unlock(record, secrets: secrets))) }
        let exportPassphrase = try secrets.passphrase(for: .export, creating: true)
        var blocks: [PEMBlock] = []
        for (record, key) in keys {
            blocks.append(
                try NotaryKeyFile.block(
                    for: key, role: record.role, gun: record.gun, path: toDirectory ? nil : record.id,
                    passphrase: exportPassphrase))
        }

        if !toDirectory {
            try AtomicFile.create(Array(PEM.encode(blocks).utf8), at: out, mode: 0o600)
            audit("export", ["ids": .array(records.map { .string($0.id) }), "format": .string("notary")])
            return [out]
        }
        try AtomicFile.makeDirectories(directory + "/private")
        var written: [String] = []
        for (target, block) in zip(targets, blocks) {
            switch Result(catching: { () throws(TrustVaultError) in
                try AtomicFile.create(Array(PEM.encode(block).utf8), at: target, mode: 0o600)
            }) {
            case .success: written.append(target)
            case .failure(let error):
                for done in written { try? AtomicFile.remove(done) }
                throw error
            }
        }
        audit("export", ["ids": .array(records.map { .string($0.id) }), "format": .string("notary-dir")])
        return written
    }
}
