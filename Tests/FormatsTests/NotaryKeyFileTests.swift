import Foundation
import Formats
import Testing
import TestSupport
import TrustCore

@Suite("notary key files written by trustvault")
struct NotaryKeyFileTests {
    @Test(arguments: KeyAlgorithm.allCases)
    func roundTripsWithHeaders(_ algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let text = try NotaryKeyFile.text(
            for: key, role: "targets", gun: "example.com/app", includePath: true, passphrase: Passphrase("export pw"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            Array(lines[0...4]) == [
                "-----BEGIN ENCRYPTED PRIVATE KEY-----", "gun: example.com/app", "path: \(key.publicKey.keyID)",
                "role: targets", "",
            ])
        let report = KeyFileReader.read(bytes: Array(text.utf8), source: "x", passphrase: fixedPassphrase("export pw"))
        let entry = try #require(report.entries.first)
        #expect(entry.keyID == key.publicKey.keyID)
        #expect(entry.role == "targets" && entry.gun == "example.com/app" && entry.pathHeader == key.publicKey.keyID)
    }

    @Test func gunIsOnlyWrittenForRepositoryRoles() throws {
        let key = try PrivateKey.generate(.ecdsa)
        for role in ["root", "targets/releases", "alice", "delegation"] {
            let text = try NotaryKeyFile.text(for: key, role: role, gun: "a/b", includePath: false, passphrase: Passphrase("p"))
            #expect(!text.contains("gun:"), "\(role)")
            #expect(!text.contains("path:"), "\(role)")
            #expect(text.contains("role: \(role)\n"))
        }
    }

    @Test func emptyExportPassphraseIsRefused() throws {
        let key = try PrivateKey.generate(.ecdsa)
        #expect(throws: TrustVaultError.invalid("")) {
            try NotaryKeyFile.text(for: key, role: "root", gun: nil, includePath: false, passphrase: Passphrase(""))
        }
    }

    /// The outer structure, checked field by field with `openssl asn1parse`.
    @Test(arguments: KeyAlgorithm.allCases)
    func outerStructureIsNotarysPBES2(_ algorithm: KeyAlgorithm) throws {
        let f = try OpenSSLFixtures()
        let key = try PrivateKey.generate(algorithm)
        let block = try NotaryKeyFile.block(for: key, role: "root", gun: nil, path: nil, passphrase: Passphrase("pw"))
        try f.write("outer.der", block.bytes)
        let text = try f.run(["asn1parse", "-inform", "DER", "-in", "outer.der"]).stdout
        let objects = text.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("OBJECT") else { return nil }
            return line.split(separator: ":").last.map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        #expect(objects == ["PBES2", "PBKDF2", "aes-256-cbc"], "no PRF OID (hmacWithSHA1 default), no other algorithm")
        #expect(text.contains("l=   8 prim: OCTET STRING"), "8-byte salt")
        #expect(text.contains("INTEGER           :0800"), "2048 iterations")
        #expect(text.contains("l=  16 prim: OCTET STRING"), "16-byte IV")
        #expect(!text.contains("hmacWith"))
        // Exactly two INTEGERs would mean a keyLength field; there must be one.
        #expect(text.components(separatedBy: "INTEGER").count == 2)
        // OpenSSL decrypts it (headers stripped, as OpenSSL refuses non-Proc-Type headers);
        // it cannot read notary's Ed25519 OID inside, so that case stops here.
        guard algorithm != .ed25519 else { return }
        try f.write("bare.pem", PEM.encode(PEMBlock(type: block.type, bytes: block.bytes)))
        #expect(try f.keyID(ofPrivateKey: "bare.pem", passphrase: "pw") == key.publicKey.keyID)
    }

    /// The inner PKCS#8, exactly as notary writes it.
    @Test func innerPKCS8IsNotarysForm() throws {
        let f = try OpenSSLFixtures()
        let ec = try PrivateKey.generate(.ecdsa)
        try f.write("ec.der", try PrivateKeyDER.notaryPKCS8(ec).withUnsafeBytes { Array($0) })
        let ecText = try f.run(["asn1parse", "-inform", "DER", "-in", "ec.der", "-i"]).stdout
        #expect(ecText.contains("d=1  hl=2 l=   1 prim:  INTEGER           :01"), "version 1 for ECDSA")
        #expect(ecText.contains(":id-ecPublicKey") && ecText.contains(":prime256v1"))
        // Parse the SEC1 inside: Go's MarshalECPrivateKey with [0] curve and [1] public key.
        try f.run(["asn1parse", "-inform", "DER", "-in", "ec.der", "-strparse", "27", "-out", "sec1.der", "-noout"])
        let sec1 = try f.run(["asn1parse", "-inform", "DER", "-in", "sec1.der", "-i"]).stdout
        #expect(sec1.contains("cont [ 0 ]") && sec1.contains("cont [ 1 ]") && sec1.contains(":prime256v1"))
        #expect(sec1.contains("l=  32 prim:  OCTET STRING"))

        let rsa = try PrivateKey.generate(.rsa)
        try f.write("rsa.der", try PrivateKeyDER.notaryPKCS8(rsa).withUnsafeBytes { Array($0) })
        let rsaText = try f.run(["asn1parse", "-inform", "DER", "-in", "rsa.der", "-i"]).stdout
        #expect(rsaText.contains(":rsaEncryption") && !rsaText.contains("NULL"), "RSA without the NULL parameter")
        #expect(rsaText.contains("INTEGER           :00"))

        let ed = try PrivateKey.generate(.ed25519)
        let edDER = try PrivateKeyDER.notaryPKCS8(ed).withUnsafeBytes { Array($0) }
        try f.write("ed.der", edDER)
        let edText = try f.run(["asn1parse", "-inform", "DER", "-in", "ed.der", "-i"]).stdout
        #expect(edText.contains(":1.3.6.1.4.1.11591.15.1"))
        #expect(edText.contains("l=  96 prim:  OCTET STRING"))
        let pub = ed.publicKey.tufPublicBytes
        #expect(Array(edDER.suffix(96)) == pub + ed.exportSecret().withUnsafeBytes { Array($0) } + pub)
    }

