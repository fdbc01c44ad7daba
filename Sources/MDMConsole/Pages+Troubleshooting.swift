import Foundation
import MDMCore

/// Troubleshooting + support: explain a pasted error, the failures of a range one row per cause and user (sign-in noise
/// apart), the failures-per-day chart, and the lockouts.
public struct TroubleshootingPage: PageModel {
    public struct Row: Sendable {
        public var group: FailureGroup
        public var upn: String
        /// The knowledge base's fix for the rule that refused ("" when none applies).
        public var fix: String
        /// Who marked it resolved and when, when someone applied a fix.
        public var resolved: String?
        /// A rule refused it in a phase a fix can change (an admin may open Fix…).
        public var fixable: Bool

        public init(group: FailureGroup, fix: String, resolved: String?) {
            let a = group.example
            self.group = group
            self.upn = a.facts.upn ?? a.remoteAddress ?? "-"
            self.fix = fix
            self.resolved = resolved
            self.fixable = resolved == nil && !a.denials.isEmpty && (a.phase == .enroll || a.phase == .auth || a.phase == .policy)
        }

        var context: [String: Any] {
            var m = group.context
            m["upn"] = upn
            m["fix"] = fix
            if let resolved { m["resolved"] = resolved } else { m["fixable"] = fixable }
            return m
        }
    }

    public struct Lockout: Sendable {
        public var subject: String
        /// What clearing it takes (a UPN or an address).
        public var who: String
        public var failures: Int
        public var lockouts: Int
        public var state: String
        public var last: String
        public init(subject: String, who: String, failures: Int, lockouts: Int, state: String, last: String) {
            self.subject = subject
            self.who = who
            self.failures = failures
            self.lockouts = lockouts
            self.state = state
            self.last = last
        }
    }

    /// What `explain` made of pasted text.
    public struct Explained: Sendable {
        public struct Cause: Sendable {
            public var title, confirm, fix, code, certainty, why: String
            public var percent: Int
            public var doctor: String?
            public init(title: String, confirm: String, fix: String, code: String, certainty: String, why: String, percent: Int, doctor: String?) {
                self.title = title
                self.confirm = confirm
                self.fix = fix
                self.code = code
                self.certainty = certainty
                self.why = why
                self.percent = percent
                self.doctor = doctor
            }
        }
        public var text: String
        /// The entries recognised (title and code).
        public var found: [(title: String, code: String)]
        public var causes: [Cause]
        public var unrecognized: [String]
        public var contexts: [String]
        public var question: String?
        public init(text: String, found: [(title: String, code: String)], causes: [Cause], unrecognized: [String], contexts: [String], question: String?) {
            self.text = text
            self.found = found
            self.causes = causes
            self.unrecognized = unrecognized
            self.contexts = contexts
            self.question = question
        }
    }

    public static let template = "troubleshooting"
    public static let pageSize = 50
    public static let ranges = [1, 7, 30, 90]

    public var days: Int
    public var page: Int
    /// Every row of the range that an administrator can act on, newest first; the page shows `pageSize` of them.
    public var rows: [Row]
    public var noise: [Row]
    public var lockouts: [Lockout]
    /// The chart, as inline SVG (FailureChart).
    public var chart: String
    public var explained: Explained?

    public init(days: Int, page: Int, rows: [Row], noise: [Row], lockouts: [Lockout], chart: String, explained: Explained? = nil) {
        self.days = days
        self.page = max(page, 1)
        self.rows = rows
        self.noise = noise
        self.lockouts = lockouts
        self.chart = chart
        self.explained = explained
    }

    /// The range asked for in the address, within 1 to 90 days (7 when none or nonsense).
    public static func days(_ query: String?) -> Int { min(max(Int(query ?? "") ?? 7, 1), 90) }

    public var context: [String: Any] {
        let shown = rows.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize)
        let pages = (rows.count + Self.pageSize - 1) / Self.pageSize
        var m: [String: Any] = [
            "failures": shown.map(\.context), "noise": noise.prefix(50).map(\.context),
            "noiseCount": noise.reduce(0) { $0 + $1.group.count }, "hasNoise": !noise.isEmpty,
            "summary": "\(rows.count) cause\(rows.count == 1 ? "" : "s") in the last \(days) day\(days == 1 ? "" : "s")\(rows.count > Self.pageSize ? ", page \(page) of \(pages)" : "").",
            "ranges": Self.ranges.map { ["days": $0, "label": $0 == 1 ? "24 hours" : "\($0) days", "on": $0 == days] as [String: Any] },
            "lockouts": lockouts.prefix(50).map { ["subject": $0.subject, "who": $0.who, "failures": $0.failures, "lockouts": $0.lockouts,
                                                  "state": $0.state, "last": $0.last] as [String: Any] },
            "chart": chart,
        ]
        if page > 1 { m["prev"] = "/console/troubleshooting?days=\(days)&page=\(page - 1)" }
        if rows.count > page * Self.pageSize { m["next"] = "/console/troubleshooting?days=\(days)&page=\(page + 1)" }
        if let e = explained {
            m["text"] = e.text
            m["unrecognized"] = e.unrecognized
            m["contexts"] = e.contexts
            m["found"] = e.found.map { ["title": $0.title, "code": $0.code] }
            m["causes"] = e.causes.map { c -> [String: Any] in
                var o: [String: Any] = ["title": c.title, "confirm": c.confirm, "fix": c.fix, "code": c.code, "certainty": c.certainty,
                                        "percent": c.percent, "why": c.why]
                if let d = c.doctor { o["doctor"] = d }
                return o
            }
            if !e.causes.isEmpty { m["explained"] = true }
            if let q = e.question { m["question"] = q }
        }
        return m
    }
}

/// Fix…: why the attempt failed, whether it would pass now, and each fix that applies, narrowest first, saying what it
/// changes. Only an administrator's Apply changes anything.
public struct FixPage: PageModel {
    public struct Option: Sendable {
        public var id, description, scope, command: String
        /// Changes one user or device rather than the whole tenant.
        public var narrow: Bool
        public init(id: String, description: String, scope: String, command: String, narrow: Bool) {
            self.id = id
            self.description = description
            self.scope = scope
            self.command = command
            self.narrow = narrow
        }
    }
    public static let template = "fix"
    public var attempt: EnrollmentAttempt
    /// The rules that refused it, as recorded ("[rule] reason").
    public var reasons: [String]
    /// Nothing would refuse it now.
    public var allowedNow: Bool
    public var options: [Option]

    public init(attempt: EnrollmentAttempt, reasons: [String], allowedNow: Bool, options: [Option]) {
        self.attempt = attempt
        self.reasons = reasons
        self.allowedNow = allowedNow
        self.options = options
    }

    public var context: [String: Any] {
        ["attempt": attempt.id, "upn": attempt.facts.upn ?? "-", "time": ConsoleTime.short(attempt.time), "code": attempt.code ?? "",
         "reasons": reasons, "allowed": allowedNow, "hasFixes": !options.isEmpty,
         "fixes": options.map { ["id": $0.id, "description": $0.description, "scope": $0.scope, "command": $0.command, "narrow": $0.narrow] as [String: Any] }]
    }
}
