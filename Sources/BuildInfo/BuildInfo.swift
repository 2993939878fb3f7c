/// What `--version` prints for both executables: the release, the commit the binary was built
/// from, and the build date. The commit and date come from `GeneratedBuildInfo`, written before
/// every build by the BuildInfoPlugin (Scripts/build-info.sh) into the build directory, never
/// into the source tree; without git (a source archive) the commit is `unknown`.
public enum BuildInfo {
    /// The release.
    public static let version = "0.1.0"
    /// The commit (12 hex digits, `-modified` when tracked files differ from it), or `unknown`.
    public static let commit = GeneratedBuildInfo.commit
    /// The build date (UTC, `YYYY-MM-DD`; `SOURCE_DATE_EPOCH` when set, for reproducible builds).
    public static let date = GeneratedBuildInfo.date

    /// `0.1.0 (commit 0123456789ab, built 2026-12-02)`.
    public static var versionText: String { "\(version) (commit \(commit), built \(date))" }
}