    /// Compares our file with one the real docker CLI wrote (docker uses notary's key store):
    /// same outer and inner structure, field by field, payloads aside.
    @Test(.tags(.interop), .interop) func matchesKeysWrittenByDockerAndNotary() throws {
        let docker = try requireTool("docker", package: "docker.io")
        let f = try OpenSSLFixtures()
        let env = ["DOCKER_CONFIG": f.path("docker"), "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "docker pw"]
        let made = try Run.program(docker, ["trust", "key", "generate", "ci-signer", "--dir", f.dir.path], environment: env)
        #expect(made.status == 0, "\(made)")
        let names = try FileManager.default.contentsOfDirectory(atPath: f.path("docker/trust/private"))
        let file = try #require(names.first)
        let theirText = try f.read("docker/trust/private/" + file)
        let theirs = try #require(try PEM.parse(theirText, source: file).first)
        #expect(theirs.headers == [PEMHeader("role", "ci-signer")])

        let theirEntry = try #require(
            KeyFileReader.read(bytes: theirText, source: file, passphrase: fixedPassphrase("docker pw")).entries.first)
        #expect(theirEntry.keyID + ".key" == file, "docker names the file after the canonical key ID")

        let mine = try NotaryKeyFile.block(
            for: try PrivateKey.generate(.ecdsa), role: "ci-signer", gun: nil, path: nil, passphrase: Passphrase("pw"))
        #expect(mine.headers == theirs.headers)
        try f.write("theirs.der", theirs.bytes)
        try f.write("mine.der", mine.bytes)
        #expect(try f.asn1Outline(derFile: "theirs.der") == f.asn1Outline(derFile: "mine.der"))
        // Inner plaintexts.
        try f.write("theirs-inner.der", try OpenSSLCrypto.decryptPKCS8(theirs.bytes, passphrase: Passphrase("docker pw")).withUnsafeBytes { Array($0) })
        try f.write("mine-inner.der", try OpenSSLCrypto.decryptPKCS8(mine.bytes, passphrase: Passphrase("pw")).withUnsafeBytes { Array($0) })
        #expect(try f.asn1Outline(derFile: "theirs-inner.der") == f.asn1Outline(derFile: "mine-inner.der"))
        // And with a key file the real notary wrote (`notary key generate` into a trust dir).
        let notary = try requireTool("notary", package: "notary")
        let gen = try Run.program(
            notary, ["-d", f.path("notary"), "key", "generate", "ecdsa", "--role", "targets/ci"],
            environment: ["NOTARY_DELEGATION_PASSPHRASE": "notary pw"])
        #expect(gen.status == 0, "\(gen)")
        let notaryFile = try #require(try FileManager.default.contentsOfDirectory(atPath: f.path("notary/private")).first)
        let notaryBlock = try #require(try PEM.parse(try f.read("notary/private/" + notaryFile), source: notaryFile).first)
        try f.write("notary.der", notaryBlock.bytes)
        #expect(try f.asn1Outline(derFile: "notary.der") == f.asn1Outline(derFile: "mine.der"))
        try f.write(
            "notary-inner.der",
            try OpenSSLCrypto.decryptPKCS8(notaryBlock.bytes, passphrase: Passphrase("notary pw")).withUnsafeBytes { Array($0) })
        #expect(try f.asn1Outline(derFile: "notary-inner.der") == f.asn1Outline(derFile: "mine-inner.der"))
        // Byte-identical text layout: the same header lines and line lengths.
        let theirLines = String(decoding: theirText, as: UTF8.self).split(separator: "\n").map(\.count)
        let myLines = PEM.encode(mine).split(separator: "\n").map(\.count)
        #expect(theirLines == myLines)
    }
}
