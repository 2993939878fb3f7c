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

    /// The one wipe function for arrays that held secrets: overwrites the bytes in place with
    /// `sodium_memzero` (which the compiler cannot drop). The array must be the only reference
    /// to its storage, else the write copies it first and the original is not wiped.
    package static func wipe(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) }
    }

    /// Wipes raw memory the caller owns (a C struct, a stack buffer).
    package static func wipe(_ pointer: UnsafeMutableRawPointer, count: Int) {
        guard count > 0 else { return }
        sodium_memzero(pointer, count)
    }

    /// The libsodium version in use, e.g. `1.0.18`.
    package static var version: String { String(cString: sodium_version_string()) }
}
