public import Formats
public import TrustCore
public import Foundation

/// What an import run did (or, with refusals, would have done).
///
/// Import is **all or nothing** per run: every input is read, decrypted and checked first;
/// if any block or file is refused, ``refusals`` lists each one and the vault is not touched
/// (``imported`` is empty). Keys that are already in the vault are not a failure: they are
/// listed in ``alreadyPresent`` and left as they are, so an interrupted or repeated run can
/// simply be run again.
public struct KeyImportOutcome: Sendable {
    /// Keys added to the vault by this run.
    public var imported: [KeyRecord] = []
    /// Keys that were read but are already in the vault (by key ID).
    public var alreadyPresent: [KeyRecord] = []
    /// Everything that was refused, each naming the file, the block, the reason and what to do.
    public var refusals: [KeyFileRefusal] = []
    /// Informational lines: skipped `EC PARAMETERS`, certificates expiring soon, duplicates…
    public var notes: [String] = []
    /// How many keys were read successfully (imported + already present, or would-be).
    public var keysRead = 0

    public var succeeded: Bool { refusals.isEmpty }
}

extension Vault {
    /// Imports keys from PEM key files, trust directories and client bundles.
    ///
    /// - Parameters:
    ///   - paths: files or directories, as `trustvault key import PATH...` receives them.
    ///   - defaults: `--role` / `--gun`; PEM headers win over them (notary's rules).
    ///   - secrets: passphrases of encrypted inputs come from `TRUSTVAULT_IMPORT_PASSPHRASE`,
    ///     else the role's `NOTARY_*_PASSPHRASE` / `DOCKER_CONTENT_TRUST_*_PASSPHRASE`, else the
    ///     prompt; new vault keys are sealed with the role's `TRUSTVAULT_<ROLE>_PASSPHRASE`.
    ///   - now: the clock used for certificate validity (tests move it).
    /// - Returns: the outcome; when ``KeyImportOutcome/refusals`` is not empty nothing was imported.
    /// - Throws: only for failures outside the inputs (no passphrase for sealing, the vault
    ///   cannot be written); the vault is then unchanged as well.
    /// The most new keys one import seals (each is one Argon2id run).
    public static let maximumKeysPerImport = 256

