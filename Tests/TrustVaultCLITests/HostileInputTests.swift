import Foundation
import Testing
import TestSupport

/// Runs the real binary under `/usr/bin/time`, so each hostile input is answered within a bound
/// of time and memory: returns the result, the wall time and the peak RSS in MiB.
func bounded(
    _ vault: CLIVault, _ args: [String], env: [String: String] = CLIVault.env
) throws -> (result: ProcessResult, seconds: Double, rssMiB: Int) {
    let rssFile = vault.dir.sub("rss-\(UUID().uuidString.prefix(8))")
    let start = Date()
    let result = try Run.program(
        "/usr/bin/time", ["-f", "%M", "-o", rssFile, TrustVaultCLI.binary, "--vault", vault.path] + args,
        environment: env, timeout: 60)
    let seconds = Date().timeIntervalSince(start)
    let text = (try? String(contentsOfFile: rssFile, encoding: .utf8)) ?? ""
    let kib = text.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.last ?? -1
    return (result, seconds, kib / 1024)
}

/// The contract for one hostile input: the status, one `error:` line naming `file` (escaped
/// user text, no raw control bytes), a vault unchanged, within seconds and bounded memory.
func expectRefused(
    _ run: (result: ProcessResult, seconds: Double, rssMiB: Int), status: Int32, naming file: String,
    mentioning needle: String? = nil, vault: CLIVault, before: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectFailure(run.result, status: status, mentioning: needle, vault: vault, before: before, sourceLocation: sourceLocation)
    #expect(run.result.stderr.contains(file), "stderr should name \(file): \(run.result.stderr)", sourceLocation: sourceLocation)
    // Generous for a loaded 2-core machine; a hang or an unbounded read takes minutes.
    #expect(run.seconds < 10, "took \(run.seconds) s", sourceLocation: sourceLocation)
    #expect(run.rssMiB > 0 && run.rssMiB < 300, "peak RSS \(run.rssMiB) MiB", sourceLocation: sourceLocation)
    #expect(
        !run.result.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }, "raw control characters in stderr",
        sourceLocation: sourceLocation)
}

