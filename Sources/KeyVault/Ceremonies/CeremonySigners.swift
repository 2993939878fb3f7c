internal import TrustCore
internal import Formats
internal import Foundation
internal import Metadata

/// The signers one ceremony has unlocked, by key ID: a key that signs twice (a root key kept in a
/// rotation, a root certificate renewed and root.json re-signed) is asked for once.
final class UnlockedSigners: @unchecked Sendable {
    private let lock = NSLock()
    private var signers: [String: any SigningKey] = [:]

    subscript(id: String) -> (any SigningKey)? {
        get { lock.withLock { signers[id] } }
        set { lock.withLock { signers[id] = newValue } }
    }
}

extension Ceremonies {
    /// The signer for `record` (unlocked once per ceremony), its prompt naming `gun` and `note`.
    func signer(_ record: KeyRecord, gun: String?, note: String? = nil) throws(TrustVaultError) -> any SigningKey {
        if let known = unlocked[record.id] { return known }
        let signer = try vault.signer(for: record, secrets: secrets, gun: gun, note: note)
        unlocked[record.id] = signer
        return signer
    }

    /// The canonical IDs of the root keys `sources` name, without unlocking anything: what a
    /// root rotation keeps, so the prompts can say which current keys are being replaced.
    func rootKeyIDs(of sources: [RootKeySource], currentRoot: Root) -> Set<String> {
        var ids: Set<String> = []
        for source in sources {
            switch source {
            case .certificateFile(let path):
                if let bytes = try? AtomicFile.read(path, kind: .publicKey),
                    let key = try? TUFKey(certificatePEM: String(decoding: bytes, as: UTF8.self))
                {
                    ids.insert(key.displayID)
                }
            case .vaultKey(let id):
                let wanted = id.lowercased()
                if !wanted.isEmpty,
                    let kept = currentRoot.keys(of: .root).first(where: { $0.displayID.hasPrefix(wanted) || $0.id.hasPrefix(wanted) })
                {
                    ids.insert(kept.displayID)
                } else if let rec = try? vault.record(matching: id) {
                    ids.insert(rec.id)
                }
            }
        }
        return ids
    }
}

extension Ceremonies {
    /// An audit record for the online key files a ceremony wrote (private key material leaving
    /// the vault, encrypted with the export passphrase).
    func auditOnlineKeys(_ output: CeremonyOutput, gun: String) {
        guard !output.privateKeyFiles.isEmpty else { return }
        vault.audit(
            "export",
            [
                "ids": .array(output.privateKeyFiles.map { .string($0.id) }), "format": .string("notary-online"),
                "gun": .string(gun), "files": .array(output.privateKeyFiles.map { .string($0.path) }),
            ])
    }
}

extension Ceremonies {
    /// A directory argument as written, less trailing slashes (`/` stays `/`), for the paths a
    /// ceremony prints under it.
    static func withoutTrailingSlash(_ path: String) -> String {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        return p
    }
}
