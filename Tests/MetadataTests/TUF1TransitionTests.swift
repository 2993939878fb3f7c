import Testing
import TrustCore
import Formats
@testable import Metadata

/// The pure TUF 1.0 transitions (`TUF1.Transitions`): no files, no python-tuf. What the
/// ceremonies write with them is checked against python-tuf in TrustVaultCLITests/TUFTests.
@Suite struct TUF1TransitionTests {
    /// A version-1 root: one key per role, the root role signed by `rootKeys`.
    static func root(rootKeys: [TUF1.Key], threshold: Int = 1, others: [String: TUF1.Key]) -> JSONValue {
        var keys: [String: TUF1.Key] = [:]
        var roles: [String: TUF1.RoleKeys] = ["root": TUF1.RoleKeys(keyIDs: rootKeys.map(\.defaultKeyID), threshold: threshold)]
        for k in rootKeys { keys[k.defaultKeyID] = k }
        for (role, k) in others {
            keys[k.defaultKeyID] = k
            roles[role] = TUF1.RoleKeys(keyIDs: [k.defaultKeyID], threshold: 1)
        }
        return TUF1.Root.json(version: 1, expires: "2030-01-01T00:00:00Z", keys: keys, roles: roles, consistentSnapshot: false)
    }

    static func key() throws -> TUF1.Key { TUF1.Key(try PrivateKey.generate(.ed25519).publicKey) }

    @Test func versionBumpsStopAtTheCapAndDropSignatures() throws {
        #expect(TUF1.Transitions.nextVersion(after: 1) == 2)
        #expect(TUF1.Transitions.nextVersion(after: TUF1.maximumVersion - 1) == TUF1.maximumVersion)
        #expect(TUF1.Transitions.nextVersion(after: TUF1.maximumVersion) == TUF1.maximumVersion)
        #expect(TUF1.Transitions.nextVersion(after: -5) == TUF1.maximumVersion)
        let signed = JSONValue.obj([
            "_type": .string("targets"), "version": .integer(7), "expires": .string("2020-01-01T00:00:00Z"),
            "targets": .object([]), "x-custom": .string("kept"),
        ])
        let env = TUF1.Envelope(signed: signed, signatures: [TUF1.Signature(keyID: "ab", hex: "cd")])
        let next = TUF1.Transitions.bumped(env, expires: "2031-02-03T04:05:06Z")
        #expect(next.version == 8 && next.signatures.isEmpty)
        #expect(next.signed["expires"]?.stringValue == "2031-02-03T04:05:06Z")
        #expect(next.signed["x-custom"]?.stringValue == "kept", "unknown fields survive a bump")
        #expect(env.version == 7 && env.signatures.count == 1, "the input is not changed")
    }

