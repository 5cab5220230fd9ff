/// A prompt as pieces: the chat format's markup, which may name control tokens, and text, which
/// never does. User text (notes, files, questions, names, metadata, captions) only ever enters a
/// prompt as `.text`, so a note that holds "<|im_start|>" is those characters, not that token;
/// only a `PromptFormat` writes `.markup`.
public struct Prompt: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        /// The format's own markup: control tokens' texts become those tokens.
        case markup(String)
        /// Plain text, tokenized as characters whatever it holds.
        case text(String)
    }

    public private(set) var pieces: [Piece]

    public init(_ pieces: [Piece] = []) { self.pieces = pieces.filter { !$0.isEmpty } }

    /// A prompt of one piece of markup.
    public static func markup(_ s: String) -> Prompt { Prompt([.markup(s)]) }
    /// A prompt of one piece of plain text.
    public static func text(_ s: String) -> Prompt { Prompt([.text(s)]) }

    public static func + (a: Prompt, b: Prompt) -> Prompt { Prompt(a.pieces + b.pieces) }
    public static func += (a: inout Prompt, b: Prompt) { a.pieces += b.pieces }

    /// The prompt's characters, control tokens written as their text: what a person would read.
    public var rendered: String {
        pieces.map { switch $0 { case .markup(let s), .text(let s): s } }.joined()
    }

    public var isEmpty: Bool { pieces.isEmpty }
}

extension Prompt.Piece {
    var isEmpty: Bool { switch self { case .markup(let s), .text(let s): s.isEmpty } }
}
