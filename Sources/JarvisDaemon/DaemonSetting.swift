import Foundation
import JarvisEngine
import JarvisMemory
import JarvisProtocol
import JarvisStore

/// jarvisd's settings, each declared once: its flag and config-file key (the raw value), its
/// environment variable, help, default and value check. The declarations drive jarvisd's
/// options, the config file, `DaemonConfig`'s effective values and the README's table.
public enum DaemonSetting: String, CaseIterable, Sendable {
    case socket, store, models, model, mmproj, threads
    case logLevel = "log-level"
    case maxTokens = "max-tokens"
    case retrieveLimit = "retrieve-limit"
    case pageDType = "page-dtype"
    case maxStoreBytes = "max-store-bytes"
    /// The config file itself: a flag and a variable, not a key of the file.
    case config

    /// What a value must be, and what kind of thing it names.
    public enum Value: Sendable {
        /// A file path, optionally with one of these extensions.
        case file(extensions: [String])
        case directory
        /// A file name in the models directory, or a path; empty for none.
        case modelFile
        case integer(ClosedRange<Int>)
        /// A size in bytes: digits with an optional K, M, G or T (powers of 1024).
        case bytes
        case oneOf([String])
    }

    /// A setting's default: one value, or one computed from the environment.
    public enum Default: Sendable {
        case value(String)
        /// `text` says it for people (Markdown); `value` computes it from the environment
        /// without the settings' own variables.
        case computed(text: String, value: @Sendable ([String: String]) -> String)
    }

    /// Everything about a setting but its key.
    public struct Declaration: Sendable {
        /// The environment variable.
        public let variable: String
        /// What the value is called in help; the key when nil.
        let valueName: String?
        /// What the setting does, for help and the README.
        public let summary: String
        public let value: Value
        public let `default`: Default
        /// Whether `--help` states the default.
        let helpStatesDefault: Bool

        init(_ variable: String, _ valueName: String? = nil, _ summary: String, _ value: Value, default: Default, helpStatesDefault: Bool = false) {
            self.variable = variable; self.valueName = valueName; self.summary = summary; self.value = value
            self.default = `default`; self.helpStatesDefault = helpStatesDefault
        }
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The table.
    public var declaration: Declaration {
        switch self {
        case .socket:
            Declaration(SocketLocation.variable, "path", "The Unix socket to serve", .file(extensions: []),
                        default: .computed(text: "`$XDG_RUNTIME_DIR/jarvis/jarvisd.sock`") { SocketLocation.defaultPath(environment: $0) })
        case .store:
            Declaration("JARVIS_STORE", "dir", "The store directory", .directory,
                        default: .computed(text: "`$XDG_DATA_HOME/jarvis/store`") { PersonalStore.defaultDirectory(environment: $0) })
        case .models:
            Declaration("JARVIS_MODELS", "dir", "The models directory", .directory,
                        default: .computed(text: "`$XDG_DATA_HOME/jarvis/models`") { ModelFiles.directory(environment: $0) })
        case .model:
            Declaration("JARVIS_MODEL", "file", "The language model: a file in the models directory, or a path", .modelFile,
                        default: .value(ModelFiles.defaultLanguageModel))
        case .mmproj:
            Declaration("JARVIS_MMPROJ", "path", "The vision tower for the language model given by --model: SmolVLM's llama.cpp mmproj GGUF, or a LLaVA-OneVision checkpoint directory; photos then also keep their visual tokens' KV",
                        .modelFile, default: .computed(text: "none") { _ in "" })
        case .threads:
            Declaration("JARVIS_THREADS", nil, "Compute threads", .integer(1...256),
                        default: .computed(text: "all cores") { _ in String(ProcessInfo.processInfo.activeProcessorCount) }, helpStatesDefault: true)
        case .logLevel:
            Declaration("JARVIS_LOG_LEVEL", "level", Self.orList(Self.logLevels), .oneOf(Self.logLevels), default: .value("info"))
        case .maxTokens:
            Declaration("JARVIS_MAX_TOKENS", nil, "Default cap on an answer's tokens", .integer(1...4096), default: .value("96"))
        case .retrieveLimit:
            Declaration("JARVIS_RETRIEVE_LIMIT", nil, "Entries an answer rests on at most", .integer(1...16), default: .value(String(PersonalMemory.Options().retrieveLimit)))
        case .pageDType:
            Declaration("JARVIS_PAGE_DTYPE", "dtype", "Page format of entries remembered from now on: \(Self.orList(KVPageDType.allCases.map(\.name))) (stored entries keep theirs)",
                        .oneOf(KVPageDType.allCases.map(\.name)), default: .value(PersonalMemory.Options().dtype.name))
        case .maxStoreBytes:
            Declaration("JARVIS_MAX_STORE_BYTES", "size", "Most bytes of KV pages the store keeps, e.g. 8G; past it the least recently used entries keep only their text until next used (0: no limit)",
                        .bytes, default: .value("0"))
        case .config:
            Declaration("JARVIS_CONFIG", "path", "The config file", .file(extensions: []),
                        default: .computed(text: "`$XDG_CONFIG_HOME/jarvis/jarvisd.conf`") { DaemonConfig.defaultConfigPath(environment: $0) })
        }
    }

