public import TrustCore
public import Foundation
internal import ZIPFoundation

/// A client bundle — a zip file or a directory with `cert.pem` and `key.pem` (usually also
/// `ca.pem`, `cert.pub`, `env.sh`) — read as a delegation key with its certificate.
///
/// Checks: the key must be the one the certificate certifies (same public key), the
/// certificate must be valid now (an expired or not-yet-valid one is refused), and a
/// certificate expiring within 30 days produces a warning note.
public enum ClientBundle {
    /// Largest member read from a bundle (key and certificate files are a few KiB).
    static let maximumMemberSize = 1 << 20

    /// Whether `path` is a zip file (by its magic bytes) or a directory with `cert.pem` and `key.pem`.
    public static func isBundle(_ path: String) -> Bool {
        if isZip(path) { return true }
        let fm = FileManager.default
        return fm.fileExists(atPath: path + "/cert.pem") && fm.fileExists(atPath: path + "/key.pem")
    }

    static func isZip(_ path: String) -> Bool {
        InputFile.prefix(path, count: 4) == [0x50, 0x4B, 0x03, 0x04]
    }

    /// The files of a bundle: `cert.pem` and `key.pem` (required), `ca.pem` (optional).
    struct Members {
        var cert: [UInt8]
        var key: [UInt8]
        var ca: [UInt8]?
        var certName: String
        var keyName: String
    }

    /// Reads the bundle at `path` into a report with (at most) one key carrying its certificate.
    public static func read(
        _ path: String, defaults: KeyImportDefaults = KeyImportDefaults(), now: Date = Date(),
        passphrase: KeyFilePassphraseProvider
    ) -> KeyFileReport {
        var report = KeyFileReport()
        let members: Members
        switch Result(catching: { () throws(TrustVaultError) in try loadMembers(path) }) {
        case .success(let m): members = m
        case .failure(let error):
            report.refusals.append(KeyFileRefusal(source: path, blockIndex: nil, error: error))
            return report
        }
        let keys = KeyFileReader.read(
            bytes: members.key, source: members.keyName, defaults: defaults, now: now, passphrase: passphrase)
        report.notes += keys.notes
        report.refusals += keys.refusals
        guard keys.refusals.isEmpty else { return report }
        guard keys.entries.count == 1, var entry = keys.entries.first else {
            report.refusals.append(
                KeyFileRefusal(
                    source: members.keyName, blockIndex: nil,
                    error: .corrupt(
                        "\(members.keyName) holds \(keys.entries.count) private keys; a client bundle has exactly one",
                        recovery: "import the keys one by one with trustvault key import FILE")))
            return report
        }
        let certs: [CertificateInfo]
        switch Result(catching: { () throws(TrustVaultError) in
            try CertificateInfo.parseAll(pem: members.cert, source: members.certName)
        }) {
        case .success(let c): certs = c
        case .failure(let error):
            report.refusals.append(KeyFileRefusal(source: members.certName, blockIndex: nil, error: error))
            return report
        }
        guard let leaf = certs.first else {
            report.refusals.append(
                KeyFileRefusal(
                    source: members.certName, blockIndex: nil,
                    error: .corrupt(
                        "\(members.certName) holds no CERTIFICATE block",
                        recovery: "the bundle is incomplete; download a fresh client bundle")))
            return report
        }
        guard leaf.certifies(entry.privateKey.publicKey) else {
            let certKey = leaf.publicKey?.keyID ?? leaf.keyDescription
            report.refusals.append(
                KeyFileRefusal(
                    source: path, blockIndex: nil,
                    error: TrustVaultError(
                        .verificationFailed,
                        "\(members.keyName) does not belong to \(members.certName): the certificate (\(leaf.subject)) is for key \(certKey), the private key is \(entry.keyID)",
                        recovery: "the bundle's files are mixed up; use the cert.pem and key.pem that were issued together (download a fresh client bundle)"
                    )))
            return report
        }
        switch Result(catching: { () throws(TrustVaultError) in try leaf.checkValidity(at: now) }) {
        case .success(let warning):
            if let warning { report.notes.append("\(members.certName): \(warning)") }
        case .failure(let error):
            report.refusals.append(
                KeyFileRefusal(source: members.certName, blockIndex: nil, error: error.located(members.certName)))
            return report
        }
        entry.certificate = leaf
        report.entries.append(entry)
        return report
    }

