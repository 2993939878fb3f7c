import Testing
import TrustCore
@testable import KeyVault

/// The backup file format and share sheets, below the vault level.
@Suite struct BackupFormatTests {
    static let entries = [
        BackupEntry(path: "vault.json", mode: 0o600, data: Array(#"{"version":1}"#.utf8)),
        BackupEntry(path: "keys/abc.json", mode: 0o600, data: Array(repeating: 0x41, count: 1000)),
        BackupEntry(path: "audit.log", mode: 0o600, data: []),
    ]

    static func header(key: SecretBytes, mode: BackupKeyMode, id: [UInt8] = Array(repeating: 7, count: 16)) -> BackupHeader {
        BackupHeader(
            formatVersion: 1, backupID: id, created: "2026-11-22T16:00:00Z", keyMode: mode,
            keyCheck: BackupFile.keyCheck(key: key, backupID: id))
    }

    @Test func roundTripSmallAndMultiChunk() throws {
        let key = SecretSeal.randomKey()
        let header = Self.header(key: key, mode: .shares(threshold: 2, count: 3))
        for entries in [Self.entries, Self.entries + [BackupEntry(path: "big/blob", mode: 0o600, data: Sodium.randomBytes(200_000))]] {
            let file = BackupFile.seal(entries: entries, header: header, key: key)
            let (h, back) = try BackupFile.open(file, key: key, file: "b")
            #expect(h == header)
            #expect(back == entries)
        }
    }

    @Test func wrongKeyFailsKeyCheckAndAuthentication() throws {
        let key = SecretSeal.randomKey()
        let header = Self.header(key: key, mode: .shares(threshold: 2, count: 3))
        let file = BackupFile.seal(entries: Self.entries, header: header, key: key)
        let other = SecretSeal.randomKey()
        #expect(!BackupFile.keyMatches(other, header: try BackupFile.readHeader(file, file: "b")))
        #expect(throws: TrustVaultError.corrupt("")) { try BackupFile.open(file, key: other, file: "b") }
    }

    /// Every truncation point is refused (never a partial payload).
    @Test func everyTruncationIsRefused() throws {
        let key = SecretSeal.randomKey()
        let entries = Self.entries + [BackupEntry(path: "big", mode: 0o600, data: Sodium.randomBytes(70_000))]
        let file = BackupFile.seal(entries: entries, header: Self.header(key: key, mode: .shares(threshold: 2, count: 2)), key: key)
        var cuts = Array(0..<200) + Array(stride(from: 200, to: file.count, by: 97)) + [file.count - 1]
        cuts.append(65_600)
        for cut in cuts where cut < file.count {
            #expect(throws: TrustVaultError.self, "cut at \(cut)") { try BackupFile.open(Array(file.prefix(cut)), key: key, file: "b") }
        }
        #expect(throws: TrustVaultError.corrupt("")) { try BackupFile.open(file + [0], key: key, file: "b") }
    }

    /// Every single flipped byte (header, digest, stream header, lengths, ciphertext) is refused.
    @Test func everyFlippedByteIsRefused() throws {
        let key = SecretSeal.randomKey()
        let file = BackupFile.seal(entries: Self.entries, header: Self.header(key: key, mode: .shares(threshold: 2, count: 2)), key: key)
        for position in 0..<file.count {
            var bad = file
            bad[position] ^= UInt8(1 << (position % 8))
            #expect(throws: TrustVaultError.self, "flip at \(position)") { try BackupFile.open(bad, key: key, file: "b") }
        }
    }

    @Test func headerDigestIsCheckedBeforeAnyKey() throws {
        let key = SecretSeal.randomKey()
        var file = BackupFile.seal(entries: Self.entries, header: Self.header(key: key, mode: .shares(threshold: 2, count: 2)), key: key)
        file[20] ^= 0x01
        let error = try #require(throws: TrustVaultError.self) { try BackupFile.readHeader(file, file: "x.tvbackup") }
        #expect(error.code == .corruptData)
        #expect(error.message.contains("x.tvbackup"))
    }

    @Test func notABackupAndFutureVersion() throws {
        #expect(throws: TrustVaultError.corrupt("")) { try BackupFile.readHeader(Array("hello world, not a backup".utf8), file: "f") }
        let key = SecretSeal.randomKey()
        var file = BackupFile.seal(entries: Self.entries, header: Self.header(key: key, mode: .shares(threshold: 2, count: 2)), key: key)
        file[9] = 2
        #expect(throws: TrustVaultError.unsupported("")) { try BackupFile.readHeader(file, file: "f") }
    }

    @Test(arguments: ["../x", "/etc/passwd", "a//b", "keys/../../x", ".", "keys/.tmp-x", ""])
    func unsafePathsAreRefused(_ path: String) {
        #expect(throws: TrustVaultError.corrupt("")) { try BackupFile.checkRelativePath(path, file: "f") }
    }

    @Test func unsafePathInsideAuthenticPayloadIsRefused() throws {
        let key = SecretSeal.randomKey()
        let file = BackupFile.seal(
            entries: [BackupEntry(path: "../escape", mode: 0o600, data: [1])],
            header: Self.header(key: key, mode: .shares(threshold: 2, count: 2)), key: key)
        #expect(throws: TrustVaultError.corrupt("")) { try BackupFile.open(file, key: key, file: "f") }
    }

    // MARK: Shares

    static func makeShares(k: Int, n: Int, id: [UInt8] = Sodium.randomBytes(16)) throws -> (SecretBytes, BackupHeader, [BackupShare]) {
        let key = SecretSeal.randomKey()
        let header = Self.header(key: key, mode: .shares(threshold: k, count: n), id: id)
        let shares = try Shamir.split(key, threshold: k, count: n).map {
            BackupShare(backupID: id, threshold: k, count: n, number: Int($0.index), value: $0.value)
        }
        return (key, header, shares)
    }

    @Test func shareTextRoundTripsAndCombines() throws {
        let (key, header, shares) = try Self.makeShares(k: 3, n: 5)
        let parsed = try shares.map { try BackupShare.parse($0.text(created: header.created), file: "s\($0.number)") }
        #expect(parsed == shares)
        let combined = try ShareSet.combine([("a", parsed[4]), ("b", parsed[0]), ("c", parsed[2])], header: header, backupFile: "b")
        #expect(combined.constantTimeEquals(key))
    }

    @Test func fewerSharesSayHowManyMore() throws {
        let (_, header, shares) = try Self.makeShares(k: 3, n: 5)
        let error = try #require(throws: TrustVaultError.self) {
            try ShareSet.combine([("a", shares[0])], header: header, backupFile: "b")
        }
        #expect(error.message.contains("2 more needed"))
    }

    @Test func foreignShareIsNamed() throws {
        let (_, header, shares) = try Self.makeShares(k: 2, n: 3)
        let (_, _, foreign) = try Self.makeShares(k: 2, n: 3)
        let error = try #require(throws: TrustVaultError.self) {
            try ShareSet.combine([("mine", shares[0]), ("theirs.txt", foreign[1])], header: header, backupFile: "b")
        }
        #expect(error.message.contains("theirs.txt"))
        #expect(error.message.contains(header.backupIDHex))
    }

