import Foundation

/// One cause of an error, with how to confirm it and how to fix it.
public struct KBCause: Sendable, Equatable, Codable {
    public var title: String
    /// The winmdm policy rule that produces this cause, when one does.
    public var rule: String?
    public var scenario: String?
    public var confirm: String
    public var fix: String
    public var intune: String
    /// Phrases in a report that point at this cause rather than at its siblings ("home edition", "OSEdition 101").
    public var clues: [String] = []
    /// Settings (context ids) in which this cause happens: a report from one of them ranks it higher.
    public var contexts: [String] = []
    /// The one question or check that tells this cause apart from the others of its entry.
    public var ask: String?
}

/// A setting a report can come from (OOBE, hybrid join, a `dsregcmd /status` dump …), recognised by its signals.
public struct KBContext: Sendable, Equatable, Codable {
    public var id: String
    public var title: String
    /// Word phrases (all words present) or, in double quotes, literal text (case-insensitive).
    public var signals: [String]
}

/// One error (or symptom) of the knowledge base.
public struct KBEntry: Sendable, Equatable, Codable {
    public var id: String
    /// `0x80180003`-style HRESULTs, or identifiers such as `event:807`, `import:806`, `OOBEIDPS`.
    public var codes: [String]
    public var names: [String]
    public var title: String
    public var messages: [String]
    public var matches: [String]
    public var events: [Int]
    public var scenarios: [String]
    public var causes: [KBCause]

    /// HRESULT codes only.
    public var hresults: [UInt32] {
        codes.compactMap { $0.hasPrefix("0x") ? UInt32($0.dropFirst(2), radix: 16) : nil }
    }
}

public struct KBParseError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// The knowledge base: entries plus the indexes the explainer needs.
public struct KnowledgeBase: Sendable {
    public let entries: [KBEntry]
    public let contexts: [KBContext]
    /// Every entry that lists a code, in file order (a generic code such as E_FAIL belongs to several settings).
    let byHResult: [UInt32: [Int]]
    let byIdentifier: [String: Int]
    let byEvent: [Int: Int]

    public init(entries: [KBEntry], contexts: [KBContext] = []) {
        self.entries = entries
        self.contexts = contexts
        var h: [UInt32: [Int]] = [:], ids: [String: Int] = [:], ev: [Int: Int] = [:]
        for (i, e) in entries.enumerated() {
            for c in e.hresults where h[c]?.last != i { h[c, default: []].append(i) }
            for c in e.codes where !c.hasPrefix("0x") {
                let key = c.lowercased()
                if key.hasPrefix("event:"), let n = Int(key.dropFirst(6)), ev[n] == nil { ev[n] = i }
                if ids[key] == nil { ids[key] = i }
                if let colon = key.firstIndex(of: ":"), ids[String(key[key.index(after: colon)...])] == nil {
                    ids[String(key[key.index(after: colon)...])] = i
                }
            }
            for n in e.names {
                let key = n.lowercased().trimmingCharacters(in: .whitespaces)
                if !key.isEmpty, key.count >= 6, ids[key] == nil { ids[key] = i }
            }
            for n in e.events where ev[n] == nil { ev[n] = i }
        }
        byHResult = h
        byIdentifier = ids
        byEvent = ev
    }

    public func entry(hresult: UInt32) -> KBEntry? { byHResult[hresult]?.first.map { entries[$0] } }
    /// All entries for a code, in file order.
    public func entries(hresult: UInt32) -> [KBEntry] { (byHResult[hresult] ?? []).map { entries[$0] } }
    public func index(of id: String) -> Int? { entries.firstIndex { $0.id == id } }
    public func entry(identifier: String) -> KBEntry? { byIdentifier[identifier.lowercased()].map { entries[$0] } }
    public func entry(event: Int) -> KBEntry? { byEvent[event].map { entries[$0] } }
    public func entry(id: String) -> KBEntry? { entries.first { $0.id == id } }

    /// The cause a policy rule corresponds to, from the entry the rule's code belongs to.
    public func cause(rule: String, hresult: UInt32?) -> (KBEntry, KBCause)? {
        if let h = hresult, let e = entry(hresult: h), let c = e.causes.first(where: { $0.rule == rule }) { return (e, c) }
        for e in entries { if let c = e.causes.first(where: { $0.rule == rule }) { return (e, c) } }
        return nil
    }

