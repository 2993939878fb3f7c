import Foundation
import Testing
import TestSupport

/// `trustvault backup create|verify|restore` end to end with the built binary.
///
/// Serialized: the passphrase case runs Argon2id's sensitive profile (1 GiB) several times.
@Suite("trustvault CLI: backup and restore", .serialized)
struct BackupCLITests {
    /// A vault with a root, a targets and a delegation key, and a scratch directory.
    struct Setup {
        let source: CLIVault
        let ids: [String]
        var dir: TemporaryDirectory { source.dir }

        init() throws {
            source = try CLIVault()
            ids = [
                try source.generate("root"), try source.generate("targets", gun: "docker.io/acme/app"),
                try source.generate("targets/releases", algorithm: "ed25519"),
            ].sorted()
        }

        func run(_ args: [String], vault: String? = nil, env: [String: String] = [:]) throws -> ProcessResult {
            try TrustVaultCLI.run(["--vault", vault ?? source.path] + args, environment: CLIVault.env.merging(env) { $1 })
        }

        func keys(_ vault: String) throws -> [[String: Any]] {
            let r = try run(["key", "list", "--json"], vault: vault)
            guard r.status == 0, let data = r.stdout.data(using: .utf8),
                let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
            else { throw TestFailure("key list failed: \(r)") }
            return array
        }

        func keyIDs(_ vault: String) throws -> [String] {
            try keys(vault).compactMap { $0["id"] as? String }.sorted()
        }

        /// Nothing named like the target (or a restore staging directory) exists next to it.
        func noVault(at target: String) -> Bool {
            let parent = (target as NSString).deletingLastPathComponent
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            return !FileManager.default.fileExists(atPath: target) && !names.contains { $0.hasPrefix(".tmp-restore-") }
        }

        func shareBackup(_ spec: String, name: String = "vault.tvbackup") throws -> (file: String, shares: [String]) {
            let file = dir.sub(name)
            let shareDir = dir.sub("shares-" + name)
            let r = try run(["backup", "create", "--out", file, "--shares", spec, "--share-dir", shareDir])
            guard r.status == 0 else { throw TestFailure("backup create failed: \(r)") }
            #expect(r.lastLine == file)
            let shares = try FileManager.default.contentsOfDirectory(atPath: shareDir).sorted().map { shareDir + "/" + $0 }
            return (file, shares)
        }
    }

