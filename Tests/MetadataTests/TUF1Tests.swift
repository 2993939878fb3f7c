import Testing
import Foundation
import TrustCore
import Formats
import Crypto
@testable import Metadata

/// TUF 1.0 (securesystemslib dialect) building blocks; interop with python-tuf itself is tested
/// end to end in TrustVaultCLITests/TUFTests.
@Suite struct TUF1Tests {
    @Test func canonicalJSONEscapesOnlyQuoteAndBackslashAndSortsKeys() throws {
        let v = JSONValue.obj(["b": .string("line1\nline2\t\"q\" \\ <&> é"), "a": .integer(-3), "c": .array([.bool(true), .null])])
        let text = String(decoding: TUF1.Canonical.bytes(v), as: UTF8.self)
        #expect(text == "{\"a\":-3,\"b\":\"line1\nline2\t\\\"q\\\" \\\\ <&> é\",\"c\":[true,null]}")
        // The pretty form is JSON that parses back to the same value (control characters escaped).
        let back = try JSONValue(parsing: TUF1.Pretty.bytes(v))
        #expect(back == v)
    }

    @Test(arguments: [KeyAlgorithm.ecdsa, .ed25519, .rsa])
    func signaturesVerifyAndTamperingBreaksThem(algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let tufKey = TUF1.Key(key.publicKey)
        #expect(tufKey.isSameKey(as: key.publicKey))
        // Key IDs: sha256 over the canonical {keytype, scheme, keyval}; 64 hex digits.
        #expect(tufKey.defaultKeyID.count == 64 && tufKey.defaultKeyID != key.publicKey.keyID)
        var env = TUF1.Envelope(signed: .obj(["_type": .string("targets"), "version": .integer(1), "targets": .object([])]))
        try env.sign(with: key, key: tufKey, keyID: tufKey.defaultKeyID)
        let sig = try #require(env.signatures.first)
        if algorithm == .ecdsa { #expect(sig.hex.hasPrefix("30"), "ECDSA signatures are DER, as securesystemslib writes them") }
        if algorithm == .ed25519 { #expect(sig.hex.count == 128) }
        let keys = [tufKey.defaultKeyID: tufKey]
        #expect(env.validKeyIDs([tufKey.defaultKeyID], keys: keys).count == 1)
        let reparsed = try TUF1.Envelope(parsing: env.encoded, name: "t")
        #expect(reparsed.validKeyIDs([tufKey.defaultKeyID], keys: keys).count == 1)
        var changed = reparsed
        changed.signed["version"] = .integer(2)
        #expect(changed.validKeyIDs([tufKey.defaultKeyID], keys: keys).isEmpty)
    }

    @Test func publicKeyFilesAreReadAsSecuresystemslibKeys() throws {
        let key = try PrivateKey.generate(.ecdsa)
        let fromPEM = try TUF1.Key(file: Array(key.publicKey.pemString.utf8), name: "k.pem")
        #expect(fromPEM == TUF1.Key(key.publicKey))
        #expect(fromPEM.scheme == "ecdsa-sha2-nistp256" && fromPEM.keyType == "ecdsa")
        let ed = try PrivateKey.generate(.ed25519)
        let json = TUF1.Key(ed.publicKey).json.canonicalBytes
        #expect(try TUF1.Key(file: json, name: "k.json") == TUF1.Key(ed.publicKey))
        #expect(throws: TrustVaultError.self) { try TUF1.Key(file: Array("garbage".utf8), name: "g") }
    }

    @Test func delegatedPathsMatchPerPathPartAsPythonTUFDoes() {
        let d = TUF1.Delegation(name: "a", role: TUF1.RoleKeys(keyIDs: [], threshold: 1), paths: ["team-a/*", "docs/*.md"], terminating: false)
        #expect(d.covers("team-a/tool.bin"))
        #expect(!d.covers("team-a/sub/tool.bin"), "* does not cross a /")
        #expect(d.covers("docs/readme.md") && !d.covers("docs/readme.txt"))
        #expect(!d.covers("other/tool.bin"))
    }

    @Test func durations() throws {
        #expect(try TUF1.Lifetime.parse("2d") == 172_800)
        #expect(try TUF1.Lifetime.parse("1y") == 365 * 86_400)
        #expect(try TUF1.Lifetime.parse("12h") == 43_200)
        for bad in ["", "d", "0d", "-1d", "5x", "999999999d"] {
            #expect(throws: TrustVaultError.self) { try TUF1.Lifetime.parse(bad) }
        }
        // Whole seconds and Z: python-tuf's expiry format.
        #expect(TUF1.expiry(after: 60, from: TUFTime(seconds: 0, nanoseconds: 5)) == "1970-01-01T00:01:00Z")
    }
}

/// P-384 keys come from other holders (HSMs, tuf-on-ci signers); the vault verifies their signatures.
@Suite struct TUF1P384Tests {
    @Test func p384KeysAndDERSignaturesVerify() throws {
        let p384 = P384.Signing.PrivateKey()
        let pem = p384.publicKey.pemRepresentation + "\n"
        let key = try TUF1.Key(file: Array(pem.utf8), name: "p384.pem")
        #expect(key.keyType == "ecdsa" && key.scheme == "ecdsa-sha2-nistp384")
        let message = Array("signed bytes".utf8)
        let sig = Array(try p384.signature(for: message).derRepresentation)
        #expect(key.isValidSignature(sig, for: message))
        #expect(!key.isValidSignature(sig, for: Array("other bytes".utf8)))
        #expect(key.vaultPublicKey == nil, "the vault itself holds P-256 keys only")
    }
}