    @Test func rotatingARoleReplacesItsKeysAndDropsUnusedOnes() throws {
        let r1 = try Self.key(), t1 = try Self.key(), s1 = try Self.key(), ts1 = try Self.key()
        var signed = Self.root(rootKeys: [r1], others: ["targets": t1, "snapshot": s1, "timestamp": ts1])
        signed["x-extension"] = .string("kept")
        let t2 = try Self.key(), t3 = try Self.key()
        let rotated = try TUF1.Transitions.replacingRoleKeys(
            signed, role: "targets", keys: [(t2.defaultKeyID, t2), (t3.defaultKeyID, t3)], threshold: 2)
        let root = try TUF1.Root(rotated, name: "root.json")
        #expect(root.role("targets") == TUF1.RoleKeys(keyIDs: [t2.defaultKeyID, t3.defaultKeyID], threshold: 2))
        #expect(root.keys[t1.defaultKeyID] == nil, "the old targets key is used by no role and leaves keys")
        #expect(root.keys[t2.defaultKeyID] == t2 && root.keys[r1.defaultKeyID] == r1)
        #expect(root.role("root") == TUF1.RoleKeys(keyIDs: [r1.defaultKeyID], threshold: 1))
        #expect(rotated["x-extension"]?.stringValue == "kept")
        // A key several roles share stays while one of them uses it.
        let shared = Self.root(rootKeys: [r1], others: ["targets": r1, "snapshot": s1, "timestamp": ts1])
        let moved = try TUF1.Transitions.replacingRoleKeys(shared, role: "targets", keys: [(t2.defaultKeyID, t2)], threshold: 1)
        #expect(try TUF1.Root(moved, name: "r").keys[r1.defaultKeyID] == r1)
        // Thresholds that could never be met, and roles that are not top-level, are refused.
        #expect(throws: TrustVaultError.self) {
            try TUF1.Transitions.replacingRoleKeys(signed, role: "targets", keys: [(t2.defaultKeyID, t2)], threshold: 2)
        }
        #expect(throws: TrustVaultError.self) {
            try TUF1.Transitions.replacingRoleKeys(signed, role: "targets", keys: [(t2.defaultKeyID, t2)], threshold: 0)
        }
        #expect(throws: TrustVaultError.self) {
            try TUF1.Transitions.replacingRoleKeys(signed, role: "releases", keys: [(t2.defaultKeyID, t2)], threshold: 1)
        }
    }

    @Test func addingAndRevokingKeysAndThresholds() throws {
        let r1 = try Self.key(), r2 = try Self.key(), t = try Self.key(), s = try Self.key(), ts = try Self.key()
        let signed = Self.root(rootKeys: [r1], others: ["targets": t, "snapshot": s, "timestamp": ts])
        let added = try TUF1.Transitions.addingKey(signed, role: "root", id: r2.defaultKeyID, key: r2)
        #expect(try TUF1.Root(added, name: "r").role("root") == TUF1.RoleKeys(keyIDs: [r1.defaultKeyID, r2.defaultKeyID], threshold: 1))
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.addingKey(added, role: "root", id: r2.defaultKeyID, key: r2) }
        let two = try TUF1.Transitions.settingThreshold(added, role: "root", threshold: 2)
        #expect(try TUF1.Root(two, name: "r").role("root").threshold == 2)
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.settingThreshold(added, role: "root", threshold: 3) }
        // Revoking below the threshold is refused; at threshold 1 the key goes, and leaves `keys`.
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.revokingKey(two, role: "root", id: r1.defaultKeyID) }
        let revoked = try TUF1.Transitions.revokingKey(added, role: "root", id: r1.defaultKeyID)
        let root = try TUF1.Root(revoked, name: "r")
        #expect(root.role("root").keyIDs == [r2.defaultKeyID] && root.keys[r1.defaultKeyID] == nil)
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.revokingKey(revoked, role: "root", id: r1.defaultKeyID) }
    }

    @Test func renewingSetsVersionAndExpiryOnly() throws {
        let r = try Self.key()
        let signed = Self.root(rootKeys: [r], others: ["targets": r, "snapshot": r, "timestamp": r])
        let renewed = TUF1.Transitions.renewed(signed, version: 2, expires: "2032-01-01T00:00:00Z")
        var expected = signed
        expected["version"] = .integer(2)
        expected["expires"] = .string("2032-01-01T00:00:00Z")
        #expect(renewed == expected)
        #expect(TUF1.Canonical.bytes(renewed) != TUF1.Canonical.bytes(signed))
    }

    @Test func delegationsAreAddedReplacedAndRemoved() throws {
        let a = try Self.key(), b = try Self.key(), c = try Self.key()
        let targets = JSONValue.obj([
            "_type": .string("targets"), "version": .integer(1), "expires": .string("2030-01-01T00:00:00Z"), "targets": .object([]),
        ])
        let teamA = TUF1.Delegation(name: "team-a", role: TUF1.RoleKeys(keyIDs: [a.defaultKeyID], threshold: 1), paths: ["a/*"], terminating: false)
        let teamB = TUF1.Delegation(
            name: "team-b", role: TUF1.RoleKeys(keyIDs: [b.defaultKeyID, c.defaultKeyID], threshold: 2), paths: ["b/*"], terminating: true)
        var s = try TUF1.Transitions.delegating(targets, to: teamA, keys: [(a.defaultKeyID, a)])
        s = try TUF1.Transitions.delegating(s, to: teamB, keys: [(b.defaultKeyID, b), (c.defaultKeyID, c)])
        var (keys, roles) = try TUF1.delegations(s, name: "targets.json")
        #expect(roles.map(\.name) == ["team-a", "team-b"] && keys.count == 3)
        #expect(roles[1].terminating && roles[1].role.threshold == 2)
        // Delegating again to a name replaces that role in place.
        let wider = TUF1.Delegation(name: "team-a", role: teamA.role, paths: ["a/*", "docs/*"], terminating: false)
        s = try TUF1.Transitions.delegating(s, to: wider, keys: [(a.defaultKeyID, a)])
        (keys, roles) = try TUF1.delegations(s, name: "targets.json")
        #expect(roles.map(\.name) == ["team-a", "team-b"] && roles[0].paths == ["a/*", "docs/*"])
        // A delegation whose threshold cannot be met is refused.
        let impossible = TUF1.Delegation(name: "x", role: TUF1.RoleKeys(keyIDs: [a.defaultKeyID], threshold: 2), paths: ["x/*"], terminating: false)
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.delegating(targets, to: impossible, keys: [(a.defaultKeyID, a)]) }
        // Removing one role drops its keys; removing the last drops `delegations`.
        s = try TUF1.Transitions.undelegating(s, role: "team-b")
        (keys, roles) = try TUF1.delegations(s, name: "targets.json")
        #expect(roles.map(\.name) == ["team-a"] && Set(keys.keys) == [a.defaultKeyID])
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.undelegating(s, role: "team-b") }
        s = try TUF1.Transitions.undelegating(s, role: "team-a")
        #expect(s["delegations"] == nil)
        #expect(s == targets)
    }

    @Test func targetsAreAddedAndRemoved() throws {
        let signed = JSONValue.obj([
            "_type": .string("targets"), "version": .integer(3), "expires": .string("2030-01-01T00:00:00Z"), "targets": .object([]),
        ])
        let info = TUF1.fileInfo(Array("hello\n".utf8))
        let file = TUF1.Transitions.TargetFile(name: "app/hello.txt", length: info.length, sha256: info.sha256)
        let added = TUF1.Transitions.addingTargets(signed, [file])
        let entry = try #require(added["targets"]?["app/hello.txt"])
        #expect(entry["length"]?.intValue == 6)
        #expect(TUF1.checkFileInfo(entry, bytes: Array("hello\n".utf8)) == nil)
        #expect(TUF1.checkFileInfo(entry, bytes: Array("hellO\n".utf8)) != nil)
        #expect(added["version"]?.intValue == 3, "the version is the ceremony's to bump")
        let removed = try TUF1.Transitions.removingTargets(added, ["app/hello.txt"])
        #expect(removed == signed)
        #expect(throws: TrustVaultError.self) { try TUF1.Transitions.removingTargets(signed, ["app/hello.txt"], role: "team-a") }
    }

    @Test func metaVersionsAreSetAndRemoved() {
        let snapshot = JSONValue.obj([
            "_type": .string("snapshot"), "version": .integer(1),
            "meta": .obj(["targets.json": .obj(["version": .integer(1)]), "team-a.json": .obj(["version": .integer(4)])]),
        ])
        let next = TUF1.Transitions.settingMeta(snapshot, [("targets.json", 2), ("team-b.json", 1), ("team-a.json", nil)])
        #expect(next["meta"]?["targets.json"]?["version"]?.intValue == 2)
        #expect(next["meta"]?["team-b.json"]?["version"]?.intValue == 1)
        #expect(next["meta"]?["team-a.json"] == nil)
        #expect(next["version"]?.intValue == 1)
    }
}
