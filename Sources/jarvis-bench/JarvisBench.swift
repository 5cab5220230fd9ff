import ArgumentParser

/// Benchmarks. They print figures; they assert nothing (tests do that).
@main
struct JarvisBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jarvis-bench",
        abstract: "Measure Jarvis: engine speed beside llama.cpp, and answering from stored KV caches.",
        subcommands: [EngineBenchmark.self, StoreBenchmark.self, QABenchmark.self, DocQABenchmark.self, DaemonBenchmark.self, VisionBenchmark.self, ChatBenchmark.self, ProposalBenchmark.self, ScaleBenchmark.self])
}