    /// The knowledge base shipped with winmdm.
    public static let bundled: KnowledgeBase = {
        do { return try load(directory: Bundle.module.resourceURL!.appendingPathComponent("kb")) } catch {
            fatalError("The bundled knowledge base is invalid: \(error)")
        }
    }()

    public static func load(directory: URL) throws -> KnowledgeBase {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }.sorted()
        var all: [KBEntry] = [], contexts: [KBContext] = []
        for f in files {
            let text = try String(contentsOf: directory.appendingPathComponent(f), encoding: .utf8)
            all += try parse(text, file: f)
            contexts += try parseContexts(text, file: f)
        }
        return KnowledgeBase(entries: all, contexts: contexts)
    }

    /// The `context:` blocks of a file (see `00-format.txt`).
    public static func parseContexts(_ text: String, file: String = "kb") throws -> [KBContext] {
        var out: [KBContext] = []
        var current: KBContext?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let key = String(trimmed[..<colon]), value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "context":
                if let c = current { out.append(c) }
                current = KBContext(id: value, title: "", signals: [])
            case "entry":
                if let c = current { out.append(c) }
                current = nil
            case "title" where current != nil: current!.title = value
            case "signal":
                guard current != nil else { throw KBParseError(file: file, line: n + 1, message: "'signal' outside a context") }
                current!.signals.append(value)
            default:
                if current != nil { throw KBParseError(file: file, line: n + 1, message: "unknown context key '\(key)'") }
            }
        }
        if let c = current { out.append(c) }
        return out
    }

    /// Parses the line format described in `00-format.txt`.
    public static func parse(_ text: String, file: String = "kb") throws -> [KBEntry] {
        var out: [KBEntry] = []
        var entry: KBEntry?
        var cause: KBCause?
        var inContext = false
        func flushCause() {
            if let c = cause { entry?.causes.append(c); cause = nil }
        }
        func flushEntry() {
            flushCause()
            if let e = entry { out.append(e) }
            entry = nil
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw KBParseError(file: file, line: n + 1, message: "expected 'key: value'")
            }
            let key = String(trimmed[..<colon]), value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let indented = line.hasPrefix(" ")
            if key == "context" { flushEntry(); inContext = true; continue }
            if inContext && key != "entry" { continue }
            if key == "entry" {
                inContext = false
                flushEntry()
                entry = KBEntry(id: value, codes: [], names: [], title: "", messages: [], matches: [], events: [], scenarios: [], causes: [])
                continue
            }
            guard entry != nil else { throw KBParseError(file: file, line: n + 1, message: "'\(key)' before any entry") }
            if indented {
                guard cause != nil else { throw KBParseError(file: file, line: n + 1, message: "indented '\(key)' outside a cause") }
                switch key {
                case "rule": cause!.rule = value
                case "scenario": cause!.scenario = value
                case "confirm": cause!.confirm = value
                case "fix": cause!.fix = value
                case "intune": cause!.intune = value
                case "clue": cause!.clues.append(value)
                case "when": cause!.contexts += value.split(separator: " ").map(String.init)
                case "ask": cause!.ask = value
                default: throw KBParseError(file: file, line: n + 1, message: "unknown cause key '\(key)'")
                }
                continue
            }
            switch key {
            case "codes":
                entry!.codes += value.split(separator: " ").map { c in
                    c.lowercased().hasPrefix("0x") ? "0x" + c.dropFirst(2).uppercased() : String(c)
                }
            case "name": entry!.names += value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case "title": entry!.title = value
            case "message": entry!.messages.append(value)
            case "match": entry!.matches.append(value)
            case "event":
                guard let e = Int(value) else { throw KBParseError(file: file, line: n + 1, message: "event id must be a number") }
                entry!.events.append(e)
            case "scenarios": entry!.scenarios += value.split(separator: " ").map(String.init)
            case "cause":
                flushCause()
                cause = KBCause(title: value, rule: nil, scenario: nil, confirm: "", fix: "", intune: "")
            default: throw KBParseError(file: file, line: n + 1, message: "unknown key '\(key)'")
            }
        }
        flushEntry()
        return out
    }
}
