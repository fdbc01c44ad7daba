import Foundation
import MDMTroubleshoot
import Testing

/// Measured accuracy of `explain` on inputs shaped like what users post. The share explained correctly (the expected
/// entry is the first explanation) must stay at or above 90 %.
@Suite struct ExplainAccuracyTests {
    static let cases: [(expected: String, input: String)] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/explain-cases.tsv")
        let text = try! String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let tab = line.firstIndex(of: "\t") else { return nil }
            return (String(line[..<tab]), String(line[line.index(after: tab)...]).replacingOccurrences(of: "\\n", with: "\n"))
        }
    }()

    @Test func atLeastNinetyPercentExplainedCorrectly() {
        let explainer = Explainer()
        var wrong: [String] = []
        for c in Self.cases {
            let first = explainer.explain(c.input).matches.first?.entry
            if first != c.expected { wrong.append("\(c.expected) ← \(c.input.prefix(70)) (got \(first ?? "nothing"))") }
        }
        let share = Double(Self.cases.count - wrong.count) / Double(Self.cases.count)
        print("explain accuracy: \(Self.cases.count - wrong.count)/\(Self.cases.count) = \(String(format: "%.1f", share * 100)) %")
        for w in wrong { print("  missed: \(w)") }
        #expect(Self.cases.count >= 60)
        #expect(share >= 0.9, "accuracy \(share)")
    }
}
