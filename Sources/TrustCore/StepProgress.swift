/// Progress lines for the steps that take about a second or more (each Argon2id sealing or
/// unsealing of a key, at the moderate and sensitive profiles): the library says what it is
/// doing, the CLI decides where it goes (stderr, so stdout stays the result). By default the
/// lines go nowhere, so a Swift program using the library prints nothing it did not ask for.
public enum StepProgress {
    /// Where progress lines go; `nil` (the default) drops them. Set once at startup.
    nonisolated(unsafe) public static var sink: (@Sendable (String) -> Void)?

    /// One progress line, e.g. `sealing key 2 of 5 (targets, docker.io/acme/app)…`.
    public static func note(_ line: String) { sink?(line) }
}