@Suite("Hostile input: the input gate (devices, FIFOs, symlinks, size limits)")
struct InputGateCLITests {
    @Test func devicesFIFOsAndSymlinksToThemAreRefusedEverywhere() throws {
        let v = try CLIVault()
        let dir = v.dir
        let gun = "example.com/acme/gate"
        let repoDir = TemporaryDirectory("gate-repo")
        let (root, repo) = try CeremonyOfflineErrorTests.repository(v, repoDir, gun: gun)
        let fifo = dir.sub("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let zeroLink = dir.sub("zero-link.pem")
        try FileManager.default.createSymbolicLink(atPath: zeroLink, withDestinationPath: "/dev/zero")
        let fifoLink = dir.sub("fifo-link.json")
        try FileManager.default.createSymbolicLink(atPath: fifoLink, withDestinationPath: fifo)
        let before = v.fingerprint()

        // key import: a device, a symlink to it, a FIFO with no writer.
        for path in ["/dev/zero", zeroLink, fifo, fifoLink] {
            expectRefused(try bounded(v, ["key", "import", path]), status: 66, naming: path, vault: v, before: before)
        }
        // A trust directory whose private/ key is /dev/zero; a bundle whose key.pem is a FIFO.
        let trust = dir.sub("trust")
        try FileManager.default.createDirectory(atPath: trust + "/private", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: trust + "/private/abc.key", withDestinationPath: "/dev/zero")
        expectRefused(try bounded(v, ["key", "import", trust]), status: 64, naming: trust + "/private/abc.key", vault: v, before: before)
        let bundle = dir.sub("bundle")
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try "x".write(toFile: bundle + "/cert.pem", atomically: true, encoding: .utf8)
        #expect(mkfifo(bundle + "/key.pem", 0o600) == 0)
        expectRefused(try bounded(v, ["key", "import", bundle]), status: 66, naming: bundle, vault: v, before: before)

        // Ceremony inputs: --timestamp-key, --root, root.json, root sign FILE, --cert.
        let out = dir.sub("out")
        expectRefused(
            try bounded(v, ["repo", "init", "example.com/acme/gate2", "--root-key", root, "--timestamp-key", fifo, "--out", out], env: Online.env),
            status: 66, naming: fifo, vault: v, before: before)
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun, "--root", "/dev/zero"]), status: 66, naming: "/dev/zero", vault: v, before: before)
        expectRefused(try bounded(v, ["root", "sign", zeroLink, "--key", root, "--out", out]), status: 66, naming: zeroLink, vault: v, before: before)
        expectRefused(
            try bounded(v, ["delegation", "add", gun, "targets/ci", "--cert", fifo, "--all-paths", "--current", repo, "--out", out], env: Online.env),
            status: 66, naming: fifo, vault: v, before: before)
        let metadata = repo + "/tuf/" + gun + "/metadata"
        try FileManager.default.removeItem(atPath: metadata + "/targets.json")
        // A symlink inside the directory to a FIFO inside it: the gate refuses the FIFO.
        #expect(mkfifo(metadata + "/pipe", 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: metadata + "/targets.json", withDestinationPath: "pipe")
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun]), status: 66, naming: metadata + "/targets.json", vault: v, before: before)
        // backup verify with a FIFO as the backup file and as a share file.
        expectRefused(try bounded(v, ["backup", "verify", fifo]), status: 66, naming: fifo, vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func sizeLimitsHoldWhileReadingAndDirectoryWalksStayInside() throws {
        let v = try CLIVault()
        let gun = "example.com/acme/walk"
        let work = TemporaryDirectory("gate-walk")
        let (_, repo) = try CeremonyOfflineErrorTests.repository(v, work, gun: gun)
        let before = v.fingerprint()
        // A sparse 200 MiB root.json: refused after 100 MiB + 1 byte, not read whole.
        let big = work.sub("big.json")
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 200 << 20) == 0)
        expectRefused(
            try bounded(v, ["verify", repo, "--gun", gun, "--root", big]), status: 65, naming: big, mentioning: "too large", vault: v, before: before)
        // A key file over 4 MiB.
        let bigKey = work.sub("big.pem")
        #expect(FileManager.default.createFile(atPath: bigKey, contents: Data(count: 5 << 20)))
        expectRefused(try bounded(v, ["key", "import", bigKey]), status: 65, naming: bigKey, vault: v, before: before)

        // targets/ holding two symlinks to "." (once an exponential walk), and one leading out.
        let targets = repo + "/tuf/" + gun + "/metadata/targets"
        try FileManager.default.createDirectory(atPath: targets, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: targets + "/a", withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: targets + "/b", withDestinationPath: ".")
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun]), status: 64, naming: targets + "/a", vault: v, before: before)
        try FileManager.default.removeItem(atPath: targets + "/a")
        try FileManager.default.removeItem(atPath: targets + "/b")
        try FileManager.default.createSymbolicLink(atPath: targets + "/x.json", withDestinationPath: "/etc/hostname")
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun]), status: 64, naming: targets + "/x.json", mentioning: "out of", vault: v, before: before)
        // targets/ itself a symlink out of the metadata directory.
        try FileManager.default.removeItem(atPath: targets)
        try FileManager.default.createSymbolicLink(atPath: targets, withDestinationPath: "/usr")
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun]), status: 64, naming: targets, mentioning: "out of", vault: v, before: before)

        // root.json itself a symlink out of the metadata directory.
        try FileManager.default.removeItem(atPath: targets)
        let rootJSON = repo + "/tuf/" + gun + "/metadata/root.json"
        try FileManager.default.moveItem(atPath: rootJSON, toPath: work.sub("moved-root.json"))
        try FileManager.default.createSymbolicLink(atPath: rootJSON, withDestinationPath: work.sub("moved-root.json"))
        expectRefused(try bounded(v, ["verify", repo, "--gun", gun]), status: 64, naming: rootJSON, mentioning: "out of", vault: v, before: before)
        // A client bundle whose cert.pem links out of the bundle.
        let bundle = work.sub("bundle")
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        try "k".write(toFile: bundle + "/key.pem", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: bundle + "/cert.pem", withDestinationPath: "/etc/hostname")
        expectRefused(try bounded(v, ["key", "import", bundle]), status: 64, naming: bundle + "/cert.pem", mentioning: "out of", vault: v, before: before)

        // A trust directory whose private/ links to a directory outside and to itself.
        let trust = work.sub("trust")
        try FileManager.default.createDirectory(atPath: trust + "/private/tuf_keys", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: trust + "/private/tuf_keys/loop", withDestinationPath: "..")
        expectRefused(try bounded(v, ["key", "import", trust]), status: 64, naming: trust + "/private/tuf_keys/loop", vault: v, before: before)
    }
}

