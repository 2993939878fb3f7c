public import TrustCore
internal import CSodium
internal import CQREncode
internal import Formats

/// One custodian's share of a backup key, and its printable text form.
///
/// The share is encoded as a small binary record —
/// `version (1) | backup ID (16) | K (1) | N (1) | share number (1) | share bytes (32)` —
/// printed as numbered lines of hex, 8 bytes per line, each line ending in its own 4-hex-digit
/// checksum (BLAKE2b over a label, the line number and the line's bytes), then an overall
/// 8-hex-digit check over the whole record. A mistyped character is caught by its line's
/// checksum and named by line number; swapped or missing lines are caught by the line numbers
/// and the overall check. The same record is shown as a QR code (libqrencode) whose text is
/// `TVSHARE1:` followed by the record and the overall check in upper-case hex; a file holding
/// that one line (as a scanner writes it) is read as well.
public struct BackupShare: Sendable, Equatable, CustomStringConvertible {
    public static let recordVersion: UInt8 = 1
    static let bytesPerLine = 8
    static let qrPrefix = "TVSHARE1:"

    public let backupID: [UInt8]
    public let threshold: Int
    public let count: Int
    public let number: Int
    let value: [UInt8]

    public var backupIDHex: String { Hex.encode(backupID) }

    init(backupID: [UInt8], threshold: Int, count: Int, number: Int, value: [UInt8]) {
        self.backupID = backupID
        self.threshold = threshold
        self.count = count
        self.number = number
        self.value = value
    }

    /// Never shows the share bytes.
    public var description: String { "BackupShare(\(number) of \(count), threshold \(threshold), backup \(backupIDHex), redacted)" }

    var shamirShare: Shamir.Share { Shamir.Share(index: UInt8(number), value: value) }

    // MARK: Encoding

    var record: [UInt8] {
        [Self.recordVersion] + backupID + [UInt8(threshold), UInt8(count), UInt8(number)] + value
    }

    static func lineChecksum(lineNumber: Int, bytes: [UInt8]) -> [UInt8] {
        blake2b(Array("trustvault share line".utf8) + [UInt8(truncatingIfNeeded: lineNumber)] + bytes, length: 2)
    }

    static func overallCheck(_ record: [UInt8]) -> [UInt8] {
        blake2b(Array("trustvault share".utf8) + record, length: 4)
    }

    static func blake2b(_ input: [UInt8], length: Int) -> [UInt8] {
        Sodium.ensureInitialised()
        // crypto_generichash's minimum output is 16 bytes; take a prefix.
        var out = [UInt8](repeating: 0, count: 16)
        _ = crypto_generichash(&out, out.count, input, UInt64(input.count), nil, 0)
        return Array(out.prefix(length))
    }

