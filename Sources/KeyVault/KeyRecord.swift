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
            throw .unsupported(
                "\(file): unknown key algorithm \"\(algorithmName)\"",
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
        // Every public field is checked on read, with the same rules as when it was written.
        guard role != "timestamp", KeyRole.isValid(role) else {
            throw .corrupt(
                "\(file): the key record's role \"\(Escape.visible(String(role.prefix(80))))\" is not valid",
                recovery: "restore this key from a backup (trustvault backup restore)")
        }
        var gun: String? = nil
        if let g = json["gun"], !g.isNull {
            guard let s = g.stringValue else { throw .corrupt("\(file): \"gun\" is not a string") }
            do { try KeyRole.checkGUN(s) } catch {
                throw .corrupt(
                    "\(file): the key record's GUN is not valid: \(error.message)",
                    recovery: "restore this key from a backup (trustvault backup restore)")
            }
            gun = s
        }
        var cert: String? = nil
        if let c = json["certificate"], !c.isNull {
            guard let s = c.stringValue else { throw .corrupt("\(file): \"certificate\" is not a string") }
            let certs: [CertificateInfo]
            do { certs = try CertificateInfo.parseAll(pem: Array(s.utf8), source: file) } catch {
                throw .corrupt("\(file): the key record's certificate is not valid: \(error.message)")
            }
            guard let leaf = certs.first, leaf.publicKey == nil || leaf.certifies(publicKey) else {
                throw .corrupt(
                    "\(file): the key record's certificate is missing or is not for its key",
                    recovery: "restore this key from a backup (trustvault backup restore)")
            }
            cert = s
        }
        let location: KeyLocation
        switch json["location"]?["type"]?.stringValue {
        case "vault": location = .vault
        case "card":
            guard let serial = json["location"]?["serial"]?.stringValue,
                let slot = json["location"]?["slot"]?.stringValue,
                Self.isValidCardLocation(serial: serial, slot: slot)
            else { throw .corrupt("\(file): the card location lacks a valid serial or slot") }
            location = .card(serial: serial, slot: slot)
        default: throw .corrupt("\(file): the key record has no valid location")
        }
        let created = try field("created")
        guard RFC3339.isValid(created) else {
            throw .corrupt("\(file): the key record's \"created\" is not an RFC 3339 time")
        }
        self.init(
            role: role, gun: gun, publicKey: publicKey, certificatePEM: cert, location: location,
            created: created)
    }

    /// A card serial is a decimal number; a slot is a PIV key reference (9a, 9c, 9d, 9e, 82–95).
    static func isValidCardLocation(serial: String, slot: String) -> Bool {
        guard !serial.isEmpty, serial.utf8.count <= 10, serial.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        guard slot.utf8.count == 2, let v = UInt8(slot, radix: 16) else { return false }
        return [0x9A, 0x9C, 0x9D, 0x9E].contains(v) || (0x82...0x95).contains(v)
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

    /// Notary's delegation-name rules (TrustCore's ``Names``, the one place).
    public static func isValidDelegationName(_ name: String) -> Bool { Names.isValidDelegationRole(name) }

    /// Docker signer names: `^[a-z0-9][a-z0-9_-]*$`, shorter than 256 bytes.
    public static func isSignerName(_ name: String) -> Bool { Names.isSignerName(name) }

    /// A GUN is a registry path such as `docker.io/library/app`; no spaces or control bytes.
    public static func checkGUN(_ gun: String) throws(TrustVaultError) { try Names.checkGUN(gun) }
}
