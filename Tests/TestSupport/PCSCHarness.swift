public import Foundation
import SmartCard
import TrustCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `pcscd` with a test-owned vpcd reader config and our `piv-emulator` behind
/// vsmartcard-vpcd, so that tests drive real PC/SC (libpcsclite → pcscd → vpcd → card).
///
/// Recipe (see docs in the report and `reference/piv-pcsc.md` §1):
/// 1. Take an exclusive `flock` on `/tmp/trustvault-pcsc-harness.lock`: there is only one pcscd
///    per machine, so harness users (in this process and in other test processes) take turns.
/// 2. If `/run/pcscd/pcscd.pid` names a live pcscd, reuse it (its reader config is read from its
///    `-c DIR` argument or `/etc/reader.conf.d`). Otherwise write `DIR/vpcd` with
///    `FRIENDLYNAME "TrustVault Test Reader"`, `DEVICENAME /dev/null:0x9C40` (ports 40000/40001)
///    and start `/usr/sbin/pcscd --foreground -c DIR`, keeping its PID, and wait for
///    `/run/pcscd/pcscd.comm`.
/// 3. Start `piv-emulator STATE PORT SERIAL` per card; wait until PC/SC reports the card present.
/// 4. ``stop()``: SIGTERM each emulator, wait; then SIGTERM our pcscd (never a reused one), wait.
public final class PCSCHarness: @unchecked Sendable {
    public struct Card: Sendable {
        public let slot: Int
        public let reader: String
        public let port: UInt16
        public let serial: UInt32
        public let stateFile: String
        public let logFile: String
        let pid: Int32
    }

    public let readerPrefix: String
    public let basePort: UInt16
    public let ownsDaemon: Bool
    public let workDirectory: String
    private var daemon: Spawned?
    private var cards: [Int: (Card, Spawned)] = [:]
    private var lockFD: Int32 = -1

