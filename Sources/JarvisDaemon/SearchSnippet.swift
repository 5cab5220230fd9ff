/// The excerpt of an entry's text that `search` shows: one line, at most `width` characters,
/// around the first word of the query that the text holds (the text's start when it holds
/// none). Matching ignores case; words shorter than three letters are skipped, so that "a" or
/// "is" does not pick the window.
enum SearchSnippet {
    static func make(_ text: String, query: String, width: Int = 120) -> String {
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard flat.count > width else { return flat }
        let lower = flat.lowercased()
        let words = query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init).filter { $0.count >= 3 }
        // Lower-casing can change lengths (rarely); fall back to the start if it did.
        let hit = lower.count == flat.count ? words.compactMap { lower.range(of: $0) }.min { $0.lowerBound < $1.lowerBound } : nil
        let at = hit.map { lower.distance(from: lower.startIndex, to: $0.lowerBound) } ?? 0
        // A third of the window before the match, the rest after it.
        let start = max(0, min(at - width / 3, flat.count - width))
        let end = min(flat.count, start + width)
        let from = flat.index(flat.startIndex, offsetBy: start), to = flat.index(flat.startIndex, offsetBy: end)
        return (start > 0 ? "…" : "") + flat[from..<to].trimmingCharacters(in: .whitespaces) + (end < flat.count ? "…" : "")
    }
}
