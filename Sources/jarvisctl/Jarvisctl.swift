import ArgumentParser
import JarvisProtocol

/// jarvisctl: the command-line client of jarvisd.
@main
struct Jarvisctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jarvisctl",
        abstract: "Ask Jarvis, and tell it what to remember.",
        discussion: """
            jarvisctl talks to jarvisd over its Unix socket ($JARVIS_SOCKET, else \
            $XDG_RUNTIME_DIR/jarvis/jarvisd.sock). Start the daemon with \
            `systemctl --user enable --now jarvisd.socket`, or run `jarvisd` in a terminal.

            Exit status:
              0   success
              1   jarvisd answered with an error (the message says which)
              2   no such entry or chat session
              3   jarvisd is not running or cannot be reached
              4   the request was cancelled, or jarvisd shut down or hung up
              64  bad usage
            """,
        version: JarvisVersion.current,
        subcommands: [AskCommand.self, ChatCommand.self, SessionsCommand.self, RememberCommand.self, ForgetCommand.self, ListCommand.self,
                      ShowCommand.self, SearchCommand.self, UpdateCommand.self, EditCommand.self,
                      StatusCommand.self, BackupCommand.self, ExportCommand.self, ImportCommand.self,
                      ModelsCommand.self, MCPCommand.self])
}
