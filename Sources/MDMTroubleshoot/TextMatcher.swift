import Foundation

/// Matches pasted text (dialog text, screenshots, paraphrases) against the messages the knowledge base knows,
/// tolerating typos, British spellings and word order.
///
/// Each known phrase is a bag of content words weighted by rarity (IDF). A phrase scores the weighted share of its
/// words found in the input; a word matches exactly, through a spelling variant, or within one edit (two for long
/// words). The best-scoring entries above the threshold win.
public struct TextMatcher: Sendable {
    struct Phrase: Sendable {
        let entry: Int
        let words: [String]
    }

    let phrases: [Phrase]
    let idf: [String: Double]
    public var threshold = 0.62

    static let stopwords: Set<String> = [
        "the", "a", "an", "to", "is", "are", "this", "that", "and", "or", "of", "for", "your", "you", "can", "do",
        "with", "on", "in", "it", "be", "please", "contact", "system", "administrator", "again", "try", "error",
        "code", "i", "my", "me", "we", "our", "got", "get", "getting", "have", "has", "when", "while", "after",
        "at", "as", "by", "from", "with", "so", "but", "its", "it's", "there", "was", "were", "am", "any", "some",
        "hi", "hello", "help", "anyone", "know", "why", "what", "how", "says", "said", "shows", "message", "screen",
    ]

    static let variants: [String: String] = [
        "authorised": "authorized", "authorise": "authorize", "authorisation": "authorization", "enrol": "enroll",
        "enrolment": "enrollment", "enrolling": "enroll", "enrolled": "enroll", "enrollment": "enroll", "enrolments": "enroll",
        "enrollments": "enroll", "organisation": "organization", "organisations": "organization", "licence": "license",
        "licences": "license", "licensed": "license", "licenses": "license", "isn't": "not", "isnt": "not", "can't": "not",
        "cant": "not", "cannot": "not", "doesn't": "not", "doesnt": "not", "don't": "not", "dont": "not", "wasn't": "not",
        "aren't": "not", "won't": "not", "unable": "not", "allowed": "allow", "allowing": "allow", "devices": "device",
        "users": "user", "accounts": "account", "authorized": "authorize", "authorization": "authorize",
        "permitted": "allow", "permission": "allow", "failed": "fail", "failure": "fail", "fails": "fail",
        "pc": "device", "laptop": "device", "computer": "device", "phone": "device",
        "timed": "timeout", "times": "timeout", "timeout": "timeout", "configured": "configure", "registering": "register",
        "registration": "register", "registered": "register", "installed": "install", "installation": "install",
        "terms": "term", "urls": "url",
    ]

    public init(kb: KnowledgeBase) {
        var phrases: [Phrase] = []
        for (i, e) in kb.entries.enumerated() {
            for text in e.messages + e.matches + [e.title] {
                let w = Self.words(text)
                // Sorted, so a phrase's score is summed in the same order in every process (a Set's order changes
                // from run to run, and so did the last bits of near-equal scores, and with them the first cause).
                // One-word phrases ("license error" is one content word) only answer one-word input; see match.
                if !w.isEmpty { phrases.append(Phrase(entry: i, words: Array(Set(w)).sorted())) }
            }
        }
        var df: [String: Int] = [:]
        for p in phrases { for w in p.words { df[w, default: 0] += 1 } }
        let n = Double(phrases.count)
        idf = df.mapValues { log(1 + n / Double($0)) }
        self.phrases = phrases
    }

    /// Lower-cased content words with spelling variants folded and inflections stripped ("restarting", "restarted"
    /// and "restarts" are all "restart"), so that a clue matches the way people conjugate it.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        func flush() {
            guard !current.isEmpty else { return }
            let w = variants[current] ?? current
            if !stopwords.contains(w), w.count > 1 || w == "x" { out.append(stem(w)) }
            current = ""
        }
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "'" { current.append(ch) } else { flush() }
        }
        flush()
        return out
    }

    /// Entries whose phrases the text matches, best first, with their scores.
    public func match(_ text: String, limit: Int = 3, spread: Double = 0.08) -> [(entry: Int, score: Double)] {
        let input = Set(Self.words(text))
        guard !input.isEmpty else { return [] }
        var best: [Int: Double] = [:]
        for p in phrases {
            // A phrase of one word is evidence only when that word is all the input says; inside longer text a single
            // shared word is noise.
            if p.words.count == 1, input.count != 1 { continue }
            var total = 0.0, got = 0.0, matched = 0
            for w in p.words {
                let weight = idf[w] ?? 1
                total += weight
                if input.contains(w) || input.contains(where: { Self.close($0, w) }) { got += weight; matched += 1 }
            }
            guard matched >= min(2, p.words.count), total > 0 else { continue }
            let score = got / total
            if score >= threshold, score > best[p.entry] ?? 0 { best[p.entry] = score }
        }
        let ranked = best.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        guard let top = ranked.first?.value else { return [] }
        return ranked.filter { $0.value >= top - spread }.prefix(limit).map { ($0.key, $0.value) }
    }

    /// A light suffix stripper (English inflections only): -ies to -y, then -ing, -ed, -es, -s, then a final -e, for
    /// words long enough that what is left is still a word's stem. Numbers and words with digits stay as they are.
    static func stem(_ w: String) -> String {
        guard w.count >= 4, !w.contains(where: \.isNumber) else { return w }
        var s = w
        if s.count >= 5, s.hasSuffix("ies") { s = String(s.dropLast(3)) + "y"; return s }
        if s.count >= 6, s.hasSuffix("ing") { s.removeLast(3) }
        else if s.count >= 5, s.hasSuffix("ed") { s.removeLast(2) }
        else if s.count >= 5, s.hasSuffix("es"), !s.hasSuffix("ses") { s.removeLast(2) }
        else if s.hasSuffix("s"), !s.hasSuffix("ss"), !s.hasSuffix("us") { s.removeLast() }
        if s.count >= 5, s.hasSuffix("e") { s.removeLast() }
        // "enrolled", "enrolling": a doubled final consonant left by the suffix.
        if s.count >= 5, let last = s.last, s.dropLast().last == last, !"aeiouls".contains(last) { s.removeLast() }
        return s
    }

    /// Within one edit for words of 5+ letters, two for 9+.
    static func close(_ a: String, _ b: String) -> Bool {
        let la = a.count, lb = b.count
        guard min(la, lb) >= 5, abs(la - lb) <= 2 else { return false }
        let limit = min(la, lb) >= 9 ? 2 : 1
        return distance(Array(a.utf8), Array(b.utf8), limit: limit) <= limit
    }

    static func distance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        var prev = Array(0...b.count), cur = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            var rowMin = cur[0]
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                rowMin = min(rowMin, cur[j])
            }
            if rowMin > limit { return limit + 1 }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
