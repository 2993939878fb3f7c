public import TrustCore
public import Foundation

/// Reads the private keys of a notary or docker trust directory.
///
/// Accepted layouts (the directory given may be the trust directory, its `private/`
/// directory, or a docker config directory holding `trust/`):
/// - `private/<id>.key` (notary ≥ 0.4, docker): role and GUN from the `role:`/`gun:` headers;
/// - `private/root_keys/<id>_root.key` (legacy): role `root`;
/// - `private/tuf_keys/<gun>/<id>_<role>.key` (legacy): role and GUN from the path, as notary's
///   own migration derives them.
/// Headers in the file win over what the path says, and both win over `--role`/`--gun`.
public enum TrustDirectory {
    /// The `private/` directory of `path` if it looks like a trust directory, else nil.
    public static func privateDirectory(of path: String) -> String? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        for candidate in [path + "/private", path + "/trust/private"] {
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), isDir.boolValue { return candidate }
        }
        if (path as NSString).lastPathComponent == "private", fm.fileExists(atPath: path, isDirectory: &isDir),
            isDir.boolValue
        {
            return path
        }
        return nil
    }

    /// One key file found in a trust directory, with what its path says.
    public struct KeyFile: Sendable, Hashable {
        public let path: String
        /// The key ID the file name claims.
        public let claimedID: String?
        /// Role and GUN implied by a legacy path.
        public let impliedRole: String?
        public let impliedGUN: String?
    }

    /// Lists the key files under a `private/` directory, in a stable order.
    /// The walk never follows a symlink to a directory or out of `dir` (``InputFile/walk``).
    public static func keyFiles(inPrivateDirectory dir: String) throws(TrustVaultError) -> [KeyFile] {
        guard AtomicFile.isDirectory(dir) else {
            throw .notFound("cannot list \(dir)", recovery: "check that the directory exists and is readable")
        }
        let entries = try InputFile.walk(dir, maximumDepth: 8, maximumEntries: 10_000)
        var out: [KeyFile] = []
        var legacyRoot: [KeyFile] = []
        var legacyRepo: [String] = []
        for entry in entries where !entry.isDirectory && entry.relativePath.hasSuffix(".key") {
            let parts = entry.relativePath.split(separator: "/").map(String.init)
            guard let name = parts.last, !name.hasPrefix(".") else { continue }
            let stem = String(name.dropLast(4))
            if parts.count == 1 {
                out.append(KeyFile(path: dir + "/" + name, claimedID: stem, impliedRole: nil, impliedGUN: nil))
            } else if parts.count == 2, parts[0] == "root_keys" {
                // Legacy root keys: private/root_keys/<id>_root.key
                let (id, role) = splitLegacyName(stem)
                legacyRoot.append(KeyFile(path: dir + "/" + entry.relativePath, claimedID: id, impliedRole: role ?? "root", impliedGUN: nil))
            } else if parts.count >= 3, parts[0] == "tuf_keys" {
                legacyRepo.append(String(entry.relativePath.dropFirst("tuf_keys/".count)))
            }
        }
        out += legacyRoot
        // Legacy repository keys: private/tuf_keys/<gun>/<id>_<role>.key, the GUN may contain '/'.
        let tufDir = dir + "/tuf_keys"
        for rel in legacyRepo.sorted() {
            let parts = rel.split(separator: "/").map(String.init)
            guard parts.count >= 2, let file = parts.last else { continue }
            let gun = parts.dropLast().joined(separator: "/")
            let (id, role) = splitLegacyName(String(file.dropLast(4)))
            out.append(KeyFile(path: tufDir + "/" + rel, claimedID: id, impliedRole: role, impliedGUN: gun))
        }
        return out
    }

    /// Reads every key of the trust directory at `path`.
    public static func read(
        _ path: String, defaults: KeyImportDefaults = KeyImportDefaults(), now: Date = Date(),
        passphrase: KeyFilePassphraseProvider
    ) -> KeyFileReport {
        var report = KeyFileReport()
        guard let privateDir = privateDirectory(of: path) else {
            report.refusals.append(
                KeyFileRefusal(
                    source: path, blockIndex: nil,
                    error: .notFound(
                        "\(path) is not a trust directory (it has no private/ directory)",
                        recovery: "give ~/.docker/trust, a notary trust directory, or its private/ directory")))
            return report
        }
        let files: [KeyFile]
        switch Result(catching: { () throws(TrustVaultError) in try keyFiles(inPrivateDirectory: privateDir) }) {
        case .success(let f): files = f
        case .failure(let error):
            report.refusals.append(KeyFileRefusal(source: privateDir, blockIndex: nil, error: error))
            return report
        }
        guard !files.isEmpty else {
            report.refusals.append(
                KeyFileRefusal(
                    source: privateDir, blockIndex: nil,
                    error: .notFound("\(privateDir) holds no key files (*.key)")))
            return report
        }
        for file in files {
            let fileDefaults = KeyImportDefaults(
                role: file.impliedRole ?? defaults.role, gun: file.impliedGUN ?? defaults.gun, budget: defaults.budget)
            let one = KeyFileReader.read(file: file.path, defaults: fileDefaults, now: now, passphrase: passphrase)
            for entry in one.entries {
                if let claimed = file.claimedID, Hex.decode(claimed)?.count == 32, claimed != entry.keyID {
                    report.notes.append(
                        "\(entry.location): the file name says key \(claimed) but the key's ID is \(entry.keyID); it is imported as \(entry.keyID)"
                    )
                }
            }
            report.append(one)
        }
        return report
    }

    /// `<id>_<role>` → (id, role); a name without `_` is just an ID.
    static func splitLegacyName(_ stem: String) -> (String, String?) {
        guard let underscore = stem.firstIndex(of: "_") else { return (stem, nil) }
        let role = String(stem[stem.index(after: underscore)...])
        return (String(stem[..<underscore]), role.isEmpty ? nil : role)
    }
}
