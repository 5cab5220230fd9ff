import CJarvisChecksum

/// Storage formats of a page's K/V payload.
public enum KVPageDType: UInt8, Sendable, Codable, CaseIterable {
    /// IEEE binary16, exactly the engine's cache rows.
    case fp16 = 1
    /// int8 values with one fp16 scale per 32 values of a row (round to nearest, scale =
    /// max |x| / 127): 1.0625 bytes per value. The head dimension must be a multiple of 32.
    case q8 = 2
    /// 4-bit codes, two per byte, after KIVI: keys per channel (each of a page's `dim` channels
    /// has an fp16 scale and minimum shared by the page's tokens, since a few key channels carry
    /// outliers), values per token (an fp16 scale and minimum per 32 values of a row). A value is
    /// min + scale · code, code in 0…15. About 0.3 of fp16's bytes at 64 tokens a page. The head
    /// dimension must be a multiple of 32. The daemon's default (`PersonalMemory.Options.dtype`).
    case q4 = 3

    /// The format's name: "fp16", "q8" or "q4".
    public var name: String { "\(self)" }

    /// The format called `name`, if there is one.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// Bytes of one stored row of `dim` values, without scales.
    public func rowBytes(dim: Int) -> Int {
        switch self {
        case .fp16: dim * 2
        case .q8: dim
        case .q4: dim / 2
        }
    }

    /// Payload bytes of a page: K and V for `heads` × `tokens` rows of `dim` values.
    public func payloadBytes(tokens: Int, heads: Int, dim: Int) -> Int {
        switch self {
        case .fp16: 2 * heads * tokens * dim * 2
        case .q8: 2 * heads * tokens * dim + 2 * heads * tokens * (dim / 32) * 2
        case .q4: heads * tokens * dim + heads * dim * 2 * 2 + heads * tokens * (dim / 32) * 2 * 2
        }
    }
}

/// One KV page: the keys and values of up to a block of tokens, for one layer and all its KV
/// heads. The byte layout (version 1; dtypes 2 and 3 only add payload layouts) is documented
/// in docs/kv-page-format.md:
///
///     offset size field
///      0     4    magic "JKVP"
///      4     1    format version (1)
///      5     1    dtype (1 = fp16, 2 = q8, 3 = q4)
///      6     2    reserved, zero
///      8     2    token count T (u16, little-endian, as all fields)
///     10     2    KV head count H
///     12     2    head dimension D
///     14     2    reserved, zero
///     16     4    absolute position the first token's key was rotated for
///     20     4    payload byte count
///     24     4    CRC-32C of the payload
///     28     4    reserved, zero
///     32     …    payload. fp16: K as [head][token][dim], then V in the same layout.
///                 q8: K int8 [head][token][dim], V int8, then K scales fp16
///                 [head][token][dim/32], then V scales.
///                 q4: K codes [head][token][dim/2] (dim 2i in the low nibble of byte i), V
///                 codes likewise, then K channel parameters fp16 [head][scales dim, mins dim],
///                 then V group parameters fp16 [head][token][dim/32][scale, min].
public enum KVPage {
    public static let headerSize = 32
    public static let version: UInt8 = 1
    static let magic: [UInt8] = Array("JKVP".utf8)

    /// Bytes a page of these dimensions takes.
    public static func byteCount(tokens: Int, kvHeads: Int, headDim: Int, dtype: KVPageDType) -> Int {
        headerSize + dtype.payloadBytes(tokens: tokens, heads: kvHeads, dim: headDim)
    }

    /// Writes a page into `out` (exactly `byteCount(...)` bytes). `fill` writes the payload
    /// (K then V, `[head][token][dim]`) into the buffer it is given.
    static func write(into out: UnsafeMutableRawBufferPointer, tokens: Int, kvHeads: Int, headDim: Int,
                      firstPosition: Int, dtype: KVPageDType, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let payload = UnsafeMutableRawBufferPointer(rebasing: out[headerSize...])
        fill(payload)
        let crc = jk_crc32c(0, payload.baseAddress, payload.count)
        for i in 0..<headerSize { out[i] = 0 }
        for (i, b) in magic.enumerated() { out[i] = b }
        out[4] = version
        out[5] = dtype.rawValue
        out.storeBytes(of: UInt16(tokens).littleEndian, toByteOffset: 8, as: UInt16.self)
        out.storeBytes(of: UInt16(kvHeads).littleEndian, toByteOffset: 10, as: UInt16.self)
        out.storeBytes(of: UInt16(headDim).littleEndian, toByteOffset: 12, as: UInt16.self)
        out.storeBytes(of: UInt32(firstPosition).littleEndian, toByteOffset: 16, as: UInt32.self)
        out.storeBytes(of: UInt32(payload.count).littleEndian, toByteOffset: 20, as: UInt32.self)
        out.storeBytes(of: crc.littleEndian, toByteOffset: 24, as: UInt32.self)
    }

