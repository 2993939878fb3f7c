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

    /// Parses RFC 3339 with Go's rules (TrustCore's ``RFC3339``, the one parser).
    public init(rfc3339 text: String) throws(TrustVaultError) {
        let (seconds, nanoseconds) = try RFC3339.parse(text)
        self.init(seconds: seconds, nanoseconds: nanoseconds)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    // Howard Hinnant's civil-from-days algorithm (TrustCore's RFC3339 has days-from-civil).
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
