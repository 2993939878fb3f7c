import Foundation
import Formats
import Testing
import TestSupport
import TrustCore

@Suite("Key IDs match the real notary")
struct KeyIDInteropTests {
    /// `notary key generate` prints the key ID it computed; OpenSSL extracts the public key from
    /// notary's encrypted key file; our ID for that public key must be the same.
    @Test(.tags(.interop), .interop) func ecdsaKeyIDEqualsNotarys() throws {
        let notary = try requireTool("notary", package: "notary")
        let openssl = try requireTool("openssl", package: "openssl")
        let dir = TemporaryDirectory("notary-keyid")
        for i in 0..<3 {
            let r = try Run.program(
                notary, ["-d", dir.sub("trust"), "key", "generate", "ecdsa", "--role", "targets/ci\(i)"],
                environment: ["NOTARY_DELEGATION_PASSPHRASE": "notary-pass"])
            #expect(r.status == 0, "\(r)")
            let id = try #require(r.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            #expect(id.count == 64)
            // Strip notary's PEM headers so OpenSSL reads the PKCS#8 block.
            let keyFile = try String(contentsOfFile: dir.sub("trust/private/\(id).key"), encoding: .utf8)
            let stripped =
                keyFile.split(separator: "\n", omittingEmptySubsequences: true)
                .filter { !$0.contains(": ") }.joined(separator: "\n") + "\n"
            try stripped.write(toFile: dir.sub("k\(i).pem"), atomically: true, encoding: .utf8)
            let der = dir.sub("k\(i).der")
            let o = try Run.program(
                openssl,
                [
                    "pkey", "-in", dir.sub("k\(i).pem"), "-passin", "pass:notary-pass",
                    "-pubout", "-outform", "DER", "-out", der,
                ])
            #expect(o.status == 0, "\(o)")
            let spki = try [UInt8](Data(contentsOf: URL(fileURLWithPath: der)))
            #expect(try PublicKey(spkiDER: spki).keyID == id)
        }
    }

    /// A fixed vector: the canonical JSON that is hashed, for a known Ed25519 public key.
    @Test func ed25519KeyIDIsSHA256OfCanonicalKeyJSON() throws {
        let pub = try PublicKey(algorithm: .ed25519, tufPublicBytes: Array(repeating: 7, count: 32))
        let json = TUFKeyID.keyJSON(keyType: "ed25519", publicBytes: pub.tufPublicBytes).canonicalString
        #expect(json == #"{"keytype":"ed25519","keyval":{"private":null,"public":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="}}"#)
        let openssl = try requireTool("openssl", package: "openssl")
        let dir = TemporaryDirectory("keyid")
        try json.write(toFile: dir.sub("k.json"), atomically: true, encoding: .utf8)
        let digest = try Run.program(openssl, ["dgst", "-sha256", "-r", dir.sub("k.json")])
        #expect(digest.stdout.hasPrefix(pub.keyID))
    }
}
