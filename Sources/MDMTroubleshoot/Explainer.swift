import Foundation

/// What `winmdm explain` says about a piece of text.
public struct Explanation: Sendable, Codable, Equatable {
    public struct Cause: Sendable, Codable, Equatable {
        public var id: String
        public var title: String
        public var confirm: String
        public var fix: String
        public var scenario: String?
        public var intune: String
        public var rule: String?
        /// The code or identifier this cause explains.
        public var code: String
        public var entry: String
        /// How sure explain is, as this cause's share of all the causes it considered (0…1).
        public var confidence: Double = 0
        /// high (≥ 0.7), medium (≥ 0.4) or low.
        public var certainty: String = "low"
        /// What in the text led here: the code, the settings detected, the clues found.
        public var clues: [String] = []
        /// The check that tells this cause apart from the next one when the two stay close.
        public var ask: String?
        /// For causes a winmdm rule produces: the doctor command for the user the text names.
        public var doctor: String?
        /// The ranking score (for tests and the accuracy benchmark).
        public var score: Double = 0
    }

    public struct Match: Sendable, Codable, Equatable {
        public var entry: String
        public var code: String
        public var name: String?
        public var title: String
        public var messages: [String]
        /// How the entry was found: code, event, identifier or text.
        public var via: String
    }

    /// A setting the text comes from, with the signals that showed it.
    public struct Context: Sendable, Codable, Equatable {
        public var id: String
        public var title: String
        public var signals: [String]
    }

    /// Every code found, `0x` + eight upper-case hex digits: first those the knowledge base explains, then the others.
    public var codes: [String]
    /// Each of `codes` with its symbolic name and meaning (knowledge-base names first), even when no cause is known.
    public var named: [WindowsCode] = []
    public var events: [Int]
    public var matches: [Match]
    /// Most likely first.
    public var causes: [Cause]
    public var unrecognized: [String]
    /// The settings detected in the text (OOBE, hybrid join, a dsregcmd dump …).
    public var contexts: [Context] = []
    /// When the first two causes stay close: the one question or check that tells them apart.
    public var question: String?
}

/// Turns any pasted text into the causes and fixes it points at, most likely first.
public struct Explainer: Sendable {
    public let kb: KnowledgeBase
    let scanner: CodeScanner
    let matcher: TextMatcher
    let ranker: Ranker
    /// Message matching reads at most this much text (codes are searched everywhere).
    public var textWindow = 64 * 1024
    /// Causes found from prose alone (no code) scoring below this are not offered.
    public var declineBelow = 2.2
    public var maxCauses = 12

    public init(kb: KnowledgeBase = .bundled) {
        self.kb = kb
        scanner = CodeScanner(kb: kb)
        matcher = TextMatcher(kb: kb)
        ranker = Ranker(kb: kb)
    }

