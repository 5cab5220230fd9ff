import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Remember again what `jarvisctl export` wrote, encoded for the current model.",
        discussion: """
            Each entry is remembered with its text, name, aliases, kind and metadata (a photo \
            from its file, which must still be there); ids and creation times are new. An entry \
            whose text and name are already stored is skipped, so importing twice adds nothing. \
            Import stops at the first line it cannot import (one that does not parse, a photo \
            whose file is gone, a name another entry holds) and names it: the lines before it \
            stay imported. Fix the line and import again.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("An export, or - for standard input.", valueName: "file"), completion: .file(extensions: ["jsonl"]))
    var file: String

    /// What identifies an entry already stored: its text and name, as bytes (String equality
    /// would take "é" and "e\u{301}" for the same text).
    static func key(text: String, name: String?) -> [UInt8] {
        Array(text.utf8) + [0] + Array((name?.lowercased() ?? "").utf8) + [name == nil ? 0 : 1]
    }

    func run() throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else {
                Failure.printError("jarvisctl: \(file): cannot be read")
                throw ExitCode(1)
            }
            data = d
        }
        let lines = MemoryExport.lines(of: data)
        guard let first = lines.first else {
            Failure.printError("jarvisctl: \(file) is empty: not a Jarvis export")
            throw ExitCode(1)
        }
        do {
            _ = try MemoryExport.header(first.text ?? "")
        } catch let e as ExportError {
            Failure.printError("jarvisctl: \(file) line \(first.number): \(e.message)")
            throw ExitCode(1)
        }

        let c = try connection.connect()
        let existing = try Failure.exitOnError { try c.allEntries() }
        var stored = Set(existing.map { Self.key(text: $0.text, name: $0.name) })
        var imported: [EntryInfo] = [], skipped = 0
        let bar = ProgressBar(total: lines.count - 1)

        func stop(_ number: Int, _ message: String, status: Int32) throws -> Never {
            bar.finish()
            Failure.printError("jarvisctl: \(file) line \(number): \(message)")
            Failure.printError("jarvisctl: imported \(imported.count), skipped \(skipped) already stored; stopped at line \(number) (the lines before it are imported: fix it and import again)")
            if connection.json { print(Output.json(imported)) }
            throw ExitCode(status)
        }

        for (i, line) in lines.dropFirst().enumerated() {
            bar.draw(i, "line \(line.number)")
            let entry: MemoryExport.Entry
            do {
                guard let text = line.text else { throw ExportError("not UTF-8 text") }
                entry = try MemoryExport.entry(text)
            } catch let e as ExportError {
                try stop(line.number, "does not parse: \(e.message)", status: 1)
            }
            let key = Self.key(text: entry.text, name: entry.name)
            if stored.contains(key) { skipped += 1; continue }
            do {
                guard case .entries(let e, _, _) = try c.call(.remember(entry.rememberRequest)) else { continue }
                imported += e
                stored.insert(key)
            } catch let e as ClientError {
                try stop(line.number, Failure.message(for: e).replacingOccurrences(of: "jarvisctl: ", with: ""), status: Failure.exitStatus(for: e))
            }
        }
        bar.finish()
        if connection.json { print(Output.json(imported)); return }
        print("imported \(imported.count) entries, skipped \(skipped) already stored")
    }
}
