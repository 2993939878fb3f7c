import Testing
import Foundation
import TrustCore
import Formats
import Crypto
@testable import Metadata
import MetadataStore

/// What TUF 1.0 repositories written by other tools carry: role names that are not file names,
/// keys in the encodings go-tuf and securesystemslib wrote over the years, keys trustvault cannot
/// read. The real repositories are judged end to end in TrustVaultCLITests/RealTUFRepositoryTests.
@Suite struct TUF1WildTests {
    /// python-tuf: `urllib.parse.quote(name, "")` — only `A–Z a–z 0–9 _ . - ~` stay as they are.
    @Test func roleNamesAreEncodedAsPythonTUFFetchesThem() {
        #expect(TUF1.encodedRoleName("../a") == "..%2Fa")
        #expect(TUF1.encodedRoleName("team-a_1.x~") == "team-a_1.x~")
        #expect(TUF1.encodedRoleName("a b/é%") == "a%20b%2F%C3%A9%25")
        #expect(TUF1.encodedRoleName("\u{0}") == "%00")
        #expect(TUF1.decodedRoleName("a%20b%2F%C3%A9%25") == "a b/é%")
        #expect(TUF1.decodedRoleName("%zz") == nil)
        let layout = TUF1.Layout("repo")
        #expect(layout.path(role: "../a") == "repo/metadata/..%2Fa.json")
        #expect(layout.path(role: "../../etc/x", version: 3) == "repo/metadata/3...%2F..%2Fetc%2Fx.json")
        #expect(TUF1.unusableRoleName("") != nil)
        #expect(TUF1.unusableRoleName(String(repeating: "a", count: 300)) != nil)
        #expect(TUF1.unusableRoleName(String(repeating: "/", count: 80)) != nil, "encoded, 80 slashes are 240 bytes")
        #expect(TUF1.unusableRoleName("../a") == nil)
    }

    /// go-tuf wrote ECDSA keys as the hex of the curve point (sigstore's roots 1–4).
    @Test func hexEncodedECDSAPointsVerify() throws {
        let key = P256.Signing.PrivateKey()
        let message = Array("signed bytes".utf8)
        let sig = Array(try key.signature(for: message).derRepresentation)
        for (type, value) in [
            ("ecdsa-sha2-nistp256", Hex.encode(Array(key.publicKey.x963Representation))),
            ("ecdsa", Hex.encode(Array(key.publicKey.compressedRepresentation))),
            ("ecdsa", key.publicKey.pemRepresentation),
        ] {
            let k = TUF1.Key(keyType: type, scheme: "ecdsa-sha2-nistp256", publicValue: value)
            #expect(k.isValidSignature(sig, for: message), "\(type) \(value.prefix(10))")
            #expect(!k.isValidSignature(sig, for: message + [0]))
        }
        // The same key, however encoded, is recognised as a vault key (for tuf sign).
        let pem = TUF1.Key(keyType: "ecdsa", scheme: "ecdsa-sha2-nistp256", publicValue: key.publicKey.pemRepresentation)
        let hex = TUF1.Key(keyType: "ecdsa-sha2-nistp256", scheme: "ecdsa-sha2-nistp256", publicValue: Hex.encode(Array(key.publicKey.x963Representation)))
        #expect(pem.vaultPublicKey != nil && hex.vaultPublicKey == pem.vaultPublicKey)
        let p384 = P384.Signing.PrivateKey()
        let k384 = TUF1.Key(
            keyType: "ecdsa-sha2-nistp384", scheme: "ecdsa-sha2-nistp384",
            publicValue: Hex.encode(Array(p384.publicKey.x963Representation)))
        #expect(k384.isValidSignature(Array(try p384.signature(for: message).derRepresentation), for: message))
    }

