public import TrustCore
internal import Metadata
internal import Foundation

extension UploadFragment {
    /// The ceremony's `--out` directory (the one holding `tuf/`).
    var outDirectory: String {
        let suffix = "/tuf/" + gun + "/metadata"
        return directory.hasSuffix(suffix) ? String(directory.dropLast(suffix.count)) : directory
    }

    /// The root.json this fragment uploads, if any.
    func rootUpload() throws(TrustVaultError) -> (env: SignedMetadata, root: Root, path: String)? {
        guard let bytes = files.first(where: { $0.role == "root" })?.bytes else { return nil }
        let path = directory + "/root.json"
        let env = try SignedMetadata(parsing: bytes, name: path)
        return (env, try Root(json: env.signed, name: path), path)
    }

    /// Refuses, before anything is sent, a root.json whose own root threshold is not met, or —
    /// for a rotation — the threshold of the root now in force: `previous` (the server's current
    /// root.json), or else the `previous-root.json` the ceremony wrote beside the fragment.
    /// Names the key IDs whose signatures are still missing.
    public func checkRootSignatures(previous: [UInt8]? = nil) throws(TrustVaultError) {
        guard let upload = try rootUpload() else { return }
        let (env, root, path) = upload
        var previousRoot: Root?
        var previousBytes = previous
        let local = outDirectory + "/previous-root.json"
        if previousBytes == nil, root.version > 1, AtomicFile.exists(local) { previousBytes = try AtomicFile.read(local, kind: .metadata) }
        if let previousBytes, let p = try? Root(json: try SignedMetadata(parsing: previousBytes, name: "previous root.json").signed),
            p.version == root.version - 1
        {
            previousRoot = p
        }
        let status = RootSignatureStatus.of(env, root: root, previous: previousRoot)
        guard !status.complete else { return }
        let missing = Array(Set(status.missing + status.previousMissing)).sorted()
        throw TrustVaultError(
            .verificationFailed,
            "\(path) lacks root signatures: \(status.summary); nothing was sent to the server",
            recovery:
                "each missing root key holder (\(missing.map { String($0.prefix(12)) }.joined(separator: ", "))) runs: trustvault root sign \(path) --key KEYID"
                + (previousRoot == nil || AtomicFile.exists(local) ? "" : " --previous ROOT-NOW-IN-FORCE.json") + ", then publish again")
    }
}

extension NotarySession {
    /// `publish`'s check before the upload: the fragment's root.json against its own threshold
    /// and the previous root's — the ceremony's `previous-root.json` when it is there (no network
    /// call), else the server's current root.json.
    func refuseUnderSignedRoot(_ fragment: UploadFragment) async throws(TrustVaultError) {
        try fragment.checkRootSignatures()
        guard let root = try fragment.rootUpload()?.root, root.version > 1,
            !AtomicFile.exists(fragment.outDirectory + "/previous-root.json")
        else { return }
        guard let served = try await getFile("root.json") else { return }
        try fragment.checkRootSignatures(previous: served)
    }

    /// `fetch --keys-only`: the server's current root.json when it already holds trust data for
    /// the GUN (a `repo init` would make a repository the server refuses).
    func existingRoot() async throws(TrustVaultError) -> [UInt8]? {
        try await getFile("root.json")
    }
}
