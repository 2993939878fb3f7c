import Foundation
import Formats
import Testing
import TestSupport
import TrustCore

@Suite("Trust directories")
struct TrustDirectoryTests {
    @Test func readsCurrentAndLegacyLayouts() throws {
        let f = try OpenSSLFixtures()
        let fm = FileManager.default
        let trust = f.path("trust")
        try fm.createDirectory(atPath: trust + "/private/root_keys", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: trust + "/private/tuf_keys/example.com/legacy", withIntermediateDirectories: true)
        let pass = Passphrase("dir pw")
        // Current layout: private/<id>.key with headers.
        let signer = try PrivateKey.generate(.ecdsa)
        try f.write(
            "trust/private/\(signer.publicKey.keyID).key",
            try NotaryKeyFile.text(for: signer, role: "alice", gun: nil, includePath: false, passphrase: pass))
        // Legacy layouts carry no role/gun headers: the path says them.
        let root = try PrivateKey.generate(.ecdsa)
        let rootBlock = try NotaryKeyFile.block(for: root, role: "x", gun: nil, path: nil, passphrase: pass)
        try f.write(
            "trust/private/root_keys/\(root.publicKey.keyID)_root.key",
            PEM.encode(PEMBlock(type: rootBlock.type, bytes: rootBlock.bytes)))
        let targets = try PrivateKey.generate(.ecdsa)
        let targetsBlock = try NotaryKeyFile.block(for: targets, role: "x", gun: nil, path: nil, passphrase: pass)
        try f.write(
            "trust/private/tuf_keys/example.com/legacy/\(targets.publicKey.keyID)_targets.key",
            PEM.encode(PEMBlock(type: targetsBlock.type, bytes: targetsBlock.bytes)))
        // Files that are not keys are ignored; metadata next to private/ too.
        try f.write("trust/private/README", "not a key")
        try fm.createDirectory(atPath: trust + "/tuf/example.com/app/metadata", withIntermediateDirectories: true)
        try f.write("trust/tuf/example.com/app/metadata/root.json", "{}")

        for given in [trust, trust + "/private"] {
            let report = KeyImportReader.read([given], passphrase: fixedPassphrase("dir pw"))
            #expect(report.refusals.isEmpty, "\(report.refusals)")
            let byID = Dictionary(uniqueKeysWithValues: report.entries.map { ($0.keyID, $0) })
            #expect(byID.count == 3)
            #expect(byID[signer.publicKey.keyID]?.role == "alice")
            #expect(byID[root.publicKey.keyID]?.role == "root")
            #expect(byID[root.publicKey.keyID]?.gun == nil)
            #expect(byID[targets.publicKey.keyID]?.role == "targets")
            #expect(byID[targets.publicKey.keyID]?.gun == "example.com/legacy")
        }
        // A docker config directory (holding trust/) works as well.
        try fm.createDirectory(atPath: f.path("dockercfg"), withIntermediateDirectories: true)
        try fm.moveItem(atPath: trust, toPath: f.path("dockercfg/trust"))
        #expect(KeyImportReader.read([f.path("dockercfg")], passphrase: fixedPassphrase("dir pw")).entries.count == 3)
    }

    @Test func misnamedFileIsNotedAndWrongPassphraseRefused() throws {
        let f = try OpenSSLFixtures()
        try FileManager.default.createDirectory(atPath: f.path("t/private"), withIntermediateDirectories: true)
        let key = try PrivateKey.generate(.ecdsa)
        let wrongID = String(repeating: "ab", count: 32)
        try f.write(
            "t/private/\(wrongID).key",
            try NotaryKeyFile.text(for: key, role: "root", gun: nil, includePath: false, passphrase: Passphrase("a")))
        let ok = KeyImportReader.read([f.path("t")], passphrase: fixedPassphrase("a"))
        #expect(ok.entries.first?.keyID == key.publicKey.keyID)
        #expect(ok.notes.contains { $0.contains(wrongID) && $0.contains(key.publicKey.keyID) })
        let bad = KeyImportReader.read([f.path("t")], passphrase: fixedPassphrase("b"))
        #expect(bad.entries.isEmpty)
        #expect(bad.refusals.first?.error.code == .wrongPassphrase)
        #expect(bad.refusals.first?.error.message.contains("\(wrongID).key block 1") == true)
    }

    @Test func emptyOrUnknownDirectoriesAreRefused() throws {
        let f = try OpenSSLFixtures()
        try FileManager.default.createDirectory(atPath: f.path("empty/private"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: f.path("other"), withIntermediateDirectories: true)
        #expect(KeyImportReader.read([f.path("empty")], passphrase: noPassphrase).refusals.first?.error.code == .notFound)
        #expect(KeyImportReader.read([f.path("other")], passphrase: noPassphrase).refusals.first?.error.code == .notFound)
        #expect(KeyImportReader.read([f.path("missing")], passphrase: noPassphrase).refusals.first?.error.code == .notFound)
    }
}

/// A CA and a client bundle made by OpenSSL, as a UCP/registry would issue them.
struct BundleFixture {
    let f: OpenSSLFixtures

