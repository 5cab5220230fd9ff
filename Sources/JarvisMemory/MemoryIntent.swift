import Foundation

/// What a chat line asks of the memory, read from its words alone: a statement to keep
/// ("remember that my locker is 40", "my sister moved to Porto"), a memory to drop ("forget my
/// locker number", "I sold my car"), or nothing (`nil`): questions, greetings, passing remarks
/// ("I am tired today", "my head hurts").
///
/// Rules rather than the language model: they are deterministic, cost no decode, and their
/// mistakes can be read and fixed; `jarvis-bench proposals` measures them on
/// `bench/memory_proposals.json`. They read English.
public enum MemoryIntent: Sendable, Equatable {
    case remember(Statement)
    case forget(Topic)

    /// A declarative sentence, split into who or what it is about, its verb and the rest.
    public struct Statement: Sendable, Equatable {
        /// The words to store: the line without its command ("remember that …"), verbatim.
        public var text: String
        /// Content words before the verb: "my sister's birthday" → sister, birthday. Empty
        /// for a first-person statement.
        public var subject: [String]
        /// "I …": about the user.
        public var firstPerson: Bool
        /// The verb, in its canonical form (`MemoryIntent.canonical`).
        public var verb: String
        /// Content words after the verb.
        public var object: [String]
        /// Every content word.
        public var words: Set<String> { Set(subject + object + [verb]) }
    }

    /// What a line asks to forget: its content words, those marked as someone's ("my cousin's
    /// address" → cousin) being required of any entry it names.
    public struct Topic: Sendable, Equatable {
        public var text: String
        public var words: [String]
        public var owners: [String]
    }

    /// Reads a chat line; nil when it asks nothing of the memory.
    public init?(utterance: String) {
        var line = utterance.trimmingCharacters(in: .whitespacesAndNewlines)
        line = Self.strip(Self.address, from: line)
        guard !line.isEmpty, !line.hasSuffix("?") else { return nil }
        if let rest = Self.stripped(Self.forgetCommand, from: line) {
            guard let topic = Topic(rest) else { return nil }
            self = .forget(topic)
            return
        }
        if let rest = Self.stripped(Self.rememberCommand, from: line) {
            // An explicit command keeps even a sentence without a recognised verb.
            guard let s = Statement(rest, requireVerb: false) else { return nil }
            self = .remember(s)
            return
        }
        let first = Self.words(line).first ?? ""
        guard !Self.questionStarts.contains(first) else { return nil }
        if let rest = Self.stripped(Self.dropStatement, from: line) {
            guard let topic = Topic(rest) else { return nil }
            self = .forget(topic)
            return
        }
        guard let s = Statement(line, requireVerb: true) else { return nil }
        self = .remember(s)
    }

    // MARK: - Patterns (built on use: a Regex is not Sendable, so it cannot be a stored static)

