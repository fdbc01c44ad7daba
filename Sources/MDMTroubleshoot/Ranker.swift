import Foundation

/// The words and lower-cased text of a report, prepared once for context detection and clue matching.
struct ReportText {
    let lower: String
    /// `lower` with white space runs as one space (for Windows' messages, which wrap in screenshots).
    let flat: String
    let words: Set<String>
    /// Where each content word occurs (its index among the content words).
    let positions: [String: [Int]]
    /// Typos and OCR noise are matched only in short texts: in a log every word is spelled by a program.
    let fuzzy: Bool

    init(_ text: String) {
        lower = text.lowercased()
        flat = Ranker.flatten(text)
        let w = TextMatcher.words(text)
        words = Set(w)
        var p: [String: [Int]] = [:]
        for (i, word) in w.enumerated() { p[word, default: []].append(i) }
        positions = p
        fuzzy = words.count <= 600
    }

    /// The positions of a word, or of the words one typo away from it.
    func places(_ w: String) -> [Int] {
        if let p = positions[w] { return p }
        guard fuzzy else { return [] }
        return words.filter { TextMatcher.close($0, w) }.sorted().flatMap { positions[$0] ?? [] }
    }

    /// A phrase is found when all its content words occur close together (within a few words of each other), or,
    /// in double quotes, when its exact text does.
    func contains(_ phrase: Phrase) -> Bool {
        if let literal = phrase.literal { return lower.contains(literal) }
        guard let first = phrase.words.first else { return false }
        let rest = phrase.words.dropFirst().map(places)
        if rest.contains(where: \.isEmpty) { return false }
        let span = phrase.words.count + 3
        return places(first).contains { p in rest.allSatisfy { $0.contains { abs($0 - p) <= span } } }
    }
}

/// A knowledge-base phrase (a clue or a context signal), parsed once.
struct Phrase: Sendable {
    let text: String
    let literal: String?
    let words: [String]

    init(_ text: String) {
        self.text = text
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            literal = String(text.dropFirst().dropLast()).lowercased()
            words = []
        } else {
            literal = nil
            // Stop words are kept out, as in the text; a clue made only of stop words would match everything.
            words = Array(Set(TextMatcher.words(text))).sorted()
        }
    }

    var isEmpty: Bool { literal == nil && words.isEmpty }
    /// How much a match says: a literal or a phrase of several words says more than one common word.
    var weight: Double { literal != nil ? 1.0 : min(1.0, 0.5 + 0.25 * Double(words.count)) }
}

/// Scores every candidate cause of a report: how it was found (code, event, identifier, text), its place among its
/// entry's causes (most frequent first), the clues of the report that point at it, and the settings the report
/// comes from. Deterministic: equal scores keep knowledge-base order.
struct Ranker: Sendable {
    struct Context: Sendable {
        let context: KBContext
        let signals: [Phrase]
    }

    let kb: KnowledgeBase
    let contexts: [Context]
    /// Windows' own messages, flattened (lower case, single spaces, no final full stop), with their entry.
    let messages: [(entry: Int, text: String)]
    /// clues[entry][cause]
    let clues: [[[Phrase]]]

    init(kb: KnowledgeBase) {
        self.kb = kb
        messages = kb.entries.enumerated().flatMap { i, e in
            e.messages.map { (i, Self.flatten($0)) }.filter { $0.1.count >= 12 }
        }
        contexts = kb.contexts.map { Context(context: $0, signals: $0.signals.map(Phrase.init).filter { !$0.isEmpty }) }
        // Spelling variants fold to one phrase ("licence", "license"): a clue counts once.
        clues = kb.entries.map { e in
            e.causes.map { c in
                var seen = Set<String>()
                return c.clues.map(Phrase.init).filter { !$0.isEmpty && seen.insert($0.literal ?? $0.words.joined(separator: " ")).inserted }
            }
        }
    }

    /// Lower case, runs of white space as one space, without the final full stop.
    static func flatten(_ s: String) -> String {
        var out = "", space = false
        for ch in s.lowercased() {
            if ch.isWhitespace { space = !out.isEmpty; continue }
            if space { out.append(" "); space = false }
            out.append(ch)
        }
        while out.last == "." { out.removeLast() }
        return out
    }

    /// Entries whose Windows message appears word for word in the report.
    func exactMessages(in text: ReportText) -> [Int] {
        var out: [Int] = []
        for m in messages where !out.contains(m.entry) && text.flat.contains(m.text) { out.append(m.entry) }
        return out
    }

    /// The settings a report comes from, each with the signals that showed it.
    func detect(_ text: ReportText) -> [(context: KBContext, signals: [String])] {
        contexts.compactMap { c in
            let hits = c.signals.filter { text.contains($0) }.map(\.text)
            return hits.isEmpty ? nil : (c.context, hits)
        }
    }

    /// The clues of one cause found in the report, with their combined weight (at most 3).
    func clues(entry: Int, cause: Int, in text: ReportText) -> (found: [String], weight: Double) {
        var found: [String] = [], weight = 0.0
        for p in clues[entry][cause] where text.contains(p) {
            found.append(p.text.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
            weight += p.weight
        }
        return (found, min(weight, 3))
    }

    /// The likelihood of each score among all of them (a softmax), so that "how sure" reads as a share.
    static func shares(_ scores: [Double]) -> [Double] {
        guard let top = scores.max() else { return [] }
        let e = scores.map { exp(($0 - top) * 1.5) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// The first user principal name in the text (user@domain.tld), for a doctor command.
    static func userPrincipalName(in text: String) -> String? {
        let scalars = Array(text.utf8.prefix(64 * 1024))
        func isName(_ b: UInt8) -> Bool {
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 45 || b == 95 || b == 43
        }
        var i = 0
        while i < scalars.count {
            if scalars[i] == 64 { // @
                var s = i, e = i + 1
                while s > 0, isName(scalars[s - 1]) { s -= 1 }
                while e < scalars.count, isName(scalars[e]) { e += 1 }
                while e > i + 1, scalars[e - 1] == 46 { e -= 1 } // a sentence's full stop
                let local = scalars[s..<i], domain = scalars[(i + 1)..<e]
                if !local.isEmpty, domain.contains(46), domain.first != 46,
                   let tld = domain.split(separator: 46).last, tld.count >= 2, tld.allSatisfy({ ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 }) {
                    return String(decoding: scalars[s..<e], as: UTF8.self)
                }
                i = e
            } else { i += 1 }
        }
        return nil
    }
}
