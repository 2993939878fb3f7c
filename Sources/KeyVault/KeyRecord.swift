public import Formats
public import TrustCore
internal import Foundation

/// Where a key's private half lives.
public enum KeyLocation: Sendable, Hashable, CustomStringConvertible {
    /// Sealed in the vault under a passphrase.
    case vault
    /// On a PIV card, identified by its serial number and slot (e.g. `9c`).
    case card(serial: String, slot: String)

    /// `vault` or `card:SERIAL/SLOT`, as `key list` shows it.
    public var description: String {
        switch self {
        case .vault: "vault"
        case let .card(serial, slot): "card:\(serial)/\(slot)"
        }
    }
}

/// The public part of a key in the vault: readable without any passphrase.
///
/// On disk it is the `public` object of `keys/<id>.json` (see `docs/vault-format.md`).
/// Its canonical JSON is bound into the encryption of the private part as associated data,
/// so a record cannot be moved to another role, GUN or key without unlocking failing.
public struct KeyRecord: Sendable, Hashable {
    /// The canonical key ID (what `notary key list` shows and the key file name notary uses).
    public let id: String
    public let role: String
    /// The repository (GUN) for `targets`/`snapshot` keys; nil for root and delegation keys.
    public let gun: String?
    public let publicKey: PublicKey
    /// A PEM certificate kept with the key (client bundles, card keys), if any.
    public let certificatePEM: String?
    public let location: KeyLocation
    /// RFC 3339 UTC creation time.
    public let created: String

    public var algorithm: KeyAlgorithm { publicKey.algorithm }

    public init(
        role: String, gun: String?, publicKey: PublicKey, certificatePEM: String?, location: KeyLocation,
        created: String
    ) {
        self.id = publicKey.keyID
        self.role = role
        self.gun = gun
        self.publicKey = publicKey
        self.certificatePEM = certificatePEM
        self.location = location
        self.created = created
    }

    /// The `public` object as stored.
    var json: JSONValue {
        var location: JSONValue
        switch self.location {
        case .vault: location = .obj(["type": .string("vault")])
        case let .card(serial, slot):
            location = .obj(["type": .string("card"), "serial": .string(serial), "slot": .string(slot)])
        }
        return .obj([
            "id": .string(id),
            "role": .string(role),
            "gun": gun.map(JSONValue.string) ?? .null,
            "algorithm": .string(algorithm.rawValue),
            "public_key": .string(Data(publicKey.tufPublicBytes).base64EncodedString()),
            "certificate": certificatePEM.map(JSONValue.string) ?? .null,
            "location": location,
            "created": .string(created),
        ])
    }

    /// Parses and checks a stored `public` object: the ID must be the one the public key gives.
    init(json: JSONValue, file: String) throws(TrustVaultError) {
        func field(_ name: String) throws(TrustVaultError) -> String {
            guard let v = json[name]?.stringValue else {
                throw .corrupt("\(file): the key record has no valid \"\(name)\" field")
            }
            return v
        }
        let id = try field("id")
        let role = try field("role")
        let algorithmName = try field("algorithm")
        guard let algorithm = KeyAlgorithm(rawValue: algorithmName) else {
            throw .unsupported("\(file): unknown key algorithm \"\(algorithmName)\"",
                               recovery: "this vault was written by a newer trustvault; upgrade")
        }
        guard let pub = Data(base64Encoded: try field("public_key")) else {
            throw .corrupt("\(file): the public key is not valid base64")
        }
        let publicKey: PublicKey
        do { publicKey = try PublicKey(algorithm: algorithm, tufPublicBytes: Array(pub)) } catch {
            throw error.located(file)
        }
        guard publicKey.keyID == id else {
            throw .corrupt(
                "\(file): the record's key ID does not match its public key (the file was modified)",
                recovery: "restore this key from a backup (trustvault backup restore)")
        }
        var gun: String? = nil
        if let g = json["gun"], !g.isNull {
            guard let s = g.stringValue else { throw .corrupt("\(file): \"gun\" is not a string") }
            gun = s
        }
        var cert: String? = nil
        if let c = json["certificate"], !c.isNull {
            guard let s = c.stringValue else { throw .corrupt("\(file): \"certificate\" is not a string") }
            cert = s
        }
        let location: KeyLocation
        switch json["location"]?["type"]?.stringValue {
        case "vault": location = .vault
        case "card":
            guard let serial = json["location"]?["serial"]?.stringValue,
                let slot = json["location"]?["slot"]?.stringValue
            else { throw .corrupt("\(file): the card location lacks a serial or slot") }
            location = .card(serial: serial, slot: slot)
        default: throw .corrupt("\(file): the key record has no valid location")
        }
        self.init(role: role, gun: gun, publicKey: publicKey, certificatePEM: cert, location: location,
                  created: try field("created"))
    }
}

/// Role names the vault accepts, with notary's rules for which roles carry a GUN.
public enum KeyRole {
    /// Base roles whose keys belong to one repository and therefore need a GUN.
    public static let repositoryRoles: Set<String> = ["targets", "snapshot"]

    /// Checks a role name and returns the GUN to store (notary drops it for root/delegations).
    public static func normalise(role: String, gun: String?) throws(TrustVaultError) -> String? {
        if role == "timestamp" {
            throw .invalid(
                "timestamp keys are held by notary-server, not by the vault",
                recovery: "pass the server's timestamp.key file to 'trustvault repo init --timestamp-key'")
        }
        guard isValid(role) else {
            throw .invalid(
                "\"\(role)\" is not a valid role",
                recovery: "use root, targets, snapshot, targets/<name>, delegation, or a signer name "
                    + "([a-z0-9][a-z0-9_-]*)")
        }
        if repositoryRoles.contains(role) {
            guard let gun, !gun.isEmpty else {
                throw .invalid("a \(role) key belongs to one repository", recovery: "add --gun GUN")
            }
            try checkGUN(gun)
            return gun
        }
        return nil
    }

    public static func isValid(_ role: String) -> Bool {
        if ["root", "targets", "snapshot", "delegation"].contains(role) { return true }
        if role.hasPrefix("targets/") { return isValidDelegationName(role) }
        return isSignerName(role)
    }

    /// Notary's delegation-name rules: `targets/…`, `[-a-z0-9_/]`, clean, < 256 characters.
    public static func isValidDelegationName(_ name: String) -> Bool {
        guard name.hasPrefix("targets/"), name.utf8.count < 256 else { return false }
        let rest = name.dropFirst("targets/".count)
        guard !rest.isEmpty, !rest.hasSuffix("/"), !rest.contains("//") else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_/")
        guard rest.allSatisfy({ allowed.contains($0) }) else { return false }
        return !rest.split(separator: "/").contains { $0 == "." || $0 == ".." }
    }

    /// Docker signer names: `^[a-z0-9][a-z0-9_-]*$`.
    public static func isSignerName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// A GUN is a registry path such as `docker.io/library/app`; no spaces or control bytes.
    public static func checkGUN(_ gun: String) throws(TrustVaultError) {
        guard !gun.isEmpty, gun.utf8.count < 256,
            gun.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            !gun.hasPrefix("/"), !gun.hasSuffix("/"), !gun.contains("//"),
            !gun.split(separator: "/").contains(where: { $0 == "." || $0 == ".." })
        else {
            throw .invalid("\"\(gun)\" is not a valid GUN", recovery: "use a repository name such as docker.io/org/app")
        }
    }
}
