import Testing
import Foundation
import TrustCore
import Formats
import Crypto
@testable import Metadata

/// A TUF 1.0 repository built in memory: four ed25519 keys, one target, everything signed.
/// `TUF1.Verifier` reads it through `TUF1.InMemoryRepository`, the way it reads a directory
/// through `RepositoryStore`: no file is read or written.
struct MemoryTUFRepository {
    static let now = TUFTime(seconds: 1_800_000_000)
    let keys: [String: PrivateKey]
    var root: TUF1.Envelope
    var targets: TUF1.Envelope
    var snapshot: TUF1.Envelope
    var timestamp: TUF1.Envelope
    var targetFiles: [String: [UInt8]] = ["docs/a.txt": Array("hello".utf8)]

    init(rootThreshold: Int = 1, extraRootKeys: Int = 0) throws {
        var keys: [String: PrivateKey] = [:]
        for role in ["root", "targets", "snapshot", "timestamp"] { keys[role] = try PrivateKey.generate(.ed25519) }
        for i in 0..<extraRootKeys { keys["root\(i + 2)"] = try PrivateKey.generate(.ed25519) }
        self.keys = keys
        func id(_ name: String) -> String { TUF1.Key(keys[name]!.publicKey).defaultKeyID }
        var tufKeys: [String: TUF1.Key] = [:]
        for k in keys.values { tufKeys[TUF1.Key(k.publicKey).defaultKeyID] = TUF1.Key(k.publicKey) }
        let rootIDs = [id("root")] + (0..<extraRootKeys).map { id("root\($0 + 2)") }
        root = TUF1.Envelope(
            signed: TUF1.Root.json(
                version: 1, expires: TUF1.expiry(after: 365 * 86_400, from: Self.now), keys: tufKeys,
                roles: [
                    "root": TUF1.RoleKeys(keyIDs: rootIDs, threshold: rootThreshold),
                    "targets": TUF1.RoleKeys(keyIDs: [id("targets")], threshold: 1),
                    "snapshot": TUF1.RoleKeys(keyIDs: [id("snapshot")], threshold: 1),
                    "timestamp": TUF1.RoleKeys(keyIDs: [id("timestamp")], threshold: 1),
                ],
                consistentSnapshot: false))
        targets = TUF1.Envelope(signed: Self.common("targets", version: 1, days: 90))
        snapshot = TUF1.Envelope(signed: Self.common("snapshot", version: 1, days: 30))
        timestamp = TUF1.Envelope(signed: Self.common("timestamp", version: 1, days: 7))
        try resign()
    }

    static func common(_ type: String, version: Int64, days: Int64) -> JSONValue {
        .obj([
            "_type": .string(type), "spec_version": .string(TUF1.specVersion), "version": .integer(version),
            "expires": .string(TUF1.expiry(after: days * 86_400, from: now)),
        ])
    }

    func sign(_ env: inout TUF1.Envelope, by name: String) throws {
        let k = keys[name]!
        try env.sign(with: k, key: TUF1.Key(k.publicKey), keyID: TUF1.Key(k.publicKey).defaultKeyID)
    }

    /// Lists the target files in targets.json, then signs targets → snapshot → timestamp, each
    /// naming the one below by version, length and hash.
    mutating func resign(rootSigners: [String] = ["root"]) throws {
        root.signatures = []
        for s in rootSigners { try sign(&root, by: s) }
        var listed = JSONValue.object([])
        for (path, bytes) in targetFiles {
            let info = TUF1.fileInfo(bytes)
            listed[path] = .obj(["length": .integer(info.length), "hashes": .obj(["sha256": .string(info.sha256)])])
        }
        targets.signed["targets"] = listed
        targets.signatures = []
        try sign(&targets, by: "targets")
        let t = TUF1.fileInfo(targets.encoded)
        snapshot.signed["meta"] = .obj(["targets.json": .obj(["version": .integer(targets.version ?? 0), "length": .integer(t.length)])])
        snapshot.signatures = []
        try sign(&snapshot, by: "snapshot")
        let s = TUF1.fileInfo(snapshot.encoded)
        timestamp.signed["meta"] = .obj([
            "snapshot.json": .obj(["version": .integer(snapshot.version ?? 0), "length": .integer(s.length), "hashes": .obj(["sha256": .string(s.sha256)])])
        ])
        timestamp.signatures = []
        try sign(&timestamp, by: "timestamp")
    }

