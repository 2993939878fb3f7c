import Testing
import Foundation
import TrustCore
import Formats
@testable import Metadata

/// A fixed "now" inside the validity of the vectors (timestamp expires 2026-12-06).
let vectorNow = try! TUFTime(rfc3339: "2026-11-23T00:00:00Z")

func vectorSet() -> MetadataSet {
    MetadataSet(
        gun: NotaryVectors.gun,
        files: [
            "root": Array(NotaryVectors.root.utf8), "targets": Array(NotaryVectors.targets.utf8),
            "snapshot": Array(NotaryVectors.snapshot.utf8), "timestamp": Array(NotaryVectors.timestamp.utf8),
        ])
}

@Suite struct EnvelopeTests {
    @Test(arguments: ["root", "targets", "snapshot", "timestamp"])
    func reEncodingRealNotaryFilesIsByteIdentical(role: String) throws {
        let bytes = try #require(vectorSet().files[role])
        let env = try SignedMetadata(parsing: bytes, name: role)
        #expect(env.encoded() == bytes)
    }

    @Test func htmlEscapingInEnvelopeButNotInSignedBytes() throws {
        let env = try SignedMetadata(parsing: Array(NotaryVectors.targets.utf8), name: "targets")
        let canonical = String(decoding: env.canonicalSigned, as: UTF8.self)
        #expect(canonical.contains(#""v1<&>":"#))
        #expect(NotaryVectors.targets.contains(#""v1\u003c\u0026\u003e":"#))
        // Signature verifies over the unescaped canonical bytes.
        let (_, root) = try vectorSet().root()
        try env.verify(role: root.role(.targets), keys: root.keys, name: "targets.json")
    }

    @Test func lineSeparatorsAndQuotesAreEscapedAsGoDoes() throws {
        let signed = JSONValue.obj(["name": .string("x<y>&z\u{E9}\u{2028}\"q\\")])
        let env = SignedMetadata(signed: signed)
        let text = String(decoding: env.encoded(), as: UTF8.self)
        #expect(text == #"{"signed":{"name":"x\u003cy\u003e\u0026z"# + "\u{E9}" + #"\u2028\"q\\"},"signatures":[]}"#)
        #expect(String(decoding: env.canonicalSigned, as: UTF8.self) == "{\"name\":\"x<y>&z\u{E9}\u{2028}\\\"q\\\\\"}")
    }

    @Test func parsesAndModelsRealRoot() throws {
        let (_, root) = try vectorSet().root()
        #expect(root.version == 1)
        #expect(root.expires.rfc3339 == "2036-11-19T15:52:08.970441173Z")
        let rootKey = try #require(root.keys(of: .root).first)
        #expect(rootKey.keyType == "ecdsa-x509")
        #expect(rootKey.id == "1fbcd643aca3d9c33f6276f42634c74c55a46b34095463c153e1fb10a4b15f6b")
        #expect(rootKey.isGoEncodedPEM)
        // The canonical ID is the name of one of notary's private key files; so are targets and snapshot.
        #expect(NotaryVectors.privateKeyFiles.contains(try rootKey.canonicalID()))
        #expect(try rootKey.canonicalID() != rootKey.id)
        for role in [BaseRole.targets, .snapshot] {
            #expect(NotaryVectors.privateKeyFiles.contains(try #require(root.keys(of: role).first).id))
        }
        // Re-serialising the model gives notary's exact signed bytes.
        let env = try SignedMetadata(parsing: Array(NotaryVectors.root.utf8), name: "root")
        #expect(root.json.canonicalBytes == env.canonicalSigned)
    }

    @Test func targetsAndListingsModelRoundTrip() throws {
        let set = vectorSet()
        let (tenv, t) = try #require(try set.targets())
        #expect(t.json.canonicalBytes == tenv.canonicalSigned)
        for (role, type) in [("snapshot", "Snapshot"), ("timestamp", "Timestamp")] {
            let env = try #require(try set.envelope(role))
            let m = try MetaListing(json: env.signed, type: type, name: role)
            #expect(m.json.canonicalBytes == env.canonicalSigned)
        }
    }

