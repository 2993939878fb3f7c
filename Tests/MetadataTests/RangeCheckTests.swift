import Foundation
import Testing
import TrustCore
import Formats
@testable import Metadata

@Suite("Numbers in metadata are range-checked when parsed")
struct RangeCheckTests {
    func rootJSON(replacing old: String, with new: String) throws -> JSONValue {
        let signed = try SignedMetadata(parsing: Array(NotaryVectors.root.utf8), name: "root.json").signed
        let text = String(decoding: signed.canonicalBytes, as: UTF8.self)
        #expect(text.contains(old))
        return try JSONValue(parsing: text.replacingOccurrences(of: old, with: new))
    }

    /// 2^63-1 once passed verify and trapped in a ceremony after the root passphrase was used;
    /// now parsing (the first thing every ceremony and verify does) refuses it.
    @Test(arguments: ["9223372036854775807", "9007199254740992"])
    func hugeVersionsAreRefused(version: String) throws {
        let original = try Root(json: SignedMetadata(parsing: Array(NotaryVectors.root.utf8), name: "root.json").signed)
        let json = try rootJSON(replacing: "\"version\":\(original.version)", with: "\"version\":\(version)")
        let error = #expect(throws: TrustVaultError.self) { try Root(json: json, name: "root.json") }
        #expect(error?.message.contains("root.json") == true)
        #expect(error?.message.contains("out of range") == true)
        var largest = original
        largest.version = Int(maximumMetadataVersion)
        #expect(largest.version + 1 > largest.version)  // the arithmetic ceremonies do cannot trap
    }

    @Test(arguments: ["0", "-1", "99"])
    func thresholdsOutsideOneToKeysAreRefused(threshold: String) throws {
        let json = try rootJSON(replacing: "\"threshold\":1", with: "\"threshold\":\(threshold)")
        #expect(throws: TrustVaultError.self) { try Root(json: json, name: "root.json") }
    }

    @Test(arguments: ["2031-02-31T00:00:00Z", "2031-01-01T00:00:00+25:99"])
    func expiresFollowsGosRules(expires: String) throws {
        let signed = try SignedMetadata(parsing: Array(NotaryVectors.root.utf8), name: "root.json").signed
        let text = String(decoding: signed.canonicalBytes, as: UTF8.self)
        let start = try #require(text.range(of: "\"expires\":\""))
        let end = try #require(text[start.upperBound...].firstIndex(of: "\""))
        let json = try JSONValue(parsing: text.replacingCharacters(in: start.upperBound..<end, with: expires))
        let error = #expect(throws: TrustVaultError.self) { try Root(json: json, name: "root.json") }
        #expect(error?.message.contains("root.json") == true)
    }
}
