import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Edit an entry's text in $VISUAL or $EDITOR; it is encoded again on save.",
        discussion: """
            The entry's text, exactly as remembered, is written to a private temporary file and \
            the editor opened on it ($VISUAL, else $EDITOR, else vi; run by /bin/sh, so it may \
            carry options). When the editor exits with status 0 and the text has changed, the \
            entry is updated in one transaction, as `jarvisctl update` does. If the editor fails, \
            or the text is unchanged, or the entry was changed meanwhile by someone else, the \
            entry stays as it was (and an edited text is kept in its file). A newline the editor \
            adds at the end of a text that had none is dropped.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The entry's id or name.", completion: EntryCompletion.kind)
    var entry: String

    func run() throws {
        let c = try connection.connect()
        let shown = try Failure.exitOnError { try c.call(.show(.init(entry: entry))) }
        guard case .entry(let e) = shown else { return }

        let directory = try Self.privateDirectory()
        var keepFile = false
        defer { if !keepFile { try? FileManager.default.removeItem(atPath: directory) } }
        let file = directory + "/jarvis-entry-\(e.id).txt"
        try Data(e.text.utf8).write(to: URL(fileURLWithPath: file))

        let editor = Self.editor
        let status = try Self.runEditor(editor, on: file)
        guard status == 0 else {
            Failure.printError("jarvisctl: the editor (\(editor)) exited with status \(status); entry \(e.id) is unchanged")
            throw ExitCode(1)
        }
        guard let data = FileManager.default.contents(atPath: file), var edited = String(data: data, encoding: .utf8) else {
            Failure.printError("jarvisctl: \(file) cannot be read as UTF-8 text after editing; entry \(e.id) is unchanged")
            throw ExitCode(1)
        }
        // Editors end the last line; a text that had no newline at its end keeps having none.
        if e.text.utf8.last != 0x0A && edited.utf8.last == 0x0A { edited = String(decoding: edited.utf8.dropLast(), as: UTF8.self) }
        guard !edited.utf8.elementsEqual(e.text.utf8) else {
            print("entry \(e.id) is unchanged: the text was not edited")
            return
        }
        do {
            // Someone else may have changed the entry while the editor was open: do not
            // overwrite their change with a text edited from the old one.
            guard case .entry(let now) = try Failure.exitOnError({ try c.call(.show(.init(entry: String(e.id)))) }),
                  now.text.utf8.elementsEqual(e.text.utf8) else {
                Failure.printError("jarvisctl: entry \(e.id) changed while it was being edited; it keeps the other change")
                throw ExitCode(1)
            }
            try UpdateCommand.update(String(e.id), to: edited, over: c, json: connection.json)
        } catch {
            // The user's edit is not lost with the temporary directory.
            keepFile = true
            Failure.printError("jarvisctl: your edited text is kept in \(file)")
            throw error
        }
    }

    /// The editor command: $VISUAL, else $EDITOR, else vi.
    static var editor: String {
        let env = ProcessInfo.processInfo.environment
        for key in ["VISUAL", "EDITOR"] {
            if let v = env[key], !v.trimmingCharacters(in: .whitespaces).isEmpty { return v }
        }
        return "vi"
    }

    /// Runs `editor` on `file` through /bin/sh (as git does: the editor may carry options; the
    /// file is passed as an argument, never pasted into the command), on this terminal.
    /// - Returns: the exit status; 128 + N when a signal N ended it.
    static func runEditor(_ editor: String, on file: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", editor + " \"$@\"", editor, file]
        do { try p.run() } catch {
            Failure.printError("jarvisctl: cannot start the editor (\(editor)): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        p.waitUntilExit()
        return p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    }

    /// A new directory only this user can read, under the temporary directory.
    static func privateDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/jarvis-edit-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            Failure.printError("jarvisctl: cannot make a temporary directory: \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        return String(cString: made)
    }
}