    public func importKeys(
        from paths: [String], defaults: KeyImportDefaults = KeyImportDefaults(), secrets: SecretSource,
        now: Date = Date()
    ) throws(TrustVaultError) -> KeyImportOutcome {
        let provider = ImportPassphrases(secrets: secrets)
        let report = KeyImportReader.read(
            paths, defaults: defaults, now: now,
            passphrase: { request throws(TrustVaultError) in
                try provider.passphrase(request)
            })
        var outcome = KeyImportOutcome()
        outcome.notes = report.notes
        outcome.refusals = report.refusals
        outcome.keysRead = report.entries.count

        // The vault's own rules on roles and GUNs (e.g. timestamp keys stay on the server).
        var accepted: [(entry: KeyFileEntry, gun: String?)] = []
        for entry in report.entries {
            switch Result(catching: { () throws(TrustVaultError) in try KeyRole.normalise(role: entry.role, gun: entry.gun) }) {
            case .success(let gun): accepted.append((entry, gun))
            case .failure(let error):
                outcome.refusals.append(
                    KeyFileRefusal(source: entry.source, blockIndex: entry.blockIndex, error: error.located(entry.location)))
            }
        }
        guard outcome.refusals.isEmpty else { return outcome }
        guard !accepted.isEmpty else { return outcome }

        let existing = Dictionary(uniqueKeysWithValues: try records().map { ($0.id, $0) })
        var toAdd: [(entry: KeyFileEntry, gun: String?)] = []
        for item in accepted {
            if let record = existing[item.entry.keyID] {
                outcome.alreadyPresent.append(record)
                if record.role != item.entry.role {
                    outcome.notes.append(
                        "\(item.entry.location): key \(record.id) is already in the vault as a \(record.role) key; left unchanged")
                }
            } else {
                toAdd.append(item)
            }
        }
        guard !toAdd.isEmpty else { return outcome }
        // Each new key costs one Argon2id sealing (about a second at the default profile): a
        // count from the input is bounded before any of that work starts.
        guard toAdd.count <= Self.maximumKeysPerImport else {
            throw .invalid(
                "\(paths.prefix(3).joined(separator: ", "))\(paths.count > 3 ? ", …" : ""): \(toAdd.count) new keys in one import; trustvault imports at most \(Self.maximumKeysPerImport) at a time",
                recovery: "import the key files in smaller groups")
        }

        // Seal everything before taking the lock (Argon2id is slow); one passphrase per role.
        var sealingPassphrases: [String: Passphrase] = [:]
        var prepared: [(record: KeyRecord, sealed: SealedKey)] = []
        for (index, item) in toAdd.enumerated() {
            let role = item.entry.role
            let passphrase: Passphrase
            if let cached = sealingPassphrases[role] {
                passphrase = cached
            } else {
                passphrase = try secrets.passphrase(for: .key(role: role), creating: true)
                sealingPassphrases[role] = passphrase
            }
            let record = KeyRecord(
                role: role, gun: item.gun, publicKey: item.entry.privateKey.publicKey,
                certificatePEM: item.entry.certificate?.pemString, location: .vault, created: Timestamp.now())
            let kdf = role == "root" ? profile.atLeast(.moderate) : profile
            if kdf.memLimit > KDFProfile.interactive.memLimit {
                StepProgress.note("sealing key \(index + 1) of \(toAdd.count) (\(role)\(item.gun.map { ", " + $0 } ?? ""), \(record.id.prefix(12)))…")
            }
            let sealed = try SealedKey.seal(
                item.entry.privateKey.exportSecret(), record: record, passphrase: passphrase, profile: kdf)
            prepared.append((record, sealed))
        }

        // Write all records under one lock; if any write fails, remove the ones written.
        try withLock { () throws(TrustVaultError) in
            var written: [KeyRecord] = []
            for (record, sealed) in prepared {
                switch Result(catching: { () throws(TrustVaultError) in try write(record: record, sealed: sealed, create: true) }) {
                case .success:
                    written.append(record)
                case .failure(let error):
                    for done in written { try? AtomicFile.remove(recordPath(done.id)) }
                    throw error
                }
            }
            for record in written {
                audit("import", ["id": .string(record.id), "role": .string(record.role)])
            }
        }
        outcome.imported = prepared.map(\.record)
        return outcome
    }
}

/// Passphrases for encrypted inputs: environment variables (one try each: a wrong value will
/// not get better), else the prompt (up to three tries per block; the last passphrase typed is
/// tried first on the next block, so a bundle under one passphrase is typed once).
final class ImportPassphrases: @unchecked Sendable {
    let secrets: SecretSource
    private let lock = NSLock()
    private var lastTyped: Passphrase?

    init(secrets: SecretSource) { self.secrets = secrets }

    func passphrase(_ request: KeyFilePassphraseRequest) throws(TrustVaultError) -> Passphrase? {
        let purpose = SecretPurpose.importFile(role: request.role, file: "\(request.source) (block \(request.blockIndex))")
        let fromEnvironment = SecretSource.variables(for: purpose).contains { secrets.environment[$0] != nil }
        if fromEnvironment {
            return request.attempt == 0 ? try secrets.passphrase(for: purpose) : nil
        }
        let cached = lock.withLock { lastTyped }
        if request.attempt == 0, let cached { return cached }
        let prompts = request.attempt - (cached == nil ? 0 : 1)
        guard prompts < 3 else { return nil }
        let typed = try secrets.passphrase(for: purpose)
        lock.withLock { lastTyped = typed }
        return typed
    }
}