/// Rewrites part of a file's text (tampering with JSON by hand, as an attacker would).
func tamper(_ path: String, _ old: String, _ new: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains(old), "\(path) should contain \(old)", sourceLocation: sourceLocation)
    try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o600)  // as the vault's own files
}

func findBytes(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    return (0...(hay.count - needle.count)).first { Array(hay[$0..<($0 + needle.count)]) == needle }
}

@Suite("Hostile input: cost caps, numbers, strict formats, clear errors")
struct HostileFormatCLITests {
    static let openssl = "/usr/bin/openssl"

    /// An encrypted PKCS#8 P-256 key whose iteration count is patched (from 65536, `02 03 01 00 00`).
    func pbkdf2Key(_ dir: TemporaryDirectory, name: String, iterations: [UInt8]) throws -> String {
        let plain = dir.sub(name + ".plain"), der = dir.sub(name + ".der")
        #expect(try Run.program(Self.openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", plain]).status == 0)
        let r = try Run.program(
            Self.openssl,
            [
                "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-iter", "65536", "-in", plain, "-outform", "DER",
                "-out", der, "-passout", "pass:import-pw",
            ])
        #expect(r.status == 0, "\(r)")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: der)))
        let at = try #require(findBytes(bytes, [0x02, 0x03, 0x01, 0x00, 0x00]))
        bytes.replaceSubrange(at..<(at + 5), with: iterations)
        let pem =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + Data(bytes).base64EncodedString(options: .lineLength64Characters)
            + "\n-----END ENCRYPTED PRIVATE KEY-----\n"
        let path = dir.sub(name + ".pem")
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func costParametersFromFilesAreCappedBeforeAnyKDF() throws {
        let v = try CLIVault()
        let dir = TemporaryDirectory("costs")
        let env = CLIVault.env.merging(["TRUSTVAULT_IMPORT_PASSPHRASE": "import-pw", "TRUSTVAULT_EXPORT_PASSPHRASE": "export-pw"]) { $1 }
        // PBKDF2 with 2^23-1 iterations (OpenSSL would spend seconds; 10^9 once took 11 minutes),
        // and with 0 iterations: "unsupported parameters", not "wrong passphrase".
        let huge = try pbkdf2Key(dir, name: "huge", iterations: [0x02, 0x03, 0x7F, 0xFF, 0xFF])
        let zero = try pbkdf2Key(dir, name: "zero", iterations: [0x02, 0x03, 0x00, 0x00, 0x00])
        let fine = try pbkdf2Key(dir, name: "fine", iterations: [0x02, 0x03, 0x01, 0x00, 0x00])
        var before = v.fingerprint()
        for path in [huge, zero] {
            let run = try bounded(v, ["key", "import", path, "--role", "targets/ci"], env: env)
            expectRefused(run, status: 65, naming: path, mentioning: "unsupported parameters", vault: v, before: before)
        }
        // Nine blocks at the per-block bound (10^6 iterations each) add up to more than one
        // import may spend: refused at once, before any of them is derived.
        let atBound = try pbkdf2Key(dir, name: "bound", iterations: [0x02, 0x03, 0x0F, 0x42, 0x40])
        let many = dir.sub("many.pem")
        try String(repeating: try String(contentsOfFile: atBound, encoding: .utf8), count: 9).write(toFile: many, atomically: true, encoding: .utf8)
        expectRefused(
            try bounded(v, ["key", "import", many, "--role", "targets/ci"], env: env), status: 65, naming: many,
            mentioning: "unsupported parameters", vault: v, before: before)
        #expect(try v.run(["key", "import", fine, "--role", "targets/ci"], env: env).status == 0)

        // Argon2id parameters in a key record, vault.json and a backup header: only trustvault's
        // profiles, refused before any passphrase is used (no 4 GiB, no "wrong passphrase").
        let id = try v.generate("targets/releases")
        let record = v.path + "/keys/\(id).json"
        try tamper(record, #""memlimit":67108864,"opslimit":2"#, #""memlimit":4294967296,"opslimit":64"#)
        before = v.fingerprint()
        expectRefused(
            try bounded(v, ["key", "export", id, "--out", dir.sub("x.key")], env: env), status: 65, naming: record,
            mentioning: "not made by trustvault", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("x.key")))

        let w = try CLIVault()
        try tamper(w.path + "/vault.json", #""profile":"interactive""#, #""profile":"turbo""#)
        let wBefore = w.fingerprint()
        expectRefused(
            try bounded(w, ["key", "generate", "--role", "root"]), status: 65, naming: w.path + "/vault.json",
            mentioning: "not made by trustvault", vault: w, before: wBefore)

        let b = try CLIVault()
        _ = try b.generate("root")
        let backup = b.dir.sub("v.tvbackup")
        let benv = ["TRUSTVAULT_BACKUP_PASSPHRASE": "backup-passphrase"]
        #expect(try b.run(["backup", "create", "--out", backup], env: benv).status == 0)
        // Raise the header's cost to 9 passes and recompute its (unkeyed) digest, as an attacker can.
        let py = """
            import hashlib, sys
            p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
            L = int.from_bytes(b[10:14], 'big'); h = bytes(b[14:14+L])
            assert b'"opslimit":4' in h
            h = h.replace(b'"opslimit":4', b'"opslimit":9')
            b[14:14+L] = h
            b[14+L:14+L+32] = hashlib.blake2b(bytes(b[:14+L]), digest_size=32).digest()
            open(p, 'wb').write(b)
            """
        #expect(try Run.program("/usr/bin/env", ["python3", "-c", py, backup]).status == 0)
        let bBefore = b.fingerprint()
        expectRefused(
            try bounded(b, ["backup", "verify", backup], env: benv), status: 65, naming: backup,
            mentioning: "not made by trustvault", vault: b, before: bBefore)
    }

    @Test func numbersAreRangeCheckedAndStrictFormatsHold() throws {
        let v = try CLIVault()
        let dir = TemporaryDirectory("strict")
        _ = try v.generate("root")
        // A share file whose only line is numbered 0 (once a trap).
        let (backup, shares) = try { () throws -> (String, [String]) in
            let shareDir = dir.sub("shares")
            let r = try v.run(["backup", "create", "--out", dir.sub("s.tvbackup"), "--shares", "2/3", "--share-dir", shareDir])
            #expect(r.status == 0, "\(r)")
            let names = try FileManager.default.contentsOfDirectory(atPath: shareDir).sorted().map { shareDir + "/" + $0 }
            return (dir.sub("s.tvbackup"), names)
        }()
        let zeroLine = dir.sub("zero-share.txt")
        try " 0: 0000 0000 0000 0000  0000\nCheck: 00000000\n".write(toFile: zeroLine, atomically: true, encoding: .utf8)
        var before = v.fingerprint()
        expectRefused(
            try bounded(v, ["backup", "verify", backup, "--share", zeroLine, "--share", shares[0]]), status: 65, naming: zeroLine,
            mentioning: "out of range", vault: v, before: before)

        // A key record that is a directory: backup create fails loudly, writes nothing.
        let dirRecord = v.path + "/keys/" + String(repeating: "ab", count: 32) + ".json"
        try FileManager.default.createDirectory(atPath: dirRecord, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let out = dir.sub("b2.tvbackup")
        let r = try v.run(["backup", "create", "--out", out], env: ["TRUSTVAULT_BACKUP_PASSPHRASE": "backup-passphrase"])
        expectFailure(r, status: 65, mentioning: dirRecord)
        #expect(!FileManager.default.fileExists(atPath: out))
        try FileManager.default.removeItem(atPath: dirRecord)

        // Key files: two role: headers, a 10,000-character role, targets//x, a control character.
        let key = dir.sub("k.pem")
        #expect(try Run.program(Self.openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]).status == 0)
        let body = try String(contentsOfFile: key, encoding: .utf8)
        func withHeaders(_ name: String, _ headers: String) throws -> String {
            let path = dir.sub(name)
            try body.replacingOccurrences(of: "-----BEGIN PRIVATE KEY-----\n", with: "-----BEGIN PRIVATE KEY-----\n" + headers + "\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        before = v.fingerprint()
        let twoRoles = try withHeaders("two.pem", "role: targets/a\nrole: root")
        expectRefused(try bounded(v, ["key", "import", twoRoles]), status: 65, naming: twoRoles, mentioning: "appears twice", vault: v, before: before)
        let longRole = try withHeaders("long.pem", "role: " + String(repeating: "a", count: 10_000))
        expectRefused(try bounded(v, ["key", "import", longRole]), status: 64, naming: longRole, vault: v, before: before)
        let slashes = try withHeaders("slashes.pem", "role: targets//x")
        expectRefused(try bounded(v, ["key", "import", slashes]), status: 64, naming: slashes, vault: v, before: before)
        let escape = try withHeaders("esc.pem", "role: targets/\u{1b}[31mred")
        let escRun = try bounded(v, ["key", "import", escape])
        expectRefused(escRun, status: 64, naming: escape, vault: v, before: before)
        #expect(escRun.result.stderr.contains("\\u001b[31m"), "the escape is shown, not sent: \(escRun.result.stderr)")

        // A GUN with a terminal escape in an argument is escaped in the error line.
        let gunRun = try bounded(v, ["verify", dir.path, "--gun", "evil\u{1b}]0;pwned\u{07}/app"])
        expectFailure(gunRun.result, status: 64, mentioning: "\\u001b]0;pwned\\u0007")

        // An encrypted zip is named as such.
        let zip = dir.sub("bundle.zip")
        try "cert".write(toFile: dir.sub("cert.pem"), atomically: true, encoding: .utf8)
        try "key".write(toFile: dir.sub("key.pem"), atomically: true, encoding: .utf8)
        #expect(try Run.program("/usr/bin/zip", ["-j", "-P", "secret", zip, dir.sub("cert.pem"), dir.sub("key.pem")]).status == 0)
        expectRefused(try bounded(v, ["key", "import", zip]), status: 65, naming: zip, mentioning: "encrypted", vault: v, before: before)
    }

    /// A root.json with version 2^63-1 (once a trap after the root passphrase was used) is
    /// refused when read, before any secret is asked for: no passphrase is in the environment,
    /// and the error is about the version, not a missing passphrase.
    @Test func hugeMetadataVersionIsRefusedBeforeAnyPassphrase() throws {
        let v = try CLIVault()
        let dir = TemporaryDirectory("version")
        let gun = "example.com/acme/version"
        let (root, repo) = try CeremonyOfflineErrorTests.repository(v, dir, gun: gun)
        let rootFile = repo + "/tuf/" + gun + "/metadata/root.json"
        try tamper(rootFile, #""version":1"#, #""version":9223372036854775807"#)
        let before = v.fingerprint()
        let noSecrets: [String: String] = [:]
        let sign = try bounded(v, ["root", "sign", rootFile, "--key", root, "--out", dir.sub("signed.json")], env: noSecrets)
        expectRefused(sign, status: 1, naming: rootFile, mentioning: "out of range", vault: v, before: before)
        let rotate = try bounded(v, ["repo", "rotate", gun, "targets", "--current", repo, "--out", dir.sub("rotated")], env: noSecrets)
        expectRefused(rotate, status: 1, naming: "root.json", mentioning: "out of range", vault: v, before: before)
        #expect(!FileManager.default.fileExists(atPath: dir.sub("signed.json")))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("rotated")))
    }

    @Test func keyRecordsAreValidatedOnRead() throws {
        let v = try CLIVault()
        let gun = "example.com/acme/app"
        let id = try v.generate("targets", gun: gun)
        let record = v.path + "/keys/\(id).json"
        let original = try String(contentsOfFile: record, encoding: .utf8)
        let cases: [(String, String)] = [
            ("\"gun\":\"\(gun)\"", #""gun":"../../etc""#),
            ("\"role\":\"targets\"", #""role":"""#),
            ("\"certificate\":null", #""certificate":"junk""#),
            (#""location":{"type":"vault"}"#, #""location":{"serial":"123","slot":"9c","type":"card"}"#),
            ("\"created\":\"", "\"created\":\"2031-02-31T00:00:00Z\",\"x\":\""),
        ]
        for (old, new) in cases {
            try original.write(toFile: record, atomically: true, encoding: .utf8)
            chmod(record, 0o600)
            try tamper(record, old, new)
            let before = v.fingerprint()
            expectRefused(try bounded(v, ["key", "list"]), status: 65, naming: record, vault: v, before: before)
        }
        try original.write(toFile: record, atomically: true, encoding: .utf8)
        chmod(record, 0o600)
        #expect(try v.run(["key", "list"]).status == 0)
    }

    @Test func permissionDeniedIsNotNotAVault() throws {
        let v = try CLIVault()
        // As root no permission is ever denied: run as nobody against the root-owned vault.
        let setpriv = try requireTool("setpriv", package: "util-linux")
        let r = try Run.program(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", TrustVaultCLI.binary, "--vault", v.path, "key", "list"])
        if geteuid() == 0 {
            expectFailure(r, status: 77, mentioning: "Permission denied")
            #expect(!r.stderr.contains("not a trustvault vault"), "\(r)")
        }
    }
}
