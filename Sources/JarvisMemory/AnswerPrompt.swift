import JarvisEngine

/// The words of an answer's prompt, laid out in the model's `PromptFormat`:
/// `[system turn | the user's turn opening with the notes' intro | "- note 1" | … | "- note k" |
/// the question's lead and the question, end of turn, answer prefix]`. The first part is the
/// shared prefix, computed once; each note is computed once when remembered; only the question
/// is prefilled when asked.
///
/// Notes sit in the user's turn rather than the system message: measured better with
/// SmolLM2-135M, which otherwise tends to talk about itself. A family without a system turn goes
/// without the system text (SmolVLM), or opens the user's turn with it (Gemma).
public struct AnswerPrompt: Sendable, Equatable {
    public var format: PromptFormat
    public var system = "You are a helpful assistant."
    public var notesIntro = "Here are my notes:\n"
    /// Before the question. (This wording measured best of six on the personal-QA set with
    /// SmolLM2-135M: text-rag 88%, kv 84% on 3 profiles, against 51-69% for the others.)
    public var questionLead = "\nUsing my notes, answer in a few words: "
    /// Before the question when the entries include a chunk of a file. (Measured on docqa with
    /// SmolLM2-135M: text-rag 20.8% → 24.0%, kv 19.7% → 25.1%, where `questionLead` over notes
    /// measured 0.5–1.2 points better than this one on the personal-QA set.)
    public var documentQuestionLead = "\nUsing my notes, give only the short answer: "

    public init(format: PromptFormat) { self.format = format }

    /// The shared prefix: everything before the first note.
    public var prefix: Prompt {
        var p = format.begin
        if format.hasSystemRole, !system.isEmpty { p += format.turn(.system, system) }
        let lead = format.foldsSystemIntoUserTurn && !system.isEmpty ? system + "\n\n" : ""
        return p + format.open(.user) + .text(lead + notesIntro)
    }

    /// The text a note's tokens come from: one item of the list of notes.
    public static func entryText(_ note: String) -> String {
        entryText(DocumentChunker.Chunk(text: note, headings: [], tableHeader: nil), file: nil)
    }

    /// The text a chunk's tokens come from: a note as one item of the list ("- " before it), a
    /// chunk of a file under its file name and heading path (and a continued table's header
    /// rows); the chunk's own text exactly as it is, with a newline after it if it has none.
    static func entryText(_ chunk: DocumentChunker.Chunk, file: String?) -> String {
        let path = contextPath(chunk, file: file)
        var s = path.isEmpty ? "- " : "[\(path)]\n"
        if let header = chunk.tableHeader { s += header }
        s += chunk.text
        return s.utf8.last == 0x0A ? s : s + "\n"
    }

    /// "file › heading › subheading", or empty for a note without headings.
    static func contextPath(_ chunk: DocumentChunker.Chunk, file: String?) -> String {
        ([file].compactMap { $0 } + chunk.headings).joined(separator: " › ")
    }

    /// The question's part, after the last note; `overDocuments` when the notes include a chunk
    /// of a file.
    public func question(_ question: String, overDocuments: Bool = false) -> Prompt {
        .text((overDocuments ? documentQuestionLead : questionLead) + question) + format.close(.user) + format.answerPrefix
    }

    /// A chat turn's part before its answer. The first turn is `question(_:)`, closing the
    /// user's turn that holds the notes; a later one is a user turn of its own, after the
    /// previous answer, with the same lead (minus its leading newline). A conversation keeps
    /// `questionLead` whatever its notes are, so its history is tokenized the same way again.
    public func chatTurn(_ question: String, first: Bool) -> Prompt {
        first ? self.question(question)
            : format.open(.user) + .text(String(questionLead.drop { $0 == "\n" }) + question) + format.close(.user) + format.answerPrefix
    }

    /// What closes an answer in a conversation's history.
    public var answerEnd: Prompt { format.close(.assistant) }
}
