import Foundation
import Synchronization

/// Threads that do nothing but spin until stopped: the other programs of a busy machine, for
/// `jarvis-bench engine --busy`. Being threads of this process, they stop when it does.
final class BusyThreads: Sendable {
    private let running = Atomic<Bool>(true)

    /// Starts `count` spinning threads.
    init(count: Int) {
        for _ in 0..<count {
            Thread { [self] in
                while running.load(ordering: .relaxed) {}
            }.start()
        }
    }

    /// Lets every thread return.
    func stop() { running.store(false, ordering: .relaxed) }
}
