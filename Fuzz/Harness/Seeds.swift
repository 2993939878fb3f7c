// Seed inputs made with the library itself (the same calls the CLI makes), so every harness
// starts from valid input of its kind. Scripts/fuzz.sh adds the fixtures found in Tests/.
internal import Foundation
internal import TrustCore
internal import Formats
internal import Metadata
internal import KeyVault

public enum Seeds {
    public static func write(to root: String) throws {
        let fm = FileManager.default
        func put(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
            let dir = root + "/" + target
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        let ecdsa = try PrivateKey.generate(.ecdsa)
        let ed25519 = try PrivateKey.generate(.ed25519)
        let rsa = try PrivateKey.generate(.rsa, rsaBits: 2048)

        // Key files: notary's encrypted files (with the harness passphrase), plain PKCS#8.
        for (name, key) in [("ecdsa", ecdsa), ("ed25519", ed25519), ("rsa", rsa)] {
            let notary = try NotaryKeyFile.text(
                for: key, role: "targets", gun: "example.com/fuzz", includePath: true, passphrase: fuzzPassphrase)
            try put("keyfile", "notary-\(name).key", Array(notary.utf8))
            try put("pem", "notary-\(name).key", Array(notary.utf8))
            let plain = try NotaryKeyFile.unencryptedPKCS8Text(for: key)
            try put("keyfile", "pkcs8-\(name).pem", Array(plain.utf8))
            let blocks = try PEM.parse(Array(notary.utf8), source: "seed")
            try put("pkcs8", "encrypted-\(name).der", blocks[0].bytes)
            try put("pkcs8", "notary-\(name).der", try PrivateKeyDER.notaryPKCS8(key).withUnsafeBytes { Array($0) })
            try put("pkcs8", "standard-\(name).der", try PrivateKeyDER.standardPKCS8(key).withUnsafeBytes { Array($0) })
        }

        // Certificates and a client bundle's members (fuzz.sh zips them).
        let certPEM = try RootCertificate.make(gun: "example.com/fuzz", signer: ecdsa)
        try put("certificate", "root-cert.pem", Array(certPEM.utf8))
        try put("certificate", "root-cert.der", try PEM.parse(Array(certPEM.utf8), source: "seed")[0].bytes)
        try put("keyfile", "bundle.pem", Array((certPEM + (try NotaryKeyFile.unencryptedPKCS8Text(for: ecdsa))).utf8))
        try put("bundle-members", "cert.pem", Array(certPEM.utf8))
        try put("bundle-members", "key.pem", Array(try NotaryKeyFile.unencryptedPKCS8Text(for: ecdsa).utf8))

        // Metadata: a new repository (root + targets), as `repo init` makes it.
        let timestamp = try PrivateKey.generate(.ecdsa)
        let snapshot = try PrivateKey.generate(.ecdsa)
        let result = try Transitions.newRepository(
            gun: "example.com/ref", rootSigner: ecdsa, targetsSigner: ed25519, snapshotKey: TUFKey(snapshot.publicKey),
            snapshotOnServer: true, timestampKey: TUFKey(timestamp.publicKey))
        let files = result.files.files
        try put("metadata", "new-repo", (files["root"] ?? []) + [0] + (files["targets"] ?? []))
        for (role, bytes) in files { try put("json", role.replacingOccurrences(of: "/", with: "_") + ".json", bytes) }

        // A vault with one key, its backup (header), payload, key record and share files.
        let vaultDir = scratch + "/seed-vault"
        try? fm.removeItem(atPath: vaultDir)
        let vault = try Vault.create(at: vaultDir, profile: .interactive)
        let record = try vault.add(ecdsa, role: "targets", gun: "example.com/fuzz", passphrase: fuzzPassphrase)
        let recordBytes = Array(try Data(contentsOf: URL(fileURLWithPath: vaultDir + "/keys/\(record.id).json")))
        try put("key-record", "record.json", recordBytes)
        try put("json", "record.json", recordBytes)
        let entries = try Backup.collect(vault)
        try put("backup-payload", "payload", BackupFile.encodePayload(entries))
        let shareDir = scratch + "/seed-shares"
        try? fm.removeItem(atPath: shareDir)
        try fm.createDirectory(atPath: shareDir, withIntermediateDirectories: true)
        let backupFile = scratch + "/seed.tvbackup"
        try? fm.removeItem(atPath: backupFile)
        let created = try Backup.create(
            of: vault, to: backupFile, protection: .shares(threshold: 2, count: 3, directory: shareDir))
        let backupBytes = Array(try Data(contentsOf: URL(fileURLWithPath: backupFile)))
        try put("backup-header", "shares.tvbackup", Array(backupBytes.prefix(4096)))
        var shareTexts: [[UInt8]] = []
        for file in created.shareFiles {
            let text = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            shareTexts.append(text)
            try put("share", (file as NSString).lastPathComponent, text)
        }
        if shareTexts.count >= 2 { try put("share", "two-shares", shareTexts[0] + [0] + shareTexts[1]) }
        // A TUF 1.0 repository (`tuf init`), the vault's key as its root key.
        let tufDir = scratch + "/seed-tuf"
        try? fm.removeItem(atPath: tufDir)
        let pass = "fuzz-passphrase"
        let secrets = SecretSource(environment: [
            "TRUSTVAULT_ROOT_PASSPHRASE": pass, "TRUSTVAULT_TARGETS_PASSPHRASE": pass,
            "TRUSTVAULT_SNAPSHOT_PASSPHRASE": pass, "TRUSTVAULT_DELEGATION_PASSPHRASE": pass,
        ])
        _ = try TUFCeremonies(vault: vault, secrets: secrets).initRepository(
            dir: tufDir, options: TUFCeremonies.InitOptions(rootKeys: [record.id]))
        var tuf: [[UInt8]] = []
        for name in tufFiles.prefix(4) {
            tuf.append(Array((try? Data(contentsOf: URL(fileURLWithPath: tufDir + "/metadata/" + name))) ?? Data()))
        }
        try put("tuf", "tuf-init", Array(tuf.joined(separator: [0])))
        for (name, bytes) in zip(tufFiles, tuf) { try put("json", "tuf-" + name, bytes) }
        try? fm.removeItem(atPath: tufDir)
        try? fm.removeItem(atPath: vaultDir)
        try? fm.removeItem(atPath: shareDir)
        try? fm.removeItem(atPath: backupFile)

        // Card replies: 9000 to everything, and a certificate object for slot 9c.
        let ok: [UInt8] = [0x90, 0x00]
        let certDER = try PEM.parse(Array(certPEM.utf8), source: "seed")[0].bytes
        let certObject = TLV.encode(0x53, TLV.encode(0x70, certDER) + TLV.encode(0x71, [0]) + TLV.encode(0xFE, []))
        try put("apdu", "all-ok", Array([ok, [0x01, 0x02, 0x03, 0x04] + ok, [0x05, 0x04, 0x03] + ok].joined(separator: [0, 0, 0])))
        try put("apdu", "certificate", Array([ok, ok, ok, ok, ok, ok, ok, certObject + ok].joined(separator: [0, 0, 0])))
    }
}
