import Synchronization

/// A flag that work checks between steps (before every token, between remembered parts).
/// Set once by whoever wants the work to stop: a `cancel` request, a client that left, or
/// shutdown; the first reason given is the one reported.
public final class CancellationToken: Sendable {
    public enum Reason: String, Sendable {
        case request = "cancelled by request"
        case clientLeft = "the client disconnected"
        case shutdown = "jarvisd is shutting down"
    }

    private let state = Mutex<Reason?>(nil)

    public init() {}

    /// Asks the work to stop. Returns false if it had already been asked.
    @discardableResult
    public func cancel(_ reason: Reason) -> Bool {
        state.withLock { r in
            guard r == nil else { return false }
            r = reason
            return true
        }
    }

    public var isCancelled: Bool { state.withLock { $0 != nil } }
    public var reason: Reason? { state.withLock { $0 } }
}
