public import TrustCore
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

// `trustvault-online fetch --out`: the server's metadata in notary's cache layout (`root.json`,
// `targets/<name>.json`, `N.root.json`), written whole or not at all.
extension RepositoryStore {
    /// Refuses an existing `dir` that is not an empty directory: fetch never mixes old and new files.
    public func refuseNonEmpty() throws(TrustVaultError) {
        let out = dir
        guard AtomicFile.exists(out) else { return }
        guard AtomicFile.isDirectory(out) else {
            throw TrustVaultError(.alreadyExists, "--out \(out) exists and is not a directory", recovery: "choose a new --out directory")
        }
        guard try AtomicFile.list(out).isEmpty else {
            throw TrustVaultError(
                .alreadyExists, "--out \(out) is not empty", recovery: "choose a new or empty --out directory; fetch never mixes old and new files")
        }
    }

    /// Writes `files` (relative name, bytes) as the whole directory or nothing: they go into a
    /// hidden sibling directory, which is renamed onto `dir` at the end. Returns the paths.
    public func writeWhole(_ files: [(String, [UInt8])]) throws(TrustVaultError) -> [String] {
        let out = dir
        try refuseNonEmpty()
        let parent = AtomicFile.parent(of: out)
        let stage = parent + "/." + AtomicFile.fileName(of: out) + ".partial-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try AtomicFile.makeDirectories(stage, mode: 0o755)
        var written: [String] = []
        do throws(TrustVaultError) {
            for (name, bytes) in files {
                let path = stage + "/" + name
                try AtomicFile.makeDirectories(AtomicFile.parent(of: path), mode: 0o755)
                try AtomicFile.write(bytes, to: path, mode: 0o644)
                written.append(out + "/" + name)
            }
            if AtomicFile.exists(out) {
                guard rmdir(out) == 0 else { throw AtomicFile.errnoError("cannot replace the empty directory", path: out) }
            }
            guard rename(stage, out) == 0 else { throw AtomicFile.errnoError("cannot move the fetched files into place", path: out) }
            try AtomicFile.syncDirectory(of: out)
        } catch {
            try? FileManager.default.removeItem(atPath: stage)
            throw error
        }
        return written
    }
}
