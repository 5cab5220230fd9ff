import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask a question; the answer streams as it is written.",
        discussion: "Reads the question from standard input when it is `-`.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp(Self.modesHelp, valueName: "mode"), completion: .list(AskMode.allCases.map(\.rawValue)))
    var mode: String?

    @Option(help: "Stop after this many tokens.")
    var maxTokens: Int?

    @Option(help: "Sampling temperature; 0 (default) answers the same way every time.")
    var temperature: Double?

    @Option(help: ArgumentHelp("Ask about this photo.", valueName: "path"), completion: .file(extensions: ["jpg", "jpeg", "png"]))
    var image: String?

    @Option(help: ArgumentHelp("Ask within this chat session (started if there is none of this name), so that the question can refer to its earlier turns.", valueName: "name"),
            completion: .custom(SessionCompletion.names))
    var session: String?

    @Argument(help: "The question.")
    var question: [String]

    /// "kv (default), text-rag, full or none."
    static var modesHelp: String {
        let others = AskMode.allCases.filter { $0 != .default }.map(\.rawValue)
        return "\(AskMode.default.rawValue) (default), " + others.dropLast().joined(separator: ", ") + " or \(others.last!)."
    }

    func validate() throws {
        guard !question.isEmpty else { throw ValidationError("ask what? Give the question as arguments, or - to read it from standard input") }
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive") }
    }

    func run() throws {
        var text = question.joined(separator: " ")
        if text == "-" { text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
        let imagePath = image.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let askMode = try mode.map { m in try Failure.exitOnError { try AskMode(parsing: m) } }
        let c = try connection.connect()
        let json = connection.json
        let result = try Failure.exitOnError {
            try c.call(.ask(.init(question: text, mode: askMode, maxTokens: maxTokens, temperature: temperature, image: imagePath, session: session))) { event in
                if !json, case .token(let piece) = event {
                    FileHandle.standardOutput.write(Data(piece.utf8))
                }
            }
        }
        guard case .ask(let answer) = result else { return }
        if json {
            print(Output.json(answer))
        } else {
            print("")
        }
    }
}