    @Test func passphraseBackupVerifyRestoreAndTheRestoredKeysSign() throws {
        let s = try Setup()
        let openssl = try requireTool("openssl", package: "openssl")
        let file = s.dir.sub("vault.tvbackup")
        let pass = ["TRUSTVAULT_BACKUP_PASSPHRASE": "correct horse battery staple"]
        let created = try s.run(["backup", "create", "--out", file], env: pass)
        #expect(created.status == 0, "\(created)")
        #expect(created.stdout.contains("Backup ID: "))
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        // Wrong passphrase: exit 77, one error line naming the file; verify writes nothing.
        let before = treeFingerprint(s.dir.path)
        let wrong = try s.run(["backup", "verify", file], env: ["TRUSTVAULT_BACKUP_PASSPHRASE": "wrong"])
        expectFailure(wrong, status: 77, mentioning: file)
        let verified = try s.run(["backup", "verify", file], env: pass)
        #expect(verified.status == 0, "\(verified)")
        for id in s.ids { #expect(verified.stdout.contains(id)) }
        #expect(treeFingerprint(s.dir.path) == before)

        // Wrong passphrase on restore leaves no vault.
        let target = s.dir.sub("restored")
        expectFailure(
            try s.run(["backup", "restore", file], vault: target, env: ["TRUSTVAULT_BACKUP_PASSPHRASE": "nope"]),
            status: 77, mentioning: file)
        #expect(s.noVault(at: target))

        let restored = try s.run(["backup", "restore", file], vault: target, env: pass)
        #expect(restored.status == 0, "\(restored)")
        #expect(try s.keyIDs(target) == s.ids)

        // The restored targets key signs, and the restored public key verifies it (openssl).
        let targetsID = try #require(try s.keys(target).first { $0["role"] as? String == "targets" }?["id"] as? String)
        let pem = s.dir.sub("targets.pem"), pub = s.dir.sub("targets.pub")
        let exported = try s.run(["key", "export", targetsID, "--out", pem, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes"], vault: target)
        #expect(exported.status == 0, "\(exported)")
        #expect(try s.run(["key", "export", targetsID, "--out", pub, "--format", "public"], vault: target).status == 0)
        let message = s.dir.sub("message")
        try Data("restored keys sign".utf8).write(to: URL(fileURLWithPath: message))
        let sig = s.dir.sub("message.sig")
        let signed = try Run.program(openssl, ["dgst", "-sha256", "-sign", pem, "-out", sig, message])
        #expect(signed.status == 0, "\(signed)")
        let checked = try Run.program(openssl, ["dgst", "-sha256", "-verify", pub, "-signature", sig, message])
        #expect(checked.status == 0 && checked.stdout.contains("Verified OK"), "\(checked)")
        // And the original vault's public key is the same key (identical export).
        let originalPub = s.dir.sub("original.pub")
        #expect(try s.run(["key", "export", targetsID, "--out", originalPub, "--format", "public"]).status == 0)
        #expect(FileManager.default.contents(atPath: originalPub) == FileManager.default.contents(atPath: pub))
    }

    @Test func sharesEndToEnd() throws {
        let s = try Setup()
        let (file, shares) = try s.shareBackup("2/3")
        #expect(shares.count == 3)
        let share1 = try String(contentsOfFile: shares[0], encoding: .utf8)
        #expect(share1.contains("Share 1 of 3: any 2 of the 3 shares"))
        #expect(share1.contains("\u{2588}"))  // the QR code

        // Too few shares: how many more are needed.
        let target = s.dir.sub("restored")
        expectFailure(try s.run(["backup", "verify", file, "--share", shares[1]]), status: 65, mentioning: "1 more needed")
        expectFailure(try s.run(["backup", "restore", file, "--share", shares[1]], vault: target), status: 65, mentioning: "1 more needed")
        expectFailure(try s.run(["backup", "verify", file]), status: 65, mentioning: "2 are needed")
        #expect(s.noVault(at: target))

        // A damaged share is named with its line.
        var lines = share1.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.hasPrefix(" 2: ") })
        var chars = Array(lines[index])
        chars[6] = chars[6] == "a" ? "b" : "a"
        lines[index] = String(chars)
        let damaged = s.dir.sub("damaged-share.txt")
        try lines.joined(separator: "\n").write(toFile: damaged, atomically: true, encoding: .utf8)
        expectFailure(
            try s.run(["backup", "restore", file, "--share", damaged, "--share", shares[2]], vault: target),
            status: 65, mentioning: "share line 2")
        #expect(s.noVault(at: target))

        // A share from another backup is named.
        let (_, otherShares) = try s.shareBackup("2/3", name: "other.tvbackup")
        let foreign = try s.run(["backup", "restore", file, "--share", shares[0], "--share", otherShares[1]], vault: target)
        expectFailure(foreign, status: 64, mentioning: otherShares[1])
        #expect(foreign.stderr.contains("belongs to backup"))
        #expect(s.noVault(at: target))

        // Any 2 of 3 restore; the scanned-QR form of a share works as well.
        let verified = try s.run(["backup", "verify", file, "--share", shares[2], "--share", shares[0]])
        #expect(verified.status == 0, "\(verified)")
        let restored = try s.run(["backup", "restore", file, "--share", shares[1], "--share", shares[2]], vault: target)
        #expect(restored.status == 0, "\(restored)")
        #expect(try s.keyIDs(target) == s.ids)
        #expect(treeFingerprint(target + "/keys") == treeFingerprint(s.source.path + "/keys"))

        // Restoring again merges: nothing added, nothing overwritten.
        let before = treeFingerprint(target + "/keys")
        let again = try s.run(["backup", "restore", file, "--share", shares[0], "--share", shares[1]], vault: target)
        #expect(again.status == 0 && again.stdout.contains("0 keys added, 3 already present"), "\(again)")
        #expect(treeFingerprint(target + "/keys") == before)
    }

    /// The terminal QR code on a share sheet decodes (zbarimg, a real QR reader) to the share,
    /// and the decoded text, saved to a file, opens the backup together with another share.
    @Test func shareQRCodeScansAndRestores() throws {
        let zbarimg = try requireTool("zbarimg", package: "zbar-tools")
        let s = try Setup()
        let (file, shares) = try s.shareBackup("2/3")
        let sheet = try String(contentsOfFile: shares[1], encoding: .utf8)
        let lines = sheet.components(separatedBy: "\n")
        let marker = try #require(lines.firstIndex { $0.contains("can be passed to --share as well") })
        let block = lines[(marker + 2)...].filter { !$0.isEmpty }
        // Half blocks back to modules: each text line holds two module rows.
        var grid: [[Bool]] = []
        for line in block {
            grid.append(line.map { $0 == "\u{2588}" || $0 == "\u{2580}" })
            grid.append(line.map { $0 == "\u{2588}" || $0 == "\u{2584}" })
        }
        let width = try #require(grid.map(\.count).max())
        let scale = 6
        var pbm = "P1\n\(width * scale) \(grid.count * scale)\n"
        for row in grid {
            let padded = row + Array(repeating: false, count: width - row.count)
            let line = padded.flatMap { Array(repeating: $0 ? "1" : "0", count: scale) }.joined(separator: " ")
            for _ in 0..<scale { pbm += line + "\n" }
        }
        let image = s.dir.sub("share2.pbm")
        try pbm.write(toFile: image, atomically: true, encoding: .ascii)
        let scanned = try Run.program(zbarimg, ["--raw", "-q", image])
        #expect(scanned.status == 0, "\(scanned)")
        let text = scanned.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.hasPrefix("TVSHARE1:"), "\(scanned)")
        let scannedFile = s.dir.sub("scanned-share-2.txt")
        try (text + "\n").write(toFile: scannedFile, atomically: true, encoding: .utf8)
        let verified = try s.run(["backup", "verify", file, "--share", scannedFile, "--share", shares[0]])
        #expect(verified.status == 0, "\(verified)")
    }

