/// The one error type that every trustvault module throws.
///
/// An error carries an open ``Code`` (so new codes are not a source break), a one-sentence
/// `message` that says what went wrong and where, and an optional `recovery` line that says
/// what to do next. Equality and hashing use only the code, so tests can build the expected
/// value directly: `#expect(throws: TrustVaultError.wrongPassphrase(""))`.
///
/// Messages never contain secret material: no passphrase, PIN or key bytes.
public struct TrustVaultError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. The CLI maps codes to exit statuses.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A passphrase did not unlock a key, backup or key file.
        public static let wrongPassphrase = Code("wrongPassphrase")
        /// A PIN, PUK or management key was refused by a card.
        public static let wrongPIN = Code("wrongPIN")
        /// A secret is needed but neither an environment variable nor a terminal supplies it.
        public static let missingSecret = Code("missingSecret")
        /// Input data is malformed, truncated or tampered with.
        public static let corruptData = Code("corruptData")
        /// A key or file format (or version) that trustvault does not support.
        public static let unsupported = Code("unsupported")
        /// A key ID, file or vault that was asked for does not exist.
        public static let notFound = Code("notFound")
        /// Something that must not be overwritten already exists.
        public static let alreadyExists = Code("alreadyExists")
        /// Files or directories are accessible by other users.
        public static let insecurePermissions = Code("insecurePermissions")
        /// The arguments do not make sense together.
        public static let invalidArgument = Code("invalidArgument")
        /// Signatures, thresholds, hashes or expiries did not verify.
        public static let verificationFailed = Code("verificationFailed")
        /// A needed service (pcscd, a reader, a card) is not available.
        public static let serviceUnavailable = Code("serviceUnavailable")
        /// A card answered with an error.
        public static let cardError = Code("cardError")
        /// Reading or writing a file failed at the operating-system level.
        public static let ioFailure = Code("ioFailure")
        /// Another trustvault process holds the vault lock.
        public static let busy = Code("busy")
        /// The operation was refused for safety (e.g. last PIN try, factory PIN).
        public static let refused = Code("refused")
    }

    public let code: Code
    /// What went wrong, in one sentence, naming the file or key involved.
    public let message: String
    /// What the user can do about it, if anything.
    public let recovery: String?

    public init(_ code: Code, _ message: String, recovery: String? = nil) {
        self.code = code
        self.message = message
        self.recovery = recovery
    }

    public var description: String {
        if let recovery { return "\(message) (\(recovery))" }
        return message
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// Returns the same error with a location ("in FILE") prefixed to the message.
    public func located(_ place: String) -> TrustVaultError {
        TrustVaultError(code, "\(place): \(message)", recovery: recovery)
    }
}

extension TrustVaultError {
    @inline(never)
    public static func wrongPassphrase(_ message: String, recovery: String? = nil) -> Self {
        Self(.wrongPassphrase, message, recovery: recovery)
    }
    @inline(never)
    public static func corrupt(_ message: String, recovery: String? = nil) -> Self {
        Self(.corruptData, message, recovery: recovery)
    }
    @inline(never)
    public static func unsupported(_ message: String, recovery: String? = nil) -> Self {
        Self(.unsupported, message, recovery: recovery)
    }
    @inline(never)
    public static func notFound(_ message: String, recovery: String? = nil) -> Self {
        Self(.notFound, message, recovery: recovery)
    }
    @inline(never)
    public static func invalid(_ message: String, recovery: String? = nil) -> Self {
        Self(.invalidArgument, message, recovery: recovery)
    }
    @inline(never)
    public static func io(_ message: String, recovery: String? = nil) -> Self {
        Self(.ioFailure, message, recovery: recovery)
    }
    @inline(never)
    public static func verification(_ message: String, recovery: String? = nil) -> Self {
        Self(.verificationFailed, message, recovery: recovery)
    }
}
