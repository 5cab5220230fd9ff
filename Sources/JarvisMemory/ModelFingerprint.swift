import CJarvisChecksum
import JarvisEngine

/// Identifies the model weights and the shared prefix that stored KV caches were computed
/// with: caches are only valid under both. A store bound to one fingerprint refuses another.
public enum ModelFingerprint {
    /// `crc32c` of every byte of the model file, its size, and the prefix's token ids.
    /// CRC-32C runs at several GB/s with SSE4.2, so hashing the whole file costs milliseconds.
    ///
    /// A model with Llama 3 frequency factors (`rope_freqs`) gets a `/rope_freqs` suffix: the
    /// engine once ignored them, and entries stored then have keys rotated without them, so the
    /// same file must not vouch for those entries now (they are re-encoded).
    public static func compute(model: GGUFFile, prefix: [Int32]) -> String {
        let bytes = model.file.bytes
        let fileCRC = jk_crc32c(0, bytes.baseAddress, bytes.count)
        let prefixCRC = prefix.withUnsafeBytes { jk_crc32c(0, $0.baseAddress, $0.count) }
        let rotation = model.tensorsByName["rope_freqs.weight"] == nil ? "" : "/rope_freqs"
        return "gguf:\(hex(fileCRC)):\(bytes.count)/prefix:\(hex(prefixCRC)):\(prefix.count)\(rotation)"
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
