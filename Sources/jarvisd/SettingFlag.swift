import ArgumentParser
import JarvisDaemon

/// A setting given on the command line. Each of jarvisd's setting options holds one, so that
/// one loop collects them all, whatever the properties are called.
struct SettingFlag {
    let setting: DaemonSetting
    let value: String

    /// The settings given as flags in `command`, by key.
    static func given(in command: some ParsableArguments) -> [String: String] {
        var flags: [String: String] = [:]
        for child in Mirror(reflecting: command).children {
            if let flag = (child.value as? Option<SettingFlag?>)?.wrappedValue { flags[flag.setting.rawValue] = flag.value }
        }
        return flags
    }
}

extension Option where Value == SettingFlag? {
    /// The option `--KEY <value>` of `setting`, with its help; the value is checked when the
    /// settings are resolved, whatever their source.
    init(setting: DaemonSetting) {
        let completion: CompletionKind = switch setting.declaration.value {
        case .file(let extensions): .file(extensions: extensions)
        case .modelFile: .file(extensions: ["gguf"])
        case .directory: .directory
        case .oneOf(let words): .list(words)
        case .integer, .bytes: .default
        }
        self.init(name: .customLong(setting.rawValue), help: ArgumentHelp(setting.help, valueName: setting.valueName),
                  completion: completion) { SettingFlag(setting: setting, value: $0) }
    }
}
