import Foundation
import JarvisStore

/// jarvisd's settings (declared in `DaemonSetting`). Each comes from, in order of precedence:
/// a command-line flag, an environment variable, the config file, the default.
///
/// The config file (`--config`, `$JARVIS_CONFIG`, else `$XDG_CONFIG_HOME/jarvis/jarvisd.conf`,
/// else `~/.config/jarvis/jarvisd.conf`) holds `key = value` lines, the keys being the long
/// flag names; `#` starts a comment.
public struct DaemonConfig: Sendable, Equatable {
    /// Each setting's checked value (under `.config`, the config file's path, read or not).
    public let values: [DaemonSetting: String]
    /// The config file that was read, if any.
    public let configFile: String?
    /// Where each setting came from, by key: "flag --KEY", "environment VARIABLE",
    /// "file PATH" or "default".
    public let sources: [String: String]

    /// The Unix socket to serve (unused when systemd hands one over).
    public var socket: String { values[.socket]! }
    /// The store directory (one LMDB environment).
    public var store: String { values[.store]! }
    /// The models directory.
    public var models: String { values[.models]! }
    /// The language model: a file name in `models`, or a path.
    public var model: String { values[.model]! }
    /// SmolVLM's vision projector that goes with `model`; empty for none.
    public var mmproj: String { values[.mmproj]! }
    /// Compute threads for the model.
    public var threads: Int { Int(values[.threads]!)! }
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel: String { values[.logLevel]! }
    /// Default answer length cap, in tokens.
    public var maxTokens: Int { Int(values[.maxTokens]!)! }
    /// How many entries an answer rests on at most.
    public var retrieveLimit: Int { Int(values[.retrieveLimit]!)! }
    /// The page format newly remembered entries are stored in.
    public var pageDType: KVPageDType { KVPageDType(name: values[.pageDType]!)! }
    /// Most bytes of KV pages the store keeps; nil for no limit.
    public var maxStoreBytes: Int? { DaemonSetting.byteCount(values[.maxStoreBytes]!).flatMap { $0 > 0 ? $0 : nil } }

    /// Resolves the settings.
    /// - Parameters:
    ///   - flags: values given on the command line, by key (`"config"` names the file).
    ///   - environment: the process environment.
    /// - Throws: `DaemonError(.badRequest)` naming the file and line, or the flag or variable,
    ///   for an unknown key or a bad value; a missing file that was named explicitly.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> DaemonConfig {
        // Defaults are computed without the settings' own variables, which have their own
        // place in the order above.
        var plain = environment
        for s in DaemonSetting.allCases { plain[s.declaration.variable] = nil }
        var values: [DaemonSetting: String] = [:], sources: [String: String] = [:]
        var fileValues: [String: String] = [:], configFile: String?
        func take(_ s: DaemonSetting) throws {
            let variable = s.declaration.variable
            let value: String, source: String
            if let v = flags[s.rawValue] {
                (value, source) = (v, "flag --\(s.rawValue)")
            } else if let v = environment[variable], !v.isEmpty {
                (value, source) = (v, "environment \(variable)")
            } else if let v = fileValues[s.rawValue], let configFile {
                (value, source) = (v, "file \(configFile)")
            } else {
                (value, source) = (s.defaultValue(plain), "default")
            }
            try s.check(value, from: source)
            values[s] = value
            sources[s.rawValue] = source
        }
        // The config file first: the other settings may come from it.
        try take(.config)
        let path = values[.config]!
        if FileManager.default.fileExists(atPath: path) {
            fileValues = try parse(file: path)
            configFile = path
        } else if sources[DaemonSetting.config.rawValue] != "default" {
            throw DaemonError(.badRequest, "config file \(path) does not exist")
        }
        for s in DaemonSetting.fileSettings { try take(s) }
        return DaemonConfig(values: values, configFile: configFile, sources: sources)
    }

    /// `$XDG_CONFIG_HOME/jarvis/jarvisd.conf`, else `~/.config/jarvis/jarvisd.conf`.
    public static func defaultConfigPath(environment: [String: String]) -> String {
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/jarvis/jarvisd.conf" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.config/jarvis/jarvisd.conf"
    }

    /// Reads `key = value` lines.
    static func parse(file path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw DaemonError(.badRequest, "config file \(path) cannot be read as UTF-8 text")
        }
        var values: [String: String] = [:]
        let keys = DaemonSetting.fileSettings.map(\.rawValue)
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw DaemonError(.badRequest, "\(path):\(n + 1): expected `key = value`, found \"\(line)\"")
            }
            guard keys.contains(parts[0]) else {
                throw DaemonError(.badRequest, "\(path):\(n + 1): unknown setting \"\(parts[0])\"; known: \(keys.joined(separator: ", "))")
            }
            values[parts[0]] = parts[1]
        }
        return values
    }

    /// A model file's path: a name in `models`, or a path as it is.
    func modelFilePath(_ name: String) -> String { name.contains("/") ? name : models + "/" + name }

    /// The path of the language model file.
    public var modelPath: String { modelFilePath(model) }

    /// The path of the vision projector, if one is configured.
    public var mmprojPath: String? { mmproj.isEmpty ? nil : modelFilePath(mmproj) }

    /// The effective settings, for `status`: each file setting (model files as paths, "(none)"
    /// for an empty one), `KEY.from` where a non-default one came from, and `config-file`.
    public var effective: [String: String] {
        var d: [String: String] = [:]
        for s in DaemonSetting.fileSettings {
            let value = values[s]!
            if case .modelFile = s.declaration.value {
                d[s.rawValue] = value.isEmpty ? "(none)" : modelFilePath(value)
            } else {
                d[s.rawValue] = value
            }
            if let from = sources[s.rawValue], from != "default" { d[s.rawValue + ".from"] = from }
        }
        d["config-file"] = configFile ?? "(none)"
        return d
    }
}
