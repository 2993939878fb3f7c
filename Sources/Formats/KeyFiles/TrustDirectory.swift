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
    public static func keyFiles(inPrivateDirectory dir: String) throws(TrustVaultError) -> [KeyFile] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else {
            throw .notFound("cannot list \(dir)", recovery: "check that the directory exists and is readable")
        }
        var out: [KeyFile] = []
        for name in names.sorted() where name.hasSuffix(".key") && !name.hasPrefix(".") {
            let id = String(name.dropLast(4))
            out.append(KeyFile(path: dir + "/" + name, claimedID: id, impliedRole: nil, impliedGUN: nil))
        }
        // Legacy root keys: private/root_keys/<id>_root.key
        let rootDir = dir + "/root_keys"
        if let names = try? fm.contentsOfDirectory(atPath: rootDir) {
            for name in names.sorted() where name.hasSuffix(".key") && !name.hasPrefix(".") {
                let (id, role) = splitLegacyName(String(name.dropLast(4)))
                out.append(KeyFile(path: rootDir + "/" + name, claimedID: id, impliedRole: role ?? "root", impliedGUN: nil))
            }
        }
        // Legacy repository keys: private/tuf_keys/<gun>/<id>_<role>.key, the GUN may contain '/'.
        let tufDir = dir + "/tuf_keys"
        if let enumerator = fm.enumerator(atPath: tufDir) {
            var relatives: [String] = []
            while let rel = enumerator.nextObject() as? String {
                if rel.hasSuffix(".key") { relatives.append(rel) }
            }
            for rel in relatives.sorted() {
                let parts = rel.split(separator: "/").map(String.init)
                guard parts.count >= 2, let file = parts.last, !file.hasPrefix(".") else { continue }
                let gun = parts.dropLast().joined(separator: "/")
                let (id, role) = splitLegacyName(String(file.dropLast(4)))
                out.append(KeyFile(path: tufDir + "/" + rel, claimedID: id, impliedRole: role, impliedGUN: gun))
            }
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
                role: file.impliedRole ?? defaults.role, gun: file.impliedGUN ?? defaults.gun)
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