    static func loadMembers(_ path: String) throws(TrustVaultError) -> Members {
        if isZip(path) { return try loadZip(path) }
        func file(_ name: String) throws(TrustVaultError) -> [UInt8] {
            let full = path + "/" + name
            guard AtomicFile.exists(full) else {
                throw .notFound("\(full) does not exist", recovery: "a client bundle needs cert.pem and key.pem")
            }
            return try InputFile.read(name, inside: path, kind: .publicKey)
        }
        let ca: [UInt8]? = FileManager.default.fileExists(atPath: path + "/ca.pem") ? try file("ca.pem") : nil
        return Members(
            cert: try file("cert.pem"), key: try file("key.pem"), ca: ca, certName: path + "/cert.pem",
            keyName: path + "/key.pem")
    }

    static func loadZip(_ path: String) throws(TrustVaultError) -> Members {
        // Through the input gate: a regular file, read without blocking, at most 4 MiB.
        let bytes = try AtomicFile.read(path, kind: .keyFile)
        // Bit 0 of the first local header's flags: the members are encrypted (zip -e).
        if bytes.count >= 8, bytes[0..<4] == [0x50, 0x4B, 0x03, 0x04], bytes[6] & 1 != 0 {
            throw .unsupported(
                "\(path) is an encrypted (password-protected) zip file",
                recovery: "unzip it yourself (unzip \(AtomicFile.fileName(of: path))) and import the directory")
        }
        let archive: Archive
        do { archive = try Archive(data: Data(bytes), accessMode: .read) } catch {
            throw .corrupt(
                "\(path) is not a readable zip file (damaged or truncated)",
                recovery: "download the client bundle again, or unzip it and import the directory")
        }
        var found: [String: Entry] = [:]
        for entry in archive where entry.type == .file {
            let name = (entry.path as NSString).lastPathComponent
            guard ["cert.pem", "key.pem", "ca.pem"].contains(name) else { continue }
            if let previous = found[name] {
                throw .invalid(
                    "\(path) holds more than one \(name) (\(previous.path) and \(entry.path))",
                    recovery: "unzip it and import the directory of the bundle you mean")
            }
            found[name] = entry
        }
        func member(_ name: String) throws(TrustVaultError) -> [UInt8]? {
            guard let entry = found[name] else { return nil }
            guard entry.uncompressedSize <= UInt64(maximumMemberSize) else {
                throw .corrupt("\(path): \(entry.path) is too large for a key or certificate")
            }
            var data = Data()
            do {
                _ = try archive.extract(entry) { chunk in
                    data.append(chunk)
                    if data.count > maximumMemberSize { throw CocoaError(.fileReadTooLarge) }
                }
            } catch {
                throw .corrupt("\(path): \(entry.path) cannot be extracted (the zip file is damaged or truncated)")
            }
            return [UInt8](data)
        }
        guard let cert = try member("cert.pem"), let key = try member("key.pem") else {
            throw .notFound(
                "\(path) is a zip file without cert.pem and key.pem, so it is not a client bundle",
                recovery: "a client bundle holds cert.pem and key.pem (and usually ca.pem, cert.pub, env.sh)")
        }
        return Members(
            cert: cert, key: key, ca: try member("ca.pem"), certName: "\(path):\(found["cert.pem"]?.path ?? "cert.pem")",
            keyName: "\(path):\(found["key.pem"]?.path ?? "key.pem")")
    }
}
