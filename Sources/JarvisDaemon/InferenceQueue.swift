import Foundation
import Synchronization

/// One thread that runs model work, interactive jobs (asks, searches) before bulk ones
/// (remembering), each class in arrival order. The model, its scratch buffers and the compute
/// thread pool are used by one job at a time, and never from Swift's shared concurrency pool,
/// whose threads must not block for seconds. A running job is never interrupted, but bulk work
/// lets waiting interactive jobs through at points where it holds no model state
/// (`runInteractiveJobs`), so a question that comes during an import waits for at most one part
/// of a remember being encoded. Call `stop()` when done.
public final class InferenceQueue: @unchecked Sendable {
    /// Which jobs go first.
    public enum Priority: Sendable {
        /// Someone is waiting for it: ask, search, propose, forget.
        case interactive
        /// Remember and update: encoding that a bulk import queues by the thousand.
        case bulk
    }

    private let condition = NSCondition()
    /// Each job runs its work and returns how to hand the result back, which the loop calls once
    /// the job no longer counts in `depth`: a caller that resumes sees its job gone.
    private var jobs: [() -> () -> Void] = []
    private var bulkJobs: [() -> () -> Void] = []
    private var running = 0
    private var stopped = false

    public init(name: String = "jarvis-inference") {
        // The thread keeps the queue alive until `stop()` lets it end.
        let t = Thread { self.loop() }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }

    /// Whether an interactive job is waiting (bulk work then calls `runInteractiveJobs`).
    public var interactiveWaiting: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !jobs.isEmpty
    }

    /// Runs the interactive jobs waiting now, in order, on the calling thread, which must be
    /// the inference thread inside a running job: bulk work calls it where it holds no model
    /// state, and goes on afterwards with nothing lost.
    public func runInteractiveJobs() {
        while true {
            condition.lock()
            guard !jobs.isEmpty else { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            job()()
        }
    }

    /// Jobs waiting plus the one running.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count + bulkJobs.count + running
    }

    /// Runs `work` on the inference thread after the jobs of its priority queued before it
    /// (and, for bulk work, after every interactive job), unless `token` is cancelled by the
    /// time its turn comes (then it throws `.cancelled` without running).
    public func run<T: Sendable>(_ token: CancellationToken, priority: Priority = .interactive,
                                 _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            enqueue(priority, refuse: { c.resume(throwing: $0) }) {
                if let reason = token.reason {
                    return { c.resume(throwing: DaemonError(.cancelled, reason.rawValue)) }
                }
                let result = Result { try work() }
                return { c.resume(with: result) }
            }
        }
    }

    /// Queues `job`, unless the queue has stopped: then `refuse` gets the error instead.
    private func enqueue(_ priority: Priority, refuse: (DaemonError) -> Void, _ job: @escaping () -> () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else {
            refuse(DaemonError(.shuttingDown, "jarvisd is shutting down and takes no new work"))
            return
        }
        switch priority {
        case .interactive: jobs.append(job)
        case .bulk: bulkJobs.append(job)
        }
        condition.signal()
    }

    /// Lets the jobs already queued finish, then ends the thread; later `run` calls fail.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && bulkJobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && bulkJobs.isEmpty && stopped { condition.unlock(); return }
            let job = jobs.isEmpty ? bulkJobs.removeFirst() : jobs.removeFirst()
            running = 1
            condition.unlock()
            let resume = job()
            condition.lock()
            running = 0
            condition.unlock()
            resume()
        }
    }
}