    @Test(arguments: [
        "", "{}", #"{"signed":[],"signatures":[]}"#, #"{"signed":{},"signatures":{}}"#,
        #"{"signed":{},"signatures":[{"keyid":"a","method":"ecdsa","sig":"***"}]}"#, "{\"signed\":{}} trailing",
    ])
    func badEnvelopesAreRejected(text: String) {
        #expect(throws: TrustVaultError.corrupt("")) { try SignedMetadata(parsing: Array(text.utf8), name: "x.json") }
    }
}

@Suite struct TimeTests {
    @Test(arguments: [
        ("2036-11-19T15:18:23.427542409Z", "2036-11-19T15:18:23.427542409Z"),
        ("2036-11-19T15:19:38.289635790Z", "2036-11-19T15:19:38.28963579Z"),
        ("2029-11-21T15:52:09.5Z", "2029-11-21T15:52:09.5Z"),
        ("2029-11-21T15:52:09.000Z", "2029-11-21T15:52:09Z"),
        ("2029-11-21T16:52:09+01:00", "2029-11-21T15:52:09Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("2000-02-29T23:59:59Z", "2000-02-29T23:59:59Z"),
    ])
    func rfc3339(input: String, output: String) throws {
        #expect(try TUFTime(rfc3339: input).rfc3339 == output)
    }

    @Test(arguments: ["", "2036-11-19", "2036-13-19T15:18:23Z", "2036-11-19T15:18:23", "2036-11-19T15:18:23.Z", "2036-11-19T15:18:23.1234567891Z"])
    func badTimes(input: String) {
        #expect(throws: TrustVaultError.corrupt("")) { try TUFTime(rfc3339: input) }
    }
}

@Suite struct SigningTests {
    @Test(arguments: [KeyAlgorithm.ecdsa, .ed25519, .rsa])
    func signAndVerifyWithThreshold(algorithm: KeyAlgorithm) throws {
        let a = try PrivateKey.generate(algorithm), b = try PrivateKey.generate(algorithm)
        let ka = TUFKey(a.publicKey), kb = TUFKey(b.publicKey)
        var env = SignedMetadata(signed: .obj(["_type": .string("Targets"), "x": .integer(1)]))
        try env.sign(with: a, as: ka.id)
        #expect(env.signatures.first?.method == algorithm.signatureMethod)
        let keys = [ka.id: ka, kb.id: kb]
        try env.verify(role: RoleKeys(keyIDs: [ka.id, kb.id], threshold: 1), keys: keys, name: "t")
        #expect(throws: TrustVaultError.verification("")) {
            try env.verify(role: RoleKeys(keyIDs: [ka.id, kb.id], threshold: 2), keys: keys, name: "t")
        }
        // The same key twice does not count twice.
        env.signatures.append(env.signatures[0])
        #expect(throws: TrustVaultError.verification("")) {
            try env.verify(role: RoleKeys(keyIDs: [ka.id, kb.id], threshold: 2), keys: keys, name: "t")
        }
        try env.sign(with: b, as: kb.id)
        try env.verify(role: RoleKeys(keyIDs: [ka.id, kb.id], threshold: 2), keys: keys, name: "t")
        // A changed signed part fails.
        env.signed["x"] = .integer(2)
        #expect(throws: TrustVaultError.verification("")) {
            try env.verify(role: RoleKeys(keyIDs: [ka.id], threshold: 1), keys: keys, name: "t")
        }
    }
}

@Suite struct RootCertificateTests {
    static let realCertPEM: String = {
        let root = try! Root(json: SignedMetadata(parsing: Array(NotaryVectors.root.utf8), name: "r").signed)
        return String(decoding: root.keys(of: .root)[0].publicBytes, as: UTF8.self)
    }()

    static func der(_ pem: String) -> [UInt8] {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Array(Data(base64Encoded: body)!)
    }

