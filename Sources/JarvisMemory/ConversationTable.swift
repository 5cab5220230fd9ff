import Synchronization

/// The chat sessions whose KV is held in memory, at most `capacity` of them: using one makes it
/// the most recent, and adding one past the cap evicts the least recently used. An evicted
/// session loses only its KV; its turns stay in the store and are prefilled again when it is
/// next used. Only changed with the memory's model lock held; the live sessions' names are also
/// kept behind a lock of their own, so that listing sessions never waits for an answer.
final class ConversationTable: @unchecked Sendable {
    let capacity: Int
    /// Least recently used first.
    private var live: [Conversation] = [] {
        didSet { liveNames.withLock { $0 = live.map(\.record.name) } }
    }
    private let liveNames = Mutex<[String]>([])

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The live session of this name, made the most recent.
    func use(_ name: String) -> Conversation? {
        guard let i = live.firstIndex(where: { $0.record.name == name }) else { return nil }
        let c = live.remove(at: i)
        live.append(c)
        return c
    }

    /// Holds `conversation` as the most recent, evicting the least recently used past the cap.
    func add(_ conversation: Conversation) {
        live.removeAll { $0.record.name == conversation.record.name }
        live.append(conversation)
        if live.count > capacity { live.removeFirst(live.count - capacity) }
    }

    /// Drops the session's KV, if it is live.
    func remove(_ name: String) { live.removeAll { $0.record.name == name } }

    /// Names of the live sessions, least recently used first; needs no model lock.
    var names: [String] { liveNames.withLock { $0 } }
}
