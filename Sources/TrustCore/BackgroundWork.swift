internal import Foundation

/// Work started on another thread now and collected later with ``value()``: a ceremony hashes
/// and signs a large file on the second core while the first unseals a key with Argon2id.
/// `value()` waits for the work, so nothing outlives the caller's use of it.
public final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, TrustVaultError>?

    public init(_ work: @escaping @Sendable () throws(TrustVaultError) -> Value) {
        let thread = Thread { [self] in
            do throws(TrustVaultError) { result = .success(try work()) } catch { result = .failure(error) }
            done.signal()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    /// The work's value (or its error), once it is finished.
    public func value() throws(TrustVaultError) -> Value {
        done.wait()
        done.signal()  // a second call does not wait again
        return try (result ?? .failure(.corrupt("background work ended without a result"))).get()
    }
}
