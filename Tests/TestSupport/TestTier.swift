internal import Foundation
public import Testing

/// The two test tiers.
///
/// - The **fast tier** is everything in-process or against the built `trustvault` binaries only:
///   no notary-server, no notary or docker client, no pcscd or card tools, no python-tuf, no
///   faketime. `Scripts/test.sh --fast` runs it (`TRUSTVAULT_TEST_TIER=fast`).
/// - The **interop tier** is every suite or test marked `.tags(.interop), .interop`: it runs
///   against the real peers and is skipped in the fast tier.
/// - The **durability runs** (`.tags(.durability), .durability`: kill -9 at random moments and a
///   full disk under every writing command) need no peer but run the built binaries hundreds of
///   times; the fast tier skips them too, `Scripts/test.sh` runs them.
///
/// In the fast tier every harness refuses to start a peer (``refusePeer(_:)``): a test that
/// needs one and is not marked fails, naming the peer, instead of quietly using it.
public enum TestTier {
    /// The environment variable that selects the fast tier (`fast`); unset runs every test.
    public static let variable = "TRUSTVAULT_TEST_TIER"

    /// Whether this process runs the fast tier only.
    public static var isFast: Bool { ProcessInfo.processInfo.environment[variable] == "fast" }

    /// Programs the fast tier never starts (matched by file name, wherever they are installed),
    /// besides anything from `.venv-tools/` (python-tuf and the token issuer). A system
    /// `python3` running a helper script of the tests themselves is not a peer.
    public static let peers: Set<String> = [
        "notary-server", "notary", "docker", "faketime", "pcscd", "yubico-piv-tool", "ykman", "pkcs11-tool", "curl",
    ]

    /// Throws when the fast tier is about to start `executable` (a path or a name) and it is a
    /// peer; a no-op in the interop tier.
    public static func refusePeer(_ executable: String) throws {
        guard isFast else { return }
        let name = (executable as NSString).lastPathComponent
        guard peers.contains(name) || executable.contains("/.venv-tools/") else { return }
        throw TestFailure(
            "the fast tier (\(variable)=fast) started \(name), a peer; mark the suite or test "
                + "`.tags(.interop), .interop` (Tests/TestSupport/TestTier.swift)")
    }
}

extension Tag {
    /// Kill -9 and full-disk runs of every writing command; skipped by the fast tier.
    @Tag public static var durability: Self

    /// Runs against a real peer (notary-server, notary, docker, pcscd and the card tools,
    /// python-tuf, faketime); skipped by the fast tier.
    @Tag public static var interop: Self
}

extension Trait where Self == ConditionTrait {
    /// The interop tier's condition: disabled when the process runs the fast tier only. Used
    /// together with the tag: `@Suite("…", .tags(.interop), .interop)`.
    public static var interop: Self {
        .enabled(if: !TestTier.isFast, "interop tier (against real peers): skipped by Scripts/test.sh --fast")
    }

    /// The durability runs' condition: disabled in the fast tier. Used together with the tag:
    /// `@Suite("…", .tags(.durability), .durability)`.
    public static var durability: Self {
        .enabled(if: !TestTier.isFast, "durability run (kill -9, full disk): skipped by Scripts/test.sh --fast")
    }
}
