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

    func run() throws {
        let path = try options.prepare()
        let threads = options.threads, repetitions = options.repetitions
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
        let first = ids[0]

        // Warm up caches and the BLAS thread pool.
        try transformer.prefill(Array(ids.prefix(64)), cache: KVCache(config: transformer.config, capacity: 64))

        var pp: [Double] = [], tg: [Double] = []
        for _ in 0..<repetitions {
            let cache = KVCache(config: transformer.config, capacity: promptTokens + genTokens + 1)
            let t0 = Date()
            try transformer.prefill(ids, cache: cache)
            pp.append(Double(promptTokens) / Date().timeIntervalSince(t0))

            let dcache = KVCache(config: transformer.config, capacity: genTokens + 2)
            var logits = try transformer.prefill([first], cache: dcache)
            let t1 = Date()
            for _ in 0..<genTokens {
                logits = try transformer.prefill([Sampler.argmax(logits)], cache: dcache)
            }
            tg.append(Double(genTokens) / Date().timeIntervalSince(t1))
        }
        let ours = (pp: median(pp), tg: median(tg))

        print("model: \(path)")
        print("threads: \(threads)   load: \(String(format: "%.2f", loadSeconds)) s   weights: quantized in place, \(String(format: "%.0f", Double(transformer.denseWeightBytes) / 1_048_576)) MiB dense   RSS: \(String(format: "%.0f", Double(residentBytes()) / 1_048_576)) MiB")
        var peer: (pp: Double, tg: Double, version: String)?
        var peerNote = "not run (--no-peer)"
        if !noPeer {
            do {
                peer = try LlamaCppPeer.measure(model: path, tokens: ids, genTokens: genTokens, threads: threads, repetitions: repetitions)
            } catch {
                peerNote = "not available: \(error)"
            }
        }
        print("")
        print(pad("test", 10) + pad("jarvis tok/s", 16) + pad("llama.cpp tok/s", 18) + "ratio")
        for (name, mine, theirs) in [("pp\(promptTokens)", ours.pp, peer?.pp), ("tg\(genTokens)", ours.tg, peer?.tg)] {
            let t = theirs.map { String(format: "%.1f", $0) } ?? "-"
            let r = theirs.map { String(format: "%.2fx", mine / $0) } ?? "-"
            print(pad(name, 10) + pad(String(format: "%.1f", mine), 16) + pad(t, 18) + r)
        }
        if let peer { print("\nllama.cpp: llama-cpp-python \(peer.version), same token ids, \(threads) threads, median of \(repetitions)") }
        else { print("\nllama.cpp: \(peerNote)") }
    }

}

/// Resident set size of this process, in bytes (from /proc/self/statm).
func residentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = s.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
