import ArgumentParser
import Foundation
import JarvisProtocol

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the store, compacted, into a directory while jarvisd serves.",
        discussion: """
            jarvisd writes the copy (LMDB's compacting copy) into DIR as data.mdb; DIR must not \
            exist yet or must hold no store. Without DIR it goes beside the store, in \
            backups/YYYYMMDD-HHMMSS: under jarvisd's systemd unit, the one place besides the \
            store where jarvisd may write (copy it anywhere from there, even while jarvisd \
            runs). A backup that fails leaves nothing in DIR. To \
            restore, start jarvisd with --store DIR (or JARVIS_STORE=DIR). The copy holds the \
            model's KV pages, so it serves as it is under the same model; another model \
            re-encodes it when it opens it.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("Where the copy goes; by default a new directory backups/YYYYMMDD-HHMMSS beside the store.", valueName: "dir"),
              completion: .directory)
    var directory: String?

    func run() throws {
        let path = directory.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.backup(.init(directory: path))) }
        guard case .backup(let b) = result else { return }
        if connection.json { print(Output.json(b)); return }
        print("backed up to \(b.directory)/data.mdb (\(Output.bytes(b.bytes))); restore with: jarvisd --store \(b.directory)")
    }
}
