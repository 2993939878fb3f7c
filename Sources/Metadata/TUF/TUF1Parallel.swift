internal import Foundation

extension TUF1 {
    /// `body(0..<count)` on every core, in contiguous chunks (a few per core, so a slow chunk does
    /// not leave a core idle); the results in index order. For work on many target files: reading
    /// and hashing 10,000 or 100,000 small files is mostly system calls, which overlap well.
    public static func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
        guard count > 1 else { return count == 1 ? [body(0)] : [] }
        let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
        let results = ChunkResults<T>(chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            results.set(c, ((count * c / chunks)..<(count * (c + 1) / chunks)).map(body))
        }
        return results.joined()
    }

    /// Each chunk's results, written once by the chunk that made them.
    private final class ChunkResults<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var chunks: [[T]]
        init(_ count: Int) { chunks = Array(repeating: [], count: count) }
        func set(_ i: Int, _ value: [T]) { lock.withLock { chunks[i] = value } }
        func joined() -> [T] { lock.withLock { chunks.flatMap { $0 } } }
    }
}
