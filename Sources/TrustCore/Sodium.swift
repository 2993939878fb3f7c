internal import CSodium

/// The single gateway that initialises libsodium before first use.
package enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// Makes sure `sodium_init()` ran; traps only if libsodium itself cannot start, which
    /// leaves no safe way to continue.
    package static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }

    /// Fills `count` bytes from the system CSPRNG.
    package static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialised()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }

    /// A uniformly random integer in `0..<upperBound`.
    package static func randomUniform(_ upperBound: UInt32) -> UInt32 {
        ensureInitialised()
        return randombytes_uniform(upperBound)
    }

    /// Overwrites an array's bytes (best effort: Swift may have made copies).
    package static func wipe(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) }
    }

    /// The libsodium version in use, e.g. `1.0.18`.
    package static var version: String { String(cString: sodium_version_string()) }
}