    /// "Jarvis, …", "please …": not part of what is said.
    static var address: Regex<AnyRegexOutput> { try! Regex(#"^((hey\s+)?jarvis[,:!]?\s+|please[,]?\s+)+"#).ignoresCase() }
    /// "forget (about|that) …", "delete the note about …", "stop remembering …".
    static var forgetCommand: Regex<AnyRegexOutput> { try! Regex(
        #"^(forget|delete|remove|erase|drop|stop\s+remembering)\b\s*(that\s+|about\s+|everything\s+about\s+|what\s+i\s+said\s+about\s+)?((the|my)\s+(note|notes|memory|memories|entry|entries)\s+(about|on|of|for)\s+)?"#
    ).ignoresCase() }
    /// "remember (that) …", "note that …", "don't forget …", "for the record, …".
    static var rememberCommand: Regex<AnyRegexOutput> { try! Regex(
        #"^(remember|note|don'?t\s+forget|do\s+not\s+forget|keep\s+in\s+mind|for\s+the\s+record|fyi|correction|update)\b\s*[:,]?\s*(that\b\s*)?"#
    ).ignoresCase() }
    /// "I sold my car", "I no longer have …", "I stopped going to the gym": the user says a
    /// memory no longer holds.
    static var dropStatement: Regex<AnyRegexOutput> { try! Regex(
        #"^i\s+(sold|lost|gave\s+away|got\s+rid\s+of|no\s+longer\s+(have|own|go\s+to|use)|don'?t\s+have|do\s+not\s+have|stopped|quit|cancelled|canceled)\b\s*"#
    ).ignoresCase() }

    /// First words of a question or a request for something other than memory.
    static let questionStarts: Set<String> = [
        "what", "what's", "whats", "when", "where", "who", "whose", "why", "how", "which", "is", "are", "am", "do", "does",
        "did", "can", "could", "would", "will", "should", "shall", "tell", "remind", "show", "list", "search", "find", "give",
    ]

    /// Verbs that make a line a statement worth keeping. Passing states ("hurts", "think",
    /// "forgot") are left out on purpose.
    static let verbs: Set<String> = [
        "is", "are", "was", "were", "am", "has", "have", "had", "moved", "move", "lives", "live", "works", "work", "changed",
        "starts", "start", "started", "expires", "expired", "eats", "eat", "waters", "water", "plays", "play", "goes", "go",
        "drives", "drive", "owns", "own", "uses", "use", "prefers", "prefer", "takes", "take", "teaches", "teach",
        "studies", "study", "speaks", "speak", "got", "became", "becomes", "costs", "opens", "closes", "ends", "begins",
        "joined", "switched", "bought", "attends", "attend",
    ]

    /// After "I am": what makes it lasting ("I am allergic …", "I'm a nurse") rather than
    /// passing ("I am tired").
    static let lastingStates: Set<String> = [
        "allergic", "vegetarian", "vegan", "married", "engaged", "divorced", "pregnant", "retired", "diabetic",
        "left-handed", "right-handed", "a", "an", "from", "born",
    ]

    /// Words that carry no content for matching.
    static let stopwords: Set<String> = [
        "a", "an", "the", "my", "our", "your", "his", "her", "their", "its", "i", "me", "we", "you", "it", "to", "of",
        "in", "on", "at", "for", "with", "and", "or", "but", "now", "just", "also", "actually", "these", "those", "this",
        "that", "please", "about", "note", "notes", "memory", "memories", "entry", "entries", "anymore", "any", "more",
        "no", "longer", "not", "do", "does", "did", "from", "as", "by", "so", "then", "there", "here", "still",
        "currently", "usually", "always", "recently", "really", "very", "all", "everything", "be", "been", "being",
    ]

    /// Words that stand for one another when matching: a line about moving is about where the
    /// user lives, one about a car about what they drive.
    static let groups: [String: String] = {
        var g: [String: String] = [:]
        for (key, members) in [
            ("live", ["live", "lives", "living", "lived", "moved", "move", "moving", "address"]),
            ("car", ["car", "drive", "drives", "driving", "drove"]),
            ("work", ["work", "works", "working", "worked", "job", "employer"]),
            ("go", ["go", "goes", "going", "went"]),
            ("be", ["is", "are", "was", "were", "am", "changed", "became", "becomes"]),
        ] { for m in members { g[m] = key } }
        return g
    }()

    /// Groups for which one value replaces another: a user lives in one place, works one
    /// job, drives one car.
    static let singleValued: Set<String> = ["live", "work", "car"]

    // MARK: - Words

    /// Lowercased words, contractions of "I" opened ("i'm" → i, am) and possessives kept as
    /// "'s" on the word.
    static func words(_ s: String) -> [String] {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-'’.:"))
        var out: [String] = []
        for raw in s.lowercased().replacingOccurrences(of: "’", with: "'").components(separatedBy: allowed.inverted) {
            var w = raw.trimmingCharacters(in: CharacterSet(charactersIn: "-'.:"))
            if w.isEmpty { continue }
            switch w {
            case "i'm": out += ["i", "am"]; continue
            case "i've": out += ["i", "have"]; continue
            case "i'd", "i'll": out += ["i", "would"]; continue
            default: break
            }
            if w.hasSuffix("'s") || w.hasSuffix("s'") { w = String(w.dropLast(2)) + "'s" }
            out.append(w)
        }
        return out
    }

    /// The form a word is matched by: its group, else itself without a possessive or a plural
    /// "s".
    static func canonical(_ word: String) -> String {
        var w = word
        if w.hasSuffix("'s") { w.removeLast(2) }
        if let g = groups[w] { return g }
        if w.count > 3, w.hasSuffix("s"), !w.hasSuffix("ss"), !w.hasSuffix("us"), !w.hasSuffix("is"), !verbs.contains(w) {
            w.removeLast()
        }
        return groups[w] ?? w
    }

    static func content(_ words: some Sequence<String>) -> [String] {
        words.filter { !stopwords.contains($0) }.map(canonical)
    }

    static func stripped(_ pattern: Regex<AnyRegexOutput>, from line: String) -> String? {
        guard let m = line.prefixMatch(of: pattern) else { return nil }
        return String(line[m.range.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func strip(_ pattern: Regex<AnyRegexOutput>, from line: String) -> String {
        stripped(pattern, from: line) ?? line
    }
}

extension MemoryIntent.Statement {
    /// Splits a sentence at its first verb; nil when it has none (and `requireVerb`), or when
    /// "I …" goes on with something passing ("I think …", "I am tired").
    public init?(_ text: String, requireVerb: Bool = true) {
        let words = MemoryIntent.words(text)
        guard !words.isEmpty else { return nil }
        let firstPerson = words[0] == "i"
        var v = firstPerson ? 1 : 0
        if firstPerson {
            // Adverbs between "I" and the verb.
            while v < words.count, MemoryIntent.stopwords.contains(words[v]), !MemoryIntent.verbs.contains(words[v]) { v += 1 }
            guard v < words.count, MemoryIntent.verbs.contains(words[v]) else {
                if requireVerb { return nil }
                self.init(text: text, subject: [], firstPerson: true, verb: "", object: MemoryIntent.content(words.dropFirst()))
                return
            }
            if words[v] == "am" {
                let next = words[(v + 1)...].first { !MemoryIntent.stopwords.contains($0) || $0 == "a" || $0 == "an" }
                if requireVerb, !MemoryIntent.lastingStates.contains(next ?? "") { return nil }
            }
        } else {
            while v < words.count, !MemoryIntent.verbs.contains(words[v]) { v += 1 }
            if v == words.count {
                guard !requireVerb else { return nil }
                let all = MemoryIntent.content(words)
                guard !all.isEmpty else { return nil }
                self.init(text: text, subject: all, firstPerson: false, verb: "", object: [])
                return
            }
        }
        let subject = firstPerson ? [] : MemoryIntent.content(words[..<v])
        guard firstPerson || !subject.isEmpty else { return nil }
        self.init(text: text, subject: subject, firstPerson: firstPerson, verb: MemoryIntent.canonical(words[v]),
                  object: MemoryIntent.content(words[(v + 1)...]))
    }

    /// Whether this statement is about the same thing as `entry` (another statement), so
    /// that it replaces it: both about the user with the same verb and a single-valued verb
    /// or a shared object ("I now drive a red Mazda" / "I drive a blue Corolla"), or the same
    /// subject with a verb the entry also has ("my locker is 40" / "My gym locker is number
    /// 17"). `names` are the entry's name and aliases, which count as its subject.
    public func sameSubject(as entry: MemoryIntent.Statement, names: [String] = []) -> Bool {
        guard firstPerson == entry.firstPerson, !verb.isEmpty else { return false }
        if firstPerson {
            guard verb == entry.verb else { return false }
            return MemoryIntent.singleValued.contains(verb) || !Set(object).isDisjoint(with: entry.object)
        }
        let entrySubject = Set(entry.subject + names.flatMap { MemoryIntent.content(MemoryIntent.words($0)) })
        guard Set(subject).isSubset(of: entrySubject) else { return false }
        return entry.words.contains(verb)
    }

    /// Whether `entry` says this already: same subject, and every word after the verb in it.
    public func isRestated(by entry: MemoryIntent.Statement, names: [String] = []) -> Bool {
        sameSubject(as: entry, names: names) && Set(object).isSubset(of: entry.words)
    }
}

extension MemoryIntent.Topic {
    /// nil when nothing is left to name an entry by ("forget it").
    init?(_ text: String) {
        let words = MemoryIntent.words(text)
        // "forget that I am allergic …": the copula names nothing.
        let content = MemoryIntent.content(words).filter { $0 != "be" }
        guard !content.isEmpty else { return nil }
        self.init(text: text, words: content,
                  owners: words.filter { $0.hasSuffix("'s") && !MemoryIntent.stopwords.contains($0) }.map(MemoryIntent.canonical))
    }

    /// How well an entry's text (and name and aliases) matches: the share of this topic's
    /// words it holds; 0 when it lacks an owner's name ("my cousin's address" is not the
    /// user's address) or holds fewer than half of them.
    public func match(_ entryText: String, names: [String] = []) -> Double {
        let have = Set(MemoryIntent.content(MemoryIntent.words(entryText + " " + names.joined(separator: " "))))
        guard owners.allSatisfy(have.contains) else { return 0 }
        let share = Double(words.filter(have.contains).count) / Double(words.count)
        return share >= 0.5 ? share : 0
    }
}
