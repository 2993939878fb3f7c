internal import CSodium

/// Argon2id cost settings.
///
/// `interactive` and `sensitive` are libsodium's own constants. `moderate`, the default, is
/// stronger than libsodium's MODERATE (3 passes, 256 MiB): at least 4 passes over 512 MiB. `trustvault
/// init` calibrates it on the machine that creates the vault (`KDFCalibration` in KeyVault): more
/// passes, up to ``maximumCalibratedOpsLimit``, until one unlock takes about 1.8 s, so that one
/// guess costs well over 1000 guesses against a notary key file (PBKDF2-HMAC-SHA1 ×2048) while
/// unlocking stays under 2 s (see docs/benchmarks.md).
///
/// The vault records its profile in `vault.json`; every sealed record also carries the exact
/// `opslimit`/`memlimit` it was made with, so a record opens even if the profile changes later.
public struct KDFProfile: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let opsLimit: UInt64
    public let memLimit: UInt64

    public init(name: String, opsLimit: UInt64, memLimit: UInt64) {
        self.name = name
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// 2 passes, 64 MiB: for tests and throwaway vaults.
    public static let interactive = KDFProfile(
        name: "interactive",
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE),
        memLimit: UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE))
    /// 4 passes, 512 MiB: the default, and the minimum for root keys.
    public static let moderate = KDFProfile(name: "moderate", opsLimit: 4, memLimit: 512 * 1024 * 1024)
    /// 4 passes, 1 GiB: for backups and the most valuable keys.
    public static let sensitive = KDFProfile(
        name: "sensitive",
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE),
        memLimit: UInt64(crypto_pwhash_MEMLIMIT_SENSITIVE))

    public static let all: [KDFProfile] = [.interactive, .moderate, .sensitive]

    /// The most passes a calibrated `moderate` profile may have (over its 512 MiB). It bounds what
    /// a tampered record can cost: 10 passes over 512 MiB, a little more than one `sensitive` run.
    public static let maximumCalibratedOpsLimit: UInt64 = 10

    /// `moderate` with `opsLimit` passes (a calibrated profile), clamped to
    /// 4...``maximumCalibratedOpsLimit``: never weaker than today's `moderate`.
    public static func moderate(passes opsLimit: UInt64) -> KDFProfile {
        KDFProfile(
            name: moderate.name, opsLimit: min(max(opsLimit, moderate.opsLimit), maximumCalibratedOpsLimit),
            memLimit: moderate.memLimit)
    }

    public static func named(_ name: String) -> KDFProfile? {
        all.first { $0.name == name }
    }

    /// The stronger of two profiles (by memory, then passes).
    public func atLeast(_ other: KDFProfile) -> KDFProfile {
        (memLimit, opsLimit) >= (other.memLimit, other.opsLimit) ? self : other
    }

    public var description: String {
        "\(name) (Argon2id, \(opsLimit) passes, \(memLimit / (1024 * 1024)) MiB)"
    }

    /// Bounds for any Argon2id run: no more than the strongest profile trustvault writes
    /// (sensitive: 4 passes, 1 GiB), so a tampered file can cost at most one sensitive unlock.
    package static let maximumMemLimit: UInt64 = all.map(\.memLimit).max() ?? 0
    package static let maximumOpsLimit: UInt64 = max(all.map(\.opsLimit).max() ?? 0, maximumCalibratedOpsLimit)
    /// The most work (passes × MiB) any profile trustvault writes asks for: a calibrated
    /// `moderate` at its maximum (10 × 512 MiB) or `sensitive` (4 × 1 GiB), whichever is more.
    package static let maximumWork: UInt64 = max(
        all.map { $0.opsLimit * ($0.memLimit >> 20) }.max() ?? 0,
        maximumCalibratedOpsLimit * (moderate.memLimit >> 20))

    /// The profile with exactly these parameters, if trustvault writes one: one of ``all``, or a
    /// calibrated `moderate` (512 MiB, 4 to ``maximumCalibratedOpsLimit`` passes).
    public static func matching(opsLimit: Int64, memLimit: Int64) -> KDFProfile? {
        if let known = all.first(where: { Int64($0.opsLimit) == opsLimit && Int64($0.memLimit) == memLimit }) {
            return known
        }
        guard memLimit == Int64(moderate.memLimit), opsLimit > Int64(moderate.opsLimit),
            opsLimit <= Int64(maximumCalibratedOpsLimit)
        else { return nil }
        return .moderate(passes: UInt64(opsLimit))
    }

    /// Argon2id parameters read from a file (key record, backup header, `vault.json`) must be
    /// one of trustvault's profiles; anything else is refused before any KDF runs.
    public static func stored(opsLimit: Int64?, memLimit: Int64?, in file: String) throws(TrustVaultError) -> KDFProfile {
        guard let opsLimit, let memLimit, let profile = matching(opsLimit: opsLimit, memLimit: memLimit) else {
            throw .corrupt(
                "\(Escape.visible(file)): the Argon2id parameters (opslimit \(opsLimit.map(String.init) ?? "missing"), memlimit \(memLimit.map(String.init) ?? "missing")) are not a trustvault profile, so the file is damaged or not made by trustvault",
                recovery: "restore it from a backup (trustvault backup restore)")
        }
        return profile
    }
}
