import Testing
import TrustCore

@Suite("Go-canonical JSON")
struct JSONValueTests {
    @Test func sortsKeysByUTF8BytesAndHasNoWhitespace() throws {
        let v = try JSONValue(parsing: #"{ "b": 1, "a": [true, false, null], "B": "x", "é": {}, "aa": -5 }"#)
        #expect(v.canonicalString == #"{"B":"x","a":[true,false,null],"aa":-5,"b":1,"é":{}}"#)
    }

    @Test func escapesOnlyQuoteAndBackslash() throws {
        let v = JSONValue.obj(["k": .string("x<y>&zé\u{2028}\"q\\")])
        // Canonical (signed) form: raw bytes except " and \.
        #expect(v.canonicalString == "{\"k\":\"x<y>&zé\u{2028}\\\"q\\\\\"}")
        // On-disk envelope form, as Go's encoding/json writes it (reference notary-v1 §3.2).
        let escaped = String(decoding: JSONValue.goHTMLEscaped(v.canonicalBytes), as: UTF8.self)
        #expect(escaped == #"{"k":"x\u003cy\u003e\u0026zé\u2028\"q\\"}"#)
    }

    @Test func keysThatDifferOnlyInNormalisationStayApart() throws {
        let v = try JSONValue(parsing: "{\"\u{E9}\":1,\"e\u{301}\":2}")
        #expect(v.objectValue?.count == 2)
        #expect(v.canonicalBytes.count == Array("{\"e\u{301}\":2,\"\u{E9}\":1}".utf8).count)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.5", "\"\u{01}\"", "{\"a\":1,\"a\":2}",
        "\"\\ud800\"", "[1] x", "nul", "\"abc",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: TrustVaultError.corrupt("")) { try JSONValue(parsing: text) }
    }

    @Test func integralFloatsBecomeIntegersAsInGo() throws {
        #expect(try JSONValue(parsing: "1e3") == .integer(1000))
        #expect(try JSONValue(parsing: "2.0") == .integer(2))
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: TrustVaultError.corrupt("")) { try JSONValue(parsing: deep) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: TrustVaultError.corrupt("")) { try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
    }

    @Test func escapesRoundTrip() throws {
        let v = try JSONValue(parsing: #""a\n\t\u00e9\ud83d\ude00\/""#)
        #expect(v == .string("a\n\té😀/"))
    }
}
