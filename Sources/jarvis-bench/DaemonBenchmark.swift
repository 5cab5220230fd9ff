import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol
import Synchronization

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

    @Option(help: "Clients in the mixed load.")
    var mixedClients: Int = 64

    @Option(help: "Requests per client in the mixed load.")
    var mixedRequests: Int = 200

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
        for (op, load) in [("status", MixedLoad(status: 1, list: 0, remember: 0, ask: 0)), ("list", MixedLoad(status: 0, list: 1, remember: 0, ask: 0))] {
            for clients in [1, 8, 64] {
                var l = load
                l.clients = clients
                l.requestsPerClient = requests
                let r = try checked(l.run(socket: socket))
                let lat = r.latencies[op] ?? []
                print(pad(op, 8) + pad("\(clients)", 9) + pad("\(lat.count)", 10) + pad(String(format: "%.0f", Double(lat.count) / r.seconds), 10)
                      + pad(ms(percentile(lat, 0.5)), 9) + ms(percentile(lat, 0.99)))
            }
        }

        print("\n" + pad("ask", 22) + pad("answers", 9) + pad("TTFT p50", 10) + pad("TTFT p99", 10) + pad("total p50", 11) + "total p99  (ms)")
        for (label, clients, each) in [("alone", 1, questions), ("8 concurrent askers", 8, 3)] {
            var l = MixedLoad(status: 0, list: 0, remember: 0, ask: 1, clients: clients, requestsPerClient: each)
            l.askTokens = 32
            let r = try checked(l.run(socket: socket))
            let total = r.latencies["ask"] ?? [], f = r.latencies["ask.ttft"] ?? []
            print(pad(label, 22) + pad("\(total.count)", 9) + pad(ms(percentile(f, 0.5)), 10) + pad(ms(percentile(f, 0.99)), 10)
                  + pad(ms(percentile(total, 0.5)), 11) + ms(percentile(total, 0.99)))
        }

        // A bulk import on another connection (one remember after another, as `jarvisctl
        // remember DIR` sends them), and the same questions asked meanwhile.
        let state = ImportState()
        let importer = Thread {
            guard let ic = try? JarvisConnection(socketPath: socket), (try? ic.hello(client: "jarvis-bench import")) != nil else { return }
            var i = 0
            while state.running.load(ordering: .relaxed) {
                let note = Self.notes[i % Self.notes.count] + " (imported copy \(i), with a longer tail so that it takes a realistic time to encode: it was filed in the drawer of the blue desk.)"
                _ = try? ic.call(.remember(.init(text: note)))
                state.imported.add(1, ordering: .relaxed)
                i += 1
            }
        }
        importer.start()
        while state.imported.load(ordering: .relaxed) < 2 { usleep(10_000) }
        var during = MixedLoad(status: 0, list: 0, remember: 0, ask: 1, clients: 1, requestsPerClient: questions)
        during.askTokens = 32
        let d = try checked(during.run(socket: socket))
        state.running.store(false, ordering: .relaxed)
        let f = d.latencies["ask.ttft"] ?? [], total = d.latencies["ask"] ?? []
        print(pad("during a bulk import", 22) + pad("\(total.count)", 9) + pad(ms(percentile(f, 0.5)), 10) + pad(ms(percentile(f, 0.99)), 10)
              + pad(ms(percentile(total, 0.5)), 11) + ms(percentile(total, 0.99)) + "   (\(state.imported.load(ordering: .relaxed)) notes imported meanwhile)")
        while importer.isExecuting { usleep(10_000) }

        let mixed = MixedLoad(clients: mixedClients, requestsPerClient: mixedRequests)
        let rssMixed = rss(daemon.processIdentifier)
        let r = mixed.run(socket: socket)
        print("\nmixed load: \(mixed.clients) clients × \(mixed.requestsPerClient) requests (status \(mixed.status)%, list \(mixed.list)%, remember \(mixed.remember)%, ask \(mixed.ask)% with \(mixed.askTokens)-token answers)")
        print("  completed \(r.total) in \(String(format: "%.1f", r.seconds)) s; lost \(r.lost), mismatched \(r.mismatched)")
        for p in r.problems { print("  problem: \(p)") }
        print("  " + pad("op", 10) + pad("count", 8) + pad("p50 ms", 10) + "p99 ms")
        for op in ["status", "list", "remember", "ask", "ask.ttft"] {
            let lat = r.latencies[op] ?? []
            print("  " + pad(op, 10) + pad("\(lat.count)", 8) + pad(ms(percentile(lat, 0.5)), 10) + ms(percentile(lat, 0.99)))
        }
        print("  RSS before: \(mib(rssMixed)) MiB, after: \(mib(rss(daemon.processIdentifier))) MiB")
        print("\nRSS at start: \(mib(rssBefore)) MiB, at the end: \(mib(rss(daemon.processIdentifier))) MiB")
    }

    /// A load run that lost or mixed up a reply is a failed benchmark.
    func checked(_ r: MixedLoad.Report) throws -> MixedLoad.Report {
        guard r.lost == 0, r.mismatched == 0 else {
            throw ValidationError("\(r.lost) requests lost, \(r.mismatched) mismatched: \(r.problems.joined(separator: "; "))")
        }
        return r
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

/// The bulk import's thread and the measuring one share these.
final class ImportState: Sendable {
    let running = Atomic<Bool>(true)
    let imported = Atomic<Int>(0)
}
