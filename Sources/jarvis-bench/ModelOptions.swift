import ArgumentParser
import Foundation
import JarvisEngine

/// Options every benchmark takes: which model, how many threads.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("GGUF model (default: the shipped SmolLM2).", valueName: "path"),
            completion: .file(extensions: ["gguf"]))
    var model: String?

    @Option(help: "Compute threads (all cores by default).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repetitions; the median is reported.")
    var repetitions: Int = 3

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive") }
    }

    /// The language model with its tokenizer, and the shipped text embedder: what a memory
    /// benchmark runs on.
    func memoryModels() throws -> (path: String, gguf: GGUFFile, model: Transformer, tokenizer: BPETokenizer, embedder: TextEmbedder) {
        let path = try prepare()
        let gguf = try GGUFFile(path: path)
        return (path, gguf, try Transformer(gguf: gguf), try BPETokenizer(gguf: gguf),
                try TextEmbedder(directory: ModelFiles.directory() + "/" + ModelFiles.defaultTextEmbedder))
    }

    /// Sets the thread count and returns the model path.
    func prepare() throws -> String {
        ComputeThreads.set(threads)
        return try model ?? ModelFiles.path(of: ModelFiles.defaultLanguageModel)
    }
}
