public import TrustCore
public import Formats
public import Metadata
internal import Foundation

/// What the operator runs on the online machine after a ceremony, and the key files for it.
extension Ceremonies {
    /// `trustvault-online publish OUT --server URL`: uploads the fragment in one POST (token auth,
    /// TLS) and checks that the server then serves exactly these bytes.
    static func publishCommand(out: String, server: String, tlsCAFile: String? = nil) -> String {
        "trustvault-online publish \(shellWord(out)) --server \(shellWord(server))" + (tlsCAFile.map { " --tlscacert \(shellWord($0))" } ?? "")
    }

    /// A path or URL as one shell word (single-quoted when it holds anything but safe characters).
    static func shellWord(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,")
        if !s.isEmpty, s.allSatisfy({ safe.contains($0) }) { return s }
        var quoted = "'"
        for c in s { quoted += c == "'" ? "'\\''" : String(c) }
        return quoted + "'"
    }

    /// Whether the fragment carries an exported snapshot key (`role: snapshot` in `OUT/private`):
    /// then a new repository needs `notary publish`, which signs the snapshot with it.
    static func exportsSnapshotKey(_ out: String) -> Bool {
        guard let names = try? AtomicFile.list(out + "/private") else { return false }
        return names.contains { name in
            guard name.hasSuffix(".key"), let bytes = try? AtomicFile.read(out + "/private/" + name, kind: .keyFile) else { return false }
            return String(decoding: bytes, as: UTF8.self).contains("role: snapshot")
        }
    }

    /// The one place that decides what to run online for a written fragment: nothing but the
    /// remaining `root sign` steps while root.json lacks signatures; then `trustvault-online publish`
    /// (or `notary publish` for a new repository whose snapshot key was exported).
    public static func onlineStep(
        out: String, gun: String, files: [(role: String, path: String)], rootStatus: RootSignatureStatus?, server: String?,
        tlsCAFile: String? = nil
    ) -> (commands: [String], notes: [String]) {
        let serverText = server ?? "https://NOTARY-SERVER"
        let rootFile = withoutTrailingSlash(out) + "/tuf/" + gun + "/metadata/root.json"
        if let rootStatus, !rootStatus.complete {
            let previous = AtomicFile.exists(out + "/previous-root.json") ? " --previous \(withoutTrailingSlash(out))/previous-root.json" : ""
            let holders = Array(Set(rootStatus.missing + rootStatus.previousMissing)).sorted()
            return (
                [],
                [
                    "root.json is not ready to upload: \(rootStatus.summary)",
                    "each other root key holder runs: trustvault root sign \(rootFile) --key KEYID\(previous)"
                        + " (missing: \(holders.map { String($0.prefix(12)) }.joined(separator: ", "))); the last signature prints the online commands",
                ]
            )
        }
        if rootStatus?.version == 1, exportsSnapshotKey(out) {
            let ca = tlsCAFile.map { " --tlscacert \(shellWord($0))" } ?? ""
            return (["notary -s \(shellWord(serverText))\(ca) -d \(shellWord(out)) publish \(shellWord(gun))"], [])
        }
        _ = files
        return ([publishCommand(out: out, server: serverText, tlsCAFile: tlsCAFile)], [])
    }
}

/// Writes the private keys the online side needs (`private/<id>.key`) in notary's own format.
public enum OnlineKeyExport {
    /// The text of `private/<id>.key` as notary writes it: encrypted PKCS#8 with `role:` and,
    /// for targets and snapshot keys, `gun:` headers.
    public static func notaryKeyFileText(for key: PrivateKey, role: String, gun: String, passphrase: Passphrase) throws(TrustVaultError) -> String {
        try NotaryKeyFile.text(for: key, role: role, gun: gun, includePath: false, passphrase: passphrase)
    }
}
