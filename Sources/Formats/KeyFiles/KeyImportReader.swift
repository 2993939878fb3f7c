public import TrustCore
public import Foundation

/// Reads whatever `trustvault key import PATH...` is given: PEM key files, trust directories
/// and client bundles (zip files or directories), in one report.
public enum KeyImportReader {
    /// What kind of input a path is.
    public enum InputKind: Sendable, Hashable {
        case keyFile, trustDirectory, clientBundle
    }

    /// Classifies `path`; nil when it does not exist or is a directory of neither kind.
    public static func kind(of path: String) -> InputKind? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
        if isDir.boolValue {
            if ClientBundle.isBundle(path) { return .clientBundle }
            if TrustDirectory.privateDirectory(of: path) != nil { return .trustDirectory }
            return nil
        }
        return ClientBundle.isZip(path) ? .clientBundle : .keyFile
    }

    /// Reads every path. Duplicate keys (the same key ID twice) are kept once, with a note.
    public static func read(
        _ paths: [String], defaults: KeyImportDefaults = KeyImportDefaults(), now: Date = Date(),
        passphrase: KeyFilePassphraseProvider
    ) -> KeyFileReport {
        var report = KeyFileReport()
        for path in paths {
            switch kind(of: path) {
            case .keyFile:
                report.append(KeyFileReader.read(file: path, defaults: defaults, now: now, passphrase: passphrase))
            case .trustDirectory:
                report.append(TrustDirectory.read(path, defaults: defaults, now: now, passphrase: passphrase))
            case .clientBundle:
                report.append(ClientBundle.read(path, defaults: defaults, now: now, passphrase: passphrase))
            case nil:
                var isDir: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                let error: TrustVaultError =
                    exists
                    ? .notFound(
                        "\(path) is a directory but neither a trust directory (private/) nor a client bundle (cert.pem + key.pem)",
                        recovery: "give key files, a trust directory such as ~/.docker/trust, or a client bundle")
                    : .notFound("\(path) does not exist", recovery: "check the path")
                report.refusals.append(KeyFileRefusal(source: path, blockIndex: nil, error: error))
            }
        }
        var seen: [String: Int] = [:]
        var unique: [KeyFileEntry] = []
        for entry in report.entries {
            if let i = seen[entry.keyID] {
                let first = unique[i]
                var note = "\(entry.location): key \(entry.keyID) was already read from \(first.location); imported once"
                if first.role != entry.role || first.gun != entry.gun {
                    note += " with role \(first.role)\(first.gun.map { " and GUN \($0)" } ?? "")"
                }
                if unique[i].certificate == nil, let cert = entry.certificate { unique[i].certificate = cert }
                report.notes.append(note)
                continue
            }
            seen[entry.keyID] = unique.count
            unique.append(entry)
        }
        report.entries = unique
        return report
    }
}
