import Foundation

/// Blocking work that is neither model work (the inference queue's) nor quick enough for
/// Swift's shared concurrency pool, whose threads must not block for seconds: it gets a thread
/// of its own for as long as it runs.
enum DedicatedThread {
    /// Runs `work` on a new thread named `name` and returns its result.
    static func run<T: Sendable>(name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            let t = Thread { c.resume(with: Result { try work() }) }
            t.name = name
            t.start()
        }
    }
}
