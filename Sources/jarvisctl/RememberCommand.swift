import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct RememberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remember",
        abstract: "Remember notes, text files, photos or whole directories.",
        discussion: """
            Each argument is a file, a directory (its .txt, .md, .jpg and .png files, recursively), \
            - for standard input, or, if no such file exists and it contains a space, a note itself. \
            Text files are read here and sent as text; photos are sent by path.

            What is stored already — the same text, the same file contents, the same photo — is \
            not stored again (--again stores it anyway), so an import that was stopped (Ctrl-C, \
            a crash) resumes when run again. With --sync, a file whose contents changed since it \
            was remembered replaces its old entries, and entries of files no longer in the \
            directory are listed.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "A name to recall the entry by (one item only).")
    var name: String?

    @Option(help: "Another name for it (repeatable).")
    var alias: [String] = []

    @Option(help: "A category, such as person, pet, place or thing.")
    var category: String?

    @Option(help: "A note: remembered by itself, or attached to the files given.")
    var note: String?

    @Flag(help: "Store items again even when their exact contents are stored already.")
    var again = false

    @Flag(help: "For directories: files changed since they were remembered replace their old entries; entries of files no longer there are listed.")
    var sync = false

    @Argument(help: ArgumentHelp("Files, directories, - or a note.", valueName: "item"), completion: .file())
    var items: [String] = []

    static let textExtensions: Set<String> = ["txt", "md", "markdown", "text"]
    static let photoExtensions: Set<String> = ["jpg", "jpeg", "png"]

    func validate() throws {
        guard !items.isEmpty || note != nil else {
            throw ValidationError("remember what? Give files, directories, - for standard input, or --note TEXT")
        }
        if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name is empty") }
        if sync, again { throw ValidationError("--sync replaces changed files and --again stores everything anew: give one of them") }
    }

    /// One thing to send: a note, or a file with its text when it was read here.
    enum Item {
        case note(String)
        case file(String, kind: EntryKind, text: String?)
    }

    func run() throws {
        var work: [Item] = []
        var problems: [String] = []
        for arg in items {
            do { work += try expand(arg, problems: &problems) } catch { problems.append("\(error)") }
        }
        if work.isEmpty, let note { work = [.note(note)] }
        if name != nil && work.count > 1 {
            throw ValidationError("--name names one entry, but \(work.count) items were given")
        }
        for p in problems { Failure.printError("jarvisctl: \(p)") }
        guard !work.isEmpty else { throw ExitCode(1) }

        let c = try connection.connect()
        // For --sync: what each file path holds now, by the metadata remember gives files.
        let before = sync ? try Failure.exitOnError { try c.allEntries() } : []
        let byPath = Dictionary(grouping: before.filter { $0.metadata["path"] != nil }, by: { $0.metadata["path"]! })
        let bar = ProgressBar(total: work.count)
        var stored: [EntryInfo] = [], known = 0, replaced: [UInt64] = []
        var failed = problems.count, lastStatus: Int32 = 1
        for (i, item) in work.enumerated() {
            let label: String
            var request = Request.Remember(name: name, aliases: alias.isEmpty ? nil : alias)
            var metadata: [String: String] = [:]
            if let category { metadata["category"] = category }
            switch item {
            case .note(let text):
                request.text = text
                request.kind = .note
                label = "note"
            case .file(let path, let kind, let text):
                request.text = text
                request.kind = kind
                if kind == .file { metadata["file"] = (path as NSString).lastPathComponent }
                metadata["path"] = path
                if let note { metadata["note"] = note }
                label = path
            }
            request.metadata = metadata.isEmpty ? nil : metadata
            request.skipKnown = again ? nil : true
            // A file whose text does not fit in one request frame is read by the daemon instead.
            if case .file(let path, _, _) = item, request.text == nil || !c.fitsInFrame(.remember(request)) {
                request.text = nil
                request.path = path
            }
            bar.draw(i, label)
            do {
                let result = try c.call(.remember(request)) { event in
                    if case .progress(let done, let total, _) = event { bar.draw(i, "\(label) (\(done)/\(total))") }
                }
                guard case .entries(let e, _, let wasKnown) = result else { continue }
                if wasKnown {
                    known += 1
                } else {
                    stored += e
                    // --sync: the file's earlier entries give way, once its new ones are stored.
                    if case .file(let path, _, _) = item {
                        for old in byPath[path] ?? [] where !e.contains(where: { $0.id == old.id }) {
                            _ = try c.call(.forget(.init(entry: String(old.id))))
                            replaced.append(old.id)
                        }
                    }
                }
            } catch let e as ClientError {
                bar.finish()
                Failure.printError(Failure.message(for: e).replacingOccurrences(of: "jarvisctl: ", with: "jarvisctl: \(label): "))
                failed += 1
                lastStatus = Failure.exitStatus(for: e)
                if case .notRunning = e.code { throw ExitCode(lastStatus) }
                if case .disconnected = e.code { throw ExitCode(lastStatus) }
            }
        }
        bar.finish()
        // --sync: entries of files under the directories given that are no longer there.
        let roots = items.map { URL(fileURLWithPath: $0).standardizedFileURL.path + "/" }
        let gone = byPath.filter { path, _ in
            roots.contains { path.hasPrefix($0) } && !FileManager.default.fileExists(atPath: path)
        }.sorted { $0.key < $1.key }
        if connection.json {
            print(Output.json(stored))
        } else {
            for e in stored {
                print("remembered \(e.id)\(e.name.map { " \"\($0)\"" } ?? ""): \(Output.oneLine(e.text, max: 70))")
            }
            if known > 0 { print("\(known) item\(known == 1 ? " was" : "s were") remembered already (--again stores them anew)") }
            if !replaced.isEmpty { print("forgot \(replaced.count) entr\(replaced.count == 1 ? "y" : "ies") of changed files: \(replaced.map(String.init).joined(separator: ", "))") }
            for (path, entries) in gone {
                print("\(path) is gone; its entries stay: \(entries.map { String($0.id) }.joined(separator: " ")) (jarvisctl forget ID drops one)")
            }
        }
        if failed > 0 { throw ExitCode(lastStatus) }
    }

    /// The items one argument stands for. A file in a directory that cannot be used is added
    /// to `problems` and the others go on.
    func expand(_ arg: String, problems: inout [String]) throws -> [Item] {
        if arg == "-" {
            let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            return [.note(text)]
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: arg, isDirectory: &isDirectory) else {
            if arg.contains(" ") { return [.note(arg)] }
            throw ClientError(.io, "\(arg): no such file or directory")
        }
        let url = URL(fileURLWithPath: arg).standardizedFileURL
        if !isDirectory.boolValue { return [try item(for: url, explicit: true)].compactMap { $0 } }
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else { return [] }
        var files: [URL] = []
        for case let f as URL in walker where (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            files.append(f)
        }
        return files.sorted { $0.path < $1.path }.compactMap { file in
            do { return try item(for: file, explicit: false) } catch { problems.append("\(error)"); return nil }
        }
    }

    /// A file as an item: a text file is read here unless it is larger than a frame can be
    /// (`run` then sends it by path). Files found in a directory with other extensions are
    /// skipped; a file named explicitly is tried as text.
    func item(for url: URL, explicit: Bool) throws -> Item? {
        let ext = url.pathExtension.lowercased()
        if Self.photoExtensions.contains(ext) { return .file(url.path, kind: .photo, text: nil) }
        guard explicit || Self.textExtensions.contains(ext) else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        if size > Framing.defaultMaxFrame { return .file(url.path, kind: .file, text: nil) }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ClientError(.io, "\(url.path): cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ClientError(.io, "\(url.path): not UTF-8 text (photos must end in .jpg, .jpeg or .png)")
        }
        return .file(url.path, kind: .file, text: text)
    }
}

