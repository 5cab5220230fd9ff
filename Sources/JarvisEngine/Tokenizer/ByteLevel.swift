/// GPT-2's byte-level alphabet: every byte is shown as one printable Unicode character, so a
/// vocabulary of strings can hold arbitrary bytes. Printable Latin-1 bytes stand for themselves;
/// the other 68 (controls, space, 0x7F–0xA0, 0xAD) are moved to U+0100 and up, in byte order.
/// A space becomes "Ġ" (U+0120) and a newline "Ċ" (U+010A), as seen in the vocabulary.
enum ByteLevel {
    /// The character standing for each byte.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable(UInt8(b)) {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet character stands for, indexed by scalar value (all are below 0x144);
    /// -1 for characters outside the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The UTF-8 bytes of each byte's character (one or two bytes each).
    static let utf8ForByte: [[UInt8]] = scalarForByte.map { Array(String($0).utf8) }

    private static func isPrintable(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// Encodes raw bytes as the alphabet's UTF-8 text (what vocabulary entries are made of).
    static func encode<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(contentsOf: utf8ForByte[Int(b)]) }
        return out
    }

    /// Decodes vocabulary text back to raw bytes. Characters outside the alphabet (which a
    /// well-formed byte-level vocabulary never has) are kept as their own UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            let v = Int(s.value)
            if v < byteForScalar.count, byteForScalar[v] >= 0 {
                out.append(UInt8(byteForScalar[v]))
            } else {
                out.append(contentsOf: String(s).utf8)
            }
        }
        return out
    }
}
