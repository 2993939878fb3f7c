public import TrustCore

/// How long each role's new signature lasts: notary's defaults unless chosen (`--expires ROLE=DURATION`).
public struct ExpiryPolicy: Sendable, Hashable {
    /// Role name (`root`, `targets`, `snapshot`, `targets/<name>`, or `delegations` for every
    /// delegation) → seconds.
    public var seconds: [String: Int64] = [:]

    public init(seconds: [String: Int64] = [:]) { self.seconds = seconds }

    /// notary's defaults: root 10 years, targets, delegations and snapshot 3 years.
    public static let notary = ExpiryPolicy()

    /// The lifetime of a newly signed `role`.
    public func lifetime(of role: String) -> Int64 {
        if let s = seconds[role] { return s }
        if role.hasPrefix("targets/"), let s = seconds["delegations"] { return s }
        switch role {
        case "root": return Int64(DefaultExpiry.rootDays) * 86_400
        case "timestamp": return Int64(DefaultExpiry.timestampDays) * 86_400
        case "snapshot": return Int64(DefaultExpiry.snapshotDays) * 86_400
        default: return Int64(DefaultExpiry.targetsDays) * 86_400
        }
    }

    /// The expiry of `role` signed at `now`.
    public func expiry(of role: String, from now: TUFTime) -> TUFTime { now.adding(seconds: lifetime(of: role)) }

    /// Parses a duration (`ExpiryDuration`, the grammar of every `--expires`).
    public static func parseDuration(_ text: String) throws(TrustVaultError) -> Int64 { try ExpiryDuration.parse(text) }

    /// Adds one `ROLE=DURATION` setting (roles: root, targets, snapshot, delegations, targets/<name>).
    public mutating func set(_ spec: String) throws(TrustVaultError) {
        guard let eq = spec.firstIndex(of: "=") else {
            throw .invalid("\"\(spec)\" is not ROLE=DURATION", recovery: "for example --expires targets=1y")
        }
        let role = String(spec[..<eq]), duration = String(spec[spec.index(after: eq)...])
        guard ["root", "targets", "snapshot", "delegations"].contains(role) || DelegatedRole.isValidName(role) else {
            throw .invalid("\"\(role)\" in --expires is not a role", recovery: "use root, targets, snapshot, delegations or targets/<name>")
        }
        seconds[role] = try Self.parseDuration(duration)
    }
}

/// Where a signed role's `expires` stands, the one rule both verifiers apply: expired at or
/// before `now`; expiring soon within the verifier's warning window (Notary: 6 months, as notary
/// warns; TUF: 7 days, 30 for root).
public enum ExpiryState: Sendable, Equatable {
    case expired, expiresSoon, current

    public static func of(_ expires: TUFTime, now: TUFTime, window: Int64?) -> ExpiryState {
        if expires <= now { return .expired }
        if let window, expires <= now.adding(seconds: window) { return .expiresSoon }
        return .current
    }
}