    public func explain(_ text: String) -> Explanation {
        let found = scanner.scan(text)
        let window = text.utf8.count > textWindow ? String(decoding: Array(text.utf8.prefix(textWindow)), as: UTF8.self) : text
        let report = ReportText(window)
        let detected = ranker.detect(report)
        let detectedIDs = Set(detected.map(\.context.id))

        // Entries found, each with how (code, event, identifier, text), the code shown and a base score.
        struct Found { var entry: Int; var code: String; var via: String; var base: Double }
        var entries: [Found] = []
        var seen = Set<Int>()
        func add(_ i: Int?, _ code: String, _ via: String, _ base: Double) {
            guard let i, seen.insert(i).inserted else { return }
            entries.append(Found(entry: i, code: code, via: via, base: base))
        }
        // Codes in order of appearance; the first is most often the failure, later ones its consequences.
        var rank = 0
        for h in found.hresults {
            for e in kb.entries(hresult: h) { add(kb.index(of: e.id), HexFormat.code(h), "code", 3.0 - 0.15 * Double(min(rank, 4))) }
            rank += 1
        }
        for ev in found.events { add(kb.entry(event: ev).flatMap { kb.index(of: $0.id) }, "event \(ev)", "event", 2.6) }
        for id in found.identifiers { add(kb.entry(identifier: id).flatMap { kb.index(of: $0.id) }, id, "identifier", 2.8) }
        let byCode = !entries.isEmpty
        var unrecognized = found.unrecognized
        if !byCode {
            // Windows' own wording, word for word, is as good as a code.
            for i in ranker.exactMessages(in: report) { add(i, kb.entries[i].codes.first ?? kb.entries[i].id, "message", 2.8) }
            for (i, score) in matcher.match(window, limit: 5, spread: 0.2) {
                add(i, kb.entries[i].codes.first ?? kb.entries[i].id, "text", 1.0 + 1.5 * score)
            }
        }

        // Every cause of every entry found, plus (for prose) causes whose own clues the text carries.
        struct Scored { var entry: Int; var cause: Int; var code: String; var via: String; var score: Double; var clues: [String] }
        var scored: [Scored] = []
        func score(entry i: Int, cause n: Int, code: String, via: String, base: Double) -> Scored {
            let c = kb.entries[i].causes[n]
            let prior = [0.4, 0.25, 0.15, 0.1, 0.05][min(n, 4)]
            var why: [String] = via == "clue" ? [] : via == "text" ? ["text like: \(kb.entries[i].title)"]
                : via == "message" ? ["Windows' message: \(kb.entries[i].messages.first { report.flat.contains(Ranker.flatten($0)) } ?? kb.entries[i].title)"]
                : ["\(via) \(code)"]
            let (clueHits, clueWeight) = ranker.clues(entry: i, cause: n, in: report)
            why += clueHits.map { "clue: \($0)" }
            let settings = c.contexts.filter(detectedIDs.contains)
            why += settings.map { "setting: \($0)" }
            let total = base + prior + 1.2 * clueWeight + 0.8 * Double(min(settings.count, 2))
            return Scored(entry: i, cause: n, code: code, via: via, score: total, clues: why)
        }
        for f in entries {
            for n in kb.entries[f.entry].causes.indices { scored.append(score(entry: f.entry, cause: n, code: f.code, via: f.via, base: f.base)) }
        }
        if !byCode {
            for (i, e) in kb.entries.enumerated() where !seen.contains(i) {
                for n in e.causes.indices {
                    let (hits, weight) = ranker.clues(entry: i, cause: n, in: report)
                    guard !hits.isEmpty, weight >= 0.99 else { continue }
                    scored.append(score(entry: i, cause: n, code: e.codes.first ?? e.id, via: "clue", base: 0.8))
                }
            }
            // Prose below the threshold is declined: "not recognised" is better than a confident wrong cause.
            scored.removeAll { $0.score < declineBelow }
        }
        // Stable order: score, then how the entry was found, then knowledge-base order.
        let order = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.entry, $0) })
        scored.sort {
            if abs($0.score - $1.score) > 1e-9 { return $0.score > $1.score }
            let a = order[$0.entry] ?? Int.max, b = order[$1.entry] ?? Int.max
            if a != b { return a < b }
            return ($0.entry, $0.cause) < ($1.entry, $1.cause)
        }
        if scored.count > maxCauses { scored.removeLast(scored.count - maxCauses) }
        let shares = Ranker.shares(scored.map(\.score))
        let upn = Ranker.userPrincipalName(in: window)

        var causes: [Explanation.Cause] = []
        for (k, s) in scored.enumerated() {
            let e = kb.entries[s.entry], c = e.causes[s.cause]
            // A share among few weak candidates is not certainty: prose alone, or a lone clue, tops out below "high".
            let share = shares[k] * min(1, s.score / 3.5)
            causes.append(.init(id: "\(e.id)#\(s.cause + 1)", title: c.title, confirm: c.confirm, fix: c.fix, scenario: c.scenario,
                                intune: c.intune, rule: c.rule, code: s.code, entry: e.id, confidence: (share * 100).rounded() / 100,
                                certainty: share >= 0.7 ? "high" : share >= 0.4 ? "medium" : "low", clues: s.clues,
                                ask: c.ask ?? c.confirm, doctor: c.rule == nil ? nil : "winmdm doctor --user \(upn ?? "UPN")",
                                score: (s.score * 1000).rounded() / 1000))
        }
        // Entries in the order of their best cause.
        var matches: [Explanation.Match] = []
        var listed = Set<Int>()
        let foundBy = Dictionary(uniqueKeysWithValues: entries.map { ($0.entry, $0) })
        for s in scored where listed.insert(s.entry).inserted {
            let e = kb.entries[s.entry]
            matches.append(.init(entry: e.id, code: s.code, name: e.names.first, title: e.title, messages: e.messages,
                                 via: foundBy[s.entry]?.via ?? "clue"))
        }
        for f in entries where listed.insert(f.entry).inserted {
            let e = kb.entries[f.entry]
            matches.append(.init(entry: e.id, code: f.code, name: e.names.first, title: e.title, messages: e.messages, via: f.via))
        }
        if causes.isEmpty && unrecognized.isEmpty && found.others.isEmpty {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { unrecognized.append(String(trimmed.prefix(200))) }
        }
        var question: String?
        if causes.count >= 2, causes[0].score - causes[1].score < 0.6 {
            question = "Tell \"\(causes[0].title)\" from \"\(causes[1].title)\": \(causes[0].ask ?? causes[0].confirm) Otherwise: \(causes[1].ask ?? causes[1].confirm)"
        }

        var named: [WindowsCode] = found.hresults.map { h in
            var d = WindowsCodes.describe(h)
            if let e = kb.entry(hresult: h) {
                d.name = e.names.first ?? d.name
                d.meaning = e.title
            }
            return d
        }
        named += found.others.map(WindowsCodes.describe)
        return Explanation(codes: named.map(\.code), named: named, events: found.events, matches: matches, causes: causes,
                           unrecognized: unrecognized,
                           contexts: detected.map { .init(id: $0.context.id, title: $0.context.title, signals: $0.signals) },
                           question: question)
    }
}
