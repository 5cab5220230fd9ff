import ArgumentParser
import CJarvisKernels
import COpenBLAS
import Foundation
import JarvisClient
import JarvisEngine
import JarvisMemory
import JarvisProtocol
import JarvisStore

/// `jarvis-bench scale`: the store and the real jarvisd at 1,000, 10,000 and 100,000 entries.
///
/// The KV of a few hundred distinct notes of varied length is computed once, with the shipped
/// model; the store is then filled with copies of them, each entry with its own record, pages
/// and vectors on disk (so disk, index and start-up costs are real; only the prefill is shared).
/// At each size jarvisd is started on the store and measured from outside: start to ready,
/// remember latency, ask TTFT, `list` (a page and the whole), memory (anonymous and mapped) and
/// disk; retrieval (`Retriever.rank`) is timed in this process over an index built the way
/// jarvisd builds its own.
struct ScaleBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "jarvisd and the store at 1k, 10k and 100k entries: remember, ask, retrieval, start-up, list, RSS, disk.")

    @Option(parsing: .upToNextOption, help: "Store sizes, in entries, ascending.")
    var sizes: [Int] = [1000, 10_000, 100_000]

    @Option(help: "Distinct notes whose KV is computed (and copied to fill the store).")
    var distinct: Int = 300

    @Option(help: "Page format of the filled entries: fp16, q8 or q4.")
    var dtype: PageFormat = .daemonDefault

    @Option(help: "Compute threads for the model, here and in jarvisd.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: ArgumentHelp("Keep the store here (default: a temporary directory, removed afterwards).", valueName: "dir"))
    var store: String?

    @Option(help: "Remembers and asks timed at each size.")
    var samples: Int = 20

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }), sizes == sizes.sorted() else { throw ValidationError("--sizes must be positive and ascending") }
        guard distinct > 0, samples > 1 else { throw ValidationError("--distinct and --samples must be positive (samples > 1)") }
    }

    func run() throws {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let jarvisd = bin + "/jarvisd"
        guard FileManager.default.isExecutableFile(atPath: jarvisd) else {
            throw ValidationError("\(jarvisd) is missing: build it with `swift build -c release --product jarvisd`")
        }
        let dir = store ?? FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-bench-scale-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if store == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let pageType = dtype.dtype

        // The distinct notes, encoded once.
        ComputeThreads.set(threads)
        let path = try ModelFiles.path(of: ModelFiles.defaultLanguageModel)
        let gguf = try GGUFFile(path: path)
        let model = try Transformer(gguf: gguf), tokenizer = try BPETokenizer(gguf: gguf)
        let embedder = try TextEmbedder(directory: ModelFiles.directory() + "/" + ModelFiles.defaultTextEmbedder)
        let prompt = AnswerPrompt(format: PersonalMemory.format(tokenizer: tokenizer, vision: nil))
        let encoder = try EntryEncoder(model: model, tokenizer: tokenizer, gguf: gguf, prefix: prompt.prefix)
        let notes = Self.notes(count: distinct)
        var seeds: [(record: EntryRecord, kv: EntryKV, vectors: [Float])] = []
        let t0 = Date()
        for (i, text) in notes.enumerated() {
            // As `remember` encodes a one-paragraph note: in its prompt context.
            let body = AnswerPrompt.entryText(text)
            let (tokens, kv) = try encoder.encode(body)
            let r = encoder.record(text: text, promptText: body, tokenCount: tokens.count, kind: "note", sourceDigest: String(i), dtype: pageType)
            seeds.append((r, kv, embedder.embed(text)))
            if i % 50 == 49 { FileHandle.standardError.write(Data("encoded \(i + 1)/\(notes.count) notes\n".utf8)) }
        }
        let meanTokens = Double(seeds.reduce(0) { $0 + $1.record.tokenCount }) / Double(seeds.count)
        let lengths = seeds.map(\.record.tokenCount).sorted()
        say("model: \(path)   threads: \(threads)   pages: \(dtype)   store: \(dir)")
        say(String(format: "distinct notes: %d (tokens: mean %.1f, min %d, median %d, max %d), encoded in %.1f s",
                     seeds.count, meanTokens, lengths.first!, lengths[lengths.count / 2], lengths.last!, Date().timeIntervalSince(t0)))

        let personal = try PersonalStore(directory: dir)
        try personal.bind(fingerprint: encoder.fingerprint)
        var rows: [[String]] = []
        for size in sizes {
            // Fill up to `size`, in transactions of 200 entries.
            var have = try personal.count()
            let fillStart = Date()
            while have < size {
                let batch = (have..<min(size, have + 200)).map { i -> (record: EntryRecord, kv: EntryKV, vectors: [Float]) in
                    let s = seeds[i % seeds.count]
                    var r = s.record
                    r.sourceDigest = "scale-\(i)"
                    return (r, s.kv, s.vectors)
                }
                try personal.addAll(batch)
                have += batch.count
                if have % 10_000 == 0 { FileHandle.standardError.write(Data("filled \(have)/\(size)\n".utf8)) }
            }
            let fillSeconds = Date().timeIntervalSince(fillStart)
            let diskBytes = personal.fileSize

            // Retrieval, in this process, over the index jarvisd would build.
            // Built as jarvisd builds it at start (one pass over the store), then once more with
            // the store's pages in the page cache.
            var retriever = Retriever()
            var builds: [Double] = []
            for _ in 0..<2 {
                let t = Date()
                retriever = Retriever()
                try personal.forEachEntry { r, vector, _ in retriever.add(Retriever.Item(record: r, vector: vector)) }
                builds.append(Date().timeIntervalSince(t))
            }
            say(String(format: "%d entries: index built in process in %.2f s, again (warm page cache) in %.2f s", size, builds[0], builds[1]))
            let questions = Self.questions
            let qv = questions.map { embedder.embed($0) }
            // The int8 scan alone, of every row of the same shape (what the ranking did before the
            // sign prefilter).
            let slots = retriever.count, width = qv[0].count
            let codes = (0..<slots * width).map { _ in Int8.random(in: -127...127) }
            var products = [Int32](repeating: 0, count: slots), productTimes: [Double] = []
            for v in qv {
                let t = Date()
                jk_dot_i8_rows(codes, Int64(slots), Int32(width), Retriever.quantize(v).codes, &products)
                productTimes.append(Date().timeIntervalSince(t))
            }
            // For comparison, in the same run: the fp32 product over the same shape that the
            // retriever used before its int8 scan.
            let matrix = (0..<slots * width).map { _ in Float.random(in: -0.05...0.05) }
            var fp32 = [Float](repeating: 0, count: slots), fp32Times: [Double] = []
            for v in qv {
                let t = Date()
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(slots), Int32(width), 1, matrix, Int32(width), v, 1, 0, &fp32, 1)
                fp32Times.append(Date().timeIntervalSince(t))
            }
            // The ranking as jarvisd does it, and without the sign prefilter (every row scanned in
            // int8), in turn; how often the two agree on the ten nearest and on what is answered.
            var unfiltered = retriever
            unfiltered.prefilterFrom = .max
            var rankTimes: [Double] = [], unfilteredTimes: [Double] = []
            var sameTen = 0, sameAnswer = 0
            for round in 0..<3 {
                for (q, v) in zip(questions, qv) {
                    var t = Date()
                    let hits = retriever.rank(question: q, vector: v)
                    rankTimes.append(Date().timeIntervalSince(t))
                    t = Date()
                    let all = unfiltered.rank(question: q, vector: v)
                    unfilteredTimes.append(Date().timeIntervalSince(t))
                    guard round == 0 else { continue }
                    func nearest(_ h: [Retriever.Hit]) -> Set<UInt64> { Set(h.sorted { $0.cosine > $1.cosine }.prefix(10).map(\.id)) }
                    if nearest(hits) == nearest(all) { sameTen += 1 }
                    if retriever.retrieve(question: q, vector: v).map(\.id) == unfiltered.retrieve(question: q, vector: v).map(\.id) { sameAnswer += 1 }
                }
            }
            say(String(format: "%d entries: ranking %.2f ms with the sign prefilter (from %d entries), %.2f ms scanning every row; same ten nearest for %d of %d questions, same entries answered from for %d",
                       size, median(rankTimes) * 1000, retriever.prefilterFrom, median(unfilteredTimes) * 1000, sameTen, questions.count, sameAnswer))
            retriever = Retriever()
            unfiltered = Retriever()

            // jarvisd on the store.
            let m = try measureDaemon(jarvisd: jarvisd, dir: dir, notes: notes)
            rows.append([String(size), String(format: "%.0f s", fillSeconds),
                         String(format: "%.0f / %.0f ms", m.rememberP50 * 1000, m.rememberP99 * 1000),
                         String(format: "%.0f ms", m.askTTFT * 1000),
                         String(format: "%.2f ms (%.2f; %.2f; fp32 %.2f)", median(rankTimes) * 1000, median(unfilteredTimes) * 1000, median(productTimes) * 1000, median(fp32Times) * 1000),
                         String(format: "%.2f s / %.2f s", m.ready, m.readyFromSnapshot),
                         String(format: "%.0f ms (first read %.0f), %@", m.listPage * 1000, m.listFirstPage * 1000, Self.bytes(m.listPageBytes)),
                         String(format: "%.0f ms, %@", m.listAll * 1000, Self.bytes(m.listAllBytes)),
                         "\(Self.bytes(m.rssAnon)) + \(Self.bytes(m.rssFile))",
                         Self.bytes(diskBytes), String(format: "%.0f", Double(diskBytes) / Double(size) / meanTokens)])
            printTable(rows)
        }
    }

    func printTable(_ rows: [[String]]) {
        let header = ["entries", "fill", "remember p50/p99", "ask TTFT", "retrieval (no prefilter; int8 scan; fp32 product)", "start→ready (store / snapshot)", "list page of 1000 (5 pages, read again)",
                      "list all (pages)", "RSS anon + file", "disk", "B/token"]
        say("")
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! + 2 }
        say(zip(header, widths).map { pad($0, $1) }.joined())
        for r in rows { say(zip(r, widths).map { pad($0, $1) }.joined()) }
    }

    struct DaemonFigures {
        var ready = 0.0, readyFromSnapshot = 0.0, rememberP50 = 0.0, rememberP99 = 0.0, askTTFT = 0.0
        var listPage = 0.0, listFirstPage = 0.0, listPageBytes = 0, listAll = 0.0, listAllBytes = 0, rssAnon = 0, rssFile = 0
    }

    /// Starts jarvisd on the store and measures it; stops it again (it then writes its index
    /// snapshot) and times a second start, which reads it. The notes it remembers are
    /// forgotten afterwards, so the store keeps its size.
    func measureDaemon(jarvisd: String, dir: String, notes: [String]) throws -> DaemonFigures {
        var f = try measureRunningDaemon(jarvisd: jarvisd, dir: dir, notes: notes)
        let (daemon, _, ready) = try startDaemon(jarvisd: jarvisd, dir: dir)
        f.readyFromSnapshot = ready
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        return f
    }

    /// jarvisd started on the store, a connection to it once it answers, and the seconds that took.
    func startDaemon(jarvisd: String, dir: String) throws -> (Process, JarvisConnection, Double) {
        let socket = dir + ".sock"
        try? FileManager.default.removeItem(atPath: socket)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: jarvisd)
        daemon.arguments = ["--socket", socket, "--store", dir, "--threads", String(threads), "--log-level", "warning"]
        let started = Date()
        try daemon.run()
        while true {
            guard daemon.isRunning else { throw ValidationError("jarvisd exited with status \(daemon.terminationStatus)") }
            if let conn = try? JarvisConnection(socketPath: socket), (try? conn.hello(client: "jarvis-bench")) != nil,
               case .status? = try? conn.call(.status) {
                return (daemon, conn, Date().timeIntervalSince(started))
            }
            usleep(10_000)
        }
    }

    func measureRunningDaemon(jarvisd: String, dir: String, notes: [String]) throws -> DaemonFigures {
        let (daemon, conn, ready) = try startDaemon(jarvisd: jarvisd, dir: dir)
        defer { kill(daemon.processIdentifier, SIGTERM); daemon.waitUntilExit() }
        var f = DaemonFigures()
        f.ready = ready

        var remembers: [Double] = [], added: [UInt64] = []
        for i in 0..<samples {
            let t = Date()
            guard case .entries(let e, _, _) = try conn.call(.remember(.init(text: "Timed note \(i): " + notes[(i * 7) % notes.count]))) else { continue }
            remembers.append(Date().timeIntervalSince(t))
            added += e.map(\.id)
        }
        remembers.sort()
        f.rememberP50 = remembers[remembers.count / 2]
        f.rememberP99 = remembers[min(remembers.count - 1, Int(Double(remembers.count) * 0.99))]
        var ttft: [Double] = []
        for q in Self.questions.prefix(samples) {
            if case .ask(let a) = try conn.call(.ask(.init(question: q, maxTokens: 4))) { ttft.append(a.ttftMs / 1000) }
        }
        f.askTTFT = median(ttft)
        for id in added { _ = try conn.call(.forget(.init(entry: String(id)))) }

        // The first five pages, twice: read first (on a store larger than the page cache, their
        // records may come from disk), then again; the median of each pass.
        var passes: [[Double]] = []
        for _ in 0..<2 {
            var times: [Double] = [], after: UInt64?
            for _ in 0..<5 {
                let t = Date()
                let page = try conn.call(.list(.init(limit: 1000, after: after)))
                times.append(Date().timeIntervalSince(t))
                guard case .entries(_, let next, _) = page else { break }
                if after == nil { f.listPageBytes = ProtocolCodec.encode(Reply(id: .number(1), .done(page))).count }
                after = next
                if next == nil { break }
            }
            passes.append(times)
        }
        f.listFirstPage = median(passes[0])
        f.listPage = median(passes[1])
        // Everything, as clients read it: page after page.
        let t = Date()
        let all = try conn.allEntries()
        f.listAll = Date().timeIntervalSince(t)
        f.listAllBytes = ProtocolCodec.encode(Reply(id: .number(1), .done(.entries(all)))).count
        (f.rssAnon, f.rssFile) = Self.rss(pid: daemon.processIdentifier)
        return f
    }

    /// Resident memory of a process: anonymous and file-backed (the store's map, the model's).
    static func rss(pid: Int32) -> (anon: Int, file: Int) {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func kb(_ key: String) -> Int {
            s.split(separator: "\n").first { $0.hasPrefix(key) }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }.map { $0 * 1024 } ?? 0
        }
        return (kb("RssAnon:"), kb("RssFile:"))
    }

    static func bytes(_ n: Int) -> String {
        n >= 1 << 30 ? String(format: "%.1f GiB", Double(n) / Double(1 << 30))
            : n >= 1 << 20 ? String(format: "%.0f MiB", Double(n) / Double(1 << 20)) : String(format: "%.0f KiB", Double(n) / 1024)
    }

    static let questions = [
        "What is the wifi password at the cabin?", "When is my sister's birthday?", "Where is the spare key?",
        "What is my locker number?", "Who is my dentist?", "What colour is the car?", "When does the passport expire?",
        "What is the plumber's number?", "Which bus goes to work?", "What does the cat eat?",
    ]

    /// `count` distinct notes of realistic, varied length (about 20 tokens on average, 10 to 80):
    /// most a single sentence, the rest two to five, about people, places, codes and dates.
    static func notes(count: Int) -> [String] {
        let people = ["Ana", "Tom", "Priya", "Kenji", "Marta", "Olu", "Sven", "Leila", "Diego", "Mei"]
        let relations = ["sister", "brother", "neighbour", "colleague", "cousin", "friend", "dentist", "landlord", "coach", "aunt"]
        let places = ["Lisbon", "Porto", "Bristol", "Oslo", "Kyoto", "Lagos", "Lyon", "Denver", "Cork", "Tartu"]
        let things = ["locker", "bike lock", "garage door", "safe", "wifi router", "storage unit", "mailbox", "alarm"]
        let months = ["January", "March", "May", "July", "September", "November"]
        var seed: UInt64 = 7
        func pick(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        func sentence() -> String {
            switch pick(6) {
            case 0: return "My \(relations[pick(10)]) \(people[pick(10)]) lives in \(places[pick(10)]) and works near the station."
            case 1: return "The code for the \(things[pick(8)]) is \(1000 + pick(9000))."
            case 2: return "\(people[pick(10)])'s birthday is on \(1 + pick(28)) \(months[pick(6)])."
            case 3: return "The \(things[pick(8)]) password is \(["pine", "maple", "cedar", "birch"][pick(4)])-\(["cone", "leaf", "root"][pick(3)])-\(pick(100))."
            case 4: return "Every \(["Monday", "Wednesday", "Friday", "Sunday"][pick(4)]) I take the \(pick(90) + 1) bus to \(places[pick(10)])."
            default: return "Remember that \(people[pick(10)]) prefers tea with \(["honey", "lemon", "milk"][pick(3)]) and hates loud music."
            }
        }
        var out: [String] = [], seen = Set<String>()
        while out.count < count {
            let n = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 5][pick(11)]
            let note = (0..<n).map { _ in sentence() }.joined(separator: " ")
            if seen.insert(note).inserted { out.append(note) }
        }
        return out
    }

    /// Writes a line at once (a long run is followed in its log as it goes).
    func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
}
