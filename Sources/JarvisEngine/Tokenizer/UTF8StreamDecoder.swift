/// Turns a stream of bytes — token pieces, as generated — into text as soon as each character
/// is complete. One token may end halfway through a character (an emoji is often split over
/// several tokens); those bytes are held back until the rest arrives.
public struct UTF8StreamDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes and returns the text they complete (possibly empty). Bytes that cannot be
    /// part of valid UTF-8 come out as U+FFFD at once; only a valid but unfinished sequence at
    /// the end is held back.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let keep = Self.unfinishedSuffixLength(pending)
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Returns whatever is still held back (an unfinished sequence becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Bytes held back, waiting for the rest of their character.
    public var pendingByteCount: Int { pending.count }

    /// Length of the suffix that is the valid beginning of a multi-byte sequence, or 0.
    private static func unfinishedSuffixLength(_ bytes: [UInt8]) -> Int {
        // The last sequence starts at most 3 bytes before the end.
        var start = bytes.count - 1
        while start >= 0, start >= bytes.count - 3, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return 0 }
        let lead = bytes[start]
        let needed: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0: needed = 3; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: needed = 3
        case 0xED: needed = 3; second = 0x80...0x9F
        case 0xF0: needed = 4; second = 0x90...0xBF
        case 0xF1...0xF3: needed = 4
        case 0xF4: needed = 4; second = 0x80...0x8F
        default: return 0
        }
        let have = bytes.count - start
        guard have < needed else { return 0 }
        if have >= 2, !second.contains(bytes[start + 1]) { return 0 }
        return have
    }
}
