internal import CSodium

/// Secret bytes (private keys, passphrases, derived keys) in `sodium_malloc`ed memory.
///
/// The memory sits between guard pages, is locked against swapping where the system allows,
/// and is wiped and freed by `sodium_free` when the last reference goes away. The class is
/// immutable after initialisation, hence `@unchecked Sendable`. Its `description` never shows
/// the bytes.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes held.
    public let count: Int

    /// Allocates `count` bytes and lets `initializer` fill them in place.
    ///
    /// If the initializer throws, the memory is still wiped and freed (by `deinit`).
    public init(
        count: Int,
        _ initializer: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        Sodium.ensureInitialised()
        // sodium_malloc(0) is allowed but returns a pointer we must not write; keep one byte.
        guard let p = sodium_malloc(max(count, 1)) else {
            fatalError("sodium_malloc failed: out of memory")
        }
        self.pointer = p
        self.count = count
        try initializer(UnsafeMutableRawBufferPointer(start: p, count: count))
    }

    /// Copies `bytes` into secure memory. The caller should wipe its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        self.init(count: array.count) { buffer in
            if !array.isEmpty { buffer.copyBytes(from: array) }
        }
    }

    /// Copies `bytes` into secure memory and wipes the caller's array in place.
    ///
    /// No second reference to the array's storage is taken (one would make the wipe copy the
    /// buffer and wipe the copy, leaving the original to be freed unwiped).
    public convenience init(consuming bytes: inout [UInt8]) {
        let count = bytes.count
        self.init(count: count) { buffer in
            if count > 0 { bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } }
        }
        Sodium.wipe(&bytes)
    }

    deinit {
        sodium_free(pointer)
    }

    /// Gives read access to the bytes for the duration of `body`.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Gives a typed pointer to the bytes, as C libraries taking `const unsigned char *` want.
    public func withBytePointer<R, E: Error>(
        _ body: (UnsafePointer<UInt8>, Int) throws(E) -> R
    ) throws(E) -> R {
        try body(pointer.assumingMemoryBound(to: UInt8.self), count)
    }

    /// Lends the bytes as a temporary array, for library APIs that demand an array (DER
    /// serializers, APDU builders). The array is wiped in place when `body` returns; `body`
    /// must not keep it (copy what it needs into buffers that are themselves wiped).
    public func withTemporaryArray<R, E: Error>(_ body: (inout [UInt8]) throws(E) -> R) throws(E) -> R {
        var copy = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count)) }
            initialized = count
        }
        defer { Sodium.wipe(&copy) }
        return try body(&copy)
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }

    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
}

/// A passphrase held in secure memory. Never printed.
public struct Passphrase: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let secret: SecretBytes

    public init(_ secret: SecretBytes) { self.secret = secret }

    /// From UTF-8 text (environment variables, tests). The string itself cannot be wiped.
    public init(_ text: String) {
        self.secret = SecretBytes(copying: Array(text.utf8))
    }

    public var isEmpty: Bool { secret.count == 0 }
    public var byteCount: Int { secret.count }
    public var description: String { "Passphrase(redacted)" }
    public var debugDescription: String { description }
}
