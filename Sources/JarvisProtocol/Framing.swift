/// Frames: a 4-byte big-endian length N, then N bytes of UTF-8 JSON. See Protocol/PROTOCOL.md.
public enum Framing {
    /// Largest frame a peer may send by default: 1 MiB (requests carry text, not files).
    public static let defaultMaxFrame = 1 << 20

    /// The frame carrying `payload`.
    /// - Throws: `ProtocolError(.frameTooLarge)` if the payload exceeds `maxFrame`.
    public static func frame(_ payload: [UInt8], maxFrame: Int = 16 << 20) throws -> [UInt8] {
        guard payload.count <= maxFrame else {
            throw ProtocolError(.frameTooLarge, "frame of \(payload.count) bytes exceeds the limit of \(maxFrame)")
        }
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }
}

/// Splits a byte stream into frame payloads, whatever pieces the bytes arrive in.
///
/// A length over the cap is a broken stream: the decoder throws `.frameTooLarge` and stays
/// failed (the connection should be closed; the daemon replies with the error first).
public struct FrameDecoder: Sendable {
    public let maxFrame: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failed: ProtocolError?

    public init(maxFrame: Int = Framing.defaultMaxFrame) { self.maxFrame = maxFrame }

    /// Bytes received but not yet part of a complete frame.
    public var pendingByteCount: Int { buffer.count - start }

    /// Adds received bytes; returns every frame payload now complete, in order.
    public mutating func append<C: Collection>(_ bytes: C) throws -> [[UInt8]] where C.Element == UInt8 {
        if let failed { throw failed }
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while buffer.count - start >= 4 {
            let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard n <= maxFrame else {
                let e = ProtocolError(.frameTooLarge, "frame of \(n) bytes announced; the limit is \(maxFrame)")
                failed = e
                throw e
            }
            guard buffer.count - start - 4 >= n else { break }
            frames.append(Array(buffer[start + 4..<start + 4 + n]))
            start += 4 + n
        }
        // Drop consumed bytes now and then, not on every frame.
        if start > 65536 || start == buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return frames
    }
}
