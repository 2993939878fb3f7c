internal import Foundation
internal import TrustCore

/// What was read from the last few large buffers (1 MiB and more), by the buffer's identity.
///
/// A ceremony reads the same `targets.json` several times (verification of `--current`, the
/// transition, the key-status book, verification of the result); at 100,000 tags each reading
/// is tens of milliseconds. Entries keep their buffer alive, so no other buffer can share its
/// address while it is cached, and a buffer changed since (copy on write) is a new buffer: the
/// identity stands for the content. Results are values, and only successful readings are kept
/// (an error names the file it was read as).
final class LargeFileCache<Value>: @unchecked Sendable {
    static var minimumBytes: Int { 1 << 20 }
    private let capacity = 4
    private let lock = NSLock()
    private var entries: [(buffer: [UInt8], range: Range<Int>, value: Value)] = []

    func value(
        for buffer: [UInt8], range: Range<Int>, make: () throws(TrustVaultError) -> Value
    ) throws(TrustVaultError) -> Value {
        guard range.count >= Self.minimumBytes else { return try make() }
        let base = buffer.withUnsafeBufferPointer { $0.baseAddress }
        lock.lock()
        let hit = entries.first { entry in entry.range == range && entry.buffer.withUnsafeBufferPointer { $0.baseAddress } == base }
        lock.unlock()
        if let hit { return hit.value }
        let value = try make()
        insert(value, for: buffer, range: range)
        return value
    }

    /// Records `value` as what `buffer[range]` reads as.
    func insert(_ value: Value, for buffer: [UInt8], range: Range<Int>) {
        guard range.count >= Self.minimumBytes else { return }
        lock.lock()
        entries.append((buffer, range, value))
        if entries.count > capacity { entries.removeFirst() }
        lock.unlock()
    }
}
