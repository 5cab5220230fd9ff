import Foundation
import JarvisProtocol

/// Many clients at once, each on its own thread and connection, sending a mix of requests and
/// checking every reply: that it comes, that it carries the request's id, and that its result
/// is the kind the op returns. For the load test and `jarvis-bench daemon`.
public struct MixedLoad: Sendable {
    /// Relative weights of the ops.
    public var status = 47, list = 45, remember = 4, ask = 4
    public var clients = 64
    public var requestsPerClient = 200
    /// Answer length cap for the asks.
    public var askTokens = 8

    public init(status: Int = 47, list: Int = 45, remember: Int = 4, ask: Int = 4, clients: Int = 64, requestsPerClient: Int = 200) {
        self.status = status; self.list = list; self.remember = remember; self.ask = ask
        self.clients = clients; self.requestsPerClient = requestsPerClient
    }

    public struct Report: Sendable {
        /// Latency of every completed request, by op; "ask.ttft" holds the asks' times to their
        /// first token.
        public var latencies: [String: [Double]] = [:]
        /// Requests whose connection broke or that ended with an error.
        public var lost = 0
        /// Replies that carried another request's id, or a result of the wrong kind.
        public var mismatched = 0
        public var seconds = 0.0
        /// The first few problems, for people.
        public var problems: [String] = []
        /// Requests that completed.
        public var total: Int { latencies.filter { !$0.key.contains(".") }.values.reduce(0) { $0 + $1.count } }
    }

    static let questions = ["What colour is Rex's collar?", "Where does my sister live?", "What is my bike lock code?",
                            "Who is my dentist?", "What is the wifi password at the cabin?"]

    /// Runs the load against the daemon at `socket` (all clients connect before any sends).
    public func run(socket: String) -> Report {
        let collected = Collector()
        let connected = DispatchGroup(), finished = DispatchGroup(), go = DispatchSemaphore(value: 0)
        let weights: [(Op, Int)] = [(.status, status), (.list, list), (.remember, remember), (.ask, ask)]
        let sum = weights.reduce(0) { $0 + $1.1 }
        let askTokens = self.askTokens, perClient = requestsPerClient
        for client in 0..<clients {
            connected.enter()
            finished.enter()
            Thread {
                defer { finished.leave() }
                var mine: [String: [Double]] = [:], lost = 0, mismatched = 0, problems: [String] = []
                defer { collected.add(mine, lost: lost, mismatched: mismatched, problems: problems) }
                var rng = SystemRandomNumberGenerator()
                let conn: JarvisConnection
                do { conn = try JarvisConnection(socketPath: socket) } catch {
                    connected.leave()
                    lost += perClient
                    problems.append("client \(client): \(error)")
                    return
                }
                connected.leave()
                go.wait()
                for i in 0..<perClient {
                    var pick = Int.random(in: 0..<sum, using: &rng)
                    let op = weights.first { pick -= $0.1; return pick < 0 }!.0
                    let body: Request.Body
                    switch op {
                    case .list: body = .list(.all)
                    case .remember: body = .remember(.init(text: "Load note \(client)-\(i): parcel \(i) waits at desk \(client % 7)."))
                    case .ask: body = .ask(.init(question: Self.questions[Int.random(in: 0..<Self.questions.count, using: &rng)], maxTokens: askTokens))
                    default: body = .status
                    }
                    let start = Date()
                    do {
                        let id = try conn.send(body)
                        var final: Reply?, firstToken: Double?
                        while final == nil {
                            let r = try conn.receive()
                            if r.isFinal { final = r } else if r.id != id { mismatched += 1 }
                            if firstToken == nil, case .token = r.event { firstToken = Date().timeIntervalSince(start) }
                        }
                        guard final!.id == id else {
                            mismatched += 1
                            problems.append("client \(client): a reply for \(String(describing: final!.id)) came for \(id)")
                            continue
                        }
                        switch final!.event {
                        case .done(let result) where result.kind == op.resultKind:
                            mine[op.rawValue, default: []].append(Date().timeIntervalSince(start))
                            if op == .ask { mine["ask.ttft", default: []].append(firstToken ?? Date().timeIntervalSince(start)) }
                        case .error(let e):
                            lost += 1
                            problems.append("client \(client) \(op): \(e)")
                        default:
                            mismatched += 1
                            problems.append("client \(client) \(op): wrong result \(final!.event)")
                        }
                    } catch {
                        lost += perClient - i
                        problems.append("client \(client) \(op): \(error)")
                        return
                    }
                }
            }.start()
        }
        connected.wait()
        let start = Date()
        for _ in 0..<clients { go.signal() }
        finished.wait()
        var report = collected.report
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    /// What the client threads found, gathered under a lock.
    private final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var gathered = Report()

        func add(_ latencies: [String: [Double]], lost: Int, mismatched: Int, problems: [String]) {
            lock.lock()
            defer { lock.unlock() }
            for (k, v) in latencies { gathered.latencies[k, default: []] += v }
            gathered.lost += lost
            gathered.mismatched += mismatched
            gathered.problems += problems.prefix(max(0, 5 - gathered.problems.count))
        }

        var report: Report { lock.lock(); defer { lock.unlock() }; return gathered }
    }
}
