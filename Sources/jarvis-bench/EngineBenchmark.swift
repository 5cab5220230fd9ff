import ArgumentParser
import Foundation
import JarvisEngine

/// `jarvis-bench engine`: prefill and decode speed of the engine on a model, beside llama.cpp's
/// own `llama-bench` on the same file and thread count (built by tools/build_llama_bench.sh), or,
/// when that is not built, beside llama-cpp-python as a labelled fallback.
///
/// The tests are llama-bench's: ppN is a prompt of N tokens from an empty cache, in one call;
/// tgN is N tokens decoded one at a time from an empty cache. Each figure is the median of
/// `--repetitions` timed runs after a warm-up. With llama-bench the two engines take turns: one
/// round of every test in Jarvis, then one llama-bench run of every test (`-r 1`, after its own
/// warm-up), `--repetitions` rounds, so a machine whose speed drifts (this project's moved by up
/// to a tenth between runs) slows both alike rather than whichever ran second. `--busy N` times
/// both beside N spinning threads, as on a user's machine with other programs running.
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Prefill (pp) and decode (tg) tokens/s, side by side with llama.cpp's llama-bench.")

    @OptionGroup var options: ModelOptions

    @Option(name: .customLong("prompt-tokens"), help: "Prompt length for the prefill figure.")
    var promptTokens: Int = 512

    @Option(name: .customLong("long-prompt-tokens"), help: "Prompt length for the long prefill figure (0 skips it).")
    var longPromptTokens: Int = 2048

    @Option(name: .customLong("gen-tokens"), help: "Tokens for the decode figure.")
    var genTokens: Int = 128

    @Flag(name: .customLong("no-peer"), help: "Do not run llama.cpp.")
    var noPeer = false

    @Flag(name: .customLong("python-peer"),
          help: "Time llama.cpp through llama-cpp-python even when llama-bench is built (slower-measuring fallback).")
    var pythonPeer = false

    @Option(name: .customLong("thread-counts"), parsing: .upToNextOption,
            help: "Thread counts to measure, each for both engines (default: all cores, then 1; --threads sets one).")
    var threadCounts: [Int] = []

    @Option(help: "Keep this many busy threads spinning beside both engines while they are timed, as other programs on a user's machine would.")
    var busy: Int = 0

    func validate() throws {
        guard busy >= 0 else { throw ValidationError("--busy must not be negative") }
        guard promptTokens > 0, genTokens > 0, longPromptTokens >= 0 else {
            throw ValidationError("--prompt-tokens and --gen-tokens must be positive, --long-prompt-tokens not negative")
        }
        guard threadCounts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--thread-counts must be positive") }
    }

    /// The tests, in the order they are printed.
    var tests: [String] {
        ["pp\(promptTokens)", "tg\(genTokens)"] + (longPromptTokens > 0 ? ["pp\(longPromptTokens)"] : [])
    }
    var promptLengths: [Int] { [promptTokens] + (longPromptTokens > 0 ? [longPromptTokens] : []) }

    /// Which llama.cpp this run compares against.
    enum Peer {
        case none(String)
        case llamaBench(String)
        case python
    }

    func run() throws {
        let path = try options.prepare()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let counts = !threadCounts.isEmpty ? threadCounts
            : options.threads != cores ? [options.threads] : Array(Set([1, cores])).sorted(by: >)
        let loadStart = Date()
        let gguf = try GGUFFile(path: path)
        let transformer = try Transformer(gguf: gguf)
        let tokenizer = try BPETokenizer(gguf: gguf)
        let loadSeconds = Date().timeIntervalSince(loadStart)

        // The same prompt ids for every length: ordinary English text, repeated to length.
        // (llama-bench draws random ids; the cost does not depend on which ids.)
        let text = "Jarvis keeps what its user tells it as the model's own attention state, computed once and read back when a question needs it. "
        var ids: [Int32] = []
        let longest = promptLengths.max()!
        while ids.count < longest { ids += tokenizer.encode(text) }
        ids = Array(ids.prefix(longest))

        let peer: Peer
        if noPeer { peer = .none("not run (--no-peer)") }
        else if pythonPeer { peer = .python }
        else if let binary = LlamaBenchPeer.locate() { peer = .llamaBench(binary) }
        else {
            print("llama-bench is not built: \(LlamaBenchPeer.buildCommand) builds it (10–25 min on 2 cores).")
            print("Falling back to llama-cpp-python, which measures llama.cpp slower than llama-bench does.\n")
            peer = .python
        }

        print("model: \(path)")
        print("load: \(String(format: "%.2f", loadSeconds)) s   weights: \(weightTypes(gguf))")
        print("      quantized in place, \(mib(transformer.denseWeightBytes)) MiB dequantized to fp32 at load")
        print("machine load before: \(loadAverage())")
        let competitors = BusyThreads(count: busy)
        if busy > 0 { print("\(busy) busy thread\(busy == 1 ? "" : "s") spinning beside both engines while they are timed") }
        print("")
        let peerName: String
        switch peer {
        case .llamaBench: peerName = "llama-bench"
        case .python: peerName = "llama-cpp-python*"
        case .none: peerName = "llama.cpp"
        }
        print(pad("threads", 9) + pad("test", 8) + pad("jarvis tok/s", 14) + pad("\(peerName) tok/s", 24) + "ratio")
        var results: [(threads: Int, ours: [String: Double])] = []
        var peerNote = ""
        if case .none(let why) = peer { peerNote = why }
        for threads in counts {
            ComputeThreads.set(threads)
            try warmUp(transformer, ids)
            var ours: [String: Double] = [:], theirs: [String: Double] = [:]
            switch peer {
            case .none: break
            case .llamaBench(let binary):
                do {
                    var mine: [String: [Double]] = [:], other: [String: [Double]] = [:]
                    for _ in 0..<options.repetitions {
                        mine.merge(try measure(transformer, ids, repetitions: 1)) { $0 + $1 }
                        let r = try LlamaBenchPeer.measure(binary: binary, model: path, promptLengths: promptLengths, genTokens: genTokens,
                                                           threads: threads, repetitions: 1)
                        other.merge(r.tokensPerSecond.mapValues { [$0] }) { $0 + $1 }
                        peerNote = "llama-bench from llama-cpp-python \(LlamaBenchPeer.sourceVersion)'s llama.cpp (build \(r.buildCommit), "
                            + "GGML_NATIVE, \(r.cpu)); its defaults otherwise; one run of each test per round, "
                            + "taking turns with Jarvis, median of \(options.repetitions) rounds"
                    }
                    (ours, theirs) = (mine.mapValues(median), other.mapValues(median))
                } catch {
                    peerNote = "not available: \(error)"
                }
            case .python:
                do {
                    let r = try LlamaCppPeer.measure(model: path, tokens: ids, promptLengths: promptLengths, genTokens: genTokens,
                                                     threads: threads, repetitions: options.repetitions)
                    theirs = r.tokensPerSecond
                    peerNote = "* FALLBACK: llama-cpp-python \(r.version) timed around eval, same token ids; it measures llama.cpp "
                        + "slower than llama-bench does, so these ratios overstate Jarvis's lead. Build llama-bench: \(LlamaBenchPeer.buildCommand)"
                } catch {
                    peerNote = "not available: \(error)"
                }
            }
            // Without llama-bench's turns (no peer, the fallback, or a failed run), Jarvis's rounds run on their own.
            if ours.isEmpty { ours = try measure(transformer, ids, repetitions: options.repetitions).mapValues(median) }
            results.append((threads, ours))
            for name in tests {
                let mine = ours[name]!, other = theirs[name]
                let t = other.map { String(format: "%.1f", $0) } ?? "-"
                let r = other.map { String(format: "%.2fx", mine / $0) } ?? "-"
                print(pad("\(threads)", 9) + pad(name, 8) + pad(String(format: "%.1f", mine), 14) + pad(t, 24) + r)
            }
        }
        print("\nllama.cpp: \(peerNote)")
        print("Jarvis: median of \(options.repetitions) runs each, same thread counts")
        print("machine load after: \(loadAverage())")
        competitors.stop()

        // How close decode comes to the memory-bandwidth floor: every token streams the weights.
        let weightBytes = transformer.weightBytesPerToken
        print("\ndecode against memory bandwidth (weights read per token: \(mib(weightBytes)) MiB)")
        print("(memcpy: bytes copied per second; read: bytes summed per second, the access pattern decode has)")
        print(pad("threads", 9) + pad("memcpy GB/s", 13) + pad("floor ms", 10) + pad("read GB/s", 11) + pad("floor ms", 10)
              + pad("decode ms", 11) + "read floor / decode")
        for r in results {
            let copy = memcpyBandwidth(threads: r.threads), read = readBandwidth(threads: r.threads)
            let copyFloor = Double(weightBytes) / copy * 1000, readFloor = Double(weightBytes) / read * 1000
            let actual = 1000 / r.ours["tg\(genTokens)"]!
            print(pad("\(r.threads)", 9) + pad(String(format: "%.1f", copy / 1e9), 13) + pad(String(format: "%.2f", copyFloor), 10)
                  + pad(String(format: "%.1f", read / 1e9), 11) + pad(String(format: "%.2f", readFloor), 10)
                  + pad(String(format: "%.2f", actual), 11) + String(format: "%.0f%%", 100 * readFloor / actual))
        }

        // Resident memory against the bound of issue 17: 1.2 × the GGUF file + KV cache.
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let c = transformer.config
        let kvBytes = 2 * c.layers * c.kvHeads * c.headDim * 2 * (longest + 1)
        let rss = residentBytes()
        print("\nRSS \(mib(rss)) MiB = \(String(format: "%.2f", Double(rss) / Double(max(fileBytes, 1))))× the GGUF file (\(mib(fileBytes)) MiB); "
              + "bound 1.2 × file + KV cache (\(mib(kvBytes)) MiB) = \(mib(fileBytes * 6 / 5 + kvBytes)) MiB")
    }

    /// Warms up caches and the worker pool at the current thread count.
    func warmUp(_ transformer: Transformer, _ ids: [Int32]) throws {
        try transformer.prefill(Array(ids.prefix(64)), cache: KVCache(config: transformer.config, capacity: 64))
    }

    /// Tokens/s of each test, one sample per repetition, at the current thread count.
    func measure(_ transformer: Transformer, _ ids: [Int32], repetitions: Int) throws -> [String: [Double]] {
        var samples: [String: [Double]] = [:]
        for _ in 0..<repetitions {
            for n in promptLengths {
                let cache = KVCache(config: transformer.config, capacity: n)
                let t0 = Date()
                try transformer.prefill(Array(ids.prefix(n)), cache: cache)
                samples["pp\(n)", default: []].append(Double(n) / Date().timeIntervalSince(t0))
            }
            // tg: from an empty cache, each token the argmax of the one before, one call per token.
            let cache = KVCache(config: transformer.config, capacity: genTokens)
            var token = ids[0]
            let t1 = Date()
            for _ in 0..<genTokens {
                token = try Sampler.argmax(transformer.prefill([token], cache: cache))
            }
            samples["tg\(genTokens)", default: []].append(Double(genTokens) / Date().timeIntervalSince(t1))
        }
        return samples
    }

    /// The weight matrices' storage types with their counts, e.g. "Q4_K ×96, Q6_K ×17".
    func weightTypes(_ gguf: GGUFFile) -> String {
        var counts: [String: Int] = [:]
        for t in gguf.tensors where t.shape.count == 2 { counts["\(t.type)".uppercased(), default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
func loadAverage() -> String {
    guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return s.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Bytes per second memcpy moves between two 256 MiB buffers (far beyond any cache), with the
/// copy split over `threads`; best of five.
func memcpyBandwidth(threads: Int) -> Double {
    let size = 256 << 20
    let src = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    let dst = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    defer { src.deallocate(); dst.deallocate() }
    memset(src, 1, size); memset(dst, 2, size)
    let part = size / threads
    let from = Int(bitPattern: src), to = Int(bitPattern: dst)    // addresses cross threads as integers
    var best = 0.0
    for _ in 0..<5 {
        let t0 = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            _ = memcpy(UnsafeMutableRawPointer(bitPattern: to + i * part)!, UnsafeRawPointer(bitPattern: from + i * part)!, part)
        }
        best = max(best, Double(part * threads) / Date().timeIntervalSince(t0))
    }
    return best
}

/// Bytes per second a sum over a 256 MiB buffer reads, split over `threads`; best of five.
func readBandwidth(threads: Int) -> Double {
    let size = 256 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    memset(buffer, 1, size)
    let part = size / threads, base = Int(bitPattern: buffer)
    var best = 0.0
    for _ in 0..<5 {
        let t0 = Date()
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            let v = UnsafeRawPointer(bitPattern: base + i * part)!.assumingMemoryBound(to: SIMD8<UInt64>.self)
            var a = SIMD8<UInt64>(), b = SIMD8<UInt64>()
            for j in stride(from: 0, to: part / 64, by: 2) { a &+= v[j]; b &+= v[j + 1] }
            if (a &+ b).wrappedSum() == 42 { print("") }     // keeps the sum alive
        }
        best = max(best, Double(part * threads) / Date().timeIntervalSince(t0))
    }
    return best
}

func mib(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1_048_576) }

/// Resident set size of this process, in bytes (from /proc/self/statm).
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
