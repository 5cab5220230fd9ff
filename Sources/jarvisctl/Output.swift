import Foundation
import JarvisProtocol

/// Printing results for people and for scripts.
enum Output {
    static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? e.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// Columns padded to their widest cell; the last column is not padded.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func oneLine(_ text: String, max: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        let clean = flat.hasPrefix("- ") ? String(flat.dropFirst(2)) : flat
        return clean.count <= max ? clean : String(clean.prefix(max - 1)) + "…"
    }

    static func date(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }

    static func entry(_ e: EntryInfo) -> String {
        var lines = ["id:       \(e.id)"]
        if let n = e.name { lines.append("name:     \(n)") }
        if !e.aliases.isEmpty { lines.append("aliases:  \(e.aliases.joined(separator: ", "))") }
        lines.append("kind:     \(e.kind)")
        lines.append("created:  \(date(e.createdMs))")
        lines.append("tokens:   \(e.tokens)")
        for (k, v) in e.metadata.sorted(by: { $0.key < $1.key }) where k != "name" { lines.append("\(k + ":")\(String(repeating: " ", count: max(1, 10 - k.count - 1)))\(v)") }
        // The text exactly as remembered, on the lines after its label.
        return lines.joined(separator: "\n") + "\ntext:\n" + e.text
    }

    static var standardErrorIsTerminal: Bool { isatty(2) != 0 }
}

/// A one-line progress bar on standard error, redrawn in place; silent when standard error
/// is not a terminal.
struct ProgressBar {
    let total: Int
    let enabled = Output.standardErrorIsTerminal
    let started = Date()

    /// Draws `done` of `total`, with the rate so far and the time left at that rate once a
    /// few items are done.
    func draw(_ done: Int, _ label: String) {
        guard enabled, total > 0 else { return }
        let width = 24, filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        var pace = ""
        let elapsed = Date().timeIntervalSince(started)
        if done > 0, elapsed > 1 {
            let rate = Double(done) / elapsed
            let left = Int(Double(total - done) / rate)
            pace = String(format: " %.1f/s ETA %d:%02d", rate, left / 60, left % 60)
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(done)/\(total)\(pace) \(label)".utf8))
    }

    func finish() {
        guard enabled, total > 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
