internal import Formats
internal import TrustCore
internal import Foundation

/// The sealed private part of a key record.
///
/// `key = Argon2id(passphrase, salt, opslimit, memlimit)`;
/// `ciphertext = XChaCha20-Poly1305(key, nonce, secret, ad)` where `ad` is the canonical JSON
/// of `{"format","version","public","kdf"}`: changing any byte of the public part or the KDF
/// parameters makes opening fail, so a record cannot be re-labelled or swapped undetected.
struct SealedKey: Sendable {
    let opsLimit: UInt64
    let memLimit: UInt64
    let salt: [UInt8]
    let nonce: [UInt8]
    let ciphertext: [UInt8]

    var kdfJSON: JSONValue {
        .obj([
            "algorithm": .string("argon2id13"),
            "opslimit": .integer(Int64(opsLimit)),
            "memlimit": .integer(Int64(memLimit)),
            "salt": .string(Data(salt).base64EncodedString()),
        ])
    }

    var json: JSONValue {
        .obj([
            "kdf": kdfJSON,
            "cipher": .string("xchacha20poly1305-ietf"),
            "nonce": .string(Data(nonce).base64EncodedString()),
            "ciphertext": .string(Data(ciphertext).base64EncodedString()),
        ])
    }

    static func associatedData(record: KeyRecord, kdf: JSONValue) -> [UInt8] {
        JSONValue.obj([
            "format": .string(Vault.keyFormat),
            "version": .integer(Vault.formatVersion),
            "public": record.json,
            "kdf": kdf,
        ]).canonicalBytes
    }

    static func seal(
        _ secret: SecretBytes, record: KeyRecord, passphrase: Passphrase, profile: KDFProfile
    ) throws(TrustVaultError) -> SealedKey {
        guard !passphrase.isEmpty else { throw .invalid("the passphrase is empty") }
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        let key = try SecretSeal.deriveKey(
            passphrase: passphrase, salt: salt, opsLimit: profile.opsLimit, memLimit: profile.memLimit)
        var sealed = SealedKey(opsLimit: profile.opsLimit, memLimit: profile.memLimit, salt: salt, nonce: [], ciphertext: [])
        let (nonce, ciphertext) = SecretSeal.seal(
            secret, key: key, associatedData: associatedData(record: record, kdf: sealed.kdfJSON))
        sealed = SealedKey(
            opsLimit: profile.opsLimit, memLimit: profile.memLimit, salt: salt, nonce: nonce,
            ciphertext: ciphertext)
        return sealed
    }

    func open(record: KeyRecord, passphrase: Passphrase, file: String) throws(TrustVaultError) -> SecretBytes {
        guard !passphrase.isEmpty else { throw .wrongPassphrase("the passphrase for key \(record.id.prefix(12)) is empty") }
        let key = try SecretSeal.deriveKey(passphrase: passphrase, salt: salt, opsLimit: opsLimit, memLimit: memLimit)
        guard
            let secret = SecretSeal.open(
                ciphertext, nonce: nonce, key: key, associatedData: Self.associatedData(record: record, kdf: kdfJSON))
        else {
            throw .wrongPassphrase(
                "the passphrase does not unlock \(record.role) key \(record.id.prefix(12)) (or \(file) was modified)",
                recovery: "check TRUSTVAULT_\(SecretSource.envRoleName(record.role))_PASSPHRASE or the passphrase you typed")
        }
        return secret
    }

    init(opsLimit: UInt64, memLimit: UInt64, salt: [UInt8], nonce: [UInt8], ciphertext: [UInt8]) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
        self.salt = salt
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    init(json: JSONValue, file: String) throws(TrustVaultError) {
        func b64(_ v: JSONValue?, _ name: String) throws(TrustVaultError) -> [UInt8] {
            guard let s = v?.stringValue, let d = Data(base64Encoded: s) else {
                throw .corrupt(
                    "\(file): the sealed \(name) is missing or not base64",
                    recovery: "restore this key from a backup (trustvault backup restore)")
            }
            return Array(d)
        }
        guard json["kdf"]?["algorithm"]?.stringValue == "argon2id13",
            json["cipher"]?.stringValue == "xchacha20poly1305-ietf"
        else {
            throw .unsupported(
                "\(file): unknown KDF or cipher in the sealed key",
                recovery: "this key was written by a newer trustvault; upgrade")
        }
        // Only trustvault's own profiles: a tampered record must not cost minutes and GiBs.
        let profile = try KDFProfile.stored(
            opsLimit: json["kdf"]?["opslimit"]?.intValue, memLimit: json["kdf"]?["memlimit"]?.intValue, in: file)
        let ops = profile.opsLimit, mem = profile.memLimit
        let salt = try b64(json["kdf"]?["salt"], "salt")
        let nonce = try b64(json["nonce"], "nonce")
        let ciphertext = try b64(json["ciphertext"], "ciphertext")
        guard salt.count == SecretSeal.saltBytes, nonce.count == SecretSeal.nonceBytes,
            ciphertext.count > SecretSeal.tagBytes
        else {
            throw .corrupt(
                "\(file): the sealed key is truncated",
                recovery: "restore this key from a backup (trustvault backup restore)")
        }
        self.init(opsLimit: ops, memLimit: mem, salt: salt, nonce: nonce, ciphertext: ciphertext)
    }
}
