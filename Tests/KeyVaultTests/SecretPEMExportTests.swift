import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

@Suite("Unencrypted PEM export in secure memory")
struct SecretPEMExportTests {
    /// The PEM made in secure memory is, byte for byte, the PKCS#8 PEM OpenSSL writes for the same
    /// key (and swift-crypto's, line breaks aside), for every algorithm; several keys follow each
    /// other in order, each on its own lines.
    @Test func sameBytesAsTheStandardPEMForEveryAlgorithm() throws {
        let dir = TemporaryDirectory("secret-pem")
        let vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
        let secrets = SecretSource(environment: ["TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase"])
        var records: [KeyRecord] = []
        var expected = ""
        for algorithm in [KeyAlgorithm.ecdsa, .ed25519, .rsa] {
            let key = try PrivateKey.generate(algorithm)
            records.append(try vault.add(key, role: "targets", gun: "docker.io/acme/app", passphrase: Passphrase("targets-passphrase")))
            let one = try vault.unencryptedPEM([records.last!], secrets: secrets)
            let text = one.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            // swift-crypto's P-256 PEM has no final line break (two such keys in one file ran
            // together before); the secure PEM always ends its lines, as OpenSSL does.
            let library = key.unencryptedPKCS8PEM()
            #expect(text == (library.hasSuffix("\n") ? library : library + "\n"), "\(algorithm)")
            #expect(text == (try NotaryKeyFile.unencryptedPKCS8Text(for: key)), "\(algorithm)")
            expected += text
        }
        let all = try vault.unencryptedPEM(records, secrets: secrets)
        #expect(all.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == expected)
        let out = dir.sub("all.pem")
        try vault.exportUnencryptedPEM(records, to: out, secrets: secrets)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == expected)
        #expect(AtomicFile.ownership(out)?.mode == 0o600)
    }

    @Test func base64LinesForEveryLengthRemainder() {
        for length in [0, 1, 2, 3, 47, 48, 49, 50, 95, 96, 97] {
            let der = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let pem = SecretPEM.encode(type: "PRIVATE KEY", der: SecretBytes(copying: der))
            let text = pem.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.removeFirst() == "-----BEGIN PRIVATE KEY-----")
            #expect(lines.removeLast() == "")
            #expect(lines.removeLast() == "-----END PRIVATE KEY-----")
            #expect(lines.allSatisfy { $0.count <= 64 && !$0.isEmpty } && lines.dropLast().allSatisfy { $0.count == 64 }, "\(length)")
            #expect(Data(base64Encoded: lines.joined()) == Data(der), "\(length)")
        }
    }
}
