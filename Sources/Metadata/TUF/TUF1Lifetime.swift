public import TrustCore

extension TUF1 {
    /// Default lifetimes of new and refreshed TUF 1.0 metadata, in seconds.
    public enum Lifetime {
        public static let day: Int64 = 86_400
        public static func defaultSeconds(role: String) -> Int64 {
            switch role {
            case "root": 365 * day
            case "timestamp": 7 * day
            case "snapshot": 30 * day
            default: 90 * day
            }
        }

        /// `30d`, `12h`, `2w`, `1y` (365 days), `90m`.
        public static func parse(_ text: String) throws(TrustVaultError) -> Int64 {
            guard let unit = text.last, let n = Int64(text.dropLast()), n > 0, n <= 100_000 else {
                throw .invalid("\"\(text)\" is not a duration", recovery: "write e.g. 365d, 12h, 2w or 1y")
            }
            switch unit {
            case "m": return n * 60
            case "h": return n * 3600
            case "d": return n * day
            case "w": return n * 7 * day
            case "y": return n * 365 * day
            default: throw .invalid("\"\(text)\" is not a duration", recovery: "write e.g. 365d, 12h, 2w or 1y")
            }
        }
    }

    /// Versions above this are refused (so version+1 never overflows).
    public static let maximumVersion: Int64 = 1 << 40

    /// An expiry as python-tuf writes and reads it: whole seconds, `Z`.
    public static func expiry(after seconds: Int64, from now: TUFTime = .now()) -> String {
        TUFTime(seconds: now.seconds + seconds).rfc3339
    }
}
