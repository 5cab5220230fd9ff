import Foundation

/// llama.cpp's own `llama-bench`, built by `tools/build_llama_bench.sh` from the llama.cpp that
/// the pinned llama-cpp-python sdist vendors: the peer `jarvis-bench engine` compares against.
///
/// It times what its README defines: ppN is a prompt of N tokens (random ids) decoded from an
/// empty cache in one batch; tgN is N tokens decoded one at a time from an empty cache. Each test
/// runs once untimed first, then `repetitions` times; the median of its per-run tokens/s is
/// taken, as for Jarvis's own figures.
enum LlamaBenchPeer {
    /// The llama-cpp-python release whose vendored llama.cpp is built.
    static let sourceVersion = "0.3.36"
    static let buildCommand = "tools/build_llama_bench.sh"

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// One run's figures: tokens/s by test name (`pp512`, `tg128`, …), and what it ran.
    struct Result {
        var tokensPerSecond: [String: Double]
        var buildCommit: String
        var cpu: String
    }

    /// Where the build script puts the binary: `$JARVIS_LLAMA_BENCH`, else
    /// `$JARVIS_CACHE/llama.cpp-VERSION/bin/llama-bench` (`JARVIS_CACHE` defaults to
    /// `${XDG_CACHE_HOME:-~/.cache}/jarvis`). Nil when it is not there.
    static func locate() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let path = env["JARVIS_LLAMA_BENCH"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let cache = env["JARVIS_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/jarvis"
        let path = "\(cache)/llama.cpp-\(sourceVersion)/bin/llama-bench"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Runs `binary` on `model` with `threads` threads for the given prompt lengths and
    /// generation length, `repetitions` timed runs each.
    /// - Throws: `Failure` with llama-bench's last error line if it fails or prints no figures.
    static func measure(binary: String, model: String, promptLengths: [Int], genTokens: Int,
                        threads: Int, repetitions: Int) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-m", model, "-t", "\(threads)",
                             "-p", promptLengths.map(String.init).joined(separator: ","),
                             "-n", "\(genTokens)", "-r", "\(repetitions)", "-o", "json"]
        // stderr (progress and errors) goes to a file, so no pipe can fill and stall the child.
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("llama-bench-\(getpid()).err")
        _ = FileManager.default.createFile(atPath: errPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errPath) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errPath)
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errData = (try? Data(contentsOf: errPath)) ?? Data()
        func failure(_ what: String) -> Failure {
            let last = String(decoding: errData, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            return Failure(description: "llama-bench \(what)\(last.isEmpty ? "" : ": \(last)")")
        }
        guard process.terminationStatus == 0 else { throw failure("exited with \(process.terminationStatus)") }
        guard let runs = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], !runs.isEmpty else {
            throw failure("printed no JSON figures")
        }
        var result = Result(tokensPerSecond: [:], buildCommit: "", cpu: "")
        for run in runs {
            let prompt = (run["n_prompt"] as? NSNumber)?.intValue ?? 0
            let gen = (run["n_gen"] as? NSNumber)?.intValue ?? 0
            let samples = (run["samples_ts"] as? [NSNumber])?.map(\.doubleValue) ?? []
            guard !samples.isEmpty else { continue }
            let name = gen == 0 ? "pp\(prompt)" : prompt == 0 ? "tg\(gen)" : "pp\(prompt)+tg\(gen)"
            result.tokensPerSecond[name] = median(samples)
            result.buildCommit = run["build_commit"] as? String ?? ""
            result.cpu = run["cpu_info"] as? String ?? ""
        }
        return result
    }
}
