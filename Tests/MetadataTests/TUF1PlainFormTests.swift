import Foundation
import Testing
import TrustCore
import Formats
@testable import Metadata

/// The one-pass reader of TUF files in plain form (`TUF1PlainForm`), the target entries read from
/// its bytes, the merge of new targets into them and the indented writer's re-indenting, each
/// against the strict parser and the tree: whatever the fast path accepts must read, verify and
/// write exactly as the tree does, and everything else must be left to the strict parser.
@Suite struct TUF1PlainFormTests {
    typealias Signature = TUF1.Signature

    /// The strict parser's reading of a file (the plain-form reader bypassed).
    static func strict(_ bytes: [UInt8]) throws(TrustVaultError) -> (signed: JSONValue, signatures: [Signature]) {
        let doc = try JSONValue(parsing: bytes)
        guard let signed = doc["signed"], case .object = signed, let sigs = doc["signatures"]?.arrayValue else { throw .corrupt("no envelope") }
        var list: [Signature] = []
        for (i, s) in sigs.enumerated() { list.append(try TUF1.parseSignature(s, index: i, name: "f")) }
        return (signed, list)
    }

    /// The rule: the plain-form reader answers only for what the strict parser reads, and then
    /// with the same tree, signatures and OLPC canonical signed bytes.
    static func expectAgreement(_ bytes: [UInt8], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast: ExactFormRead<Signature>?
        do { fast = try TUF1.readExactForm(bytes, name: "f") } catch {
            #expect(throws: TrustVaultError.self, "\(label)", sourceLocation: sourceLocation) { try strict(bytes) }
            return
        }
        guard let fast else { return }
        guard let slow = try? strict(bytes) else {
            Issue.record("\(label): read in one pass, refused by the strict parser", sourceLocation: sourceLocation)
            return
        }
        #expect(fast.signed == slow.signed, "\(label): a different tree", sourceLocation: sourceLocation)
        #expect(fast.signed.materialized == slow.signed, "\(label): a different tree", sourceLocation: sourceLocation)
        #expect(
            Array(fast.signedBuffer[fast.canonicalSigned]) == TUF1.Canonical.bytes(slow.signed), "\(label): signed bytes",
            sourceLocation: sourceLocation)
        #expect(TUF1.Canonical.bytes(fast.signed) == TUF1.Canonical.bytes(slow.signed), "\(label)", sourceLocation: sourceLocation)
        #expect(fast.signatures == slow.signatures, "\(label): signatures", sourceLocation: sourceLocation)
        for style in [TUF1.Pretty.Strings.goCanonical, .pythonASCII] {
            #expect(
                TUF1.Pretty.bytes(fast.signed, strings: style) == TUF1.Pretty.bytes(slow.signed, strings: style), "\(label): indented writing",
                sourceLocation: sourceLocation)
        }
    }

    static func target(_ length: Int64, _ hashes: [String: String]) -> JSONValue {
        .obj(["length": .integer(length), "hashes": .object(hashes.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })])
    }

    static func hex(_ s: String) -> String { Hex.encode(Array(s.utf8).map { $0 &* 7 }) + String(repeating: "0", count: 2) }

    /// A targets file with usual and unusual entries, as trustvault and python-tuf write it.
    static func targetsFile(count: Int = 40, strings: TUF1.Pretty.Strings = .goCanonical) throws -> [UInt8] {
        var targets: [JSONValue.Member] = []
        for i in 0..<count { targets.append(.init("pkg/t\(i).bin", target(Int64(i), ["sha256": hex("a\(i)")]))) }
        targets.append(.init("two/hashes.txt", target(10, ["sha256": hex("x"), "sha512": hex("y")])))
        targets.append(
            .init(
                "custom.txt",
                .obj(["length": .integer(3), "hashes": .obj(["sha256": .string(hex("c"))]), "custom": .obj(["k": .array([.integer(1), .null])])])))
        targets.append(.init("nolength", .obj(["hashes": .obj(["sha256": .string(hex("n"))])])))
        targets.append(.init("nohashes", .obj(["length": .integer(1)])))
        targets.append(.init("emptyhashes", .obj(["length": .integer(1), "hashes": .obj([:])])))
        targets.append(.init("negative", target(-4, ["sha256": hex("neg")])))
        targets.append(.init("zero", target(0, ["sha256": hex("z")])))
        targets.append(.init("number-hash", .obj(["length": .integer(1), "hashes": .obj(["sha256": .integer(5)])])))
        targets.append(.init("a-string", .string("not an object")))
        targets.append(.init("../escape", target(1, ["sha256": hex("e")])))
        let signed = JSONValue.obj([
            "_type": .string("targets"), "spec_version": .string("1.0.31"), "version": .integer(7), "expires": .string("2030-01-01T00:00:00Z"),
            "targets": .object(targets),
        ])
        let key = try PrivateKey.generate(.ed25519)
        var env = TUF1.Envelope(signed: signed)
        let tufKey = TUF1.Key(key.publicKey)
        try env.sign(with: key, key: tufKey, keyID: tufKey.defaultKeyID)
        return TUF1.Pretty.bytes(
            .obj(["signatures": .array(env.signatures.map { .obj(["keyid": .string($0.keyID), "sig": .string($0.hex)]) }), "signed": env.signed]),
            strings: strings) + [0x0A]
    }

    @Test func plainFilesReadAsTheStrictParserReadsThem() throws {
        let file = try Self.targetsFile()
        let read = try #require(try TUF1.readExactForm(file, name: "targets.json"), "an indented targets file is in plain form")
        guard case .verbatim(let v)? = read.signed["targets"] else {
            Issue.record("the targets object is not kept as bytes")
            return
        }
        #expect(v.isPlain)
        Self.expectAgreement(file, "indented")
        Self.expectAgreement(try Self.targetsFile(strings: .pythonASCII), "python ASCII")
        // Compact (canonical) and other whitespace are plain form too.
        let text = String(decoding: file, as: UTF8.self)
        let compact = Array(
            text.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: ": ", with: ":").replacingOccurrences(of: ", ", with: ",").utf8)
        #expect(try TUF1.readExactForm(compact, name: "f") != nil)
        Self.expectAgreement(compact, "compact")
        Self.expectAgreement(Array(text.replacingOccurrences(of: "\n", with: "\r\n\t ").utf8), "other whitespace")
        // Every file of the real repositories under Tests/Fixtures (go-tuf, python-tuf,
        // sigstore, tuf-on-ci): whatever is taken in one pass reads as the strict parser reads it.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
        var files = 0
        if let walk = FileManager.default.enumerator(atPath: root.path) {
            for case let path as String in walk where path.hasSuffix(".json") {
                let bytes = [UInt8](try Data(contentsOf: root.appendingPathComponent(path)))
                Self.expectAgreement(bytes, path)
                files += 1
            }
        }
        #expect(files > 50)
    }

    @Test func everythingOutsideThePlainFormIsLeftToTheStrictParser() throws {
        let text = String(decoding: try Self.targetsFile(count: 3), as: UTF8.self)
        func refused(_ changed: String, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(changed != text, "\(label): the change did not apply", sourceLocation: sourceLocation)
            if case .some(.some) = try? TUF1.readExactForm(Array(changed.utf8), name: "f") {
                Issue.record("\(label): taken in one pass", sourceLocation: sourceLocation)
            }
            Self.expectAgreement(Array(changed.utf8), label, sourceLocation: sourceLocation)
        }
        refused(text.replacingOccurrences(of: "pkg/t1.bin", with: "pkg/t1\\u0062.bin"), "an escape")
        refused(text.replacingOccurrences(of: "pkg/t1.bin", with: "pkg/t1\\\\.bin"), "an escaped backslash")
        refused(text.replacingOccurrences(of: "pkg/t1.bin", with: "pkg/t1é.bin"), "non-ASCII")
        refused(text.replacingOccurrences(of: "pkg/t1.bin", with: "pkg/t1<.bin"), "an HTML character")
        refused(text.replacingOccurrences(of: "pkg/t1.bin", with: "pkg/t1\u{7F}.bin"), "DEL")
        refused(text.replacingOccurrences(of: "\"version\": 7", with: "\"version\": 7.0"), "a float")
        refused(text.replacingOccurrences(of: "\"version\": 7", with: "\"version\": 7e0"), "an exponent")
        refused(text.replacingOccurrences(of: "\"version\": 7", with: "\"version\": 07"), "a leading zero")
        refused(text.replacingOccurrences(of: "\"version\": 7", with: "\"version\": -0"), "minus zero")
        refused(text.replacingOccurrences(of: "\"version\": 7", with: "\"version\": 1234567890123456789"), "19 digits")
        refused(text.replacingOccurrences(of: "\"_type\": \"targets\"", with: "\"_type\": \"targets\",\n  \"_type\": \"targets\""), "a duplicate key")
        refused(text.replacingOccurrences(of: "\"spec_version\"", with: "\"aaa_spec\""), "unsorted keys")
        refused(text.replacingOccurrences(of: "\"signed\": {", with: "\"signed\": {\"a\": 1,\n \"b\": 2,"), "unsorted after insertion")
        refused("\u{FEFF}" + text, "a byte-order mark")
        refused(text + "x", "trailing garbage")
        refused(String(text.dropLast(40)), "truncated")
        refused(text.replacingOccurrences(of: "\"signatures\"", with: "\"extra\": 1,\n \"signatures\""), "an extra top-level member")
        refused(
            text.replacingOccurrences(
                of: "\"spec_version\": \"1.0.31\"", with: "\"spec_version\": " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200)),
            "deep nesting")
        // A second signature by one key: the strict path refuses it with its own message.
        let sig = try #require(text.range(of: #"\{\s*"keyid": "[0-9a-f]+",\s*"sig": "[0-9a-f]+"\s*\}"#, options: .regularExpression))
        refused(text.replacingCharacters(in: sig, with: text[sig] + ", " + text[sig]), "a duplicate signature")
        // Random changes: whatever is still taken in one pass reads as the strict parser reads it.
        var rng = SystemRandomNumberGenerator()
        let bytes = Array(text.utf8)
        for round in 0..<400 {
            var b = bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: b[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: b.remove(at: at)
                default: b.insert(Array(" \n{}[],:\"0-\\a".utf8).randomElement(using: &rng)!, at: at)
                }
            }
            Self.expectAgreement(b, "random change \(round)")
        }
    }

    @Test func targetEntriesFromBytesAreTheTreesEntries() throws {
        let file = try Self.targetsFile()
        let fast = try #require(try TUF1.readExactForm(file, name: "f"))
        let slow = try Self.strict(file)
        let fastTargets = try #require(fast.signed["targets"])
        let slowTargets = try #require(slow.signed["targets"])
        let fromBytes = try #require(TUF1.targetEntries(fastTargets))
        let fromTree = try #require(TUF1.targetEntries(slowTargets))
        #expect(fromBytes.count == fromTree.count)
        for (a, b) in zip(fromBytes, fromTree) {
            #expect(a.name == b.name)
            #expect(a.length == b.length, "\(a.name)")
            #expect(a.hashes == b.hashes, "\(a.name)")
        }
        #expect(TUF1.targetEntries(.string("x")) == nil)
    }

    @Test func targetsMergedIntoBytesAreTheTreesMerge() throws {
        let file = try Self.targetsFile(count: 20)
        let fast = try #require(try TUF1.readExactForm(file, name: "f")).signed
        let slow = try Self.strict(file).signed
        let added: [TUF1.Transitions.TargetFile] = [
            .init(name: "pkg/t5.bin", length: 99, sha256: Self.hex("replaced")),  // replaces an entry
            .init(name: "0first", length: 1, sha256: Self.hex("1")),  // before every key
            .init(name: "zzz/last", length: 2, sha256: Self.hex("2")),  // after every key
            .init(name: "pkg/t10.bin0", length: 3, sha256: Self.hex("3")),  // between two keys
            .init(name: "dup", length: 4, sha256: Self.hex("4")),
            .init(name: "dup", length: 5, sha256: Self.hex("5")),  // the last one counts
        ]
        let merged = TUF1.Transitions.addingTargets(fast, added)
        guard case .verbatim(let v)? = merged["targets"], v.isPlain else {
            Issue.record("the merge did not stay in bytes")
            return
        }
        let tree = TUF1.Transitions.addingTargets(slow, added)
        #expect(merged.materialized == tree)
        #expect(TUF1.Canonical.bytes(merged) == TUF1.Canonical.bytes(tree))
        #expect(TUF1.Pretty.bytes(merged) == TUF1.Pretty.bytes(tree))
        #expect(TUF1.Pretty.bytes(merged, strings: .pythonASCII) == TUF1.Pretty.bytes(tree, strings: .pythonASCII))
        // A path that is not plain goes through the tree, with the same result.
        let odd = added + [.init(name: "é<&>", length: 6, sha256: Self.hex("6"))]
        let viaTree = TUF1.Transitions.addingTargets(fast, odd)
        if case .verbatim? = viaTree["targets"] { Issue.record("a path that is not plain was merged as bytes") }
        #expect(TUF1.Canonical.bytes(viaTree) == TUF1.Canonical.bytes(TUF1.Transitions.addingTargets(slow, odd)))
        // Into an empty targets object.
        let empty = Array(String(decoding: try Self.targetsFile(count: 0), as: UTF8.self).utf8)
        let e = try #require(try TUF1.readExactForm(empty, name: "f")).signed
        #expect(
            TUF1.Canonical.bytes(TUF1.Transitions.addingTargets(e, added))
                == TUF1.Canonical.bytes(TUF1.Transitions.addingTargets(try Self.strict(empty).signed, added)))
    }

    @Test func aLargeRepositoryReadInPlainFormStillCatchesEveryChange() throws {
        // 8,000 targets (a targets.json over the 1 MiB of the reading cache), verified from
        // memory: clean, then with a changed target file, a wrong length, and a changed file.
        let keys = try (0..<4).map { _ in try PrivateKey.generate(.ed25519) }
        let tuf = keys.map { TUF1.Key($0.publicKey) }
        let ids = tuf.map(\.defaultKeyID)
        let roles = ["root", "targets", "snapshot", "timestamp"]
        let rootSigned = JSONValue.obj([
            "_type": .string("root"), "spec_version": .string("1.0.31"), "version": .integer(1), "expires": .string("2030-01-01T00:00:00Z"),
            "consistent_snapshot": .bool(false),
            "keys": .object(zip(ids, tuf).map { .init($0, $1.json) }),
            "roles": .object(zip(roles, ids).map { .init($0, .obj(["keyids": .array([.string($1)]), "threshold": .integer(1)])) }),
        ])
        var repo = TUF1.InMemoryRepository(name: "big")
        var files: [TUF1.Transitions.TargetFile] = []
        for i in 0..<8000 {
            let bytes = Array("target \(i)".utf8)
            let info = TUF1.fileInfo(bytes)
            files.append(.init(name: "pkg/f\(i).txt", length: info.length, sha256: info.sha256))
            repo.targets["pkg/f\(i).txt"] = bytes
        }
        func signed(_ s: JSONValue, _ k: Int) throws -> TUF1.Envelope {
            var env = TUF1.Envelope(signed: s)
            try env.sign(with: keys[k], key: tuf[k], keyID: ids[k])
            return env
        }
        func publish(_ targets: TUF1.Envelope, into repo: inout TUF1.InMemoryRepository) throws {
            repo.put(try signed(rootSigned, 0), role: "root", consistent: false)
            repo.metadata["targets.json"] = targets.encoded
            let t = TUF1.fileInfo(targets.encoded)
            let snap = JSONValue.obj([
                "_type": .string("snapshot"), "spec_version": .string("1.0.31"), "version": .integer(1), "expires": .string("2030-01-01T00:00:00Z"),
                "meta": .obj(["targets.json": .obj(["version": .integer(1), "length": .integer(t.length), "hashes": .obj(["sha256": .string(t.sha256)])])]),
            ])
            let snapEnv = try signed(snap, 2)
            repo.metadata["snapshot.json"] = snapEnv.encoded
            let ts = JSONValue.obj([
                "_type": .string("timestamp"), "spec_version": .string("1.0.31"), "version": .integer(1), "expires": .string("2030-01-01T00:00:00Z"),
                "meta": .obj(["snapshot.json": .obj(["version": .integer(1)])]),
            ])
            repo.metadata["timestamp.json"] = try signed(ts, 3).encoded
        }
        let base = JSONValue.obj([
            "_type": .string("targets"), "spec_version": .string("1.0.31"), "version": .integer(1), "expires": .string("2030-01-01T00:00:00Z"),
            "targets": .obj([:]),
        ])
        let targetsEnv = try signed(TUF1.Transitions.addingTargets(base, files), 1)
        try publish(targetsEnv, into: &repo)
        let file = try #require(repo.metadata["targets.json"])
        #expect(file.count > 1 << 20)
        let reread = try TUF1.Envelope(parsing: file, name: "targets.json")
        guard case .verbatim? = reread.signed["targets"] else {
            Issue.record("the large targets file was not read in plain form")
            return
        }
        var clean = TUF1.Verifier(source: repo)
        let ok = clean.verify()
        #expect(ok.isValid, "\(ok.problems)")

        var changedTarget = repo
        changedTarget.targets["pkg/f1234.txt"] = Array("target 1235".utf8)
        var v1 = TUF1.Verifier(source: changedTarget)
        let r1 = v1.verify()
        #expect(r1.problems.count == 1 && r1.problems[0].contains("target pkg/f1234.txt (big/targets/pkg/f1234.txt): sha256 is"), "\(r1.problems)")

        var missing = repo
        missing.targets["pkg/f7.txt"] = nil
        var v2 = TUF1.Verifier(source: missing)
        let r2 = v2.verify()
        #expect(r2.isValid && r2.warnings.contains { $0.contains("target file pkg/f7.txt is not in big/targets") }, "\(r2.warnings)")

        // A copy of targets.json (an older name clients may fetch): the same bytes pass without
        // a second check, a changed copy is named.
        var withCopy = repo
        withCopy.metadata["1.targets.json"] = file
        var v4 = TUF1.Verifier(source: withCopy)
        #expect(v4.verify().isValid)
        var changedCopy = withCopy
        changedCopy.metadata["1.targets.json"] = Array(
            String(decoding: file, as: UTF8.self).replacingOccurrences(of: "\"length\": 11", with: "\"length\": 13").utf8)
        var v5 = TUF1.Verifier(source: changedCopy)
        let r5 = v5.verify()
        #expect(r5.problems.contains { $0.hasPrefix("1.targets.json:") && $0.contains("a copy clients may fetch") }, "\(r5.problems)")

        // One byte of the signed targets changed in the file: the signature no longer verifies.
        var tampered = repo
        var text = String(decoding: file, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"length\": 11", with: "\"length\": 12")
        tampered.metadata["targets.json"] = Array(text.utf8)
        var v3 = TUF1.Verifier(source: tampered)
        let r3 = v3.verify()
        #expect(r3.problems.contains { $0.contains("targets.json") && $0.contains("do not verify") }, "\(r3.problems)")
    }
}