    @Test func tamperedAndTruncatedBackupsAreRefused() throws {
        let s = try Setup()
        let (file, shares) = try s.shareBackup("2/2")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let target = s.dir.sub("restored")
        // Sampled positions: magic, version, header, digest, stream header, chunk length, ciphertext, final tag.
        let positions =
            [0, 5, 8, 9, 12, 20, 60, 150, 250, bytes.count / 3, bytes.count / 2, bytes.count - 20, bytes.count - 1]
            + (0..<8).map { _ in Int.random(in: 0..<bytes.count) }
        for position in positions {
            var bad = bytes
            bad[position] ^= 0x04
            let badFile = s.dir.sub("flipped-\(position).tvbackup")
            try bad.write(to: URL(fileURLWithPath: badFile))
            let r = try s.run(["backup", "restore", badFile, "--share", shares[0], "--share", shares[1]], vault: target)
            #expect(r.status != 0, "flip at \(position) was accepted")
            #expect(r.errorLines.count == 1, "flip at \(position): \(r.stderr)")
            #expect(r.stderr.contains(badFile), "flip at \(position): \(r.stderr)")
            #expect(s.noVault(at: target))
        }
        for cut in [0, 10, 100, bytes.count - 1] {
            let cutFile = s.dir.sub("cut-\(cut).tvbackup")
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: cutFile))
            expectFailure(try s.run(["backup", "verify", cutFile, "--share", shares[0], "--share", shares[1]]), status: 65, mentioning: cutFile)
        }
        let truncated = try s.run(
            ["backup", "restore", s.dir.sub("cut-\(bytes.count - 1).tvbackup"), "--share", shares[0], "--share", shares[1]], vault: target)
        expectFailure(truncated, status: 65, mentioning: "truncated")
        #expect(s.noVault(at: target))
    }

    @Test func badArgumentsAreRefused() throws {
        let s = try Setup()
        let out = s.dir.sub("x.tvbackup")
        expectFailure(try s.run(["backup", "create", "--out", out, "--shares", "1/3", "--share-dir", s.dir.sub("s")]), status: 64, mentioning: "threshold")
        expectFailure(try s.run(["backup", "create", "--out", out, "--shares", "4/3", "--share-dir", s.dir.sub("s")]), status: 64)
        expectFailure(try s.run(["backup", "create", "--out", out, "--shares", "2/3"]), status: 64, mentioning: "--share-dir")
        #expect(!FileManager.default.fileExists(atPath: out))
        let (file, _) = try s.shareBackup("2/3")
        expectFailure(try s.run(["backup", "create", "--out", file, "--shares", "2/3", "--share-dir", s.dir.sub("s2")]), status: 73, mentioning: file)
        expectFailure(try s.run(["backup", "verify", s.dir.sub("missing.tvbackup")]), status: 66)
        expectFailure(try s.run(["backup", "verify", s.source.path + "/vault.json"]), status: 65, mentioning: "not a trustvault backup")
    }

    /// `kill -9` at random moments during a restore never leaves a half-restored vault: the
    /// target is either absent or complete, and a later restore succeeds.
    @Test func killDuringRestoreLeavesNoHalfVault() throws {
        let s = try Setup()
        // More keys make the restore's write phase longer.
        for i in 0..<12 { _ = try s.source.generate("signer\(i)", algorithm: "ed25519") }
        let (file, shares) = try s.shareBackup("2/2")
        let reference = s.dir.sub("reference")
        #expect(try s.run(["backup", "restore", file, "--share", shares[0], "--share", shares[1]], vault: reference).status == 0)
        let referenceKeys = treeFingerprint(reference + "/keys")
        let started = Date()
        #expect(try s.run(["backup", "restore", file, "--share", shares[0], "--share", shares[1]], vault: s.dir.sub("timed")).status == 0)
        let restoreSeconds = Date().timeIntervalSince(started)
        let window = UInt32(min(max(restoreSeconds * 1.3, 0.02), 2) * 1_000_000)

        var complete = 0, absent = 0, staged = 0
        for round in 0..<25 {
            let target = s.dir.sub("kill-\(round)/vault")
            let process = try Run.start(
                TrustVaultCLI.binary,
                ["--vault", target, "backup", "restore", file, "--share", shares[0], "--share", shares[1]])
            usleep(UInt32.random(in: 0...window))
            process.kill9()
            if FileManager.default.fileExists(atPath: target) {
                // Present means complete: every key, byte for byte, and the vault opens.
                #expect(treeFingerprint(target + "/keys") == referenceKeys, "round \(round): partial vault")
                #expect(try s.keyIDs(target).count == s.ids.count + 12)
                complete += 1
            } else {
                absent += 1
                let parent = s.dir.sub("kill-\(round)")
                if ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).contains(where: { $0.hasPrefix(".tmp-restore-") }) {
                    staged += 1  // killed while the staging directory was being written
                }
                // The next restore cleans up any staging directory and succeeds.
                let r = try s.run(["backup", "restore", file, "--share", shares[0], "--share", shares[1]], vault: target)
                #expect(r.status == 0, "round \(round): \(r)")
                #expect(treeFingerprint(target + "/keys") == referenceKeys)
                #expect(s.noVault(at: s.dir.sub("kill-\(round)/never")))
            }
        }
        #expect(complete + absent == 25)
        print("kill -9 during restore: \(complete) complete, \(absent) absent (\(staged) of them mid-write), restore takes ~\(Int(restoreSeconds * 1000)) ms")
    }
}