    /// A key or signature trustvault cannot read is named as such; only a readable signature that
    /// does not match is called a change after signing.
    @Test func unreadableKeysAndSignaturesAreNotCalledTampering() throws {
        let key = Curve25519.Signing.PrivateKey()
        let good = TUF1.Key(keyType: "ed25519", scheme: "ed25519", publicValue: Hex.encode(Array(key.publicKey.rawRepresentation)))
        let odd = TUF1.Key(keyType: "sphincs", scheme: "sphincs-shake-256f", publicValue: "00")
        let ec = TUF1.Key(keyType: "ecdsa", scheme: "ecdsa-sha2-nistp256", publicValue: P256.Signing.PrivateKey().publicKey.pemRepresentation)
        var env = TUF1.Envelope(signed: .obj(["_type": .string("targets")]))
        let sig = Array(try key.signature(for: env.canonicalSigned))
        env.signatures = [
            .init(keyID: "good", hex: Hex.encode(sig)), .init(keyID: "odd", hex: "00"),
            .init(keyID: "ec", hex: Hex.encode([UInt8](repeating: 1, count: 64))),
        ]
        let keys = ["good": good, "odd": odd, "ec": ec]
        let checks = Dictionary(uniqueKeysWithValues: env.signatureChecks(["good", "odd", "ec"], keys: keys).map { ($0.keyID, $0.check) })
        #expect(checks["good"] == .valid)
        if case .unreadableKey(let why) = checks["odd"] {
            #expect(why.contains("unsupported key encoding"))
        } else {
            Issue.record("\(String(describing: checks["odd"]))")
        }
        if case .unreadableSignature = checks["ec"] {
        } else {
            Issue.record("a raw r‖s ECDSA signature is unreadable, not tampered: \(String(describing: checks["ec"]))")
        }
        let v = TUF1.Verifier(directory: "unused")
        let p = v.thresholdProblem(env, role: TUF1.RoleKeys(keyIDs: ["good", "odd", "ec"], threshold: 2), keys: keys, name: "x.json", what: "its keys")
        #expect(p?.contains("cannot read") == true)
        #expect(p?.contains("file changed") == false, "\(p ?? "")")
    }

    /// Every hash a file lists is checked; one trustvault cannot compute is a problem, not a pass.
    @Test func everyListedHashIsCheckedOrNamed() {
        let bytes = Array("x".utf8)
        let sha512 = Hex.encode(Array(SHA512.hash(data: bytes)))
        let sha256 = Hex.encode(Array(SHA256.hash(data: bytes)))
        #expect(
            TUF1.checkFileInfo(.obj(["length": .integer(1), "hashes": .obj(["sha512": .string(sha512), "sha256": .string(sha256)])]), bytes: bytes) == nil)
        let wrong = TUF1.checkFileInfo(.obj(["hashes": .obj(["sha256": .string(sha256), "sha512": .string(sha256)])]), bytes: bytes)
        #expect(wrong?.contains("sha512") == true)
        let odd = TUF1.checkFileInfo(.obj(["hashes": .obj(["sha256": .string(sha256), "blake2b-256": .string("00")])]), bytes: bytes)
        #expect(odd?.contains("\"blake2b-256\" is not one trustvault can check") == true)
    }

    /// Expiry times as other tools wrote them (go-tuf: fractional seconds, a zone offset) are read;
    /// what trustvault writes stays whole seconds in UTC.
    @Test func timestampsWithFractionsAndOffsetsAreRead() throws {
        let t = try TUFTime(rfc3339: "2021-12-18T13:28:12.99008-06:00")
        #expect(t.seconds == (try TUFTime(rfc3339: "2021-12-18T19:28:12Z")).seconds)
        #expect(t.nanoseconds == 990_080_000)
        #expect(try TUFTime(rfc3339: "2022-05-11T19:09:02.663975009Z").nanoseconds == 663_975_009)
        #expect(TUF1.expiry(after: 0, from: TUFTime(seconds: 1_700_000_000, nanoseconds: 5)) == "2023-11-14T22:13:20Z")
    }
}