    /// The settings the config file may set.
    public static var fileSettings: [DaemonSetting] { allCases.filter { $0 != .config } }

    /// The value's name in help: `<path>`, `<threads>`…
    public var valueName: String { declaration.valueName ?? rawValue }

    /// The option's help line: the summary, the variable, and the default where help states it.
    public var help: String {
        let d = declaration
        guard d.helpStatesDefault else { return "\(d.summary) (env \(d.variable))." }
        return "\(d.summary) (env \(d.variable); default: \(defaultText))."
    }

    /// The default, for people.
    public var defaultText: String {
        switch declaration.default {
        case .value(let v): "`\(v)`"
        case .computed(let text, _): text
        }
    }

    /// The default value in an environment without the settings' own variables.
    func defaultValue(_ environment: [String: String]) -> String {
        switch declaration.default {
        case .value(let v): v
        case .computed(_, let value): value(environment)
        }
    }

    /// Checks a value that came from `source` (a flag, a variable or a file line).
    /// - Throws: `DaemonError(.badRequest)` saying what the value must be and where it came from.
    func check(_ text: String, from source: String) throws {
        switch declaration.value {
        case .integer(let range):
            guard let n = Int(text), range.contains(n) else {
                throw DaemonError(.badRequest, "\(rawValue) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \"\(text)\" (from \(source))")
            }
        case .bytes:
            guard Self.byteCount(text) != nil else {
                throw DaemonError(.badRequest, "\(rawValue) must be a size in bytes such as 800M or 8G (K, M, G, T are powers of 1024), not \"\(text)\" (from \(source))")
            }
        case .oneOf(let allowed):
            guard allowed.contains(text) else {
                throw DaemonError(.badRequest, "\(rawValue) must be one of \(allowed.joined(separator: ", ")), not \"\(text)\" (from \(source))")
            }
        case .file, .directory, .modelFile:
            break
        }
    }

    /// A size such as `8G`, `800M`, `4096` (K, M, G, T: powers of 1024, any case, an optional
    /// `iB`/`B` after them), or nil when it is not one.
    static func byteCount(_ text: String) -> Int? {
        var t = Substring(text.trimmingCharacters(in: .whitespaces).uppercased())
        for tail in ["IB", "B"] where t.hasSuffix(tail) && t.count > tail.count {
            t = t.dropLast(tail.count)
            break
        }
        var shift = 0
        if let last = t.last, let i = "KMGT".firstIndex(of: last) {
            shift = 10 * ("KMGT".distance(from: "KMGT".startIndex, to: i) + 1)
            t = t.dropLast()
        }
        guard !t.isEmpty, t.allSatisfy(\.isASCII), let n = Int(t), n >= 0, n <= Int.max >> shift else { return nil }
        return n << shift
    }

    /// The settings as a Markdown table, as the README shows them.
    public static var markdownTable: String {
        let rows = allCases.map { s in
            let key = s == .config ? "—" : "`\(s.rawValue)`"
            return "| `--\(s.rawValue)` | `\(s.declaration.variable)` | \(key) | \(s.defaultText) | \(s.declaration.summary) |"
        }
        return (["| flag | environment | file key | default | help |", "|---|---|---|---|---|"] + rows).joined(separator: "\n")
    }

    /// "a, b or c".
    static func orList(_ words: [String]) -> String {
        words.dropLast().joined(separator: ", ") + " or " + words.last!
    }
}
