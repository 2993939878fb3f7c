public import TrustCore

/// The one map from error codes to exit statuses (sysexits.h), for both executables. The README's
/// table ("Exit status") lists the same statuses; `CLISupportTests` holds the two together.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// The operation failed or a verification did not hold.
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64  // EX_USAGE
    public static let dataError: Int32 = 65  // EX_DATAERR
    public static let noInput: Int32 = 66  // EX_NOINPUT
    public static let unavailable: Int32 = 69  // EX_UNAVAILABLE
    public static let cannotCreate: Int32 = 73  // EX_CANTCREAT
    public static let ioError: Int32 = 74  // EX_IOERR
    public static let temporaryFailure: Int32 = 75  // EX_TEMPFAIL
    public static let noPermission: Int32 = 77  // EX_NOPERM

    /// The exit status for an error code. Codes not named here (verification failures, card
    /// errors, refusals, codes added later) are 1.
    public static func code(for code: TrustVaultError.Code) -> Int32 {
        switch code {
        case .wrongPassphrase, .wrongPIN, .insecurePermissions: noPermission
        case .corruptData, .unsupported, .missingSecret: dataError
        case .invalidArgument: usage
        case .notFound: noInput
        case .alreadyExists: cannotCreate
        case .serviceUnavailable: unavailable
        case .ioFailure: ioError
        case .busy: temporaryFailure
        default: failure
        }
    }
}
