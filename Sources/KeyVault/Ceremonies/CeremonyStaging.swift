internal import TrustCore
internal import Formats
internal import Metadata
internal import Foundation

/// A Notary ceremony's `--out`: built under a staging name beside it and moved into place whole.
extension Ceremonies {
    // MARK: Output

    func refuseExistingOutput(_ out: String, gun: String) throws(TrustVaultError) {
        let meta = out + "/tuf/" + gun + "/metadata"
        if AtomicFile.exists(meta) {
            throw TrustVaultError(
                .alreadyExists, "\(meta) already exists",
                recovery: "choose an empty --out directory; trustvault never overwrites metadata")
        }
        // A staging directory left by an interrupted run of this ceremony is ours: start afresh.
        if AtomicFile.exists(stage(out)) { try? FileManager.default.removeItem(atPath: stage(out)) }
    }

    /// Where a ceremony's output is built before it appears at `out` (same file system).
    func stage(_ out: String) -> String {
        var o = out
        while o.count > 1, o.hasSuffix("/") { o.removeLast() }
        return AtomicFile.parent(of: o) + "/.trustvault-staging-" + AtomicFile.fileName(of: o)
    }

    /// Moves the staged output into `out`: whole directories by rename, merging into directories
    /// that already exist; never replaces a file.
    func moveStaged(_ out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        let from = stage(out)
        guard AtomicFile.exists(from) else { return }
        func move(_ src: String, _ dst: String) throws(TrustVaultError) {
            if !AtomicFile.exists(dst) {
                do { try FileManager.default.moveItem(atPath: src, toPath: dst) } catch {
                    throw .io("could not move the staged output to \(dst): \(error.localizedDescription)")
                }
                try AtomicFile.syncDirectory(of: dst)
            } else if AtomicFile.isDirectory(src), AtomicFile.isDirectory(dst) {
                for name in try AtomicFile.list(src) { try move(src + "/" + name, dst + "/" + name) }
            } else {
                throw TrustVaultError(.alreadyExists, "\(dst) already exists", recovery: "choose an empty --out directory")
            }
        }
        try AtomicFile.makeDirectories(AtomicFile.parent(of: out))
        try move(from, out)
        try? FileManager.default.removeItem(atPath: from)
        let shown = Self.withoutTrailingSlash(out)  // `out/` shows its files as out/tuf/…, not out//tuf/…
        func fix(_ path: String) -> String { path.hasPrefix(from) ? shown + path.dropFirst(from.count) : path }
        output.metadataFiles = output.metadataFiles.map { ($0.role, fix($0.path)) }
        output.privateKeyFiles = output.privateKeyFiles.map { ($0.role, $0.id, fix($0.path)) }
    }

    func write(_ result: TransitionResult, to out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        var files = output.carried
        files.gun = result.files.gun
        for (role, bytes) in result.files.files { files.files[role] = bytes }
        output.metadataFiles = try files.writeTrustDirFragment(to: out)
        output.notes += result.notes
        if !output.carriedKeyFiles.isEmpty {
            try AtomicFile.makeDirectories(out + "/private")
            for path in output.carriedKeyFiles {
                let name = AtomicFile.fileName(of: path)
                let target = out + "/private/" + name
                guard !AtomicFile.exists(target) else { continue }
                try AtomicFile.create(try AtomicFile.read(path, kind: .keyFile), at: target, mode: 0o600)
            }
        }
    }

    func writeOnlineKey(
        _ key: PrivateKey, role: String, gun: String, passphrase: Passphrase, to out: String, output: inout CeremonyOutput
    ) throws(TrustVaultError) {
        let text = try OnlineKeyExport.notaryKeyFileText(for: key, role: role, gun: gun, passphrase: passphrase)
        try AtomicFile.makeDirectories(out + "/private")
        let path = out + "/private/" + key.publicKey.keyID + ".key"
        try AtomicFile.create(Array(text.utf8), at: path, mode: 0o600)
        output.privateKeyFiles.append((role, key.publicKey.keyID, path))
    }
}
