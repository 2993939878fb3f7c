public import TrustCore

/// A repository in the vault's records that still lists a key, and what removing the key ends.
public struct KeyUse: Sendable, Equatable {
    public var gun: String
    /// The roles the key plays there (root, targets, snapshot, timestamp, targets/…).
    public var roles: [String]

    /// What becomes impossible for this vault once the key is gone, e.g.
    /// "signing root.json of docker.io/acme/app".
    public var impossible: String {
        let parts = roles.map { role -> String in
            switch role {
            case "root", "targets", "snapshot", "timestamp": "signing \(role).json of \(gun)"
            default: "signing tags as \(role) of \(gun)"
            }
        }
        return parts.joined(separator: ", ")
    }

    /// "docker.io/acme/app (root)".
    public var listing: String { "\(gun) (\(roles.joined(separator: ", ")))" }
}

extension Vault {
    /// The repositories in the key-status book that list `record`'s key in a role after the last
    /// ceremony for them, sorted by GUN.
    public func uses(of record: KeyRecord) throws(TrustVaultError) -> [KeyUse] {
        try keyStatus().uses(of: record.id).map { KeyUse(gun: $0.gun, roles: $0.roles) }
    }

    /// Refuses to remove a key that a repository in the vault's records still lists, unless every
    /// such repository is in `named` (`key remove --repository GUN`). Returns the uses named.
    public func checkRemoval(of record: KeyRecord, named: [String]) throws(TrustVaultError) -> [KeyUse] {
        let uses = try uses(of: record)
        let unnamed = uses.filter { !named.contains($0.gun) }
        guard unnamed.isEmpty else {
            throw TrustVaultError(
                .refused,
                "\(record.role) key \(record.id.prefix(12)) is still listed by \(unnamed.map(\.listing).joined(separator: ", ")) in this vault's records; "
                    + "removing it makes \(unnamed.map(\.impossible).joined(separator: ", ")) impossible here; nothing was removed",
                recovery: "rotate the key out first (repo rotate, delegation remove) and publish that; to remove it anyway, name each repository: "
                    + unnamed.map { "--repository \($0.gun)" }.joined(separator: " "))
        }
        return uses
    }
}
