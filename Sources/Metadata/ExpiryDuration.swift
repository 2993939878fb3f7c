public import TrustCore

/// The one duration grammar of every `--expires` (Notary's `repo …`, TUF's `tuf …`) and of
/// `--within`: a positive whole number of at most 6 digits followed by one unit — `m` (minutes),
/// `h` (hours), `d` (days), `w` (weeks) or `y` (365 days) — at most 100 years in all.
/// `90m`, `12h`, `90d`, `26w`, `3y`. (docs/number-rules.md)
public enum ExpiryDuration {
    public static let units: [Character: Int64] = ["m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400]
    /// 100 years: longer than any key should be trusted, short enough that `now + lifetime` never
    /// leaves the range RFC 3339 writes (year 9999).
    public static let maximumSeconds: Int64 = 100 * 365 * 86_400

    /// Seconds in `text`; `.invalid` naming the text otherwise.
    public static func parse(_ text: String) throws(TrustVaultError) -> Int64 {
        let hint = "write a number and a unit: 90m, 12h, 90d, 26w or 3y"
        guard let unit = text.last, let factor = units[unit] else {
            throw .invalid("\"\(text)\" is not a duration", recovery: hint)
        }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int64(digits), n >= 1 else {
            throw .invalid("\"\(text)\" is not a duration", recovery: hint)
        }
        let total = n * factor
        guard total <= maximumSeconds else { throw .invalid("\"\(text)\" is longer than 100 years", recovery: hint) }
        return total
    }
}