    /// The text a custodian prints or stores: explanations, numbered checksummed lines, QR code.
    public func text(created: String) -> String {
        let rec = record
        var lines: [String] = []
        lines.append("trustvault backup share")
        lines.append("=======================")
        lines.append("Share \(number) of \(count): any \(threshold) of the \(count) shares open the backup.")
        lines.append("Backup ID: \(backupIDHex)")
        lines.append("Created:   \(created)")
        lines.append("")
        lines.append("Keep this sheet secret and apart from the other shares and from the backup file.")
        lines.append("To restore, the custodians bring \(threshold) shares (as files, or retyped):")
        lines.append("  trustvault backup verify BACKUP --share FILE --share FILE ...")
        lines.append("  trustvault backup restore BACKUP --share FILE --share FILE ...")
        lines.append("When retyping, copy the numbered lines and the Check line exactly; the last")
        lines.append("group on each line is that line's checksum, so a typo is found and named.")
        lines.append("")
        var lineNumber = 1
        var offset = 0
        while offset < rec.count {
            let chunk = Array(rec[offset..<min(offset + Self.bytesPerLine, rec.count)])
            let hex = Hex.encode(chunk)
            var groups: [String] = []
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 4, limitedBy: hex.endIndex) ?? hex.endIndex
                groups.append(String(hex[i..<j]))
                i = j
            }
            let data = groups.joined(separator: " ")
            let padded = data + String(repeating: " ", count: max(0, 19 - data.count))
            let label = lineNumber < 10 ? " \(lineNumber)" : "\(lineNumber)"
            lines.append("\(label): \(padded)  \(Hex.encode(Self.lineChecksum(lineNumber: lineNumber, bytes: chunk)))")
            lineNumber += 1
            offset += Self.bytesPerLine
        }
        lines.append("Check: \(Hex.encode(Self.overallCheck(rec)))")
        lines.append("")
        lines.append("The same share as a QR code (its text starts with \(Self.qrPrefix); a file holding")
        lines.append("that scanned text can be passed to --share as well):")
        lines.append("")
        if let qr = QRText.render(qrPayload) {
            lines.append(qr)
        } else {
            lines.append("(the QR code could not be generated; the lines above are complete)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var qrPayload: String {
        let rec = record
        return Self.qrPrefix + Hex.encode(rec + Self.overallCheck(rec)).uppercased()
    }

    // MARK: Parsing

    /// The most numbered lines a share sheet has (a share record is far shorter).
    static let maximumLines = 64

    /// Reads a share from its text form (the printed sheet, a retyped copy, or the scanned QR text).
    public static func parse(_ text: String, file: String) throws(TrustVaultError) -> BackupShare {
        let fileLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(trimmed)
        // A scanned QR code: one line TVSHARE1:<hex>.
        if let qr = fileLines.first(where: { $0.uppercased().hasPrefix(qrPrefix) }),
            !fileLines.contains(where: { isDataLine($0) })
        {
            guard let bytes = Hex.decode(String(qr.dropFirst(qrPrefix.count))), bytes.count > 4 else {
                throw .corrupt("share file \(file): the QR text after \(qrPrefix) is not hex", recovery: "scan the QR code again")
            }
            let rec = Array(bytes.dropLast(4))
            guard Array(bytes.suffix(4)) == overallCheck(rec) else {
                throw .corrupt("share file \(file): the QR text's check does not match", recovery: "scan the QR code again")
            }
            return try decode(rec, file: file)
        }

        var dataByNumber: [Int: [UInt8]] = [:]
        var overall: [UInt8]?
        for (index, line) in fileLines.enumerated() {
            let fileLine = index + 1
            if line.lowercased().hasPrefix("check:") {
                let hex = line.dropFirst("check:".count).filter { $0 != " " }
                guard let bytes = Hex.decode(String(hex)), bytes.count == 4 else {
                    throw .corrupt(
                        "share file \(file), line \(fileLine): the Check value must be 8 hex digits",
                        recovery: "copy the Check line from the custodian's printed sheet")
                }
                overall = bytes
                continue
            }
            guard isDataLine(line), let colon = line.firstIndex(of: ":") else { continue }
            // Range-checked before it is used as a bound (a lone line 0 once trapped); a number
            // too long for an Int is out of range too, not a line to skip.
            let label = trimmed(line[..<colon])
            guard let number = Int(label), number >= 1, number <= maximumLines else {
                throw .corrupt(
                    "share file \(file), line \(fileLine): share line number \(label.prefix(24)) is out of range (1-\(maximumLines))",
                    recovery: "copy the numbered lines exactly from the custodian's printed sheet")
            }
            let tokens = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard tokens.count >= 2, let checksum = Hex.decode(String(tokens[tokens.count - 1])), checksum.count == 2 else {
                throw .corrupt(
                    "share file \(file), share line \(number) (file line \(fileLine)): the line does not end in a 4-digit checksum",
                    recovery: "copy share line \(number) exactly from the custodian's printed sheet")
            }
            guard let bytes = Hex.decode(tokens.dropLast().joined()), !bytes.isEmpty, bytes.count <= bytesPerLine else {
                throw .corrupt(
                    "share file \(file), share line \(number) (file line \(fileLine)): the data is not hex groups",
                    recovery: "copy share line \(number) exactly from the custodian's printed sheet (digits 0-9 and letters a-f only)")
            }
            guard lineChecksum(lineNumber: number, bytes: bytes) == checksum else {
                throw .corrupt(
                    "share file \(file), share line \(number) (file line \(fileLine)): the checksum does not match; a character on this line is mistyped or damaged",
                    recovery: "compare share line \(number) with the custodian's printed sheet")
            }
            guard dataByNumber[number] == nil else {
                throw .corrupt("share file \(file): share line \(number) appears twice (file line \(fileLine))")
            }
            dataByNumber[number] = bytes
        }
        guard !dataByNumber.isEmpty else {
            throw .corrupt(
                "\(file) is not a trustvault share file (it has no share lines)",
                recovery: "pass a share file written by 'trustvault backup create --shares'")
        }
        var rec: [UInt8] = []
        for n in 1...(dataByNumber.keys.max() ?? 1) {
            guard let bytes = dataByNumber[n] else {
                throw .corrupt("share file \(file): share line \(n) is missing", recovery: "copy share line \(n) from the custodian's printed sheet")
            }
            rec += bytes
        }
        guard let overall else {
            throw .corrupt("share file \(file): the Check line is missing", recovery: "copy the Check line from the custodian's printed sheet")
        }
        guard overall == overallCheck(rec) else {
            throw .corrupt(
                "share file \(file): the lines are individually intact but the overall Check does not match (a line is missing, extra, or from another share)",
                recovery: "compare all lines with the custodian's printed sheet")
        }
        return try decode(rec, file: file)
    }

    static func trimmed(_ s: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = s.firstIndex(where: { !blank($0) }), let end = s.lastIndex(where: { !blank($0) }) else { return "" }
        return String(s[start...end])
    }

    private static func isDataLine(_ line: String) -> Bool {
        guard let colon = line.firstIndex(of: ":") else { return false }
        let label = trimmed(line[..<colon])
        return !label.isEmpty && label.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func decode(_ rec: [UInt8], file: String) throws(TrustVaultError) -> BackupShare {
        guard let version = rec.first else { throw .corrupt("share file \(file) is empty") }
        guard version == recordVersion else {
            throw .unsupported("share file \(file) is a version \(version) share; this trustvault reads version \(recordVersion)")
        }
        guard rec.count > 20 else { throw .corrupt("share file \(file) holds too few bytes to be a share") }
        let k = Int(rec[17]), n = Int(rec[18]), number = Int(rec[19])
        guard k >= 2, k <= n, number >= 1, number <= n else {
            throw .corrupt("share file \(file) describes an impossible share (\(number) of \(n), threshold \(k))")
        }
        return BackupShare(backupID: Array(rec[1..<17]), threshold: k, count: n, number: number, value: Array(rec[20...]))
    }
}

/// QR codes drawn with Unicode half blocks, two module rows per text line, dark modules as ink
/// (print black on white; on a dark terminal the code appears inverted, which most scanners accept).
enum QRText {
    static func render(_ text: String, quietZone: Int = 4) -> String? {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard let data = code.pointee.data else { return nil }
        func dark(_ x: Int, _ y: Int) -> Bool {
            guard x >= 0, y >= 0, x < width, y < width else { return false }
            return data[y * width + x] & 1 == 1
        }
        var rows: [String] = []
        var y = -quietZone
        while y < width + quietZone {
            var row = ""
            for x in -quietZone..<(width + quietZone) {
                switch (dark(x, y), dark(x, y + 1)) {
                case (true, true): row += "\u{2588}"
                case (true, false): row += "\u{2580}"
                case (false, true): row += "\u{2584}"
                case (false, false): row += " "
                }
            }
            rows.append(row)
            y += 2
        }
        return rows.joined(separator: "\n")
    }

    /// Decodes the module matrix back (for tests): dark modules from the half-block text.
    static func modules(_ rendered: String) -> [[Bool]] {
        var grid: [[Bool]] = []
        for line in rendered.split(separator: "\n", omittingEmptySubsequences: false) {
            var top: [Bool] = []
            var bottom: [Bool] = []
            for ch in line {
                top.append(ch == "\u{2588}" || ch == "\u{2580}")
                bottom.append(ch == "\u{2588}" || ch == "\u{2584}")
            }
            grid.append(top)
            grid.append(bottom)
        }
        return grid
    }
}

/// Puts shares together for a backup: checks that each belongs to it and that enough are given.
package enum ShareSet {
    package static func combine(
        _ shares: [(file: String, share: BackupShare)], header: BackupHeader, backupFile: String
    ) throws(TrustVaultError) -> SecretBytes {
        guard case let .shares(k, n) = header.keyMode else {
            throw .invalid(
                "\(backupFile) is protected by a passphrase, not by shares",
                recovery: "drop the --share options and give the passphrase (TRUSTVAULT_BACKUP_PASSPHRASE or the prompt)")
        }
        var byNumber: [Int: String] = [:]
        for (file, share) in shares {
            guard share.backupID == header.backupID else {
                throw .invalid(
                    "share file \(file) belongs to backup \(share.backupIDHex), not to \(backupFile) (backup \(header.backupIDHex))",
                    recovery: "use the shares made together with this backup")
            }
            guard share.threshold == k, share.count == n else {
                throw .corrupt("share file \(file) says \(share.threshold) of \(share.count) but \(backupFile) was split \(k) of \(n)")
            }
            if let other = byNumber[share.number] {
                throw .invalid(
                    "share \(share.number) was given twice (\(other) and \(file))",
                    recovery: "bring shares of \(k) different custodians")
            }
            byNumber[share.number] = file
        }
        guard shares.count >= k else {
            let missing = k - shares.count
            throw TrustVaultError(
                .missingSecret,
                "\(backupFile) needs \(k) of its \(n) shares; \(shares.count) given, \(missing) more needed",
                recovery: "add \(missing) more --share FILE option\(missing == 1 ? "" : "s") from other custodians")
        }
        // Every share of one backup has the key's length; name the file that differs.
        if let first = shares.first, let odd = shares.first(where: { $0.share.value.count != first.share.value.count }) {
            throw .corrupt(
                "share file \(odd.file) holds \(odd.share.value.count) bytes but share file \(first.file) holds \(first.share.value.count)",
                recovery: "one of them was altered or belongs to another backup; use the custodians' printed sheets")
        }
        let key: SecretBytes
        do { key = try Shamir.combine(shares.map { $0.share.shamirShare }) } catch { throw error.located(backupFile) }
        guard BackupFile.keyMatches(key, header: header) else {
            throw .corrupt(
                "the shares combine to a key that does not open \(backupFile)",
                recovery: "a share sheet was altered; try another set of \(k) shares")
        }
        return key
    }
}
