import ArgumentParser
import Foundation
import JarvisMemory
import JarvisStore

/// `jarvis-bench proposals`: how well memories are proposed from chat lines
/// (`PersonalMemory.propose`), on bench/memory_proposals.json. A proposal is right when its
/// action matches and, for update and forget, so does its entry. Precision is over the
/// proposals made, recall over the lines that call for one.
struct ProposalBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proposals",
        abstract: "Precision and recall of memories proposed from chat lines (add, update, forget).")

    @OptionGroup var options: ModelOptions

    @Option(help: ArgumentHelp("The utterance set.", valueName: "path"))
    var data: String = "bench/memory_proposals.json"

    @Flag(help: "Print every line with its expected and proposed action, not only the misses.")
    var verbose = false

    struct DataSet: Decodable {
        struct Memory: Decodable { let name: String; let text: String }
        struct Line: Decodable { let text: String; let action: String; let entry: String? }
        let memories: [Memory]
        let development: [Line]
        let heldout: [Line]?
    }

    /// Counts over one set of lines.
    struct Score {
        var expected = 0, proposed = 0, right = 0, lines = 0, noneRight = 0, none = 0
        var byAction: [String: (right: Int, of: Int)] = [:]

        var precision: Double { proposed == 0 ? 1 : Double(right) / Double(proposed) }
        var recall: Double { expected == 0 ? 1 : Double(right) / Double(expected) }
    }

    func run() throws {
        let set = try JSONDecoder().decode(DataSet.self, from: Data(contentsOf: URL(fileURLWithPath: data)))
        let m = try options.memoryModels()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-bench-proposals-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = PersonalMemory.Options()
        o.draftMetadata = false
        let memory = try PersonalMemory(model: m.model, tokenizer: m.tokenizer, gguf: m.gguf, embedder: m.embedder,
                                        store: try PersonalStore(directory: dir), options: o)
        var names: [UInt64: String] = [:]
        for mem in set.memories {
            for r in try memory.remember(.note(mem.text, name: mem.name)) { names[r.id] = mem.name }
        }
        print("model: \(m.path)   memories: \(set.memories.count)")
        var details: [String] = []
        print(pad("set", 14) + pad("lines", 7) + pad("precision", 16) + pad("recall", 16) + pad("add", 8) + pad("update", 8)
              + pad("forget", 8) + "none kept")
        for (label, lines) in [("development", set.development), ("heldout", set.heldout ?? [])] where !lines.isEmpty {
            var s = Score()
            for line in lines {
                let p = try memory.propose(line.text)
                let got = p?.action.rawValue ?? "none"
                let gotEntry = p?.entry.flatMap { names[$0.id] }
                let ok = got == line.action && (line.entry == nil || line.entry == gotEntry)
                s.lines += 1
                if line.action != "none" { s.expected += 1 }
                if p != nil { s.proposed += 1 }
                if ok, p != nil { s.right += 1 }
                if line.action == "none" { s.none += 1; if ok { s.noneRight += 1 } }
                s.byAction[line.action, default: (0, 0)].of += 1
                if ok { s.byAction[line.action, default: (0, 0)].right += 1 }
                if verbose || !ok {
                    let want = line.action + (line.entry.map { " \($0)" } ?? "")
                    let have = got + (gotEntry.map { " \($0)" } ?? "") + (p?.text.map { " “\($0)”" } ?? "")
                    details.append("\(ok ? "  " : "✗ ")\(label): \"\(line.text)\"  expected \(want), proposed \(have)")
                }
            }
            func cell(_ a: String) -> String { s.byAction[a].map { "\($0.right)/\($0.of)" } ?? "-" }
            print(pad(label, 14) + pad(String(s.lines), 7)
                  + pad(String(format: "%.1f%% (%d/%d)", 100 * s.precision, s.right, s.proposed), 16)
                  + pad(String(format: "%.1f%% (%d/%d)", 100 * s.recall, s.right, s.expected), 16)
                  + pad(cell("add"), 8) + pad(cell("update"), 8) + pad(cell("forget"), 8) + "\(s.noneRight)/\(s.none)")
        }
        if !details.isEmpty { print(""); details.forEach { print($0) } }
    }
}