    public static let pcscdPath = "/usr/sbin/pcscd"
    public static let vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The directory holding the built products (`piv-emulator`, `trustvault`).
    public static var productsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["TRUSTVAULT_PRODUCTS_DIR"] { return URL(fileURLWithPath: dir) }
        var url = Bundle.main.bundleURL
        if url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent("piv-emulator").path) {
            url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        }
        return url
    }

    public static var emulatorPath: String { productsDirectory.appendingPathComponent("piv-emulator").path }

    /// The package root (two levels above this file).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// `ykman` from the project venv (`Scripts/install-python-tools.sh`), if installed.
    public static var ykmanPath: String? {
        let p = packageRoot + "/.venv-tools/bin/ykman"
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }

    /// OpenSC's PKCS#11 module (Debian package opensc-pkcs11), if installed.
    public static var openscModule: String? {
        ["/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so", "/usr/lib/opensc-pkcs11.so"]
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The emulated card's saved state (PIN tries, keys …), read straight from its state file: an
    /// observer that sends nothing to the card, so it cannot change a counter.
    public func cardState(slot: Int = 0) throws -> [String: Any] {
        guard let (card, _) = cards[slot] else { throw TrustVaultError(.notFound, "no card in slot \(slot)") }
        let data = try Data(contentsOf: URL(fileURLWithPath: card.stateFile))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// (PIN tries left, PUK tries left) from the card's state file.
    public func tries(slot: Int = 0) throws -> (pin: Int, puk: Int) {
        let s = try cardState(slot: slot)
        return ((s["pinTriesLeft"] as? Int) ?? -1, (s["pukTriesLeft"] as? Int) ?? -1)
    }

    /// What is missing for these tests on this machine (empty when everything is there).
    public static var missingPeers: [String] {
        var missing: [String] = []
        if !FileManager.default.isExecutableFile(atPath: pcscdPath) { missing.append("pcscd (Debian package pcscd)") }
        if !FileManager.default.fileExists(atPath: vpcdDriver) { missing.append("vpcd (Debian package vsmartcard-vpcd)") }
        if !FileManager.default.isExecutableFile(atPath: emulatorPath) { missing.append("piv-emulator at \(emulatorPath) (swift build)") }
        return missing
    }

    /// Tests run when the peers are present, and always under `CI=true` (where a missing peer
    /// then fails the test instead of skipping it).
    public static var shouldRun: Bool { isCI || missingPeers.isEmpty }

    /// Runs `body` with pcscd up and one emulated card per serial (readers `… 00 00`, `… 00 01`),
    /// then stops everything it started.
    public static func with<R>(serials: [UInt32] = [10_000_001], emulatorArguments: [String] = [], _ body: (PCSCHarness) throws -> R) throws -> R {
        let t0 = Date()
        let harness = try PCSCHarness()
        trace("pcscd up after \(Date().timeIntervalSince(t0))")
        defer { harness.stop(); trace("stopped after \(Date().timeIntervalSince(t0))") }
        for (i, serial) in serials.enumerated() {
            _ = try harness.startCard(slot: i, serial: serial, extraArguments: emulatorArguments)
        }
        trace("cards up after \(Date().timeIntervalSince(t0))")
        let r = try body(harness)
        trace("body done after \(Date().timeIntervalSince(t0))")
        return r
    }

    static func trace(_ s: String) {
        if ProcessInfo.processInfo.environment["PCSC_HARNESS_TRACE"] == "1" { FileHandle.standardError.write(Data("harness: \(s)\n".utf8)) }
    }

    public init() throws {
        try TestTier.refusePeer(Self.pcscdPath)
        let missing = Self.missingPeers
        guard missing.isEmpty else {
            throw TrustVaultError(
                .serviceUnavailable, "PC/SC test peers missing: \(missing.joined(separator: ", "))",
                recovery: "apt-get install pcscd vsmartcard-vpcd libpcsclite-dev yubico-piv-tool")
        }
        workDirectory = NSTemporaryDirectory() + "tv-pcsc-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        lockFD = open("/tmp/trustvault-pcsc-harness.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o666)
        guard lockFD >= 0 else { throw TrustVaultError(.ioFailure, "cannot open the PC/SC harness lock file") }
        _ = flock(lockFD, LOCK_EX)

        if let pid = Self.runningDaemonPID() {
            // Reuse the machine's pcscd and whatever vpcd reader it has loaded.
            let config = Self.vpcdConfig(configDirectory: Self.configDirectory(ofPID: pid))
            guard let config else {
                close(lockFD)
                throw TrustVaultError(
                    .serviceUnavailable, "a pcscd (pid \(pid)) is running without a vpcd reader",
                    recovery: "install vsmartcard-vpcd and restart pcscd, or stop it so the tests can start their own")
            }
            (readerPrefix, basePort) = config
            ownsDaemon = false
            daemon = nil
        } else {
            let conf = workDirectory + "/reader.conf.d"
            let text = """
                FRIENDLYNAME "TrustVault Test Reader"
                DEVICENAME   /dev/null:0x9C40
                LIBPATH      \(Self.vpcdDriver)
                CHANNELID    0x9C40

                """
            do {
                try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
                try text.write(toFile: conf + "/vpcd", atomically: true, encoding: .utf8)
            } catch {
                close(lockFD)
                throw error
            }
            readerPrefix = "TrustVault Test Reader"
            basePort = 0x9C40
            var args = ["--foreground", "-c", conf]
            if ProcessInfo.processInfo.environment["PCSC_HARNESS_DEBUG"] == "1" { args += ["--debug", "--apdu"] }
            let log = workDirectory + "/pcscd.log"
            let p: Spawned
            do { p = try Spawned(Self.pcscdPath, args, log: log) } catch {
                close(lockFD)
                throw error
            }
            daemon = p
            ownsDaemon = true
            // Ready when a client sees our reader (a stale socket from a crashed run does not count).
            let deadline = Date().addingTimeInterval(10)
            while (try? PCSCContext().readers().contains(readerName(slot: 0))) != true {
                if p.hasExited || Date() > deadline {
                    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                    stop()
                    throw TrustVaultError(.serviceUnavailable, "pcscd did not start: \(output.suffix(400))")
                }
                usleep(50_000)
            }
        }
    }

    deinit { stop() }

    public func readerName(slot: Int) -> String { "\(readerPrefix) 00 0\(slot)" }

    /// Starts an emulated card in reader slot `slot` (0 or 1) and waits until PC/SC sees it.
    @discardableResult
    public func startCard(slot: Int = 0, serial: UInt32, stateFile: String? = nil, extraArguments: [String] = [])
        throws -> Card
    {
        stopCard(slot: slot)
        let state = stateFile ?? workDirectory + "/card-\(serial).json"
        let log = workDirectory + "/card-\(serial)-\(slot).log"
        let port = basePort + UInt16(slot)
        let t0 = Date()
        defer { Self.trace("card \(serial) in slot \(slot) up after \(Date().timeIntervalSince(t0))") }
        let p = try Spawned(
            Self.emulatorPath, [state, String(port), String(serial), "--log", log] + extraArguments,
            log: workDirectory + "/card-\(serial)-\(slot).stderr")
        let card = Card(slot: slot, reader: readerName(slot: slot), port: port, serial: serial, stateFile: state, logFile: log, pid: p.pid)
        cards[slot] = (card, p)
        do {
            try waitForCard(slot: slot, present: true, timeout: 1)
        } catch {
            // pcscd can keep a vpcd slot busy after a card vanished mid-command; a second
            // connection attempt gets through once vpcd has noticed.
            p.terminate()
            let again = try Spawned(
                Self.emulatorPath, [state, String(port), String(serial), "--log", log] + extraArguments,
                log: workDirectory + "/card-\(serial)-\(slot).stderr")
            cards[slot] = (card, again)
            try waitForCard(slot: slot, present: true)
        }
        return card
    }

    /// Stops the emulator in `slot` (the card is "pulled").
    public func stopCard(slot: Int) {
        guard let (_, p) = cards.removeValue(forKey: slot) else { return }
        p.terminate()
        // pcscd notices a removal at its next 400 ms poll; wait so a restarted card is really new.
        try? waitForCard(slot: slot, present: false)
    }

    /// Waits (up to `timeout` seconds) until PC/SC reports the card in `slot` present or absent.
    public func waitForCard(slot: Int, present: Bool, timeout: TimeInterval = 10) throws {
        let reader = readerName(slot: slot)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let ctx = try? PCSCContext(), (try? ctx.isCardPresent(in: reader)) == present { return }
            if present, let (_, p) = cards[slot], p.hasExited {
                throw TrustVaultError(.serviceUnavailable, "piv-emulator for \(reader) exited")
            }
            usleep(100_000)
        }
        throw TrustVaultError(.serviceUnavailable, "the card in \(reader) did not become \(present ? "present" : "absent")")
    }

    /// Stops every emulator, then pcscd if this harness started it, and releases the lock.
    public func stop() {
        let slots = Array(cards.keys)
        for (_, (_, p)) in cards { p.terminate() }
        cards = [:]
        // A reused pcscd outlives us: leave its readers empty for the next user.
        if !ownsDaemon { for slot in slots { try? waitForCard(slot: slot, present: false, timeout: 5) } }
        if let d = daemon {
            d.terminate()
            daemon = nil
        }
        if lockFD >= 0 {
            _ = flock(lockFD, LOCK_UN)
            close(lockFD)
            lockFD = -1
        }
    }

    /// The PID of a live pcscd from `/run/pcscd/pcscd.pid`, if any.
    static func runningDaemonPID() -> Int32? {
        if let text = try? String(contentsOfFile: "/run/pcscd/pcscd.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0
        {
            return pid
        }
        // `pcscd --foreground` writes no PID file: look for the process itself.
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry),
                let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == "pcscd",
                !isZombie(pid)
            else { continue }
            return pid
        }
        return nil
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    static func configDirectory(ofPID pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "/etc/reader.conf.d" }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if let i = args.firstIndex(where: { $0 == "-c" || $0 == "--config" }), i + 1 < args.count { return args[i + 1] }
        return "/etc/reader.conf.d"
    }

    /// (reader name prefix, first port) of the vpcd entry in a reader config directory.
    static func vpcdConfig(configDirectory: String) -> (String, UInt16)? {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: configDirectory) else { return nil }
        for file in files.sorted() {
            guard let text = try? String(contentsOfFile: configDirectory + "/" + file, encoding: .utf8),
                text.contains("libifdvpcd")
            else { continue }
            var name: String?
            var port: UInt16?
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0] == "FRIENDLYNAME" { name = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                if parts[0] == "DEVICENAME", let p = parts[1].split(separator: ":").last {
                    port = p.hasPrefix("0x") ? UInt16(p.dropFirst(2), radix: 16) : UInt16(p)
                }
            }
            if let name, let port { return (name, port) }
        }
        return nil
    }
}
