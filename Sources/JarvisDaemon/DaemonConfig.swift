import Foundation
import JarvisEngine
import JarvisProtocol
import JarvisStore

/// jarvisd's settings. Each comes from, in order of precedence: a command-line flag, an
/// environment variable, the config file, the default.
///
/// The config file (`--config`, `$JARVIS_CONFIG`, else `$XDG_CONFIG_HOME/jarvis/jarvisd.conf`,
/// else `~/.config/jarvis/jarvisd.conf`) holds `key = value` lines; `#` starts a comment.
/// The keys are the long flag names: `socket`, `store`, `models`, `model`, `mmproj`, `threads`,
/// `log-level`, `max-tokens`, `retrieve-limit`.
public struct DaemonConfig: Sendable, Equatable {
    /// The Unix socket to serve (unused when systemd hands one over).
    public var socket: String
    /// The store directory (one LMDB environment).
    public var store: String
    /// The models directory.
    public var models: String
    /// The language model: a file name in `models`, or a path.
    public var model: String
    /// SmolVLM's vision projector (mmproj GGUF: a file name in `models`, or a path) that goes
    /// with `model`; empty for none.
    public var mmproj: String
    /// Compute threads for the model.
    public var threads: Int
    /// trace, debug, info, notice, warning, error or critical.
    public var logLevel: String
    /// Default answer length cap, in tokens.
    public var maxTokens: Int
    /// How many entries an answer rests on at most.
    public var retrieveLimit: Int
    /// The config file that was read, if any.
    public var configFile: String?
    /// Where each setting came from: "flag", "environment", "file" or "default".
    public var sources: [String: String]

    /// The settings, their environment variables, and how to check a value.
    static let keys: [(key: String, variable: String)] = [
        ("socket", "JARVIS_SOCKET"), ("store", "JARVIS_STORE"), ("models", "JARVIS_MODELS"),
        ("model", "JARVIS_MODEL"), ("mmproj", "JARVIS_MMPROJ"), ("threads", "JARVIS_THREADS"), ("log-level", "JARVIS_LOG_LEVEL"),
        ("max-tokens", "JARVIS_MAX_TOKENS"), ("retrieve-limit", "JARVIS_RETRIEVE_LIMIT"),
    ]
    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Resolves the settings.
    /// - Parameters:
    ///   - flags: values given on the command line, by key (`"config"` names the file).
    ///   - environment: the process environment.
    /// - Throws: `DaemonError(.badRequest)` naming the file and line, or the flag or variable,
    ///   for an unknown key or a bad value; a missing file that was named explicitly.
    public static func resolve(flags: [String: String], environment: [String: String]) throws -> DaemonConfig {
        var fileValues: [String: String] = [:]
        var configFile: String?
        let explicit = flags["config"] ?? environment["JARVIS_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicit ?? defaultConfigPath(environment: environment)
        if FileManager.default.fileExists(atPath: path) {
            fileValues = try parse(file: path)
            configFile = path
        } else if explicit != nil {
            throw DaemonError(.badRequest, "config file \(path) does not exist")
        }

        // Defaults are computed without the JARVIS_* variables, which have their own place in
        // the order above.
        var plain = environment
        for (_, v) in keys { plain[v] = nil }
        let defaults: [String: String] = [
            "socket": SocketLocation.defaultPath(environment: plain),
            "store": PersonalStore.defaultDirectory(environment: plain),
            "models": ModelFiles.directory(environment: plain),
            "model": ModelFiles.defaultLanguageModel,
            "mmproj": "",
            "threads": String(ProcessInfo.processInfo.activeProcessorCount),
            "log-level": "info",
            "max-tokens": "96",
            "retrieve-limit": "1",
        ]
        var values: [String: String] = [:], sources: [String: String] = [:]
        for (key, variable) in keys {
            if let v = flags[key] {
                values[key] = v; sources[key] = "flag --\(key)"
            } else if let v = environment[variable], !v.isEmpty {
                values[key] = v; sources[key] = "environment \(variable)"
            } else if let v = fileValues[key] {
                values[key] = v; sources[key] = "file \(path)"
            } else {
                values[key] = defaults[key]; sources[key] = "default"
            }
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let n = Int(values[key]!), range.contains(n) else {
                throw DaemonError(.badRequest, "\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \"\(values[key]!)\" (from \(sources[key]!))")
            }
            return n
        }
        guard logLevels.contains(values["log-level"]!) else {
            throw DaemonError(.badRequest, "log-level must be one of \(logLevels.joined(separator: ", ")), not \"\(values["log-level"]!)\" (from \(sources["log-level"]!))")
        }
        return DaemonConfig(socket: values["socket"]!, store: values["store"]!, models: values["models"]!,
                            model: values["model"]!, mmproj: values["mmproj"]!, threads: try int("threads", 1...256), logLevel: values["log-level"]!,
                            maxTokens: try int("max-tokens", 1...4096), retrieveLimit: try int("retrieve-limit", 1...16),
                            configFile: configFile, sources: sources)
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
        let known = Set(keys.map(\.key))
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw DaemonError(.badRequest, "\(path):\(n + 1): expected `key = value`, found \"\(line)\"")
            }
            guard known.contains(parts[0]) else {
                throw DaemonError(.badRequest, "\(path):\(n + 1): unknown setting \"\(parts[0])\"; known: \(keys.map(\.key).joined(separator: ", "))")
            }
            values[parts[0]] = parts[1]
        }
        return values
    }

    /// The path of the language model file.
    public var modelPath: String { model.contains("/") ? model : models + "/" + model }

    /// The path of the vision projector, if one is configured.
    public var mmprojPath: String? { mmproj.isEmpty ? nil : (mmproj.contains("/") ? mmproj : models + "/" + mmproj) }

    /// The effective settings, for `status`; `KEY.from` says where a non-default one came from.
    public var effective: [String: String] {
        var d: [String: String] = [
            "socket": socket, "store": store, "models": models, "model": modelPath, "mmproj": mmprojPath ?? "(none)", "threads": String(threads),
            "log-level": logLevel, "max-tokens": String(maxTokens), "retrieve-limit": String(retrieveLimit),
        ]
        d["config-file"] = configFile ?? "(none)"
        for (k, s) in sources where s != "default" { d[k + ".from"] = s }
        return d
    }
}
