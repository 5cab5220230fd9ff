import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

/// `jarvis-bench daemon`: the real jarvisd (built beside this binary) on a private socket and a
/// fresh store, measured from outside through real sockets: requests per second for cheap
/// ops at several client counts, and answer latency alone and under concurrent askers.
struct DaemonBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "jarvisd over its socket: status/list throughput at 1, 8 and 64 clients; ask TTFT and latency alone and with 8 askers.")

    @Option(help: "Compute threads for the daemon.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Requests per client in the throughput runs.")
    var requests: Int = 200

    @Option(help: "Questions asked alone (the concurrent run asks 3 per client).")
    var questions: Int = 10

    func validate() throws {
        guard threads > 0, requests > 0, questions > 0 else { throw ValidationError("counts must be positive") }
    }

    static let notes = [
        "My dog Rex is a black labrador with a red collar.",
        "My sister Anna lives in Lisbon and works as a pediatric nurse.",
        "The wifi password at the cabin is pine-cone-42.",
        "My bike lock code is 4071.",
        "My dentist is Dr. Okafor on Elm Street.",
        "My car is a blue 2014 Honda Fit with a dent on the left door.",
        "My best friend Tomas was born on March 3rd, 1990.",
        "I keep the spare house key under the green flower pot.",
        "My cat Miso is a grey tabby who is afraid of thunder.",
        "My passport expires in August 2031.",
        "My mother's favourite flowers are yellow tulips.",
        "My gym locker number is 118.",
        "My neighbour Priya has a golden retriever called Biscuit.",
        "The plumber's phone number is 555-0192.",
        "I am allergic to penicillin.",
        "My daughter's school is Hillside Primary, class 3B.",
    ]
    static let asks = [
        "What colour is Rex's collar?", "Where does my sister live?", "What is the wifi password at the cabin?",
        "What is my bike lock code?", "Who is my dentist?", "What car do I drive?", "When was Tomas born?",
        "Where is the spare house key?", "What is my cat afraid of?", "When does my passport expire?",
    ]

    func run() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let jarvisd = bin + "/jarvisd"
        guard FileManager.default.isExecutableFile(atPath: jarvisd) else {
            throw ValidationError("\(jarvisd) is missing: build it with `swift build -c release --product jarvisd`")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-bench-daemon-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/jarvisd.sock"
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: jarvisd)
        daemon.arguments = ["--socket", socket, "--store", dir + "/store", "--threads", String(threads), "--log-level", "warning"]
        try daemon.run()
        defer { kill(daemon.processIdentifier, SIGTERM); daemon.waitUntilExit() }
        let started = Date()
        var first: JarvisConnection?
        while first == nil {
            guard daemon.isRunning else { throw ValidationError("jarvisd exited with status \(daemon.terminationStatus)") }
            first = try? JarvisConnection(socketPath: socket)
            if first == nil { usleep(20_000) }
        }
        let c = first!
        _ = try c.hello(client: "jarvis-bench")
        print("jarvisd \(jarvisd)   threads: \(threads)   ready after \(String(format: "%.2f", Date().timeIntervalSince(started))) s   RSS: \(mib(rss(daemon.processIdentifier))) MiB")
        let rssBefore = rss(daemon.processIdentifier)

        let t0 = Date()
        for n in Self.notes { _ = try c.call(.remember(.init(text: n))) }
        print("remembered \(Self.notes.count) notes in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s\n")

        print(pad("op", 8) + pad("clients", 9) + pad("requests", 10) + pad("req/s", 10) + pad("p50 ms", 9) + "p99 ms")
        for op in [Request.Body.status, .list] {
            for clients in [1, 8, 64] {
                let (lat, seconds) = try load(socket: socket, clients: clients, perClient: requests) { conn in
                    let s = Date()
                    _ = try conn.call(op)
                    return Date().timeIntervalSince(s)
                }
                print(pad(op.op, 8) + pad("\(clients)", 9) + pad("\(lat.count)", 10) + pad(String(format: "%.0f", Double(lat.count) / seconds), 10)
                      + pad(ms(percentile(lat, 0.5)), 9) + ms(percentile(lat, 0.99)))
            }
        }

        print("\n" + pad("ask", 22) + pad("answers", 9) + pad("TTFT p50", 10) + pad("TTFT p99", 10) + pad("total p50", 11) + "total p99  (ms)")
        for (label, clients, each) in [("alone", 1, questions), ("8 concurrent askers", 8, 3)] {
            let ttft = SharedValue<[Double]>([])
            let (total, _) = try load(socket: socket, clients: clients, perClient: each) { conn in
                let s = Date()
                var firstToken: Double?
                _ = try conn.call(.ask(.init(question: Self.asks.randomElement()!, maxTokens: 32))) { e in
                    if firstToken == nil, case .token = e { firstToken = Date().timeIntervalSince(s) }
                }
                let t = Date().timeIntervalSince(s)
                ttft.mutate { $0.append(firstToken ?? t) }
                return t
            }
            let f = ttft.value
            print(pad(label, 22) + pad("\(total.count)", 9) + pad(ms(percentile(f, 0.5)), 10) + pad(ms(percentile(f, 0.99)), 10)
                  + pad(ms(percentile(total, 0.5)), 11) + ms(percentile(total, 0.99)))
        }
        print("\nRSS before the load: \(mib(rssBefore)) MiB, after: \(mib(rss(daemon.processIdentifier))) MiB")
    }

    /// Runs `clients` connections at once, each on its own thread making `perClient` calls
    /// (all connected before any starts); returns every call's latency and the wall time.
    func load(socket: String, clients: Int, perClient: Int, _ call: @escaping @Sendable (JarvisConnection) throws -> Double) throws -> ([Double], Double) {
        let latencies = SharedValue<[Double]>([]), failures = SharedValue<[String]>([])
        let connected = DispatchGroup(), finished = DispatchGroup(), go = DispatchSemaphore(value: 0)
        for _ in 0..<clients {
            connected.enter()
            finished.enter()
            Thread {
                defer { finished.leave() }
                let conn: JarvisConnection
                do { conn = try JarvisConnection(socketPath: socket) } catch {
                    failures.mutate { $0.append("\(error)") }
                    connected.leave()
                    return
                }
                connected.leave()
                go.wait()
                do {
                    var mine: [Double] = []
                    for _ in 0..<perClient { mine.append(try call(conn)) }
                    latencies.mutate { $0 += mine }
                } catch {
                    failures.mutate { $0.append("\(error)") }
                }
            }.start()
        }
        connected.wait()
        let start = Date()
        for _ in 0..<clients { go.signal() }
        finished.wait()
        let seconds = Date().timeIntervalSince(start)
        if let f = failures.value.first { throw ValidationError("\(failures.value.count) clients failed, e.g.: \(f)") }
        return (latencies.value, seconds)
    }

    func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
    }

    func ms(_ s: Double) -> String { String(format: "%.1f", s * 1000) }
    func mib(_ b: Int) -> String { String(format: "%.0f", Double(b) / 1_048_576) }

    /// Resident memory of a process, from /proc.
    func rss(_ pid: Int32) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }
}

/// A value shared by the load threads.
final class SharedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    func mutate(_ body: (inout T) -> Void) { lock.lock(); body(&stored); lock.unlock() }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
}
