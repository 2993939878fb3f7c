import Foundation
import Testing
import TrustCore
@testable import CLISupport

/// The package directory (this file is Tests/CLISupportTests/ExitStatusTests.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The README's "status | meaning" table: status → meaning.
func readmeStatusTable() throws -> [Int32: String] {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    var table: [Int32: String] = [:]
    var inTable = false
    for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("| status | meaning |") { inTable = true; continue }
        guard inTable else { continue }
        guard line.hasPrefix("|") else { break }
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        if let status = Int32(cells.first ?? "") { table[status] = cells.dropFirst().joined(separator: " ") }
    }
    return table
}

@Suite("CLISupport: the one exit-status map")
struct ExitStatusTests {
    /// Every code, and the words of the README row its status must have.
    static let expected: [(TrustVaultError.Code, Int32, String)] = [
        (.wrongPassphrase, 77, "wrong passphrase"),
        (.wrongPIN, 77, "PIN"),
        (.insecurePermissions, 77, "readable by other users"),
        (.missingSecret, 65, "no secret supplied"),
        (.corruptData, 65, "damaged"),
        (.unsupported, 65, "unsupported"),
        (.invalidArgument, 64, "usage error"),
        (.notFound, 66, "missing input"),
        (.alreadyExists, 73, "would overwrite"),
        (.serviceUnavailable, 69, "service is unavailable"),
        (.ioFailure, 74, "I/O error"),
        (.busy, 75, "holds the vault lock"),
        (.verificationFailed, 1, "verification did not hold"),
        (.cardError, 1, "operation failed"),
        (.refused, 1, "operation failed"),
    ]

    @Test func everyCodeHasTheStatusTheREADMEGivesIt() throws {
        let table = try readmeStatusTable()
        #expect(table.count >= 10, "the README's exit-status table was not found: \(table)")
        for (code, status, words) in Self.expected {
            #expect(ExitStatus.code(for: code) == status, "\(code)")
            let meaning = try #require(table[status], "the README has no row for status \(status) (\(code))")
            #expect(meaning.localizedCaseInsensitiveContains(words), "README row \(status) should say \"\(words)\" for \(code): \(meaning)")
        }
    }

    @Test func everyStatusTheMapGivesIsInTheREADME() throws {
        let table = try readmeStatusTable()
        for (code, _, _) in Self.expected {
            #expect(table[ExitStatus.code(for: code)] != nil, "\(code)")
        }
        // ArgumentParser's validation errors exit 64, the README's usage error.
        #expect(table[ExitStatus.usage]?.contains("usage error") == true)
    }
}

@Suite("CLISupport: the escaped printer")
struct EscapedOutputTests {
    @Test func controlCharactersAndBidiOverridesAreShownNotSent() {
        #expect(Output.shown("docker.io/acme/\u{1b}[31mapp") == "docker.io/acme/\\u001b[31mapp")
        #expect(Output.shown("evil\u{202e}gpj.exe") == "evil\\u202egpj.exe")
        #expect(Output.shown("\u{7f}\u{9b}") == "\\u007f\\u009b")
    }

    @Test func lineBreaksTabsAndPlainTextStayAsTheyAre() {
        let table = "NAME\tDIGEST\tSIGNERS\nv1\tabc\talice\n"
        #expect(Output.shown(table) == table)
        #expect(Output.shown("Grüße, 鍵 ✓") == "Grüße, 鍵 ✓")
        #expect(Output.shown("a\u{1b}\nb") == "a\\u001b\nb")
    }
}
