import Foundation

/// One real enrollment report of the bundled set (`Resources/cases/real-reports.txt`): what someone posted, in this
/// project's words with the codes and Windows' messages verbatim, where it was posted and the cause that resolved it.
public struct RealReport: Sendable, Equatable {
    public enum Part: String, Sendable { case tune, held }
    public var id: String
    public var source: String
    public var part: Part
    /// The codes explain must find, `0x` + eight upper-case hex digits.
    public var codes: [String]
    /// The expected first cause (`entry#n`), or nil when the report's cause is not known.
    public var cause: String?
    public var text: String
}

public enum RealReports {
    /// The set shipped with winmdm.
    public static let bundled: [RealReport] = {
        do {
            let url = Bundle.module.resourceURL!.appendingPathComponent("cases/real-reports.txt")
            return try parse(String(contentsOf: url, encoding: .utf8))
        } catch { fatalError("The bundled real-report set is invalid: \(error)") }
    }()

    public static func parse(_ text: String, file: String = "real-reports.txt") throws -> [RealReport] {
        var out: [RealReport] = []
        var current: RealReport?
        var seen = Set<String>()
        func flush(_ line: Int) throws {
            guard let r = current else { return }
            guard !r.source.isEmpty, !r.text.isEmpty else {
                throw KBParseError(file: file, line: line, message: "report \(r.id) needs a source and a text")
            }
            out.append(r)
            current = nil
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { throw KBParseError(file: file, line: n + 1, message: "expected 'key: value'") }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "report" {
                try flush(n + 1)
                guard seen.insert(value).inserted else { throw KBParseError(file: file, line: n + 1, message: "duplicate report \(value)") }
                current = RealReport(id: value, source: "", part: .tune, codes: [], cause: nil, text: "")
                continue
            }
            guard current != nil else { throw KBParseError(file: file, line: n + 1, message: "'\(key)' before any report") }
            switch key {
            case "source": current!.source = value
            case "set":
                guard let p = RealReport.Part(rawValue: value) else { throw KBParseError(file: file, line: n + 1, message: "set is tune or held") }
                current!.part = p
            case "codes":
                current!.codes = try value.split(separator: " ").map { c in
                    guard c.lowercased().hasPrefix("0x"), c.count == 10, UInt32(c.dropFirst(2), radix: 16) != nil else {
                        throw KBParseError(file: file, line: n + 1, message: "code \(c) is not 0x + 8 hex digits")
                    }
                    return "0x" + c.dropFirst(2).uppercased()
                }
            case "cause": current!.cause = value == "none" ? nil : value
            case "text":
                // Raw, not trimmed of the report's own spacing beyond the key.
                let body = raw.drop(while: { $0 == " " }).dropFirst("text:".count)
                let t = body.first == " " ? String(body.dropFirst()) : String(body)
                current!.text += current!.text.isEmpty ? t : "\n" + t
            default: throw KBParseError(file: file, line: n + 1, message: "unknown key '\(key)'")
            }
        }
        try flush(0)
        return out
    }
}

/// How explain does on a set of real reports: codes found, right cause first, right cause in the first three.
public struct ExplainAccuracy: Sendable {
    public struct Miss: Sendable, CustomStringConvertible {
        public var report: String
        public var expected: String
        public var got: [String]
        public var missingCodes: [String]
        public var description: String {
            var s = "\(report): expected \(expected), got \(got.prefix(3).joined(separator: ", "))"
            if !missingCodes.isEmpty { s += "; codes not found: \(missingCodes.joined(separator: " "))" }
            return s
        }
    }

    public var reports = 0
    public var codesExpected = 0
    public var codesFound = 0
    public var withCause = 0
    public var top1 = 0
    public var top3 = 0
    /// First causes given with certainty "high", and how many of them were right: how far "high" can be trusted.
    public var certain = 0
    public var certainRight = 0
    public var misses: [Miss] = []

    public var top1Share: Double { withCause == 0 ? 1 : Double(top1) / Double(withCause) }
    public var top3Share: Double { withCause == 0 ? 1 : Double(top3) / Double(withCause) }
    public var certainShare: Double { certain == 0 ? 1 : Double(certainRight) / Double(certain) }
    public var codeShare: Double { codesExpected == 0 ? 1 : Double(codesFound) / Double(codesExpected) }

    public static func measure(_ reports: [RealReport], explainer: Explainer = Explainer()) -> ExplainAccuracy {
        var a = ExplainAccuracy()
        for r in reports {
            let e = explainer.explain(r.text)
            a.reports += 1
            let found = Set(e.codes)
            let missing = r.codes.filter { !found.contains($0) }
            a.codesExpected += r.codes.count
            a.codesFound += r.codes.count - missing.count
            let ids = e.causes.map(\.id)
            if let expected = r.cause {
                a.withCause += 1
                if ids.first == expected { a.top1 += 1 }
                if e.causes.first?.certainty == "high" {
                    a.certain += 1
                    if ids.first == expected { a.certainRight += 1 }
                }
                if ids.prefix(3).contains(expected) { a.top3 += 1 }
                if ids.first != expected || !missing.isEmpty {
                    a.misses.append(Miss(report: r.id, expected: expected, got: ids, missingCodes: missing))
                }
            } else if !missing.isEmpty {
                a.misses.append(Miss(report: r.id, expected: "none", got: ids, missingCodes: missing))
            }
        }
        return a
    }

    public var summary: String {
        String(format: "%d reports: codes found %d/%d (%.1f %%), right cause first %d/%d (%.1f %%), in the first three %d/%d (%.1f %%), first causes given as certain right %d/%d",
               reports, codesFound, codesExpected, codeShare * 100, top1, withCause, top1Share * 100, top3, withCause, top3Share * 100,
               certainRight, certain)
    }
}
