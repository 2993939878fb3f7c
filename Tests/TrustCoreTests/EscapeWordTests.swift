import Testing
@testable import TrustCore

/// `Escape.visibleLines` checks a large view eight bytes at a time: every byte that needs an
/// escape is found at every position of a word, and plain text passes unchanged.
@Suite struct EscapeWordTests {
    @Test func everyByteThatNeedsAnEscapeIsFoundAtEveryPosition() {
        let plain = String(repeating: "tag-000001   3dd3f8d1db39a536\t(Repo Admin)\n", count: 3)
        #expect(Escape.isPlainLines(plain))
        #expect(Escape.visibleLines(plain) == plain)
        for bad: Unicode.Scalar in ["\u{1B}", "\u{00}", "\u{1F}", "\u{7F}", "\u{0D}", "\u{85}", "\u{202E}", "\u{E9}"] {
            for position in 0..<(plain.utf8.count) where position % 7 == 0 || position < 17 {
                var scalars = Array(plain.unicodeScalars)
                scalars.insert(bad, at: min(position, scalars.count))
                var text = ""
                text.unicodeScalars.append(contentsOf: scalars)
                #expect(!Escape.isPlainLines(text), "U+\(String(bad.value, radix: 16)) at \(position)")
                let shown = Escape.visibleLines(text)
                // Non-ASCII letters are shown as they are; controls, DEL, C1 and bidi overrides escaped.
                if bad == "\u{E9}" { #expect(shown == text) } else { #expect(!shown.unicodeScalars.contains(bad), "\(shown)") }
            }
        }
        // Short texts (no whole word) and the tail of a long one.
        #expect(Escape.isPlainLines("") && Escape.isPlainLines("ab\tc\n") && !Escape.isPlainLines("ab\u{07}"))
        #expect(!Escape.isPlainLines(String(repeating: "x", count: 16) + "\u{1B}"))
    }
}
