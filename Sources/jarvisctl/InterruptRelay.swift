#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Turns Ctrl-C (SIGINT) into a call on an ordinary thread: the signal handler only writes a
/// byte to a pipe, and a thread of ours reads it and calls `onInterrupt`. The process is no
/// longer ended by Ctrl-C while the relay is installed.
final class InterruptRelay: Sendable {
    /// The pipe's write end, for the signal handler (which can capture nothing).
    nonisolated(unsafe) private static var writeFD: Int32 = -1

    /// Installs the handler and starts the thread; `onInterrupt` runs on that thread.
    init(onInterrupt: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        Self.writeFD = fds[1]
        let readFD = fds[0]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(InterruptRelay.writeFD, &byte, 1)
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, nil)
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                onInterrupt()
            }
        }
    }
}
