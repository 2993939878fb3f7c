import Foundation
import Formats
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// The key-status book per repository: a key is retired for a repository, not in general.
@Suite("Key-status book: per-repository status, migration, key remove")
struct KeyStatusBookTests {
    let dir = TemporaryDirectory("key-status")

    func vaultWithKeys(_ n: Int) throws -> (Vault, [KeyRecord]) {
        let vault = try Vault.create(at: dir.sub("vault"), profile: .interactive)
        var records: [KeyRecord] = []
        for _ in 0..<n {
            records.append(try vault.add(PrivateKey.generate(.ecdsa), role: "targets/releases", gun: nil, passphrase: Passphrase("delegation-pass")))
        }
        return (vault, records)
    }

    @Test func aKeyRetiredForOneRepositoryStaysCurrentWhileAnotherListsIt() throws {
        var book = KeyStatusBook()
        let shared = String(repeating: "a1", count: 32), other = String(repeating: "b2", count: 32)
        book.record(gun: "docker.io/acme/app", roles: ["root": [shared], "targets": [other]], time: "2026-12-01T10:00:00Z")
        book.record(gun: "docker.io/acme/web", roles: ["root": [shared]], time: "2026-12-01T10:05:00Z")
        #expect(book.state(of: shared) == "current")
        // app's root is rotated away from the shared key: retired for app, still web's root.
        let next = String(repeating: "c3", count: 32)
        book.record(gun: "docker.io/acme/app", roles: ["root": [next], "targets": [other]], time: "2026-12-01T11:00:00Z")
        #expect(book.repositories["docker.io/acme/app"]?.retired[shared] == "2026-12-01T11:00:00Z")
        #expect(book.uses(of: shared).map(\.gun) == ["docker.io/acme/web"])
        #expect(book.state(of: shared) == "current")
        #expect(book.retirements(of: shared).map(\.gun) == ["docker.io/acme/app"])
        // Once web drops it too, it is retired.
        book.record(gun: "docker.io/acme/web", roles: ["root": [next]], time: "2026-12-01T12:00:00Z")
        #expect(book.state(of: shared) == "retired")
        #expect(book.retired[shared]?.gun == "docker.io/acme/web", "the latest retirement")
        // A key back in a role is no longer retired there.
        book.record(gun: "docker.io/acme/web", roles: ["root": [shared]], time: "2026-12-01T13:00:00Z")
        #expect(book.repositories["docker.io/acme/web"]?.retired[shared] == nil)
        #expect(book.state(of: shared) == "current")
    }

    @Test func rootSignUpdatesOnlyTheRootRole() {
        var book = KeyStatusBook()
        let r = String(repeating: "d4", count: 32), t = String(repeating: "e5", count: 32)
        book.record(gun: "docker.io/acme/app", roles: ["root": [r], "targets": [t]], time: "2026-12-01T10:00:00Z")
        book.record(gun: "docker.io/acme/app", roles: ["root": []], time: "2026-12-01T11:00:00Z", only: ["root"])
        #expect(book.repositories["docker.io/acme/app"]?.roles == ["targets": [t]])
        #expect(book.state(of: r) == "retired" && book.state(of: t) == "current")
    }

    @Test func versionTwoRoundTripsAndVersionOneIsMigrated() throws {
        var book = KeyStatusBook()
        let k = String(repeating: "0f", count: 32)
        book.record(gun: "docker.io/acme/app", roles: ["root": [k], "targets/releases": [k]], time: "2026-12-01T10:00:00Z")
        book.rootCertificates[k] = ["docker.io/acme/app": String(repeating: "11", count: 32)]
        #expect(try KeyStatusBook(parsing: book.json.canonicalBytes, file: "key-status.json") == book)

        // A version 1 book: one retirement per key, root certificates per GUN, no roles.
        let rotated = String(repeating: "22", count: 32), root = String(repeating: "33", count: 32)
        let v1 = """
            {"card_reset":{},"format":"trustvault-key-status","retired":{"\(rotated)":{"gun":"docker.io/acme/app","time":"2026-11-20T09:00:00Z"}},\
            "root_certificates":{"\(root)":{"docker.io/acme/app":"\(String(repeating: "44", count: 32))","docker.io/acme/web":"\(String(repeating: "55", count: 32))"},\
            "\(rotated)":{"docker.io/acme/app":"\(String(repeating: "66", count: 32))","docker.io/acme/web":"\(String(repeating: "77", count: 32))"}},"version":1}
            """
        let migrated = try KeyStatusBook(parsing: Array(v1.utf8), file: "key-status.json")
        #expect(migrated.repositories["docker.io/acme/app"]?.retired == [rotated: "2026-11-20T09:00:00Z"])
        // Root keys with a certificate in a repository they were not retired from are its root keys.
        #expect(migrated.repositories["docker.io/acme/app"]?.roles["root"] == [root])
        #expect(migrated.repositories["docker.io/acme/web"]?.roles["root"] == [root, rotated].sorted())
        // Retired for app only: web still lists it, so it is current.
        #expect(migrated.state(of: rotated) == "current")
        #expect(migrated.repositories["docker.io/acme/app"]?.time == nil)
        // Written back as version 2.
        #expect(migrated.json["version"]?.intValue == 2)
        #expect(try KeyStatusBook(parsing: migrated.json.canonicalBytes, file: "key-status.json") == migrated)
    }

    @Test func damagedRolesAreRefusedByName() {
        let bad = """
            {"format":"trustvault-key-status","version":2,"repositories":{"docker.io/acme/app":{"roles":{"../x":["\(String(repeating: "ab", count: 32))"]},"retired":{}}}}
            """
        #expect { try KeyStatusBook(parsing: Array(bad.utf8), file: "VAULT/key-status.json") } throws: { error in
            (error as? TrustVaultError)?.message.contains("VAULT/key-status.json") == true
        }
        let v3 = #"{"format":"trustvault-key-status","version":3}"#
        #expect(throws: TrustVaultError.self) { try KeyStatusBook(parsing: Array(v3.utf8), file: "key-status.json") }
    }

    @Test func removalIsRefusedUntilEveryRepositoryIsNamed() throws {
        let (vault, records) = try vaultWithKeys(2)
        let key = records[0]
        try vault.updateKeyStatus { book in
            book.record(gun: "docker.io/acme/app", roles: ["targets/releases": [key.id]], time: "2026-12-01T10:00:00Z")
            book.record(gun: "docker.io/acme/web", roles: ["root": [key.id]], time: "2026-12-01T10:00:00Z")
        }
        #expect { _ = try vault.checkRemoval(of: key, named: ["docker.io/acme/app"]) } throws: { error in
            let e = error as? TrustVaultError
            return e?.code == .refused && e?.message.contains("docker.io/acme/web (root)") == true
                && e?.message.contains("signing root.json of docker.io/acme/web") == true
                && e?.message.contains("docker.io/acme/app") == false
                && e?.recovery?.contains("--repository docker.io/acme/web") == true
        }
        let uses = try vault.checkRemoval(of: key, named: ["docker.io/acme/app", "docker.io/acme/web"])
        #expect(uses.map(\.gun) == ["docker.io/acme/app", "docker.io/acme/web"])
        #expect(uses[0].impossible == "signing tags as targets/releases of docker.io/acme/app")
        // A key no repository lists needs no name.
        #expect(try vault.checkRemoval(of: records[1], named: []).isEmpty)
    }
}
