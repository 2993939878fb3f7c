import Foundation
import Testing
import TrustCore
import Formats
@testable import Metadata

/// The one-pass reader of files in notary's exact form (`NotaryExactForm`, `TargetTable`) against
/// the strict parser: whatever it accepts must read exactly as the strict parser reads it, and
/// everything else must be left to the strict parser (same verdicts, same messages).
@Suite struct ExactFormTests {
    /// The strict parser's reading of a file (the exact-form reader bypassed).
    static func strict(_ bytes: [UInt8]) throws(TrustVaultError) -> (signed: JSONValue, signatures: [Signature], exact: Bool) {
        let doc = try JSONValue(parsing: bytes)
        guard let signed = doc["signed"], let sigs = doc["signatures"]?.arrayValue else { throw .corrupt("no envelope") }
        var list: [Signature] = []
        for (i, s) in sigs.enumerated() { list.append(try NotaryV1.parseSignature(s, index: i, name: "f")) }
        return (signed, list, NotaryV1.envelopeBytes(signed: signed, canonical: nil, signatures: list) == bytes)
    }

    /// The rule: the exact-form reader answers only for files in exact form, and then as the
    /// strict parser does.
    static func expectAgreement(_ bytes: [UInt8], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast: ExactFormRead<Signature>?
        do { fast = try NotaryV1.readExactForm(bytes, name: "f") } catch {
            // Only a signature entry the strict parser also refuses may throw.
            #expect(throws: TrustVaultError.self, "\(label)", sourceLocation: sourceLocation) { try strict(bytes) }
            return
        }
        let slow = try? strict(bytes)
        guard let fast else {
            // Deliberately left to the strict parser: HTML escapes (the signed bytes then differ
            // from the file's) and integers of 19 digits (near Int64's limit).
            #expect(
                slow?.exact != true || hasHTMLEscape(bytes) || String(decoding: bytes, as: UTF8.self).contains(/[0-9]{19}/),
                "\(label): a file in exact form was not read in one pass", sourceLocation: sourceLocation)
            return
        }
        guard let slow else {
            Issue.record("\(label): read in one pass, refused by the strict parser", sourceLocation: sourceLocation)
            return
        }
        #expect(slow.exact, "\(label): read in one pass but not in notary's exact form", sourceLocation: sourceLocation)
        #expect(fast.signed == slow.signed, "\(label): a different tree", sourceLocation: sourceLocation)
        #expect(fast.signed.canonicalBytes == slow.signed.canonicalBytes, "\(label)", sourceLocation: sourceLocation)
        #expect(Array(bytes[fast.canonicalSigned]) == slow.signed.canonicalBytes, "\(label): signed bytes", sourceLocation: sourceLocation)
        #expect(fast.signatures == slow.signatures, "\(label): signatures", sourceLocation: sourceLocation)
    }

    static func hasHTMLEscape(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        return ["\\u003c", "\\u003e", "\\u0026", "\\u2028", "\\u2029"].contains { text.contains($0) }
    }

    static func targetsFile(_ targets: [String: JSONValue], extra: [String: JSONValue] = [:]) throws -> [UInt8] {
        var signed = JSONValue.obj([
            "_type": .string("Targets"), "delegations": .obj(["keys": .obj([:]), "roles": .array([])]),
            "expires": .string("2030-01-01T00:00:00Z"), "targets": .object(targets.map { .init($0.key, $0.value) }), "version": .integer(3),
        ])
        for (k, v) in extra { signed[k] = v }
        var env = SignedMetadata(signed: signed)
        try env.sign(with: try PrivateKey.generate(.ecdsa), as: "k")
        return NotaryV1.envelopeBytes(signed: env.signed, canonical: nil, signatures: env.signatures)
    }

    static func meta(_ n: Int) -> JSONValue { FileMeta(of: Array("image \(n)".utf8)).json }

    @Test func realNotaryFilesAreReadInOnePassAsTheStrictParserReadsThem() throws {
        let set = vectorSet()
        #expect(set.files.count >= 4)
        for (role, bytes) in set.files {
            Self.expectAgreement(bytes, role)
            #expect(try NotaryV1.readExactForm(bytes, name: role) != nil || Self.hasHTMLEscape(bytes), "\(role).json, written by notary, is in exact form")
        }
    }

    @Test func everyChangeToAnExactFileIsReadAsTheStrictParserReadsIt() throws {
        let base = try Self.targetsFile(["v1": Self.meta(1), "v2": Self.meta(2), "a\"b\\c\n\u{01}": Self.meta(3)])
        Self.expectAgreement(base, "base")
        let text = String(decoding: base, as: UTF8.self)
        // Each variation keeps the file valid JSON (mostly); every one must agree.
        let variations: [(String, String)] = [
            ("whitespace", text.replacingOccurrences(of: "{\"signed\":{", with: "{\"signed\": {")),
            ("trailing newline", text + "\n"),
            ("html escape", text.replacingOccurrences(of: "\"v1\"", with: "\"v\\u003c1\"")),
            ("raw <", text.replacingOccurrences(of: "\"v1\"", with: "\"v<1\"")),
            ("slash escape", text.replacingOccurrences(of: "\"v1\"", with: "\"v\\/1\"")),
            ("unicode escape", text.replacingOccurrences(of: "\"v1\"", with: "\"v\\u00e91\"")),
            ("uppercase hex", text.replacingOccurrences(of: "\\u0001", with: "\\u0001".uppercased())),
            ("short escape for a control", text.replacingOccurrences(of: "\\u0001", with: "\\b")),
            ("raw U+2028", text.replacingOccurrences(of: "\"v1\"", with: "\"v\u{2028}1\"")),
            ("non-ASCII", text.replacingOccurrences(of: "\"v1\"", with: "\"v\u{E9}\u{1F600}1\"")),
            ("unsorted keys", text.replacingOccurrences(of: "\"v1\"", with: "\"zz\"")),
            ("duplicate key", text.replacingOccurrences(of: "\"v2\"", with: "\"v1\"")),
            ("minus zero", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":-0")),
            ("leading zero", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":03")),
            ("float", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":3.0")),
            ("exponent", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":3e0")),
            ("19 digits", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":1234567890123456789")),
            ("18 digits", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":123456789012345678")),
            ("negative", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":-3")),
            ("true", text.replacingOccurrences(of: "\"version\":3", with: "\"version\":true")),
            ("null signatures", text.replacingOccurrences(of: "\"signatures\":[", with: "\"signatures\":null,\"x\":[")),
            ("extra signature field", text.replacingOccurrences(of: "\"sig\":", with: "\"x\":1,\"sig\":")),
            (
                "signature fields reordered",
                text.replacingOccurrences(of: "{\"keyid\":\"k\",", with: "{")
                    .replacingOccurrences(of: "\"}]}", with: "\",\"keyid\":\"k\"}]}")
            ),
            ("extra top-level member", String(text.dropLast()) + ",\"z\":1}"),
            ("truncated", String(text.dropLast(3))),
            ("empty targets", text),
        ]
        for (label, variant) in variations { Self.expectAgreement(Array(variant.utf8), label) }
        // Invalid UTF-8 and stray bytes, at every kind of place.
        for (offset, byte) in [(40, UInt8(0xFF)), (60, 0xC0), (80, 0x80), (100, 0xED), (120, 0x00), (base.count - 2, 0x20)] {
            var b = base
            b[offset] = byte
            Self.expectAgreement(b, "byte \(byte) at \(offset)")
        }
        // Random single-byte changes.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var b = base
            b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            Self.expectAgreement(b, "random change")
        }
    }

    @Test func theTargetTableChecksEveryEntryAsTheTreeReaderDoes() throws {
        let good = Self.meta(1)
        let withCustom = JSONValue.obj(["custom": .obj(["a": .array([.integer(1), .obj(["b": .null])])]), "hashes": good["hashes"]!, "length": .integer(9)])
        let cases: [(String, JSONValue)] = [
            ("missing length", .obj(["hashes": good["hashes"]!])),
            ("negative length", .obj(["hashes": good["hashes"]!, "length": .integer(-1)])),
            ("string length", .obj(["hashes": good["hashes"]!, "length": .string("1")])),
            ("missing hashes", .obj(["length": .integer(1)])),
            ("hashes not an object", .obj(["hashes": .array([]), "length": .integer(1)])),
            ("hash not a string", .obj(["hashes": .obj(["sha256": .integer(1)]), "length": .integer(1)])),
            ("hash not base64", .obj(["hashes": .obj(["sha256": .string("**==")]), "length": .integer(1)])),
            ("not an object", .string("x")),
            ("custom", withCustom),
            ("empty hashes", .obj(["hashes": .obj([:]), "length": .integer(0)])),
            ("other algorithm only", .obj(["hashes": .obj(["md5": .string("AAAA")]), "length": .integer(0)])),
        ]
        for (label, entry) in cases {
            let bytes = try Self.targetsFile(["a": good, "b\"\u{E9}": entry, "c": good])
            let env = try SignedMetadata(parsing: bytes, name: "targets.json")
            #expect(env.isExactFileForm, "\(label)")
            guard case .verbatim? = env.signed["targets"] else {
                Issue.record("\(label): targets not kept as bytes")
                continue
            }
            let slow = try Self.strict(bytes).signed
            let fastResult = Result { () throws(TrustVaultError) in try Targets(json: env.signed, name: "targets.json") }
            let slowResult = Result { () throws(TrustVaultError) in try Targets(json: slow, name: "targets.json", buildTargets: false) }
            switch (fastResult, slowResult) {
            case (.success(let f), .success(let s)):
                #expect(f.targetCount == s.targetCount && f.targetNames == s.targetNames, "\(label)")
                let built = try Targets(json: slow, name: "targets.json")
                #expect(f.targets == built.targets, "\(label): entries")
                var digests: [String] = []
                f.forEachTarget { _, d in digests.append(d) }
                #expect(digests == built.targets.map(\.digest), "\(label): digests")
                #expect(f.json == built.json || label == "custom", "\(label): written back")
                #expect(f.json.canonicalBytes == slow.canonicalBytes, "\(label): the targets object is written back as read")
            case (.failure(let f), .failure(let s)):
                #expect(f.message == s.message, "\(label)")
            default:
                Issue.record("\(label): one reader accepts what the other refuses: \(fastResult) / \(slowResult)")
            }
        }
    }

    @Test func aLargeRepositoryVerifiesReadsOnceAndStillCatchesTampering() throws {
        let k = Keys()
        var set = try newRepo(k)
        var (env, t) = try #require(try set.targets())
        // Past the 1 MiB cache and 256 KiB background-hashing thresholds.
        t.targets = (0..<8000).map { TargetEntry(name: "tag-\($0)", meta: FileMeta(of: Array("image \($0)".utf8))) }
        env = SignedMetadata(signed: t.json)
        try env.sign(with: k.targets, as: k.targets.publicKey.keyID)
        set.files["targets"] = env.encoded()
        let snap = try Transitions.makeSnapshot(current: set, changed: MetadataSet(gun: set.gun), signer: k.snapshot, root: try set.root().1, now: .now())
        set.files["snapshot"] = snap
        #expect(set.files["targets"]!.count > 1 << 20)
        let report = Verifier.verify(set)
        #expect(report.problems == [])
        let repo = try VerifiedRepository(set)
        #expect(repo.targets(of: "targets")?.targetCount == 8000)
        #expect(repo.releasedTarget("tag-77")?.digest == FileMeta(of: Array("image 77".utf8)).hashes["sha256"].map(Hex.encode))
        // A copy changed in one byte is a new buffer: read again, and refused.
        var tampered = set
        var bytes = set.files["targets"]!
        let i = try #require(bytes.firstRange(of: Array("\"tag-4000\"".utf8))).lowerBound
        bytes[i + 5] = UInt8(ascii: "x")
        tampered.files["targets"] = bytes
        let problems = Verifier.verify(tampered).problems
        #expect(problems.contains { $0.contains("targets.json") }, "\(problems)")
        #expect(problems.contains { $0.contains("does not match its length/hashes in snapshot.json") }, "\(problems)")
    }

    @Test func theDockerViewIsTheSameFromTheTableAsFromEntries() throws {
        let k = Keys()
        var set = try newRepo(k)
        var (env, t) = try #require(try set.targets())
        // Natural order: numbers inside names, leading zeros, names with bytes above 0x7F.
        var names = (0..<3000).map { "v\($0 % 97).\($0 / 97)-\($0 % 3 == 0 ? "rc" : "")\($0)" }
        names += ["v1", "v01", "v001", "v10", "v9", "\u{E9}t\u{E9}", "a<b&c>"]
        t.targets = names.enumerated().map { TargetEntry(name: $1, meta: FileMeta(of: Array("image \($0)".utf8))) }
        env = SignedMetadata(signed: t.json)
        try env.sign(with: k.targets, as: k.targets.publicKey.keyID)
        set.files["targets"] = env.encoded()
        let repo = try VerifiedRepository(set)
        let view = DockerTrustView(repo)
        // The reference: entries built by the tree reader, sorted with docker's rule on strings.
        let expected = t.targets.map { ($0.name, $0.digest) }.sorted { NaturalOrder.less($0.0, $1.0) || ($0.0 == $1.0 && $0.1 < $1.1) }
        #expect(view.signedTags.map(\.tag) == expected.map(\.0))
        #expect(view.signedTags.map(\.digest) == expected.map(\.1))
        // Streamed in pieces that end at line breaks, the same text.
        var pieces: [String] = []
        view.writePretty { pieces.append($0) }
        #expect(pieces.count > 1 && pieces.allSatisfy { $0.hasSuffix("\n") })
        #expect(pieces.joined() == view.pretty)
        var jsonPieces: [String] = []
        view.writeJSON { jsonPieces.append($0) }
        #expect(jsonPieces.count > 1 && jsonPieces.joined() == view.json)
        let parsed = try JSONSerialization.jsonObject(with: Data(view.json.utf8)) as? [[String: Any]]
        #expect((parsed?.first?["SignedTags"] as? [Any])?.count == names.count)
        // One tag.
        #expect(DockerTrustView(repo, tag: "v01").signedTags.map(\.tag) == ["v01"])
    }
}