    /// Splits DER TLV children of a SEQUENCE at `offset` (short and long lengths).
    static func children(_ b: [UInt8], _ start: Int, _ end: Int) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        var i = start
        while i < end {
            var len = Int(b[i + 1]), hl = 2
            if len & 0x80 != 0 {
                let n = len & 0x7F
                len = 0
                for j in 0..<n { len = len << 8 | Int(b[i + 2 + j]) }
                hl = 2 + n
            }
            out.append((i, i + hl + len))
            i += hl + len
        }
        return out
    }

    static func tbsFields(_ der: [UInt8]) -> [[UInt8]] {
        let cert = children(der, 0, der.count)[0]
        let tbs = children(der, cert.0 + 4, cert.1)[0]
        let hl = der[tbs.0 + 1] & 0x80 != 0 ? 2 + Int(der[tbs.0 + 1] & 0x7F) : 2
        return children(der, tbs.0 + hl, tbs.1).map { Array(der[$0.0..<$0.1]) }
    }

    @Test func certificateMatchesNotaryStructureByteForByte() throws {
        let key = try PrivateKey.generate(.ecdsa)
        let pem = try RootCertificate.make(gun: NotaryVectors.gun, signer: key)
        let mine = Self.tbsFields(Self.der(pem)), real = Self.tbsFields(Self.der(Self.realCertPEM))
        #expect(mine.count == 8 && real.count == 8)
        // version, signature algorithm, issuer, subject, extensions: identical bytes.
        for i in [0, 2, 3, 5, 7] { #expect(mine[i] == real[i], "TBS field \(i)") }
        // serial: positive INTEGER of at most 17 bytes; validity: two UTCTimes 3650 days apart.
        #expect(mine[1][0] == 0x02 && mine[1].count <= 19)
        #expect(mine[4][2] == 0x17 && mine[4][17] == 0x17)
        #expect(mine[6] == Array(key.publicKey.spkiDER))
        let tkey = try TUFKey(certificatePEM: pem)
        #expect(tkey.keyType == "ecdsa-x509")
        #expect(try tkey.canonicalID() == key.publicKey.keyID)
        #expect(Array(pem.utf8) == tkey.publicBytes)
        var warnings: [String] = []
        try Verifier.checkRootCertificate(tkey, gun: NotaryVectors.gun, now: .now(), warnings: &warnings)
        #expect(warnings.isEmpty)
        #expect(throws: TrustVaultError.verification("")) {
            try Verifier.checkRootCertificate(tkey, gun: "example.com/other", now: .now(), warnings: &warnings)
        }
    }

    @Test func nonPrintableGUNUsesUTF8String() throws {
        let key = try PrivateKey.generate(.ecdsa)
        let subject = Self.tbsFields(Self.der(try RootCertificate.make(gun: "example.com/my_app", signer: key)))[5]
        #expect(subject.contains(0x0C))  // UTF8String tag
        let printable = Self.tbsFields(Self.der(try RootCertificate.make(gun: "example.com/my-app", signer: key)))[5]
        #expect(printable.contains(0x13) && !printable.contains(0x0C))
    }

    @Test func refusesEd25519RootKeys() throws {
        #expect(throws: TrustVaultError.unsupported("")) {
            try RootCertificate.make(gun: "g", signer: try PrivateKey.generate(.ed25519))
        }
    }
}

@Suite struct VerifierTests {
    @Test func realNotaryRepositoryVerifies() {
        let r = Verifier.verify(vectorSet(), now: vectorNow)
        #expect(r.problems == [])
        #expect(r.isValid)
    }

    @Test func expiredTimestampFails() throws {
        let r = Verifier.verify(vectorSet(), now: try TUFTime(rfc3339: "2026-12-07T00:00:00Z"))
        #expect(r.problems.contains { $0.contains("timestamp.json expired") })
    }

    @Test func wrongGUNFails() {
        var set = vectorSet()
        set.gun = "example.com/other"
        #expect(Verifier.verify(set, now: vectorNow).problems.contains { $0.contains("does not match the GUN") })
    }

    @Test(arguments: ["root", "targets", "snapshot", "timestamp"])
    func everySingleFlippedByteFails(role: String) {
        let original = vectorSet()
        let bytes = original.files[role]!
        var undetected: [Int] = []
        // Every byte of the small files; every 3rd byte of root.json to keep the test quick.
        for i in stride(from: 0, to: bytes.count, by: role == "root" ? 3 : 1) {
            var set = original
            set.files[role]![i] ^= 0x01
            if Verifier.verify(set, now: vectorNow).isValid { undetected.append(i) }
        }
        #expect(undetected == [])
    }

    @Test func trailingNewlineFails() {
        var set = vectorSet()
        set.files["targets"]!.append(0x0A)
        let r = Verifier.verify(set, now: vectorNow)
        #expect(!r.isValid)
    }
}
