public import TrustCore
internal import Foundation

/// One PEM header line (`name: value`), as Go's `encoding/pem` and OpenSSL write them.
public struct PEMHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One `-----BEGIN TYPE-----` … `-----END TYPE-----` block.
///
/// ``bytes`` is the decoded base64 body. For an unencrypted private key those are secret bytes;
/// callers keep such blocks only as long as they need them.
public struct PEMBlock: Sendable, Hashable {
    /// The label between `BEGIN ` and the dashes, e.g. `ENCRYPTED PRIVATE KEY`.
    public var type: String
    /// Headers in file order (when parsed) or in any order (when built; see ``PEM/encode(_:)``).
    public var headers: [PEMHeader]
    /// The decoded body (usually DER).
    public var bytes: [UInt8]
    /// 1-based position of the block among the blocks of its text (0 when built in memory).
    public var index: Int
    /// 1-based line of the `BEGIN` line in its text (0 when built in memory).
    public var line: Int

    public init(type: String, headers: [PEMHeader] = [], bytes: [UInt8], index: Int = 0, line: Int = 0) {
        self.type = type
        self.headers = headers
        self.bytes = bytes
        self.index = index
        self.line = line
    }

    /// The value of the last header named `name` (ASCII case-insensitive), if any.
    public subscript(header name: String) -> String? {
        get {
            headers.last { $0.name.lowercased() == name.lowercased() }?.value
        }
        set {
            headers.removeAll { $0.name.lowercased() == name.lowercased() }
            if let newValue { headers.append(PEMHeader(name, newValue)) }
        }
    }

    /// Whether the block carries OpenSSL's legacy encryption headers
    /// (`Proc-Type: 4,ENCRYPTED` and `DEK-Info`).
    public var isLegacyEncrypted: Bool {
        guard let proc = self[header: "Proc-Type"] else { return false }
        return proc.replacingOccurrences(of: " ", with: "").uppercased() == "4,ENCRYPTED"
    }

    /// "block 2 (line 15)" — how error messages name the block.
    public var locationDescription: String {
        line > 0 ? "block \(index) (line \(line))" : "block \(index)"
    }
}

/// PEM text: a tolerant reader and a writer whose output is byte-identical to Go's
/// `encoding/pem` (which is what notary and docker compare and hash).
public enum PEM {
    /// Parses every PEM block in `text`.
    ///
    /// Tolerates CRLF line endings, leading and trailing whitespace on every line, text before,
    /// between and after blocks (ignored, as Go and OpenSSL ignore it), headers with or without
    /// a following blank line, and base64 lines of any length.
    ///
    /// - Parameter source: the file name used in error messages.
    /// - Throws: `.corruptData` naming `source` and the block for a `BEGIN` without a matching
    ///   `END` (a truncated file), a mismatched `END` label, or a body that is not base64.
    public static func parse(_ text: [UInt8], source: String) throws(TrustVaultError) -> [PEMBlock] {
        // Split into lines on \n, dropping a trailing \r and surrounding spaces/tabs.
        var lines: [Substring] = []
        // Split on the byte 0x0A: in Swift "\r\n" is one Character, so splitting a String on
        // "\n" would not separate CRLF lines.
        for raw in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lines.append(trimmed(Substring(String(decoding: raw, as: UTF8.self))))
        }
        var blocks: [PEMBlock] = []
        var i = 0
        while i < lines.count {
            guard let type = label(of: lines[i], marker: "BEGIN") else {
                i += 1
                continue
            }
            let beginLine = i + 1
            let index = blocks.count + 1
            let place = "\(source) block \(index) (line \(beginLine), \(type))"
            i += 1
            // Headers: "name: value" lines directly after BEGIN.
            var headers: [PEMHeader] = []
            while i < lines.count, label(of: lines[i], marker: "END") == nil,
                let colon = lines[i].firstIndex(of: ":")
            {
                let name = trimmed(lines[i][..<colon])
                let value = trimmed(lines[i][lines[i].index(after: colon)...])
                guard !name.isEmpty, !name.contains(" ") else { break }
                // Two "role:" headers would leave it to chance which one counts: refuse.
                guard !headers.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                    throw TrustVaultError.corrupt(
                        "\(place): the header \"\(name)\" appears twice (line \(i + 1))",
                        recovery: "keep one \(name): line; the file was edited by hand or damaged")
                }
                headers.append(PEMHeader(String(name), String(value)))
                i += 1
            }
            // Body until END.
            var body = ""
            var endType: String?
            while i < lines.count {
                if let end = label(of: lines[i], marker: "END") {
                    endType = end
                    i += 1
                    break
                }
                if label(of: lines[i], marker: "BEGIN") != nil { break }
                body += lines[i].filter { $0 != " " && $0 != "\t" && $0 != "\r" }
                i += 1
            }
            guard let endType else {
                throw TrustVaultError.corrupt(
                    "\(place): the block has no END line; the file looks truncated",
                    recovery: "copy the complete file again (it must end with -----END \(type)-----)")
            }
            guard endType == type else {
                throw TrustVaultError.corrupt(
                    "\(place): BEGIN \(type) is closed by END \(endType)",
                    recovery: "the file is damaged or was edited by hand; copy it again from its source")
            }
            guard let data = Data(base64Encoded: body), !body.isEmpty else {
                throw TrustVaultError.corrupt(
                    "\(place): the body is not valid base64",
                    recovery: "the file is damaged or truncated; copy it again from its source")
            }
            blocks.append(PEMBlock(type: type, headers: headers, bytes: [UInt8](data), index: index, line: beginLine))
        }
        return blocks
    }

    /// Encodes `block` exactly as Go's `pem.Encode` does: `Proc-Type` first, then the other
    /// headers sorted by name (byte order), a blank line after headers, base64 in 64-column
    /// lines, `\n` line endings, a final newline.
    public static func encode(_ block: PEMBlock) -> String {
        var out = "-----BEGIN \(block.type)-----\n"
        var headers = block.headers
        // Go keeps one value per name (a map); the last one wins.
        var seen = Set<String>()
        headers = headers.reversed().filter { seen.insert($0.name).inserted }.reversed()
        if !headers.isEmpty {
            if let proc = headers.first(where: { $0.name == "Proc-Type" }) {
                out += "Proc-Type: \(proc.value)\n"
            }
            let rest = headers.filter { $0.name != "Proc-Type" }
                .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            for h in rest { out += "\(h.name): \(h.value)\n" }
            out += "\n"
        }
        let b64 = Array(Data(block.bytes).base64EncodedString().utf8)
        var i = 0
        while i < b64.count {
            let j = min(i + 64, b64.count)
            out += String(decoding: b64[i..<j], as: UTF8.self) + "\n"
            i = j
        }
        out += "-----END \(block.type)-----\n"
        return out
    }

    /// Encodes several blocks one after another (as `notary key export` writes a bundle).
    public static func encode(_ blocks: [PEMBlock]) -> String {
        blocks.map { encode($0) }.joined()
    }

    private static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }

    /// The label of a `-----BEGIN X-----` / `-----END X-----` line.
    private static func label(of line: Substring, marker: String) -> String? {
        let prefix = "-----\(marker) "
        guard line.hasPrefix(prefix), line.hasSuffix("-----"), line.count >= prefix.count + 5 else { return nil }
        let inner = line.dropFirst(prefix.count).dropLast(5)
        guard !inner.isEmpty, !inner.hasSuffix("-") else { return nil }
        return String(inner)
    }
}
