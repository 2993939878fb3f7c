internal import TrustCore
internal import Formats
internal import Foundation

/// Vault keys unlocked ahead of signing. A ceremony over a large repository names the keys it
/// will sign with as soon as it knows them; their Argon2id unseals (a deliberate fraction of a
/// second each) then run on another thread while it reads and changes the files.
///
/// - Only keys whose passphrase comes from the environment: nothing is prompted for out of turn.
///   A key whose passphrase a prompt asks for, and a card key, are unlocked when signing asks.
/// - One unseal ahead at a time, in the order signing needs them: the KDF's memory is needed
///   once, not once per key.
/// - Signing takes each key's result (the key, or its error) when it gets to that key, so a
///   wrong passphrase is reported where it was before, after any earlier problem.
final class UnlockAhead: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [String: BackgroundWork<PrivateKey>] = [:]
    /// The last unseal started; the next one waits for it.
    private var last: BackgroundWork<PrivateKey>?

    /// Starts unlocking each of `records` held in the vault whose passphrase the environment
    /// supplies, in order, one after another.
    func start(_ records: [KeyRecord], vault: Vault, secrets: SecretSource) {
        lock.lock()
        defer { lock.unlock() }
        for record in records where started[record.id] == nil {
            guard case .vault = record.location,
                (try? secrets.variable(for: .unlock(KeyDescription(record)))) != nil
            else { continue }
            let before = last
            let work = BackgroundWork { () throws(TrustVaultError) -> PrivateKey in
                _ = try? before?.value()
                return try vault.unlock(record, secrets: secrets)
            }
            started[record.id] = work
            last = work
        }
    }

    /// The key unlocked ahead for `record` (waiting for it if needed) or its error; nil when it
    /// was not started. Each is handed out once.
    func take(_ record: KeyRecord) throws(TrustVaultError) -> PrivateKey? {
        lock.lock()
        let work = started.removeValue(forKey: record.id)
        lock.unlock()
        return try work?.value()
    }
}
