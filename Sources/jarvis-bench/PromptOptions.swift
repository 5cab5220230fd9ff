import ArgumentParser
import JarvisEngine
import JarvisMemory

/// Overrides of the answer prompt's words, for the accuracy benchmarks (`qa`, `docqa`).
struct PromptOptions: ParsableArguments {
    @Option(help: "Override the system text of the answer's prompt (\\n for a newline).")
    var system: String?

    @Option(name: .customLong("question-lead"), help: "Override the words before the question (\\n for a newline).")
    var questionLead: String?

    /// The model's answer prompt with these overrides.
    func prompt(tokenizer: BPETokenizer) -> AnswerPrompt {
        var prompt = AnswerPrompt(format: PersonalMemory.format(tokenizer: tokenizer, vision: nil))
        if let system { prompt.system = system.replacingOccurrences(of: "\\n", with: "\n") }
        if let questionLead { prompt.questionLead = questionLead.replacingOccurrences(of: "\\n", with: "\n") }
        return prompt
    }
}
