import Foundation
import MDMCore

/// Times as the console shows them.
public enum ConsoleTime {
    /// Times as the console shows them: minutes, and always the zone (UTC: every instance and admin the same).
    public static func short(_ d: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d) + " UTC"
    }
}

/// Recent failures grouped by what caused them and whom: a hundred wrong passwords from one address are one row with
/// a count, and never push the one device-limit refusal off the page.
public struct FailureGroup: Sendable {
    public var rule: String
    public var code: String
    public var reason: String
    public var users: [String]
    public var count: Int
    public var last: Date
    public var example: EnrollmentAttempt
    /// Sign-in noise (wrong password, unknown user, lockouts, console sign-ins): shown after the causes an admin can fix.
    public var isNoise: Bool

    public static func build(_ attempts: [EnrollmentAttempt]) -> [FailureGroup] {
        var byKey: [String: FailureGroup] = [:]
        for a in attempts {
            let rule = a.denials.first?.rule.rawValue ?? ""
            let code = a.code ?? (a.httpStatus != 200 ? "HTTP \(a.httpStatus)" : "")
            let noise = rule.isEmpty && (a.fault?.subcode == .authentication || a.phase == .console || a.phase == .auth || a.phase == .manage && a.fault == nil)
            let key = [rule, code, rule.isEmpty ? (a.fault?.subcode.rawValue ?? a.phase.rawValue) : ""].joined(separator: "|")
            let n = 1 + (a.repeats ?? 0)
            let user = a.facts.upn ?? a.remoteAddress ?? "unknown"
            if var g = byKey[key] {
                g.count += n
                if !g.users.contains(user) { g.users.append(user) }
                if a.time > g.last { g.last = a.time; g.example = a }
                byKey[key] = g
            } else {
                let reason = a.denials.first?.reason ?? a.fault?.reason ?? a.notes.first ?? ""
                byKey[key] = FailureGroup(rule: rule.isEmpty ? (a.fault?.subcode.rawValue ?? a.phase.rawValue) : rule, code: code, reason: reason,
                                           users: [user], count: n, last: a.lastRepeatAt ?? a.time, example: a, isNoise: noise)
            }
        }
        // Causes an admin can act on first, then by how many it hit.
        return byKey.values.sorted { ($0.isNoise ? 1 : 0, -$0.count, $0.rule) < ($1.isNoise ? 1 : 0, -$1.count, $1.rule) }
    }

    /// One group per cause and user (the troubleshooting page, where each row has its own fix).
    public static func byCauseAndUser(_ attempts: [EnrollmentAttempt]) -> [FailureGroup] {
        var keys: [String] = []
        var byKey: [String: [EnrollmentAttempt]] = [:]
        for a in attempts {
            let k = [a.denials.first?.rule.rawValue ?? a.fault?.subcode.rawValue ?? a.phase.rawValue, a.facts.upn ?? a.remoteAddress ?? ""].joined(separator: "|")
            if byKey[k] == nil { keys.append(k) }
            byKey[k, default: []].append(a)
        }
        // Attempts come newest first, so groups keep the order of their newest failure.
        return keys.compactMap { build(byKey[$0]!).first }
    }

    /// A row of the home and troubleshooting pages.
    public var context: [String: Any] {
        ["rule": rule, "code": code, "reason": reason, "count": count, "last": ConsoleTime.short(last), "noise": isNoise,
         "users": users.prefix(5).joined(separator: ", ") + (users.count > 5 ? " and \(users.count - 5) more" : ""),
         "attempt": example.id]
    }
}

/// Failures per day for the last seven days, as an inline SVG bar chart (no script needed).
public enum FailureChart {
    static let colors = ["#0f3b63", "#c75000", "#2e7d32", "#8e24aa", "#8a8886"]

    /// Failures per day over `days` days, stacked by cause (the four commonest and the rest), as an inline SVG with a
    /// y axis, a date under every bar that fits and a legend; repeats count. No script needed.
    public static func svg(_ attempts: [EnrollmentAttempt], now: Date, days: Int = 7) -> String {
        let day: TimeInterval = 86400
        func cause(_ a: EnrollmentAttempt) -> String {
            a.denials.first?.rule.rawValue ?? (a.fault?.subcode == .authentication ? "sign-in" : a.fault.map { $0.subcode.rawValue.lowercased() } ?? a.phase.rawValue)
        }
        var totals: [String: Int] = [:]
        for a in attempts { totals[cause(a), default: 0] += 1 + (a.repeats ?? 0) }
        let top = totals.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(4).map(\.key)
        let series = top + (totals.count > top.count ? ["other"] : [])
        var counts = Array(repeating: [String: Int](), count: days)
        for a in attempts {
            let i = days - 1 - Int(now.timeIntervalSince(a.time) / day)
            guard (0..<days).contains(i) else { continue }
            let c = cause(a)
            counts[i][top.contains(c) ? c : "other", default: 0] += 1 + (a.repeats ?? 0)
        }
        let maxDay = max(counts.map { $0.values.reduce(0, +) }.max() ?? 0, 1)
        let left = 40, width = 600, height = 160, plotW = width - left - 10, slot = plotW / days
        let barW = max(slot * 6 / 10, 2)
        var out = "<svg role=\"img\" aria-label=\"Enrollment failures per day, last \(days) days, by cause\" width=\"\(width)\" height=\"\(height + 30)\" viewBox=\"0 0 \(width) \(height + 30)\" style=\"max-width:100%\">"
        // Y axis: 0, half and the top, with light grid lines.
        for tick in Set([0, maxDay / 2, maxDay]).sorted() {
            let y = height - tick * (height - 20) / maxDay
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 10)\" y2=\"\(y)\" stroke=\"#ddd\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\">\(tick)</text>"
        }
        let labelEvery = max(1, days / 10)
        for (i, c) in counts.enumerated() {
            let x = left + i * slot + (slot - barW) / 2
            var y = height
            for (k, name) in series.enumerated() {
                let n = c[name] ?? 0
                guard n > 0 else { continue }
                let h = max(n * (height - 20) / maxDay, 1)
                y -= h
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barW)\" height=\"\(h)\" fill=\"\(colors[k % colors.count])\"><title>\(xmlEscapeHTML(name)): \(n)</title></rect>"
            }
            let total = c.values.reduce(0, +)
            if total > 0 { out += "<text x=\"\(x + barW / 2)\" y=\"\(max(y - 3, 10))\" font-size=\"10\" text-anchor=\"middle\">\(total)</text>" }
            if i % labelEvery == 0 || i == days - 1 {
                let label = ConsoleTime.short(now - Double(days - 1 - i) * day).prefix(10).suffix(5)
                out += "<text x=\"\(x + barW / 2)\" y=\"\(height + 16)\" font-size=\"10\" text-anchor=\"middle\">\(label)</text>"
            }
        }
        out += "</svg>"
        let legend = series.isEmpty ? "No failures in this range."
            : series.enumerated().map { k, name in
                "<span style=\"white-space:nowrap\"><span style=\"display:inline-block;width:.8em;height:.8em;background:\(colors[k % colors.count])\"></span> \(xmlEscapeHTML(name)) (\(name == "other" ? totals.filter { !top.contains($0.key) }.values.reduce(0, +) : totals[name] ?? 0))</span>"
            }.joined(separator: " ")
        return out + "<p class=\"muted\">\(legend) · dates in UTC</p>"
    }

    static func xmlEscapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
