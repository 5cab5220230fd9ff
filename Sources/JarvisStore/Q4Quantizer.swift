/// The 4-bit page encoding (`KVPageDType.q4`): min–max codes in 0…15, two per byte (dimension
/// 2i in the low nibble of byte i). Keys share parameters per channel across a page's tokens;
/// values per group of 32 along each row. Parameters are fp16, and codes are chosen against the
/// fp16-rounded parameters, so a decoded value is within half a step (plus fp16 rounding of the
/// parameters) of its original.
public enum Q4Quantizer {
    /// Scale and minimum for values in `lo…hi`, rounded to fp16 as they are stored.
    static func parameters(lo: Float, hi: Float) -> (scale: Float16, min: Float16) {
        (Float16((hi - lo) / 15), Float16(lo))
    }

    static func code(_ x: Float, scale: Float, min: Float) -> UInt8 {
        scale == 0 ? 0 : UInt8(Swift.max(0, Swift.min(15, ((x - min) / scale).rounded())))
    }

    /// Encodes `tokens` key rows of `dim` fp16 values per channel: `codes` receives
    /// `tokens × dim / 2` bytes, `channels` `dim` fp16 scales then `dim` fp16 minimums.
    public static func encodeKeys(_ x: UnsafePointer<UInt16>, tokens: Int, dim: Int,
                                  codes: UnsafeMutablePointer<UInt8>, channels: UnsafeMutablePointer<UInt16>) {
        var scales = [Float](repeating: 0, count: dim), mins = [Float](repeating: 0, count: dim)
        for d in 0..<dim {
            var lo = Float.infinity, hi = -Float.infinity
            for t in 0..<tokens {
                let v = Float(Float16(bitPattern: x[t * dim + d]))
                lo = Swift.min(lo, v); hi = Swift.max(hi, v)
            }
            let (s, m) = parameters(lo: lo, hi: hi)
            channels[d] = s.bitPattern
            channels[dim + d] = m.bitPattern
            scales[d] = Float(s); mins[d] = Float(m)
        }
        for t in 0..<tokens {
            for i in 0..<dim / 2 {
                let a = Float(Float16(bitPattern: x[t * dim + 2 * i])), b = Float(Float16(bitPattern: x[t * dim + 2 * i + 1]))
                codes[t * dim / 2 + i] = code(a, scale: scales[2 * i], min: mins[2 * i])
                    | code(b, scale: scales[2 * i + 1], min: mins[2 * i + 1]) << 4
            }
        }
    }

    /// Encodes `tokens` value rows of `dim` fp16 values (a multiple of 32) per token: `codes`
    /// receives `tokens × dim / 2` bytes, `groups` per row `dim / 32` pairs (fp16 scale, fp16 minimum).
    public static func encodeValues(_ x: UnsafePointer<UInt16>, tokens: Int, dim: Int,
                                    codes: UnsafeMutablePointer<UInt8>, groups: UnsafeMutablePointer<UInt16>) {
        for t in 0..<tokens {
            for g in 0..<dim / 32 {
                let row = x + t * dim + 32 * g
                var lo = Float.infinity, hi = -Float.infinity
                for i in 0..<32 {
                    let v = Float(Float16(bitPattern: row[i]))
                    lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                }
                let (s, m) = parameters(lo: lo, hi: hi)
                groups[(t * (dim / 32) + g) * 2] = s.bitPattern
                groups[(t * (dim / 32) + g) * 2 + 1] = m.bitPattern
                let scale = Float(s), min = Float(m)
                for i in 0..<16 {
                    codes[t * dim / 2 + 16 * g + i] = code(Float(Float16(bitPattern: row[2 * i])), scale: scale, min: min)
                        | code(Float(Float16(bitPattern: row[2 * i + 1])), scale: scale, min: min) << 4
                }
            }
        }
    }

    /// The code of dimension `d` in a packed row.
    @inline(__always) static func code(in row: UnsafePointer<UInt8>, _ d: Int) -> Float {
        Float(d % 2 == 0 ? row[d / 2] & 15 : row[d / 2] >> 4)
    }

    /// Key `(token, d)` of a q4 page's head, decoded from its codes and channel parameters
    /// (`KVPageView.rows(head:values: false)`, `keyChannels(head:)`).
    public static func key(codes: UnsafeRawPointer, channels: UnsafePointer<UInt16>, dim: Int, token: Int, _ d: Int) -> Float {
        let row = codes.assumingMemoryBound(to: UInt8.self) + token * dim / 2
        return Float(Float16(bitPattern: channels[dim + d])) + Float(Float16(bitPattern: channels[d])) * code(in: row, d)
    }

    /// Value `(token, d)` of a q4 page's head, decoded from its codes and group parameters
    /// (`KVPageView.rows(head:values: true)`, `valueGroups(head:)`).
    public static func value(codes: UnsafeRawPointer, groups: UnsafePointer<UInt16>, dim: Int, token: Int, _ d: Int) -> Float {
        let row = codes.assumingMemoryBound(to: UInt8.self) + token * dim / 2
        let g = groups + (token * (dim / 32) + d / 32) * 2
        return Float(Float16(bitPattern: g[1])) + Float(Float16(bitPattern: g[0])) * code(in: row, d)
    }
}
