import Foundation

/// The fallback peer: llama.cpp through llama-cpp-python and tools/llama_cpp_bench.py, on the
/// same model, token ids and thread count. Used only when llama-bench is not built; its
/// wall-clock timing around `eval` measures llama.cpp slower than llama-bench does (pp512 on
/// SmolLM2-135M: ~300 against ~480 tok/s), so ratios against it overstate Jarvis's lead.
enum LlamaCppPeer {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Tokens/s by test name (`pp512`, `tg128`, …) and the llama-cpp-python version.
    static func measure(model: String, tokens: [Int32], promptLengths: [Int], genTokens: Int, threads: Int,
                        repetitions: Int) throws -> (tokensPerSecond: [String: Double], version: String) {
        guard let script = locateScript() else {
            throw Failure(description: "tools/llama_cpp_bench.py not found (run from the repository)")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-bench-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: input) }
        let request: [String: Any] = ["model": model, "tokens": tokens.map(Int.init), "prompt_lengths": promptLengths,
                                      "gen_tokens": genTokens, "threads": threads, "repetitions": repetitions]
        try JSONSerialization.data(withJSONObject: request).write(to: input)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, input.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pp = json["pp"] as? [String: Double], let tg = json["tg"] as? Double else {
            let reason = String(decoding: errData, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            throw Failure(description: reason)
        }
        var figures = ["tg\(genTokens)": tg]
        for (n, v) in pp { figures["pp\(n)"] = v }
        return (figures, json["version"] as? String ?? "?")
    }

    private static func locateScript() -> String? {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("tools/llama_cpp_bench.py").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }
}
