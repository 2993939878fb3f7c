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

        /// Parses a duration (`ExpiryDuration`, the grammar of every `--expires`).
        public static func parse(_ text: String) throws(TrustVaultError) -> Int64 { try ExpiryDuration.parse(text) }
    }

    /// An expiry as python-tuf writes and reads it: whole seconds, `Z`.
    public static func expiry(after seconds: Int64, from now: TUFTime = .now()) -> String {
        TUFTime(seconds: now.seconds + seconds).rfc3339
    }
}
