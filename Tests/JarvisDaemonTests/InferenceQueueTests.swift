import Foundation
import Synchronization
import XCTest
@testable import JarvisDaemon

final class InferenceQueueTests: XCTestCase {
    func testJobsRunOneAtATimeInArrivalOrder() async throws {
        let queue = InferenceQueue()
        let log = Locked<[Int]>([])
        let running = Locked(0), overlap = Locked(false)
        // A gate holds the first job so that the rest are queued behind it.
        let gate = DispatchSemaphore(value: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await queue.run(CancellationToken()) { gate.wait(); log.withLock { $0.append(0) } }
            }
            while queue.depth < 1 { await Task.yield() }
            for i in 1...8 {
                group.addTask {
                    try await queue.run(CancellationToken()) {
                        if running.withLock({ $0 += 1; return $0 }) > 1 { overlap.withLock { $0 = true } }
                        log.withLock { $0.append(i) }
                        running.withLock { $0 -= 1 }
                    }
                }
                while queue.depth < i + 1 { await Task.yield() }
            }
            XCTAssertEqual(queue.depth, 9)
            gate.signal()
            try await group.waitForAll()
        }
        XCTAssertEqual(log.withLock { $0 }, Array(0...8))
        XCTAssertFalse(overlap.withLock { $0 })
        XCTAssertEqual(queue.depth, 0)
        queue.stop()
    }

    /// An interactive job queued behind bulk ones runs as soon as the running job ends, before
    /// them; each class keeps its own order.
    func testInteractiveJobsGoBeforeQueuedBulkOnes() async throws {
        let queue = InferenceQueue()
        let log = Locked<[String]>([])
        let gate = DispatchSemaphore(value: 0), started = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await queue.run(CancellationToken(), priority: .bulk) {
                    started.withLock { $0 = true }
                    gate.wait()
                    log.withLock { $0.append("b0") }
                }
            }
            while !started.withLock({ $0 }) { await Task.yield() }
            for (n, (name, priority)) in [("b1", InferenceQueue.Priority.bulk), ("b2", .bulk), ("i1", .interactive), ("b3", .bulk), ("i2", .interactive)].enumerated() {
                group.addTask { try await queue.run(CancellationToken(), priority: priority) { log.withLock { $0.append(name) } } }
                while queue.depth < n + 2 { await Task.yield() }
            }
            gate.signal()
            try await group.waitForAll()
        }
        XCTAssertEqual(log.withLock { $0 }, ["b0", "i1", "i2", "b1", "b2", "b3"])
        queue.stop()
    }

    /// Bulk work sees an interactive job waiting and lets it run in its middle, then goes on;
    /// the bulk jobs queued meanwhile wait for it.
    func testABulkJobLetsWaitingQuestionsRunInItsMiddle() async throws {
        let queue = InferenceQueue()
        let log = Locked<[String]>([])
        let gate = DispatchSemaphore(value: 0), started = Locked(false), saw = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let done: String = try await queue.run(CancellationToken(), priority: .bulk) {
                    started.withLock { $0 = true }
                    log.withLock { $0.append("b0 part 1") }
                    gate.wait()
                    saw.withLock { $0 = queue.interactiveWaiting }
                    queue.runInteractiveJobs()
                    XCTAssertFalse(queue.interactiveWaiting)
                    log.withLock { $0.append("b0 part 2") }
                    return "done"
                }
                XCTAssertEqual(done, "done")
            }
            while !started.withLock({ $0 }) { await Task.yield() }
            XCTAssertFalse(queue.interactiveWaiting)
            group.addTask { try await queue.run(CancellationToken(), priority: .bulk) { log.withLock { $0.append("b1") } } }
            while queue.depth < 2 { await Task.yield() }
            group.addTask {
                let answer: String = try await queue.run(CancellationToken()) { log.withLock { $0.append("ask") }; return "answer" }
                XCTAssertEqual(answer, "answer", "the question's caller gets its result while the bulk job is still running")
            }
            while queue.depth < 3 { await Task.yield() }
            gate.signal()
            try await group.waitForAll()
        }
        XCTAssertTrue(saw.withLock { $0 })
        XCTAssertEqual(log.withLock { $0 }, ["b0 part 1", "ask", "b0 part 2", "b1"])
        queue.stop()
    }

    func testAJobCancelledWhileWaitingNeverRuns() async throws {
        let queue = InferenceQueue()
        let gate = DispatchSemaphore(value: 0)
        let ran = Locked(false)
        async let first: Void = queue.run(CancellationToken()) { gate.wait() }
        while queue.depth < 1 { await Task.yield() }
        let token = CancellationToken()
        async let second: Void = queue.run(token) { ran.withLock { $0 = true } }
        while queue.depth < 2 { await Task.yield() }
        token.cancel(.clientLeft)
        gate.signal()
        try await first
        do {
            try await second
            XCTFail("a cancelled job must not complete")
        } catch let e as DaemonError {
            XCTAssertEqual(e.code, .cancelled)
            XCTAssertTrue(e.message.contains("disconnected"), e.message)
        }
        XCTAssertFalse(ran.withLock { $0 })
        queue.stop()
    }

    func testAStoppedQueueRefusesWork() async throws {
        let queue = InferenceQueue()
        queue.stop()
        do {
            _ = try await queue.run(CancellationToken()) { 1 }
            XCTFail("expected shutting_down")
        } catch let e as DaemonError {
            XCTAssertEqual(e.code, .shuttingDown)
        }
    }

    func testCancellationKeepsTheFirstReason() {
        let t = CancellationToken()
        XCTAssertFalse(t.isCancelled)
        XCTAssertTrue(t.cancel(.request))
        XCTAssertFalse(t.cancel(.shutdown))
        XCTAssertEqual(t.reason, .request)
    }
}

/// A value behind a lock, shareable with closures that run elsewhere.
final class Locked<T: Sendable>: Sendable {
    private let mutex: Mutex<T>
    init(_ value: T) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending T) -> sending R) -> R { mutex.withLock(body) }
}