    init(days: Int = 365) throws {
        f = try OpenSSLFixtures()
        try f.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=Test CA",
        ])
        try f.shell("mkdir bundle")
        try f.ecKey("bundle/key.pem")
        try f.run(["req", "-new", "-key", "bundle/key.pem", "-subj", "/CN=ci-bot/O=Example", "-out", "client.csr"])
        try f.run([
            "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-days", "\(days)", "-out", "bundle/cert.pem",
        ])
        try f.run(["pkey", "-in", "bundle/key.pem", "-pubout", "-out", "bundle/cert.pub"])
        try f.shell("cp ca.pem bundle/ca.pem && printf 'export DOCKER_HOST=tcp://ucp:443\\n' > bundle/env.sh")
        try f.shell("cd bundle && zip -q ../bundle.zip ca.pem cert.pem key.pem cert.pub env.sh")
    }

    var keyID: String { get throws { try f.keyID(ofPrivateKey: "bundle/key.pem") } }
}

@Suite("Client bundles")
struct ClientBundleTests {
    @Test func directoryAndZipImportAsOneKeyWithItsCertificate() throws {
        let b = try BundleFixture()
        let id = try b.keyID
        let certDER = try PEM.parse(try b.f.read("bundle/cert.pem"), source: "c")[0].bytes
        for path in [b.f.path("bundle"), b.f.path("bundle.zip")] {
            #expect(KeyImportReader.kind(of: path) == .clientBundle)
            let report = KeyImportReader.read([path], defaults: KeyImportDefaults(role: "ci-bot"), passphrase: noPassphrase)
            #expect(report.refusals.isEmpty, "\(report.refusals)")
            let entry = try #require(report.entries.first)
            #expect(report.entries.count == 1)
            #expect(entry.keyID == id)
            #expect(entry.role == "ci-bot")
            #expect(entry.certificate?.derBytes == certDER)
            #expect(entry.certificate?.commonName == "ci-bot")
            #expect(entry.certificate?.pemString == String(decoding: try b.f.read("bundle/cert.pem"), as: UTF8.self))
            #expect(report.notes.isEmpty, "no expiry warning for a one-year certificate")
        }
    }

    @Test func mismatchedKeyIsRefused() throws {
        let b = try BundleFixture()
        try b.f.ecKey("bundle/key.pem.other")
        try b.f.shell("mv bundle/key.pem.other bundle/key.pem && cd bundle && zip -q ../mixed.zip cert.pem key.pem")
        for path in [b.f.path("bundle"), b.f.path("mixed.zip")] {
            let report = KeyImportReader.read([path], passphrase: noPassphrase)
            #expect(report.entries.isEmpty)
            let error = try #require(report.refusals.first?.error)
            #expect(error.code == .verificationFailed)
            #expect(error.message.contains("does not belong to"))
            #expect(error.recovery?.contains("fresh client bundle") == true)
        }
    }

    @Test func expiryIsCheckedAgainstTheClock() throws {
        let b = try BundleFixture(days: 10)
        let now = Date()
        let soon = KeyImportReader.read([b.f.path("bundle.zip")], now: now, passphrase: noPassphrase)
        #expect(soon.entries.count == 1)
        #expect(soon.notes.contains { $0.contains("expires on") && $0.contains("renew") })
        let later = KeyImportReader.read([b.f.path("bundle.zip")], now: now.addingTimeInterval(20 * 86400), passphrase: noPassphrase)
        #expect(later.entries.isEmpty)
        #expect(later.refusals.first?.error.code == .verificationFailed)
        #expect(later.refusals.first?.error.message.contains("expired") == true)
        let earlier = KeyImportReader.read([b.f.path("bundle")], now: now.addingTimeInterval(-2 * 86400), passphrase: noPassphrase)
        #expect(earlier.refusals.first?.error.message.contains("not valid before") == true)
    }

    @Test func damagedZipAndIncompleteBundlesAreRefused() throws {
        let b = try BundleFixture()
        let zip = try b.f.read("bundle.zip")
        try b.f.write("cut.zip", Array(zip.prefix(zip.count / 2)))
        let cut = KeyImportReader.read([b.f.path("cut.zip")], passphrase: noPassphrase)
        #expect(cut.entries.isEmpty)
        #expect(cut.refusals.first?.error.code == .corruptData)
        try b.f.shell("cd bundle && zip -q ../nokey.zip cert.pem ca.pem")
        #expect(KeyImportReader.read([b.f.path("nokey.zip")], passphrase: noPassphrase).refusals.first?.error.code == .notFound)
        try b.f.write("bundle/key.pem", "garbage\n")
        let garbage = KeyImportReader.read([b.f.path("bundle")], passphrase: noPassphrase)
        #expect(garbage.refusals.first?.error.code == .corruptData)
        #expect(garbage.refusals.first?.error.message.contains("key.pem") == true)
    }
}
