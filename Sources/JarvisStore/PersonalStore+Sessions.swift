internal import CLMDB
import Foundation

// MARK: - Chat sessions

extension PersonalStore {
    /// The session with this name, or nil.
    /// - Throws: `.corrupt` if its record does not parse.
    public func session(named name: String) throws -> SessionRecord? {
        try env.read { txn in try txn.get(sessions, Array(name.utf8)).map(Self.decodeSession) }
    }

    /// Every session, most recently used first.
    public func allSessions() throws -> [SessionRecord] {
        try env.read { txn in
            var out: [SessionRecord] = []
            try txn.scan(sessions) { _, value in
                out.append(try Self.decodeSession(value))
                return true
            }
            return out.sorted { $0.updatedMilliseconds > $1.updatedMilliseconds }
        }
    }

    /// Writes `session`, replacing any of the same name, in one transaction.
    public func save(_ session: SessionRecord) throws {
        let bytes = try Array(JSONEncoder().encode(session))
        try env.write { txn in try txn.put(sessions, Array(session.name.utf8), bytes) }
    }

    /// Deletes the session with this name.
    /// - Throws: `.notFound` if there is none.
    public func deleteSession(named name: String) throws {
        try env.write { txn in
            guard try txn.delete(sessions, Array(name.utf8)) else { throw StoreError(.notFound, "no session named \"\(name)\"") }
        }
    }

    static func decodeSession(_ bytes: UnsafeRawBufferPointer) throws -> SessionRecord {
        do {
            return try JSONDecoder().decode(SessionRecord.self, from: Data(bytes))
        } catch {
            throw StoreError(.corrupt, "a session record does not parse: \(error)")
        }
    }
}
