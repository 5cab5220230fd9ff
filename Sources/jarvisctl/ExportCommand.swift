import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every entry as JSON Lines, for any model to read back.",
        discussion: """
            The first line is a header; each further line is one entry: its text verbatim, \
            name, aliases, kind, metadata, creation time and, for a photo, the path of its file \
            (the photo itself is not copied). Nothing a model computed is in it: \
            `jarvisctl import` remembers the entries again with the current model. A file is \
            written whole or not at all.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The file to write, or - for standard output.", valueName: "file"), completion: .file(extensions: ["jsonl"]))
    var file: String = "-"

    func run() throws {
        let c = try connection.connect()
        let entries = try Failure.exitOnError { try c.allEntries() }
        let header = MemoryExport.Header(entries: entries.count, exportedMs: Int64(Date().timeIntervalSince1970 * 1000))
        var text = try MemoryExport.line(header) + "\n"
        for e in entries { text += try MemoryExport.line(MemoryExport.Entry(e)) + "\n" }
        if file == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        // A temporary file beside the target, renamed over it once complete.
        let temporary = file + ".partial-\(getpid())"
        func fail(_ reason: String) throws -> Never {
            unlink(temporary)
            Failure.printError("jarvisctl: cannot write \(file): \(reason)")
            throw ExitCode(1)
        }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: temporary)) } catch { try fail(error.localizedDescription) }
        guard rename(temporary, file) == 0 else { try fail(String(cString: strerror(errno))) }
        Failure.printError("exported \(entries.count) entries to \(file)")
    }
}
