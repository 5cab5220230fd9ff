import Foundation

/// Llama 3.1's long-context RoPE scaling (`rope_scaling: {rope_type: llama3, …}` in a Hugging
/// Face config): rotary pairs whose wavelength is longer than the original context turn `factor`
/// times slower, those shorter than `original / highFrequencyFactor` keep their speed, and the
/// band between is interpolated smoothly.
public struct Llama3RopeScaling: Sendable, Equatable {
    public var factor: Float
    public var lowFrequencyFactor: Float
    public var highFrequencyFactor: Float
    /// Context length (tokens) the model was first trained for.
    public var originalContextLength: Float

    public init(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContextLength: Float) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }

    /// Reads the `rope_scaling` object of a config; missing fields take the defaults llama.cpp's
    /// converter uses (8, 1, 4, 8192).
    /// - Throws: `.modelMismatch` when the low and high frequency factors coincide.
    public init(huggingFace s: [String: Any], source: String) throws {
        func value(_ key: String, _ fallback: Float) -> Float { (s[key] as? NSNumber)?.floatValue ?? fallback }
        self.init(factor: value("factor", 8), lowFrequencyFactor: value("low_freq_factor", 1),
                  highFrequencyFactor: value("high_freq_factor", 4),
                  originalContextLength: value("original_max_position_embeddings", 8192))
        guard highFrequencyFactor != lowFrequencyFactor else {
            throw EngineError(.modelMismatch, "\(source): llama3 rope scaling with equal low and high frequency factors")
        }
    }

    /// The divisor of each rotary pair's frequency (`dims / 2` values) for RoPE base `base`: what
    /// llama.cpp's converter writes as `rope_freqs.weight`, computed the same way in fp32.
    public func frequencyFactors(base: Float, dims: Int) -> [Float] {
        let lowWavelength = originalContextLength / lowFrequencyFactor
        let highWavelength = originalContextLength / highFrequencyFactor
        return (0..<dims / 2).map { i in
            let frequency = 1 / powf(base, Float(2 * i) / Float(dims))
            let wavelength = 2 * Float.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return factor }
            let smooth = (originalContextLength / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }
}
