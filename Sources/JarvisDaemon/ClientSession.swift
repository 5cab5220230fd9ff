import Foundation
import JarvisProtocol
import Synchronization

/// One client connection's requests in flight, and the replies on their way out.
///
/// Request tasks and the inference thread hand replies to `send`; one writer task drains them
/// in order onto the socket. A request's `done` or `error` is always its last reply.
final class ClientSession: Sendable {
    /// What the writer does next.
    enum Outgoing: Sendable {
        case reply(Reply)
        /// Everything before has been written: close the connection.
        case close
    }

    private struct State {
        var inFlight: [RequestID: CancellationToken] = [:]
        var closing = false
        var closeSent = false
    }

    let outgoing: AsyncStream<Outgoing>
    private let sink: AsyncStream<Outgoing>.Continuation
    private let state = Mutex(State())

    init() {
        (outgoing, sink) = AsyncStream<Outgoing>.makeStream()
    }

    func send(_ reply: Reply) { sink.yield(.reply(reply)) }

    /// Registers a request; nil if a request with this id is already in flight here.
    func begin(_ id: RequestID) -> CancellationToken? {
        state.withLock { s in
            guard s.inFlight[id] == nil else { return nil }
            let t = CancellationToken()
            s.inFlight[id] = t
            return t
        }
    }

    /// Sends a request's last reply and forgets the request; closes the connection if it was
    /// waiting for the last request to end.
    func end(_ id: RequestID, with reply: Reply) {
        sink.yield(.reply(reply))
        let close = state.withLock { s -> Bool in
            s.inFlight[id] = nil
            return closeNowIfIdle(&s)
        }
        if close { sink.yield(.close) }
    }

    /// Cancels one request of this connection; false if there is none with that id.
    func cancel(_ id: RequestID, _ reason: CancellationToken.Reason) -> Bool {
        guard let t = state.withLock({ $0.inFlight[id] }) else { return false }
        t.cancel(reason)
        return true
    }

    /// Cancels every request in flight.
    func cancelAll(_ reason: CancellationToken.Reason) {
        for t in state.withLock({ Array($0.inFlight.values) }) { t.cancel(reason) }
    }

    /// Shutdown: cancel what runs, and close the connection once its last reply is out.
    func closeWhenIdle(_ reason: CancellationToken.Reason) {
        cancelAll(reason)
        let close = state.withLock { s -> Bool in
            s.closing = true
            return closeNowIfIdle(&s)
        }
        if close { sink.yield(.close) }
    }

    /// Close right after the replies already sent (a broken stream, a refused peer).
    func closeAfterPending() { sink.yield(.close) }

    var isClosing: Bool { state.withLock { $0.closing } }

    /// No more replies will come (the reader has stopped and every request has ended).
    func finish() { sink.finish() }

    private func closeNowIfIdle(_ s: inout State) -> Bool {
        guard s.closing, s.inFlight.isEmpty, !s.closeSent else { return false }
        s.closeSent = true
        return true
    }
}