    var source: TUF1.InMemoryRepository {
        var repo = TUF1.InMemoryRepository(targets: targetFiles, name: "repo")
        repo.put(root, role: "root", consistent: false)
        for (role, env) in [("targets", targets), ("snapshot", snapshot), ("timestamp", timestamp)] {
            repo.put(env, role: role, consistent: false)
        }
        return repo
    }

    func verify(_ source: TUF1.InMemoryRepository? = nil, at now: TUFTime = now) -> TUF1.Verifier.Report {
        var v = TUF1.Verifier(source: source ?? self.source, now: now)
        return v.verify()
    }
}

/// The shared verification core on TUF 1.0, without python-tuf, a server or a file.
@Suite struct TUFMemoryVerificationTests {
    @Test func aRepositoryInMemoryVerifies() throws {
        let repo = try MemoryTUFRepository()
        let report = repo.verify()
        #expect(report.isValid, "\(report.problems)")
        #expect(report.passed.contains { $0.contains("1.root.json: signed by its root keys") })
        #expect(report.passed.contains { $0.hasPrefix("targets.json version 1") })
    }

    @Test func aChangedTargetFileIsNamedByItsHash() throws {
        let repo = try MemoryTUFRepository()
        var source = repo.source
        source.targets["docs/a.txt"] = Array("HELLO".utf8)
        let report = repo.verify(source)
        #expect(report.problems.contains { $0.hasPrefix("target docs/a.txt (repo/targets/docs/a.txt): sha256 is") }, "\(report.problems)")
        source.targets["docs/a.txt"] = nil
        #expect(repo.verify(source).warnings.contains { $0.contains("target file docs/a.txt is not in repo/targets") })
    }

    @Test func aChangedMetadataFileFailsItsThresholdAndItsHash() throws {
        let repo = try MemoryTUFRepository()
        var source = repo.source
        var snap = repo.snapshot
        snap.signed["version"] = .integer(2)  // changed after signing
        source.metadata["snapshot.json"] = snap.encoded
        let report = repo.verify(source)
        #expect(report.problems.contains { $0.contains("snapshot.json: 0 valid signature(s) from the snapshot role's keys, 1 required") }, "\(report.problems)")
        #expect(report.problems.contains { $0.contains("snapshot.json: version 2, timestamp.json says 1") })
        #expect(report.problems.contains { $0.hasPrefix("snapshot.json: sha256 is") }, "timestamp.json's hash of snapshot.json")
    }

    @Test func aRootThresholdCountsDistinctValidKeys() throws {
        var repo = try MemoryTUFRepository(rootThreshold: 2, extraRootKeys: 1)
        #expect(repo.verify().problems.contains { $0.contains("1.root.json: 1 valid signature(s) from its own root keys, 2 required") })
        // The same key twice is refused outright (python-tuf refuses such a file).
        var doubled = repo.root
        doubled.signatures.append(doubled.signatures[0])
        var source = repo.source
        source.metadata["1.root.json"] = doubled.encoded
        #expect(repo.verify(source).problems.contains { $0.contains("two signatures by key") })
        try repo.resign(rootSigners: ["root", "root2"])
        #expect(repo.verify().isValid, "\(repo.verify().problems)")
    }

