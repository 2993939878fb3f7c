public import TrustCore
public import Foundation

/// A metadata time (`expires`) as Go's `time.Time` writes it in JSON: RFC 3339 with
/// nanoseconds, trailing fractional zeros trimmed (and the dot dropped when nothing is left).
///
/// trustvault always writes UTC (`Z`). Times read from files may carry a zone offset; they are
/// compared by their instant. Files are never re-serialised from a parsed time: signed bytes
/// that are only countersigned keep their original text.
public struct TUFTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// 0 ..< 1_000_000_000.
    public let nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public init(_ date: Date) {
        let t = date.timeIntervalSince1970
        var s = Int64(t.rounded(.down))
        var n = Int32(((t - Double(s)) * 1_000_000_000).rounded())
        if n >= 1_000_000_000 { s += 1; n -= 1_000_000_000 }
        self.init(seconds: s, nanoseconds: n)
    }

    public static func now() -> TUFTime {
        TUFTime(Date())
    }

    public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9) }

    public func adding(days: Int) -> TUFTime { TUFTime(seconds: seconds + Int64(days) * 86_400, nanoseconds: nanoseconds) }
    public func adding(seconds s: Int64) -> TUFTime { TUFTime(seconds: seconds + s, nanoseconds: nanoseconds) }

    public static func < (a: TUFTime, b: TUFTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, as Go writes a UTC time.
    public var rfc3339: String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = seconds - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        var s = Self.pad(y, 4) + "-" + Self.pad(m, 2) + "-" + Self.pad(d, 2) + "T"
        s += Self.pad(secOfDay / 3600, 2) + ":" + Self.pad(secOfDay / 60 % 60, 2) + ":" + Self.pad(secOfDay % 60, 2)
        if nanoseconds > 0 {
            var frac = Self.pad(Int64(nanoseconds), 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            s += "." + frac
        }
        return s + "Z"
    }

    public var description: String { rfc3339 }

    /// A short human form: `2036-11-19 15:18 UTC`.
    public var display: String {
        let r = rfc3339
        return String(r.prefix(10)) + " " + String(r.dropFirst(11).prefix(5)) + " UTC"
    }

    /// Parses RFC 3339 (`Z` or `±HH:MM`), with an optional fraction of up to 9 digits.
    public init(rfc3339 text: String) throws(TrustVaultError) {
        let b = Array(text.utf8)
        func bad() -> TrustVaultError { .corrupt("\"\(text)\" is not an RFC 3339 time") }
        func num(_ start: Int, _ count: Int) throws(TrustVaultError) -> Int64 {
            guard start + count <= b.count else { throw bad() }
            var v: Int64 = 0
            for i in start..<start + count {
                guard b[i] >= 48, b[i] <= 57 else { throw bad() }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"), b[13] == UInt8(ascii: ":"),
            b[16] == UInt8(ascii: ":")
        else { throw bad() }
        let y = try num(0, 4), mo = try num(5, 2), d = try num(8, 2)
        let h = try num(11, 2), mi = try num(14, 2), s = try num(17, 2)
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 60 else { throw bad() }
        var i = 19
        var nanos: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                guard digits < 9 else { throw bad() }
                nanos = nanos * 10 + Int64(b[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0 else { throw bad() }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset: Int64 = 0
        guard i < b.count else { throw bad() }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":") else { throw bad() }
            let oh = try num(i + 1, 2), om = try num(i + 4, 2)
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        }
        guard i == b.count else { throw bad() }
        let days = Self.days(fromCivil: y, mo, d)
        self.init(seconds: days * 86_400 + h * 3600 + mi * 60 + s - offset, nanoseconds: Int32(nanos))
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    // Howard Hinnant's civil-calendar algorithms.
    private static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
