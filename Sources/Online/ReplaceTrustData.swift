public import TrustCore
public import Metadata
internal import Foundation

/// What the server held before `publish --replace-trust-data` replaced it.
public struct ReplacedTrustData: Sendable {
    /// The root version the server served (nil: it held no trust data for the GUN).
    public var oldRootVersion: Int?
    /// When the last of the old root's certificates expired.
    public var expiredOn: TUFTime?
}

extension NotarySession {
    /// Checks that `fragment` may replace the server's trust data for its GUN, before anything is
    /// deleted: the fragment must be a complete repository that verifies on its own (root.json
    /// v1, targets.json, every delegation, nothing expired); the server's root must have no
    /// unexpired root certificate left (otherwise the server accepts an ordinary renewal) and the
    /// fragment's root must hold the same root keys (new certificates for the same keys).
    public func checkReplacement(_ fragment: UploadFragment, now: TUFTime = .now()) async throws(TrustVaultError) -> ReplacedTrustData {
        var set = MetadataSet(gun: gun)
        for f in fragment.files { set.files[f.role] = f.bytes }
        guard set.files["root"] != nil, set.files["targets"] != nil else {
            throw .invalid(
                "\(fragment.directory) has no root.json and targets.json: --replace-trust-data uploads a whole repository",
                recovery: "make it with 'trustvault repo refresh \(gun) --current DIR --out DIR --replace-expired-root'")
        }
        let (_, newRoot) = try set.root()
        guard newRoot.version == 1 else {
            throw .invalid(
                "\(fragment.directory): root.json is v\(newRoot.version); after its trust data is deleted notary-server starts a repository at root v1",
                recovery: "make the replacement with 'trustvault repo refresh \(gun) --current DIR --out DIR --replace-expired-root'")
        }
        let report = Verifier.verify(set, now: now)
        if let first = report.problems.first {
            throw .verification(
                "\(fragment.directory) does not verify as a whole repository: \(first); nothing was deleted",
                recovery: "make the replacement again with 'trustvault repo refresh \(gun) --current DIR --out DIR --replace-expired-root'")
        }
        if !report.absent.isEmpty {
            throw .verification(
                "\(fragment.directory) lacks \(report.absent.map { $0 + ".json" }.joined(separator: ", ")), which its snapshot.json lists; nothing was deleted",
                recovery: "make the replacement again from a complete fetch")
        }
        guard let served = try await getFile("root.json") else {
            // Nothing to delete (a new repository, or a replacement whose upload failed after the delete).
            return ReplacedTrustData()
        }
        let serverEnv = try SignedMetadata(parsing: served, name: "the server's root.json")
        let serverRoot = try Root(json: serverEnv.signed, name: "the server's root.json")
        guard let expiredOn = ExpiredRoot.allCertificatesExpired(serverRoot, now: now) else {
            let until = serverRoot.keys(of: .root).compactMap(\.certificateNotAfter).max()?.display ?? "?"
            throw TrustVaultError(
                .refused,
                "\(server) holds \(gun) with a root certificate valid until \(until): its trust data is not replaced while the server accepts a renewal; nothing was deleted",
                recovery: "renew it with 'trustvault repo refresh \(gun) --current DIR --out DIR' and publish that without --replace-trust-data")
        }
        // The same root keys: only the certificates change, the keys clients pin stay.
        do throws(TrustVaultError) {
            try serverEnv.verify(role: serverRoot.role(.root), keys: serverRoot.keys, name: "the server's root.json", canonical: serverEnv.canonicalSigned)
        } catch {
            throw .verification("the server's root.json for \(gun) is not signed by its own root keys: \(error.message); nothing was deleted")
        }
        let oldKeys = Set(serverRoot.keys(of: .root).map(\.displayID)), newKeys = Set(newRoot.keys(of: .root).map(\.displayID))
        guard oldKeys == newKeys else {
            throw TrustVaultError(
                .refused,
                "\(fragment.directory)/root.json holds other root keys (\(newKeys.sorted().map { String($0.prefix(12)) }.joined(separator: ", "))) than \(gun) on \(server) (\(oldKeys.sorted().map { String($0.prefix(12)) }.joined(separator: ", "))); nothing was deleted",
                recovery:
                    "--replace-trust-data keeps the root keys and renews their certificates; make the replacement with 'trustvault repo refresh \(gun) --current DIR --out DIR --replace-expired-root'"
            )
        }
        return ReplacedTrustData(oldRootVersion: serverRoot.version, expiredOn: expiredOn)
    }

    /// notary-server's `DELETE /v2/<GUN>/_trust/tuf/` (what `notary delete --remote` sends; token
    /// auth asks for the `*` action on the repository), then the fragment as one update, read back.
    public func replaceTrustData(_ fragment: UploadFragment, checked: ReplacedTrustData) async throws(TrustVaultError) -> PublishSummary {
        if checked.oldRootVersion != nil {
            let url = tufURL("")
            let r = try await request("DELETE", url, purpose: "deleting \(gun)'s trust data (needs the '*' action on the repository)")
            guard r.status == 200 || r.status == 204 else {
                throw TrustVaultError(
                    .refused,
                    "DELETE \(url) answered HTTP \(r.status): \(Shown.text(String(r.bodyText.prefix(300)))); nothing was changed",
                    recovery: "the account needs administrative ('*') access to \(gun); ask the registry's administrator")
            }
        }
        do throws(TrustVaultError) {
            return try await publish(fragment)
        } catch {
            throw TrustVaultError(
                error.code,
                "\(gun)'s old trust data was deleted on \(server), but publishing the replacement failed: \(error.message)",
                recovery:
                    "nothing is lost: the replacement is in \(fragment.directory) and the old data in your --current copy; run the same publish command again (it skips the delete)"
            )
        }
    }

    /// A refusal explained; when the server's own root has no unexpired certificate left, that is
    /// the reason (notary-server answers only `INVALID_UPDATE` with no detail), and the way out.
    /// The refusal explained by the expired root certificates when that is why (the server can
    /// load no stored root), else `plain`.
    func explainRefusalNamingExpiredRoot(_ response: HTTPResponse, otherwise plain: TrustVaultError) async -> TrustVaultError {
        guard response.status == 400, let served = try? await getFile("root.json"),
            let env = try? SignedMetadata(parsing: served, name: "root.json"), let root = try? Root(json: env.signed),
            let expiredOn = ExpiredRoot.allCertificatesExpired(root, now: .now())
        else { return plain }
        return TrustVaultError(
            .refused, "the server refused the upload (INVALID_UPDATE): " + ExpiredRoot.serverRule(gun: gun, expiredOn: expiredOn) + "; nothing was changed",
            recovery:
                "replace the trust data: 'trustvault-online fetch \(gun) --server \(server) --out DIR --allow-expired', offline 'trustvault repo refresh \(gun) --current DIR --out OUT --replace-expired-root',"
                + " then 'trustvault-online publish OUT --server \(server) --replace-trust-data' (docs/guide-expired-root-certificate.md)")
    }
}