    @Test func theRootChainNeedsTheOldAndTheNewThreshold() throws {
        var repo = try MemoryTUFRepository()
        var source = repo.source
        // 2.root.json: the root key replaced by root2's… which it does not hold here: a new key.
        let newKey = try PrivateKey.generate(.ed25519)
        var root2 = repo.root
        root2.signed["version"] = .integer(2)
        let newID = TUF1.Key(newKey.publicKey).defaultKeyID
        root2.signed["keys"]?[newID] = TUF1.Key(newKey.publicKey).json
        root2.signed["roles"]?["root"] = .obj(["keyids": .array([.string(newID)]), "threshold": .integer(1)])
        root2.signatures = []
        try root2.sign(with: newKey, key: TUF1.Key(newKey.publicKey), keyID: newID)
        source.metadata["2.root.json"] = root2.encoded
        let broken = repo.verify(source)
        #expect(broken.problems.contains { $0.contains("2.root.json: 0 valid signature(s) from the keys of root version 1") }, "\(broken.problems)")
        #expect(broken.problems.contains { $0.contains("a client stops at root version 1") })
        try repo.sign(&root2, by: "root")
        source.metadata["2.root.json"] = root2.encoded
        let chained = repo.verify(source)
        #expect(chained.passed.contains("2.root.json: signed by root version 1's keys and by its own"), "\(chained.problems)")
        // The trusted root can be pinned (`--root`): the chain starts there.
        var pinned = TUF1.Verifier(source: source, now: MemoryTUFRepository.now)
        #expect(pinned.verify(trustedRoot: repo.root.encoded).passed.contains("trusted root: version 1 (--root)"))
    }

    @Test func expiryAndVersionsAreChecked() throws {
        let repo = try MemoryTUFRepository()
        let late = MemoryTUFRepository.now.adding(days: 8)
        #expect(repo.verify(at: late).problems.contains { $0.hasPrefix("timestamp.json version 1 expired on") })
        var source = repo.source
        source.metadata["1.root.json"] = nil
        source.metadata["3.root.json"] = repo.root.encoded
        #expect(repo.verify(source).problems.contains("repo/metadata/3.root.json: its version is 1, the file name says 3"))
        var big = repo.root
        big.signed["version"] = .integer(NumberRules.maximumVersion + 1)
        #expect(throws: TrustVaultError.self) { try TUF1.Root(big.signed, name: "big") }
        big.signed["version"] = .integer(NumberRules.maximumVersion)
        #expect(try TUF1.Root(big.signed, name: "big").version == NumberRules.maximumVersion)
    }
}

