/// The operations a request can name: the one list of op names, used by the codec, its
/// `unknown_op` message and every client.
public enum Op: String, CaseIterable, Codable, Sendable {
    case hello, ask, remember, forget, list, show, status, cancel, search, update, sessions
    case forgetSession = "forget_session"
    case propose, backup

    /// The kind of result a successful request with this op ends with.
    public var resultKind: Reply.Result.Kind {
        switch self {
        case .hello: .hello
        case .ask: .ask
        case .remember, .list: .entries
        case .forget, .show, .update: .entry
        case .search: .hits
        case .status: .status
        case .cancel: .cancel
        case .sessions: .sessions
        case .forgetSession: .session
        case .propose: .proposal
        case .backup: .backup
        }
    }
}