    @Test func duplicateShareIsRefused() throws {
        let (_, header, shares) = try Self.makeShares(k: 2, n: 3)
        #expect(throws: TrustVaultError.invalid("")) {
            try ShareSet.combine([("a", shares[1]), ("b", shares[1])], header: header, backupFile: "b")
        }
    }

    /// A typo on any data line is caught by that line's checksum and named by its number.
    @Test func mistypedLineIsNamed() throws {
        let (_, header, shares) = try Self.makeShares(k: 2, n: 2)
        let text = shares[0].text(created: header.created)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let dataLines = lines.indices.filter { lines[$0].hasPrefix(" 1:") || lines[$0].hasPrefix(" 3:") || lines[$0].hasPrefix(" 7:") }
        #expect(dataLines.count == 3)
        for index in dataLines {
            var copy = lines
            var chars = Array(copy[index])
            // change one hex digit in the data part (position 4 is the first data digit)
            chars[4] = chars[4] == "0" ? "1" : "0"
            copy[index] = String(chars)
            let number = Int(lines[index].prefix(2).filter { $0 != " " })!
            let error = try #require(throws: TrustVaultError.self) { try BackupShare.parse(copy.joined(separator: "\n"), file: "custodian2.txt") }
            #expect(error.message.contains("share line \(number)"))
            #expect(error.message.contains("custodian2.txt"))
        }
        // A missing line and a swapped pair of lines are found as well.
        lines.remove(at: dataLines[1])
        #expect(throws: TrustVaultError.corrupt("")) { try BackupShare.parse(lines.joined(separator: "\n"), file: "x") }
    }

    @Test func retypedShareWithOtherSpacingAndCaseParses() throws {
        let (_, header, shares) = try Self.makeShares(k: 2, n: 2)
        let text = shares[1].text(created: header.created)
        // A custodian retypes only the numbered lines and the Check line, in upper case,
        // with single spaces: it still parses to the same share.
        let typed = text.split(separator: "\n").filter { l in
            (l.first.map { $0 == " " || $0.isNumber } ?? false) && l.contains(":") || l.hasPrefix("Check:")
        }.map { $0.uppercased().split(separator: " ").joined(separator: " ") }
        #expect(typed.count == 8)
        #expect(try BackupShare.parse(typed.joined(separator: "\n"), file: "typed.txt") == shares[1])
    }

    @Test func scannedQRTextParses() throws {
        let (_, _, shares) = try Self.makeShares(k: 2, n: 3)
        #expect(try BackupShare.parse(shares[2].qrPayload + "\n", file: "scan.txt") == shares[2])
        var damaged = Array(shares[2].qrPayload)
        damaged[20] = damaged[20] == "A" ? "B" : "A"
        #expect(throws: TrustVaultError.corrupt("")) { try BackupShare.parse(String(damaged), file: "scan.txt") }
    }

    @Test func qrCodeIsDrawnWithFinderPatterns() throws {
        let (_, header, shares) = try Self.makeShares(k: 2, n: 3)
        let rendered = try #require(QRText.render(shares[0].qrPayload))
        let grid = QRText.modules(rendered)
        // Quiet zone of 4, then the top-left finder pattern: a 7-module dark row.
        #expect(grid[4][4..<11].allSatisfy { $0 })
        #expect(!grid[3][4])
        #expect(grid[5][4] && !grid[5][5] && grid[5][10])
        #expect(shares[0].text(created: header.created).contains(rendered))
    }

    @Test func notAShareFile() {
        #expect(throws: TrustVaultError.corrupt("")) { try BackupShare.parse("just some notes\n", file: "notes.txt") }
    }
}
