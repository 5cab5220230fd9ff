import ArgumentParser
import JarvisEngine
import JarvisMemory

/// Overrides of the answer prompt's words, for the accuracy benchmarks (`qa`, `docqa`).
struct PromptOptions: ParsableArguments {
    @Option(help: "Override the system text of the answer's prompt (\\n for a newline).")
    var system: String?

    @Option(name: .customLong("question-lead"), help: "Override the words before the question (\\n for a newline).")
    var questionLead: String?

    @Option(name: .customLong("document-question-lead"), help: "Override the words before the question when the entries include a file's chunk (\\n for a newline).")
    var documentQuestionLead: String?

    /// The model's answer prompt with these overrides.
    func prompt(tokenizer: BPETokenizer) -> AnswerPrompt {
        func unescaped(_ s: String) -> String { s.replacingOccurrences(of: "\\n", with: "\n") }
        var prompt = AnswerPrompt(format: PersonalMemory.format(tokenizer: tokenizer, vision: nil))
        if let system { prompt.system = unescaped(system) }
        if let questionLead { prompt.questionLead = unescaped(questionLead) }
        if let documentQuestionLead { prompt.documentQuestionLead = unescaped(documentQuestionLead) }
        return prompt
    }
}
