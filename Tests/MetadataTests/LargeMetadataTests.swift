import Testing
import TrustCore
import Formats
@testable import Metadata

@Suite struct LargeMetadataTests {
    /// Objects past the small-object threshold use a hash set for duplicate keys: still by bytes.
    @Test(arguments: [3, 40])
    func duplicateKeysAreFoundByBytes(count: Int) throws {
        var members = (0..<count).map { "\"k\($0)\":\($0)" }
        #expect(throws: Never.self) { try JSONValue(parsing: "{" + members.joined(separator: ",") + "}") }
        members.append("\"k1\":9")
        #expect(throws: TrustVaultError.corrupt("")) { try JSONValue(parsing: "{" + members.joined(separator: ",") + "}") }
        // Canonically equivalent but byte-different keys are two keys, as in Go.
        members.removeLast()
        members += ["\"\u{E9}\":1", "\"e\u{301}\":2"]
        let v = try JSONValue(parsing: "{" + members.joined(separator: ",") + "}")
        #expect(v.objectValue?.count == count + 2)
    }

    @Test func escapedAndPlainStringsParseTheSame() throws {
        let v = try JSONValue(parsing: #"{"a":"plain","b":"x\u003cy\"z\\","c":"\u00e9\n"}"#)
        #expect(v["a"]?.stringValue == "plain")
        #expect(v["b"]?.stringValue == "x<y\"z\\")
        #expect(v["c"]?.stringValue == "\u{E9}\n")
        #expect(throws: TrustVaultError.corrupt("")) { try JSONValue(parsing: Array("{\"a\":\"x\u{01}\"}".utf8)) }
    }

    @Test(arguments: [("", true), ("AAAA", true), ("AA==", true), ("AAA=", true), ("A===", false), ("AA=A", false), ("AAA", false), ("AA-_", false)])
    func base64Validation(text: String, valid: Bool) {
        #expect(FileMeta.isBase64(text) == valid)
    }

    @Test func validatedTargetsKeepNamesAndRejectBadMeta() throws {
        let good = FileMeta(of: Array("x".utf8)).json
        var t = Targets(expires: .now().adding(days: 1), version: 1)
        t.targets = (0..<50).map { TargetEntry(name: "t\($0)", meta: FileMeta(of: [UInt8($0)])) }
        let parsed = try Targets(json: t.json, buildTargets: false)
        #expect(parsed.targets.isEmpty && parsed.targetCount == 50 && parsed.targetNames.contains("t7"))
        var json = t.json
        json["targets"] = .obj(["ok": good, "bad": .obj(["length": .integer(1), "hashes": .obj(["sha256": .string("***")])])])
        #expect(throws: TrustVaultError.corrupt("")) { try Targets(json: json, buildTargets: false) }
        #expect(throws: TrustVaultError.corrupt("")) { try Targets(json: json) }
    }

    @Test func rotationKeepsEveryTargetOfALargeRepository() throws {
        let k = Keys()
        var set = try newRepo(k)
        var (env, t) = try #require(try set.targets())
        t.targets = (0..<2000).map { TargetEntry(name: "tag-\($0)", meta: FileMeta(of: Array("image \($0)".utf8))) }
        env = SignedMetadata(signed: t.json)
        try env.sign(with: k.targets, as: k.targets.publicKey.keyID)
        set.files["targets"] = env.encoded()
        #expect(Verifier.verify(set).problems == [])
        let rot = try Transitions.rotateTargets(current: set, newTargets: try PrivateKey.generate(.ecdsa), rootSigners: [k.root], snapshotSigner: nil)
        let after = merged(set, rot.files)
        #expect(Verifier.verify(after, trustedRoot: set.files["root"]).problems == [])
        let (_, t2) = try #require(try after.targets())
        #expect(t2.targets.count == 2000)
        #expect(Set(t2.targets) == Set(t.targets))  // (in canonical order after parsing)
        #expect(t2.version == t.version + 1)
    }
}