    /// Reads a page in place.
    /// - Parameter verify: check the payload's CRC-32C (cheap with SSE4.2; on by default).
    /// - Throws: `.corrupt` for a bad header, size or checksum, `.unsupportedVersion` for a newer format.
    public static func read(_ bytes: UnsafeRawBufferPointer, verify: Bool = true) throws -> KVPageView {
        guard bytes.count >= headerSize, Array(bytes[0..<4]) == magic else {
            throw StoreError(.corrupt, "a KV page has no valid header (\(bytes.count) bytes)")
        }
        guard bytes[4] == version else {
            throw StoreError(.unsupportedVersion, "a KV page has format version \(bytes[4]); this program reads version \(version)")
        }
        guard let dtype = KVPageDType(rawValue: bytes[5]) else {
            throw StoreError(.corrupt, "a KV page has unknown dtype \(bytes[5])")
        }
        let tokens = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        let heads = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self)))
        let dim = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self)))
        let first = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
        let payloadBytes = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
        guard payloadBytes == dtype.payloadBytes(tokens: tokens, heads: heads, dim: dim), bytes.count == headerSize + payloadBytes,
              dtype == .fp16 || dim % 32 == 0 else {
            throw StoreError(.corrupt, "a KV page's size (\(bytes.count) bytes) does not match its header (\(tokens) tokens × \(heads) heads × \(dim))")
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
        if verify {
            let got = jk_crc32c(0, payload.baseAddress, payload.count)
            guard got == crc else {
                throw StoreError(.corrupt, "a KV page fails its checksum (stored \(String(crc, radix: 16)), computed \(String(got, radix: 16))): the store's data file is damaged")
            }
        }
        return KVPageView(tokenCount: tokens, kvHeads: heads, headDim: dim, firstPosition: first, dtype: dtype, payload: payload)
    }
}

/// A page read in place: pointers into the memory map, valid while its read transaction is.
public struct KVPageView {
    public let tokenCount: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Absolute position the first token's key was rotated for.
    public let firstPosition: Int
    public let dtype: KVPageDType
    let payload: UnsafeRawBufferPointer

    /// Keys of `head` (fp16 pages): `tokenCount` rows of `headDim` fp16 values.
    public func keys(head: Int) -> UnsafePointer<UInt16> {
        precondition(dtype == .fp16)
        return payload.baseAddress!.advanced(by: head * tokenCount * headDim * 2).assumingMemoryBound(to: UInt16.self)
    }

    /// Values of `head` (fp16 pages), laid out like `keys(head:)`.
    public func values(head: Int) -> UnsafePointer<UInt16> {
        precondition(dtype == .fp16)
        return payload.baseAddress!.advanced(by: (kvHeads + head) * tokenCount * headDim * 2).assumingMemoryBound(to: UInt16.self)
    }

    /// The start of `head`'s key (or value) rows, whatever the dtype: `dtype.rowBytes(dim:)`
    /// bytes per row.
    public func rows(head: Int, values: Bool) -> UnsafeRawPointer {
        let perHead = tokenCount * dtype.rowBytes(dim: headDim)
        return payload.baseAddress!.advanced(by: ((values ? kvHeads : 0) + head) * perHead)
    }

    /// Channel parameters of `head`'s keys in a q4 page: `headDim` fp16 scales, then `headDim`
    /// fp16 minimums, shared by all the page's tokens.
    public func keyChannels(head: Int) -> UnsafePointer<UInt16> {
        precondition(dtype == .q4)
        let codes = 2 * kvHeads * tokenCount * headDim / 2
        return payload.baseAddress!.advanced(by: codes + head * headDim * 2 * 2).assumingMemoryBound(to: UInt16.self)
    }

    /// Group parameters of `head`'s values in a q4 page: per token, `headDim / 32` pairs of fp16
    /// (scale, minimum), one pair per 32 values.
    public func valueGroups(head: Int) -> UnsafePointer<UInt16> {
        precondition(dtype == .q4)
        let codes = 2 * kvHeads * tokenCount * headDim / 2, channels = kvHeads * headDim * 2 * 2
        return payload.baseAddress!.advanced(by: codes + channels + head * tokenCount * (headDim / 32) * 2 * 2)
            .assumingMemoryBound(to: UInt16.self)
    }

    /// Scales of `head`'s key (or value) rows in a q8 page: `headDim / 32` fp16 per row.
    public func scales(head: Int, values: Bool) -> UnsafePointer<UInt16> {
        precondition(dtype == .q8)
        let quantized = 2 * kvHeads * tokenCount * headDim
        let perHead = tokenCount * (headDim / 32) * 2
        return payload.baseAddress!.advanced(by: quantized + ((values ? kvHeads : 0) + head) * perHead)
            .assumingMemoryBound(to: UInt16.self)
    }
}
