import Foundation
import Formats
import Testing
import TrustCore

@Suite("PEM text")
struct PEMTests {
    @Test func encodesLikeGo() {
        let body = [UInt8](repeating: 0xAB, count: 100)
        let block = PEMBlock(
            type: "ENCRYPTED PRIVATE KEY",
            headers: [PEMHeader("role", "targets"), PEMHeader("path", "abc"), PEMHeader("gun", "example.com/app")],
            bytes: body)
        let text = PEM.encode(block)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "-----BEGIN ENCRYPTED PRIVATE KEY-----")
        // Go sorts the headers (Proc-Type would come first), then a blank line.
        #expect(Array(lines[1...4]) == ["gun: example.com/app", "path: abc", "role: targets", ""])
        #expect(lines[5].count == 64)
        #expect(lines[6].count == 64 && lines[7].count == 8)  // 136 base64 characters in total
        #expect(text.hasSuffix("-----END ENCRYPTED PRIVATE KEY-----\n"))
        #expect(!text.contains("\r"))
    }

    @Test func procTypeComesFirst() {
        let block = PEMBlock(
            type: "EC PRIVATE KEY",
            headers: [PEMHeader("DEK-Info", "AES-256-CBC,00"), PEMHeader("Proc-Type", "4,ENCRYPTED"), PEMHeader("role", "x")],
            bytes: [1, 2, 3])
        let lines = PEM.encode(block).split(separator: "\n").map(String.init)
        #expect(Array(lines[1...3]) == ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-256-CBC,00", "role: x"])
    }

    @Test func noHeadersNoBlankLine() {
        let text = PEM.encode(PEMBlock(type: "PUBLIC KEY", bytes: [0x30, 0x00]))
        #expect(text == "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n")
    }

    @Test func parsesToleratingCRLFWhitespaceAndSurroundingText() throws {
        let text =
            "garbage before\r\n  -----BEGIN PRIVATE KEY-----  \r\nrole: root\r\ngun:  \r\n\r\n  AAEC\r\n AwQ= \r\n-----END PRIVATE KEY-----\r\nbetween\n-----BEGIN PUBLIC KEY-----\nBQY=\n-----END PUBLIC KEY-----\n"
        let blocks = try PEM.parse(Array(text.utf8), source: "x.pem")
        #expect(blocks.count == 2)
        #expect(blocks[0].type == "PRIVATE KEY")
        #expect(blocks[0].bytes == [0, 1, 2, 3, 4])
        #expect(blocks[0][header: "role"] == "root")
        #expect(blocks[0][header: "gun"] == "")
        #expect(blocks[0].index == 1 && blocks[0].line == 2)
        #expect(blocks[1].type == "PUBLIC KEY" && blocks[1].bytes == [5, 6] && blocks[1].index == 2)
    }

    @Test func roundTripsThroughParseAndEncode() throws {
        let block = PEMBlock(
            type: "ENCRYPTED PRIVATE KEY", headers: [PEMHeader("path", "p"), PEMHeader("role", "r")],
            bytes: Array(0..<200))
        let text = PEM.encode([block, block])
        let parsed = try PEM.parse(Array(text.utf8), source: "t")
        #expect(parsed.count == 2)
        #expect(PEM.encode(parsed) == text)
    }

    @Test func missingEndIsATruncatedFileError() throws {
        let text = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----BEGIN PUBLIC KEY-----\nAAAA\n"
        let error = try #require(throws: TrustVaultError.self) { try PEM.parse(Array(text.utf8), source: "cut.pem") }
        #expect(error.code == .corruptData)
        #expect(error.message.contains("cut.pem block 1"))
        #expect(error.message.contains("truncated"))
        #expect(error.recovery != nil)
    }

    @Test func mismatchedEndAndBadBase64AreRefused() throws {
        let mismatched = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        #expect(throws: TrustVaultError.corrupt("")) { try PEM.parse(Array(mismatched.utf8), source: "m") }
        let bad = "-----BEGIN PUBLIC KEY-----\nAA*A\n-----END PUBLIC KEY-----\n"
        #expect(throws: TrustVaultError.corrupt("")) { try PEM.parse(Array(bad.utf8), source: "b") }
    }

    @Test func textWithoutBlocksGivesNoBlocks() throws {
        #expect(try PEM.parse(Array("just text\n".utf8), source: "t").isEmpty)
        #expect(try PEM.parse([], source: "t").isEmpty)
    }
}
