import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Replace an entry's text; it is encoded again, in one transaction.",
        discussion: "The entry keeps its id, name, aliases and creation time. Reads the text from standard input when it is `-`.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The entry's id or name.", completion: EntryCompletion.kind)
    var entry: String

    @Argument(help: "The new text.")
    var text: [String]

    func validate() throws {
        guard !text.isEmpty else { throw ValidationError("update it to what? Give the new text as arguments, or - to read it from standard input") }
    }

    func run() throws {
        var newText = text.joined(separator: " ")
        if newText == "-" { newText = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
        let c = try connection.connect()
        try Self.update(entry, to: newText, over: c, json: connection.json)
    }

    /// Sends the update and prints the entry as it now is.
    static func update(_ entry: String, to text: String, over c: JarvisConnection, json: Bool) throws {
        let result = try Failure.exitOnError { try c.call(.update(.init(entry: entry, text: text))) }
        guard case .entry(let e) = result else { return }
        print(json ? Output.json(e) : "updated \(e.id)\(e.name.map { " \"\($0)\"" } ?? ""): \(Output.oneLine(e.text, max: 70))")
    }
}
