/// How kv puts several entries together in front of a question. Each entry was computed alone
/// behind the shared prefix; these are the training-free remedies for what it never saw
/// (`jarvis-bench docqa` compares them).
public struct Composition: Sendable, Hashable {
    /// Tokens at the start of each entry placed after others computed again in place,
    /// attending to the prefix and the entries before them (EPIC-style); 0 reads every row from
    /// the pages.
    public var leadRecompute = 0
    /// CacheBlend-style selective recompute: the fraction (0...1) of the moved entries' tokens
    /// whose K/V deviate most computed again through every layer (see `Transformer.blend`);
    /// 0 reads every row from the pages. When it is above 0, `leadRecompute` is not used.
    public var blendRatio = 0.0
    /// APE-style attention scaling: the question's and the answer's attention logits to entry
    /// rows are divided by `temperature`…
    public var temperature: Float = 1
    /// …and their weights multiplied by `scale` (log `scale` added to the logits) before the
    /// softmax. 1 and 1 leave attention as it is.
    public var scale: Float = 1

    /// Reads every entry's rows as stored and attends to them as to any other.
    public static let plain = Composition()

    public init(leadRecompute: Int = 0, blendRatio: Double = 0, temperature: Float = 1, scale: Float = 1) {
        self.leadRecompute = leadRecompute
        self.blendRatio = blendRatio
        self.temperature = temperature
        self.scale = scale
    }
}
