import ArgumentParser
import JarvisImage
import JarvisProtocol

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one entry in full.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The entry's id or name.", completion: EntryCompletion.kind)
    var entry: String

    @Option(name: .customLong("image"), help: ArgumentHelp("For a photo: write it with its mined regions outlined and numbered, as PNG.", valueName: "file.png"),
            completion: .file(extensions: ["png"]))
    var imageOut: String?

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.show(.init(entry: entry))) }
        guard case .entry(let e) = result else { return }
        let shown = connection.json ? Output.json(e) : Output.entry(e)
        print(shown, terminator: shown.utf8.last == 0x0A ? "" : "\n")   // "\r\n" is one Character: compare bytes
        if let imageOut { try writeRegions(of: e, to: imageOut) }
    }

    /// The photo the entry was made from (read here, where the user's files are), with the
    /// regions the daemon mined drawn over it.
    func writeRegions(of e: EntryInfo, to out: String) throws {
        guard e.kind == "photo", let path = e.metadata["path"] else {
            Failure.printError("jarvisctl: entry \(e.id) is a \(e.kind), not a photo; --image draws a photo's mined regions")
            throw ExitCode(64)
        }
        let rects = (e.metadata["regions"] ?? "").split(separator: " ").compactMap { field -> (x: Int, y: Int, width: Int, height: Int)? in
            let v = field.split(separator: ",").compactMap { Int($0) }
            return v.count == 4 ? (v[0], v[1], v[2], v[3]) : nil
        }
        do {
            let photo = try ImageDecoder.load(path: path)
            try ImageEncoder.writePNG(RegionOverlay.draw(rects, on: photo), to: out)
        } catch let error as ImageError {
            Failure.printError("jarvisctl: \(error.message)" + (error.code == .io ? " (the photo was remembered from there; was it moved?)" : ""))
            throw ExitCode(1)
        }
        print("wrote \(out): the photo with its \(rects.count) mined regions outlined and numbered")
    }
}