/// What the two dialects share and where they differ, on the one envelope.
@Suite struct DialectTests {
    /// A signature counts once per key, only for a key the role lists, only when it verifies.
    func thresholdCountingIsShared<D: MetadataDialect>(
        _ dialect: D.Type, envelope: MetadataEnvelope<D>, keys: [String: D.Key], ids: [String]
    ) {
        let two = RoleKeys(keyIDs: ids, threshold: 2)
        let count = envelope.thresholdCount(two, keys: keys)
        #expect(count.valid == Set(ids.prefix(1)))
        #expect(count.missing == Array(ids.dropFirst()))
        #expect(!count.isMet)
        #expect(envelope.thresholdCount(RoleKeys(keyIDs: ids, threshold: 1), keys: keys).isMet)
        #expect(
            !envelope.thresholdCount(RoleKeys(keyIDs: Array(ids.dropFirst()), threshold: 1), keys: keys).isMet,
            "a key the role does not list does not count")
        var changed = envelope
        changed.signed["version"] = .integer(99)
        #expect(changed.signatureChecks(ids, keys: keys).map(\.check) == [.mismatch])
    }

    @Test func thresholdsOnBothDialects() throws {
        let a = try PrivateKey.generate(.ecdsa), b = try PrivateKey.generate(.ed25519)
        let signed = JSONValue.obj(["_type": .string("x"), "version": .integer(1)])

        let na = TUFKey(a.publicKey), nb = TUFKey(b.publicKey)
        var notary = SignedMetadata(signed: signed)
        try notary.sign(with: a, as: na.id)
        try notary.sign(with: a, as: na.id)  // replaces, never doubles
        #expect(notary.signatures.count == 1)
        thresholdCountingIsShared(NotaryV1.self, envelope: notary, keys: [na.id: na, nb.id: nb], ids: [na.id, nb.id])

        let ta = TUF1.Key(a.publicKey), tb = TUF1.Key(b.publicKey)
        var tuf = TUF1.Envelope(signed: signed)
        try tuf.sign(with: a, key: ta, keyID: ta.defaultKeyID)
        thresholdCountingIsShared(TUF1.self, envelope: tuf, keys: [ta.defaultKeyID: ta, tb.defaultKeyID: tb], ids: [ta.defaultKeyID, tb.defaultKeyID])
    }

    /// Notary recomputes key IDs: a key listed under another ID never counts. TUF takes the ID
    /// the metadata gives (a key ID need not be the key's hash).
    @Test func keyIDRules() throws {
        let a = try PrivateKey.generate(.ed25519)
        let signed = JSONValue.obj(["_type": .string("x")])
        var notary = SignedMetadata(signed: signed)
        try notary.sign(with: a, as: "listed-elsewhere")
        let checks = notary.signatureChecks(nil, keys: ["listed-elsewhere": TUFKey(a.publicKey)])
        guard case .unreadableKey = checks.first?.check else { Issue.record("\(checks)"); return }
        var tuf = TUF1.Envelope(signed: signed)
        try tuf.sign(with: a, key: TUF1.Key(a.publicKey), keyID: "any-name")
        #expect(tuf.validKeyIDs(["any-name"], keys: ["any-name": TUF1.Key(a.publicKey)]) == ["any-name"])
    }

    /// File bytes and signature encodings: Go's envelope with base64 for Notary, python-tuf's
    /// indented form with hex for TUF; both parse back to the same envelope.
    @Test func envelopeBytesPerDialect() throws {
        let a = try PrivateKey.generate(.ed25519)
        let signed = JSONValue.obj(["_type": .string("targets"), "a<b": .integer(1)])
        var notary = SignedMetadata(signed: signed)
        try notary.sign(with: a, as: TUFKey(a.publicKey).id)
        let n = String(decoding: notary.encoded(), as: UTF8.self)
        #expect(n.hasPrefix(#"{"signed":{"_type":"targets","a\u003cb":1},"signatures":[{"keyid":""#) && n.contains(#""method":"eddsa","sig":""#))
        #expect(try SignedMetadata(parsing: notary.encoded(), name: "n").signatures == notary.signatures)

        var tuf = TUF1.Envelope(signed: signed)
        try tuf.sign(with: a, key: TUF1.Key(a.publicKey), keyID: "k")
        let t = String(decoding: tuf.encoded, as: UTF8.self)
        #expect(t.hasPrefix("{\n \"signatures\": [\n  {\n   \"keyid\": \"k\",\n   \"sig\": \"") && t.hasSuffix("}\n"))
        #expect(try TUF1.Envelope(parsing: tuf.encoded, name: "t").signatures == tuf.signatures)
        #expect(String(decoding: tuf.canonicalSigned, as: UTF8.self) == #"{"_type":"targets","a<b":1}"#)
        #expect(tuf.canonicalSigned == notary.canonicalSigned, "no character here that the two canonical forms write differently")

        // A second signature by one key: notary reads the file, python-tuf (and so TUF1) does not.
        var twice = notary
        twice.signatures.append(twice.signatures[0])
        #expect(try SignedMetadata(parsing: twice.encoded(), name: "n").signatures.count == 2)
        #expect(throws: TrustVaultError.self) {
            try TUF1.Envelope(
                parsing: Array(t.replacingOccurrences(of: "\"signatures\": [", with: "\"signatures\": [{\"keyid\": \"k\", \"sig\": \"00\"},").utf8), name: "t")
        }
    }

    /// One number rule per dialect: the same version cap, each dialect's threshold range.
    @Test func numberRules() throws {
        #expect(NotaryV1.maximumVersion == TUF1.maximumVersion)
        #expect(NotaryV1.maximumVersion == maximumMetadataVersion)
        // Notary: 1 … number of keys.
        #expect(throws: TrustVaultError.self) { try NotaryV1.checkThreshold(3, keyCount: 2, context: "r") }
        try NotaryV1.checkThreshold(2, keyCount: 2, context: "r")
        try NotaryV1.checkThreshold(1, keyCount: 0, context: "r")
        // TUF: at least 1; above the key count is read (and cannot be met).
        try TUF1.checkThreshold(3, keyCount: 2, context: "r")
        #expect(throws: TrustVaultError.self) { try TUF1.checkThreshold(0, keyCount: 2, context: "r") }
        #expect(throws: TrustVaultError.self) { try TUF1.checkThreshold(1 << 21, keyCount: 2, context: "r") }
        // keyids null: an empty role in notary's files, an error in TUF's.
        let nullIDs = JSONValue.obj(["keyids": .null, "threshold": .integer(1)])
        #expect(try RoleKeys(json: nullIDs, context: "r", dialect: NotaryV1.self).keyIDs.isEmpty)
        #expect(throws: TrustVaultError.self) { try RoleKeys(json: nullIDs, context: "r", dialect: TUF1.self) }
    }

    @Test func typeCasingAndPathMatching() {
        #expect(NotaryV1.typeName("targets") == "Targets" && TUF1.typeName("targets") == "targets")
        #expect(NotaryV1.pathMatches(pattern: "team-a/", path: "team-a/sub/tool.bin"))
        #expect(!TUF1.pathMatches(pattern: "team-a/", path: "team-a/sub/tool.bin"))
        #expect(TUF1.pathMatches(pattern: "team-a/*/*.bin", path: "team-a/sub/tool.bin"))
        #expect(!NotaryV1.pathMatches(pattern: "team-a/*", path: "team-a/tool.bin"), "notary's paths are prefixes, not patterns")
    }

    /// One expiry rule and one set of digests for both verifiers.
    @Test func expiryAndDigestsAreShared() {
        let now = MemoryTUFRepository.now
        #expect(ExpiryState.of(now, now: now, window: nil) == .expired, "expiring at this instant is expired")
        #expect(ExpiryState.of(now.adding(days: 6), now: now, window: 7 * 86_400) == .expiresSoon)
        #expect(ExpiryState.of(now.adding(days: 6), now: now, window: nil) == .current)
        #expect(ExpiryState.of(now.adding(days: 8), now: now, window: 7 * 86_400) == .current)
        let bytes = Array("abc".utf8)
        #expect(FileDigest.compute("sha256", of: bytes).map(Hex.encode) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(FileDigest.compute("md5", of: bytes) == nil)
        // Notary's hashes (base64 in the file) and TUF's (hex) check the same digest.
        let meta = FileMeta(of: bytes)
        #expect(meta.matches(bytes) && !meta.matches(Array("abd".utf8)))
        let info = TUF1.fileInfo(bytes)
        #expect(TUF1.checkFileInfo(.obj(["length": .integer(info.length), "hashes": .obj(["sha256": .string(info.sha256)])]), bytes: bytes) == nil)
    }

    /// The two `commonFields` return the same tuple, in the same order.
    @Test func commonFieldsOrder() throws {
        let tuf = try TUF1.commonFields(MemoryTUFRepository.common("targets", version: 7, days: 1), type: "targets", name: "t")
        #expect(tuf.version == 7 && tuf.expires == MemoryTUFRepository.now.adding(days: 1))
        let notarySigned = JSONValue.obj(["_type": .string("Targets"), "version": .integer(7), "expires": .string("2030-01-01T00:00:00Z")])
        let notary = try commonFields(notarySigned, type: "Targets", name: "t")
        let expected = try TUFTime(rfc3339: "2030-01-01T00:00:00Z")
        #expect(notary.version == 7 && notary.expires == expected)
    }
}

/// The Metadata module reads and writes no files: its sources name no file API. (Storage is in
/// MetadataStore; a verifier gets its bytes through `TUF1.RepositorySource`.)
@Suite struct MetadataIsPureTests {
    @Test func noFileAPIInTheMetadataModule() throws {
        let here = URL(fileURLWithPath: #filePath)
        let sources = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Metadata")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
        let forbidden = [
            "AtomicFile", "InputFile", "FileManager", "FileHandle", "fopen", "contentsOfFile", "Data(contentsOf:", "String(contentsOf:", "open(", "opendir",
            "stat(", "write(to",
        ]
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for word in forbidden where text.contains(word) {
                Issue.record("Sources/Metadata/\(file) uses \(word): file I/O belongs in Sources/MetadataStore")
            }
        }
    }
}
