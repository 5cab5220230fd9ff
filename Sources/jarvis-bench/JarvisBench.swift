import ArgumentParser

/// Benchmarks. They print figures; they assert nothing (tests do that).
@main
struct JarvisBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jarvis-bench",
        abstract: "Measure Jarvis: engine speed, side by side with llama.cpp where it is installed.",
        subcommands: [EngineBenchmark.self])
}
