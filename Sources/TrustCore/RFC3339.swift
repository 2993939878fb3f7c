/// The one RFC 3339 parser, with Go's `time.Parse(time.RFC3339, …)` rules, which notary and
/// docker apply: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case `T` and `Z`, a day that
/// exists in its month (`2031-02-31` is refused), seconds below 60, and an offset whose hours
/// are below 24 and minutes below 60 (`+25:99` is refused).
public enum RFC3339 {
    /// Seconds since 1970-01-01T00:00:00Z and nanoseconds.
    public static func parse(_ text: String) throws(TrustVaultError) -> (seconds: Int64, nanoseconds: Int32) {
        let b = Array(text.utf8)
        func bad(_ why: String) -> TrustVaultError {
            .corrupt("\"\(Escape.visible(String(text.prefix(64))))\" is not an RFC 3339 time (\(why))")
        }
        func num(_ start: Int, _ count: Int) throws(TrustVaultError) -> Int64 {
            guard start + count <= b.count else { throw bad("it is cut short") }
            var v: Int64 = 0
            for i in start..<start + count {
                guard b[i] >= 48, b[i] <= 57 else { throw bad("a digit is expected at position \(i + 1)") }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, b.count <= 40, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":")
        else { throw bad("expected YYYY-MM-DDTHH:MM:SSZ") }
        let y = try num(0, 4), mo = try num(5, 2), d = try num(8, 2)
        let h = try num(11, 2), mi = try num(14, 2), s = try num(17, 2)
        guard (1...12).contains(mo) else { throw bad("month out of range") }
        guard d >= 1, d <= daysIn(month: mo, year: y) else { throw bad("day out of range") }
        guard h < 24, mi < 60, s < 60 else { throw bad("time out of range") }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                guard digits < 9 else { throw bad("more than 9 fractional digits") }
                nanos = nanos * 10 + Int64(b[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw bad("no digits after the decimal point") }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        guard i < b.count else { throw bad("no time zone") }
        if b[i] == UInt8(ascii: "Z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":") else { throw bad("the offset must be ±HH:MM") }
            let oh = try num(i + 1, 2), om = try num(i + 4, 2)
            guard oh < 24, om < 60 else { throw bad("time zone offset out of range") }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        }
        guard i == b.count else { throw bad("unexpected text after the time zone") }
        let days = daysFromCivil(y, mo, d)
        return (days * 86_400 + h * 3600 + mi * 60 + s - offset, Int32(nanos))
    }

    public static func isValid(_ text: String) -> Bool {
        (try? parse(text)) != nil
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil algorithm.
    static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
