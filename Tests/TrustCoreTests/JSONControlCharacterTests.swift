import Testing
import TrustCore

@Suite("Canonical JSON strings with control characters")
struct JSONControlCharacterTests {
    /// Go's canonical encoder escapes control characters (`\n`, `\r`, `\t`, else `\u00xx`);
    /// certificate PEM text kept in key records contains newlines and must round-trip.
    @Test func controlCharactersAreEscapedAsGoDoesAndParseBack() throws {
        let text = "-----BEGIN CERTIFICATE-----\nMIIB\r\n\t\u{01}\u{1F}\"\\-----END CERTIFICATE-----\n"
        let value = JSONValue.obj(["certificate": .string(text)])
        let bytes = value.canonicalBytes
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"certificate":"-----BEGIN CERTIFICATE-----\nMIIB\r\n\t\u0001\u001f\"\\-----END CERTIFICATE-----\n"}"#)
        #expect(!bytes.contains { $0 < 0x20 })
        #expect(try JSONValue(parsing: bytes)["certificate"]?.stringValue == text)
    }
}
