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

    /// Every code found, `0x` + eight upper-case hex digits: first those the knowledge base explains, then the others.
    public var codes: [String]
    /// Each of `codes` with its symbolic name and meaning (knowledge-base names first), even when no cause is known.
    public var named: [WindowsCode] = []
    public var events: [Int]
    public var matches: [Match]
    public var causes: [Cause]
    public var unrecognized: [String]
}

/// Turns any pasted text into the causes and fixes it points at, most likely first.
public struct Explainer: Sendable {
    public let kb: KnowledgeBase
    let scanner: CodeScanner
    let matcher: TextMatcher
    /// Message matching reads at most this much text (codes are searched everywhere).
    public var textWindow = 64 * 1024

    public init(kb: KnowledgeBase = .bundled) {
        self.kb = kb
        scanner = CodeScanner(kb: kb)
        matcher = TextMatcher(kb: kb)
    }

    public func explain(_ text: String) -> Explanation {
        let found = scanner.scan(text)
        var entries: [(KBEntry, String, String)] = [] // entry, code label, via
        var seen = Set<String>()
        func add(_ e: KBEntry?, _ code: String, _ via: String) {
            guard let e, seen.insert(e.id).inserted else { return }
            entries.append((e, code, via))
        }
        for h in found.hresults { add(kb.entry(hresult: h), HexFormat.code(h), "code") }
        for ev in found.events { add(kb.entry(event: ev), "event \(ev)", "event") }
        for id in found.identifiers { add(kb.entry(identifier: id), id, "identifier") }
        var unrecognized = found.unrecognized
        if entries.isEmpty {
            let window = text.utf8.count > textWindow ? String(decoding: Array(text.utf8.prefix(textWindow)), as: UTF8.self) : text
            for (i, _) in matcher.match(window) {
                let e = kb.entries[i]
                add(e, e.codes.first ?? e.id, "text")
            }
            if entries.isEmpty && unrecognized.isEmpty && found.others.isEmpty {
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { unrecognized.append(String(trimmed.prefix(200))) }
            }
        }
        var causes: [Explanation.Cause] = []
        var matches: [Explanation.Match] = []
        for (e, code, via) in entries {
            matches.append(.init(entry: e.id, code: code, name: e.names.first, title: e.title, messages: e.messages, via: via))
            for (n, c) in e.causes.enumerated() {
                causes.append(.init(id: "\(e.id)#\(n + 1)", title: c.title, confirm: c.confirm, fix: c.fix, scenario: c.scenario,
                                    intune: c.intune, rule: c.rule, code: code, entry: e.id))
            }
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
                           unrecognized: unrecognized)
    }
}
