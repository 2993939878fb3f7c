public import TrustCore
internal import Metadata
internal import MetadataStore
internal import Foundation

/// A ceremony's `--out` fragment: the GUN and its metadata files in upload order.
public struct UploadFragment: Sendable {
    public var gun: String
    public var directory: String
    public var files: [(role: String, bytes: [UInt8])]
    /// Files present but not uploaded (timestamp.json: the server always makes its own).
    public var skipped: [String] = []

    /// Finds `DIR/tuf/<GUN>/metadata/` (the GUN may contain `/`) and reads root, targets,
    /// snapshot and `targets/…` delegation files; each must be a signed envelope in notary's
    /// exact encoding (the server accepts other encodings but clients then reject the repository).
    public static func load(_ dir: String) throws(TrustVaultError) -> UploadFragment {
        let read = try RepositoryStore(dir).trustDirFragment()
        let meta = read.metadataDirectory
        let byRole = read.files
        var fragment = UploadFragment(gun: read.gun, directory: meta, files: [])
        fragment.skipped = read.skipped
        for role in byRole.keys.sorted(by: MetadataSet.uploadOrder) {
            let bytes = byRole[role] ?? []
            let env = try SignedMetadata(parsing: bytes, name: "\(meta)/\(role).json")
            guard env.encoded(canonical: env.canonicalSigned) == bytes else {
                throw .corrupt(
                    "\(meta)/\(role).json is not in notary's exact encoding (whitespace, escaping or a trailing newline); the server would accept it and every client would then reject the repository",
                    recovery: "upload the files exactly as trustvault wrote them")
            }
            guard !env.signatures.isEmpty else {
                throw .verification("\(meta)/\(role).json carries no signature", recovery: "sign it first (trustvault root sign for root.json)")
            }
            fragment.files.append((role, bytes))
        }
        return fragment
    }
}

/// What `publish` did.
public struct PublishSummary: Sendable {
    public var uploaded: [(role: String, version: Int)] = []
    public var serverVersions: [String: Int] = [:]
    /// The server refused the upload because it already serves exactly these bytes (the same
    /// output published twice): nothing was uploaded, and nothing needs to be.
    public var alreadyPublished = false
}

