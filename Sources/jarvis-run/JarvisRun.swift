import ArgumentParser
import Foundation
import JarvisEngine

/// Runs one prompt through a local model and streams the answer: the engine on its own,
/// without the daemon or memory.
@main
struct JarvisRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jarvis-run",
        abstract: "Answer one prompt with a local GGUF model, streaming the answer as it is generated.")

    @Argument(help: "The user's message.")
    var prompt: String

    @Option(help: ArgumentHelp("GGUF model file (default: the shipped SmolLM2 in the models directory).", valueName: "path"),
            completion: .file(extensions: ["gguf"]))
    var model: String?

    @Option(help: "System message; empty for none.")
    var system: String = "You are a helpful assistant."

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .customLong("top-k")) var topK: Int = 40
    @Option(name: .customLong("top-p")) var topP: Float = 0.95
    @Option(name: .customLong("min-p")) var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty")) var repeatPenalty: Float = 1.0
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 42

    @Option(help: "Compute threads (all cores by default).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print load and speed figures to standard error.")
    var verbose = false

    func validate() throws {
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative") }
    }

    func run() throws {
        ComputeThreads.set(threads)
        let path = try model ?? ModelFiles.path(of: ModelFiles.defaultLanguageModel)
        let t0 = Date()
        let gguf = try GGUFFile(path: path)
        let tokenizer = try BPETokenizer(gguf: gguf)
        let transformer = try Transformer(gguf: gguf)
        let format = try tokenizer.chatFormat()
        var messages: [ChatMessage] = []
        if !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: prompt))
        let promptTokens = tokenizer.encode(try format.conversation(messages, addGenerationPrompt: true))
        let cache = KVCache(config: transformer.config, capacity: min(transformer.config.contextLength, promptTokens.count + maxTokens + 1))
        let loaded = Date()

        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repeatPenalty, seed: seed)
        var generator = try Generator(model: transformer, cache: cache, prompt: promptTokens,
                                      sampler: Sampler(sampling), stopTokens: tokenizer.endOfGenerationTokens)
        let prefilled = Date()
        let count = try generator.decode(tokenizer, maxTokens: maxTokens, onText: { FileHandle.standardOutput.write(Data($0.utf8)) }).tokens
        FileHandle.standardOutput.write(Data("\n".utf8))
        if verbose {
            let prefill = prefilled.timeIntervalSince(loaded), decode = Date().timeIntervalSince(prefilled)
            FileHandle.standardError.write(Data(String(
                format: "load %.2f s; prompt %d tokens in %.3f s (%.1f tok/s); %d tokens generated in %.3f s (%.1f tok/s); %d threads\n",
                loaded.timeIntervalSince(t0), promptTokens.count, prefill, Double(promptTokens.count) / prefill,
                count, decode, Double(count) / max(decode, 1e-9), ComputeThreads.current).utf8))
        }
    }
}
