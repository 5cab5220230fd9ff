import ArgumentParser
import Foundation
import JarvisEngine

/// `jarvis-bench engine`: prefill and decode speed of the engine on a model, and of llama.cpp on
/// the same model, token ids and thread count when llama-cpp-python is importable.
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Prefill (pp) and decode (tg) tokens/s, side by side with llama.cpp.")

    @OptionGroup var options: ModelOptions

    @Option(name: .customLong("prompt-tokens"), help: "Prompt length for the prefill figure.")
    var promptTokens: Int = 512

    @Option(name: .customLong("gen-tokens"), help: "Tokens for the decode figure.")
    var genTokens: Int = 128

    @Flag(name: .customLong("no-peer"), help: "Do not run llama.cpp.")
    var noPeer = false

    @Option(name: .customLong("thread-counts"), parsing: .upToNextOption,
            help: "Thread counts to measure, each for both engines (default: 1 and all cores; --threads sets one).")
    var threadCounts: [Int] = []

    struct Figures { var pp: Double; var tg: Double }

    func run() throws {
        let path = try options.prepare()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let counts = !threadCounts.isEmpty ? threadCounts
            : options.threads != cores ? [options.threads] : Array(Set([1, cores])).sorted()
        let loadStart = Date()
        let gguf = try GGUFFile(path: path)
        let transformer = try Transformer(gguf: gguf)
        let tokenizer = try BPETokenizer(gguf: gguf)
        let loadSeconds = Date().timeIntervalSince(loadStart)

        // The same prompt ids go to both engines: ordinary English text, repeated to length.
        let text = "Jarvis keeps what its user tells it as the model's own attention state, computed once and read back when a question needs it. "
        var ids: [Int32] = []
        while ids.count < promptTokens { ids += tokenizer.encode(text) }
        ids = Array(ids.prefix(promptTokens))

        print("model: \(path)")
        print("load: \(String(format: "%.2f", loadSeconds)) s   weights: quantized in place, \(mib(transformer.denseWeightBytes)) MiB dense")
        print("")
        print(pad("threads", 9) + pad("test", 8) + pad("jarvis tok/s", 14) + pad("llama.cpp tok/s", 17) + "ratio")
        var results: [(threads: Int, ours: Figures, peer: Figures?)] = []
        var peerNote = noPeer ? "not run (--no-peer)" : ""
        var peerVersion = ""
        for threads in counts {
            ComputeThreads.set(threads)
            let ours = try measure(transformer, ids)
            var peer: Figures?
            if !noPeer {
                do {
                    let p = try LlamaCppPeer.measure(model: path, tokens: ids, genTokens: genTokens, threads: threads, repetitions: options.repetitions)
                    peer = Figures(pp: p.pp, tg: p.tg)
                    peerVersion = p.version
                } catch {
                    peerNote = "not available: \(error)"
                }
            }
            results.append((threads, ours, peer))
            for (name, mine, theirs) in [("pp\(promptTokens)", ours.pp, peer?.pp), ("tg\(genTokens)", ours.tg, peer?.tg)] {
                let t = theirs.map { String(format: "%.1f", $0) } ?? "-"
                let r = theirs.map { String(format: "%.2fx", mine / $0) } ?? "-"
                print(pad("\(threads)", 9) + pad(name, 8) + pad(String(format: "%.1f", mine), 14) + pad(t, 17) + r)
            }
        }
        if peerVersion.isEmpty { print("\nllama.cpp: \(peerNote)") }
        else { print("\nllama.cpp: llama-cpp-python \(peerVersion), same token ids and thread count, median of \(options.repetitions)") }

        // How close decode comes to the memory-bandwidth floor: every token streams the weights.
        let weightBytes = transformer.weightBytesPerToken
        print("\ndecode against memory bandwidth (weights read per token: \(mib(weightBytes)) MiB)")
        print("(memcpy: bytes copied per second; read: bytes summed per second, the access pattern decode has)")
        print(pad("threads", 9) + pad("memcpy GB/s", 13) + pad("floor ms", 10) + pad("read GB/s", 11) + pad("floor ms", 10)
              + pad("decode ms", 11) + "memcpy floor / decode")
        for r in results {
            let copy = memcpyBandwidth(threads: r.threads), read = readBandwidth(threads: r.threads)
            let copyFloor = Double(weightBytes) / copy * 1000, readFloor = Double(weightBytes) / read * 1000
            let actual = 1000 / r.ours.tg
            print(pad("\(r.threads)", 9) + pad(String(format: "%.1f", copy / 1e9), 13) + pad(String(format: "%.2f", copyFloor), 10)
                  + pad(String(format: "%.1f", read / 1e9), 11) + pad(String(format: "%.2f", readFloor), 10)
                  + pad(String(format: "%.2f", actual), 11) + String(format: "%.0f%%", 100 * copyFloor / actual))
        }

        // Resident memory against the issue's bound: 1.5 × the GGUF file + KV cache + activations.
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let c = transformer.config
        let kvBytes = 2 * c.layers * c.kvHeads * c.headDim * 2 * (promptTokens + genTokens + 1)
        let rss = residentBytes()
        print("\nRSS \(mib(rss)) MiB = \(String(format: "%.2f", Double(rss) / Double(max(fileBytes, 1))))× the GGUF file (\(mib(fileBytes)) MiB); "
              + "bound 1.5 × file + KV cache (\(mib(kvBytes)) MiB) = \(mib(fileBytes * 3 / 2 + kvBytes)) MiB")
    }

    /// Median prefill and decode speed over the repetitions at the current thread count.
    func measure(_ transformer: Transformer, _ ids: [Int32]) throws -> Figures {
        // Warm up caches and the worker pool.
        try transformer.prefill(Array(ids.prefix(64)), cache: KVCache(config: transformer.config, capacity: 64))
        var pp: [Double] = [], tg: [Double] = []
        for _ in 0..<options.repetitions {
            let cache = KVCache(config: transformer.config, capacity: promptTokens + genTokens + 1)
            let t0 = Date()
            try transformer.prefill(ids, cache: cache)
            pp.append(Double(promptTokens) / Date().timeIntervalSince(t0))

            let dcache = KVCache(config: transformer.config, capacity: genTokens + 2)
            var logits = try transformer.prefill([ids[0]], cache: dcache)
            let t1 = Date()
            for _ in 0..<genTokens {
                logits = try transformer.prefill([Sampler.argmax(logits)], cache: dcache)
            }
            tg.append(Double(genTokens) / Date().timeIntervalSince(t1))
        }
        return Figures(pp: median(pp), tg: median(tg))
    }
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