extension NotarySession {
    /// One multipart POST to `…/_trust/tuf/` as notary does (every part named `files`, with
    /// `filename="<role>"`), then a read-back of every uploaded file: the server must serve
    /// exactly the uploaded bytes.
    public func publish(_ fragment: UploadFragment) async throws(TrustVaultError) -> PublishSummary {
        try await refuseUnderSignedRoot(fragment)
        let boundary = "trustvault-" + (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        var body: [UInt8] = []
        for f in fragment.files {
            body += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(f.role)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8
            )
            body += f.bytes
            body += Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        let url = tufURL("")
        let response = try await request(
            "POST", url, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body, limit: 1 << 20,
            purpose: "publishing to \(gun)")
        var summary = PublishSummary()
        if response.status != 200 {
            // The same output published twice is refused like a stale one (VERSION): tell them apart
            // by what the server serves now.
            guard (400..<500).contains(response.status), try await servesExactly(fragment) else {
                throw await explainRefusalNamingExpiredRoot(response, otherwise: try await explainRefusal(response, fragment: fragment))
            }
            summary.alreadyPublished = true
        }
        for f in fragment.files {
            let version = Self.version(of: f.bytes, role: f.role)
            summary.uploaded.append((f.role, version))
            guard let served = try await getFile(f.role + ".json") else {
                throw .verification(
                    "the server accepted the upload but serves no \(f.role).json for \(gun)",
                    recovery: "fetch the repository and check it with 'trustvault verify'")
            }
            guard served == f.bytes else {
                throw .verification(
                    "the server accepted the upload but serves different bytes for \(f.role).json than were uploaded (\(served.count) vs \(f.bytes.count) bytes)",
                    recovery: "another upload may have raced this one; fetch the repository and check it with 'trustvault verify'")
            }
        }
        for role in ["snapshot", "timestamp"] {
            if let bytes = try await getFile(role + ".json"), let v = (try? SignedMetadata(parsing: bytes, name: role))?.signed["version"]?.intValue {
                summary.serverVersions[role] = Int(v)
            }
        }
        return summary
    }

    static func version(of bytes: [UInt8], role: String) -> Int {
        (try? SignedMetadata(parsing: bytes, name: role))?.signed["version"]?.intValue.map(Int.init) ?? 0
    }

    /// Whether the server serves every file of the fragment byte for byte.
    func servesExactly(_ fragment: UploadFragment) async throws(TrustVaultError) -> Bool {
        for f in fragment.files {
            guard let served = try await getFile(f.role + ".json"), served == f.bytes else { return false }
        }
        return true
    }

    /// notary-server's refusal in words that say what to do; a VERSION refusal names the versions
    /// the server serves now against those of the upload ("the server moved on").
    func explainRefusal(_ response: HTTPResponse, fragment: UploadFragment) async throws(TrustVaultError) -> TrustVaultError {
        let base = Self.explainRefusal(response, gun: gun, server: server, serverArguments: serverArguments)
        guard base.message.contains("changed on the server") else { return base }
        var moved: [String] = []
        for f in fragment.files {
            guard let served = try await getFile(f.role + ".json") else { continue }
            let ours = Self.version(of: f.bytes, role: f.role), theirs = Self.version(of: served, role: f.role)
            if served != f.bytes { moved.append("\(f.role).json: the server serves v\(theirs), this output has v\(ours)") }
        }
        guard !moved.isEmpty else { return base }
        return TrustVaultError(
            base.code,
            "the server refused the upload: \(gun) changed on the server after this change was made (\(moved.joined(separator: "; "))); nothing was changed",
            recovery: base.recovery)
    }

    /// notary-server's refusal (`{"errors":[{"code","message","detail"}]}`) in words that say what to do.
    static func explainRefusal(_ response: HTTPResponse, gun: String, server: String, serverArguments: String? = nil) -> TrustVaultError {
        var code = "", message = "", detail = ""
        if let json = try? JSONValue(parsing: response.body), let first = json["errors"]?.arrayValue?.first {
            code = first["code"]?.stringValue ?? ""
            message = first["message"]?.stringValue ?? ""
            if let d = first["detail"], !d.isNull, d != .object([]) { detail = d.stringValue ?? d.canonicalString }
        } else {
            message = String(response.bodyText.prefix(300))
        }
        let said = Shown.text([code, message, detail].filter { !$0.isEmpty }.joined(separator: ": "))
        let fetchAgain =
            "fetch again: run 'trustvault-online fetch \(gun) \(serverArguments ?? "--server " + server) --out NEWDIR', redo the change offline with --current NEWDIR, and publish the new --out"
        let lower = (message + " " + detail).lowercased()
        if code == "VERSION" || lower.contains("must increment the version") || lower.contains("version") && lower.contains("old") {
            return TrustVaultError(
                .refused, "the server refused the upload: \(gun) changed on the server after this change was made (\(said)); nothing was changed",
                recovery: fetchAgain)
        }
        if lower.contains("no snapshot was included") {
            return TrustVaultError(
                .refused, "the server refused the upload: it holds no snapshot key for \(gun) and the upload has no snapshot.json (\(said))",
                recovery:
                    "a repository whose snapshot key is offline is published with 'notary publish' (the printed command), or made with --snapshot-key from 'trustvault-online fetch --keys-only'"
            )
        }
        if lower.contains("errbadroot") || lower.contains("trusted root")
            || lower.contains("root") && (lower.contains("signature") || lower.contains("threshold"))
        {
            return TrustVaultError(
                .refused, "the server refused root.json: its signatures do not meet the thresholds of the server's current root and of its own (\(said))",
                recovery:
                    "collect the missing root signatures with 'trustvault root sign'; if the server's root is not the one the change was built on, \(fetchAgain)"
            )
        }
        if lower.contains("signature") || lower.contains("threshold") || lower.contains("errbadtargets") || lower.contains("errbadsnapshot") {
            return TrustVaultError(
                .refused, "the server refused the upload: a signature or threshold does not hold against the root it trusts (\(said))",
                recovery:
                    "check the fragment with 'trustvault verify OUT --gun \(gun)'; if the server's root differs from the one the change was built on, \(fetchAgain)"
            )
        }
        return TrustVaultError(
            .refused, "the server refused the upload (HTTP \(response.status)\(said.isEmpty ? "" : ", " + said)); nothing was changed",
            recovery: "check the fragment with 'trustvault verify OUT --gun \(gun)'")
    }
}
