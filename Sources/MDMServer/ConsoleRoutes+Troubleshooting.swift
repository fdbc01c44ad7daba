import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Troubleshooting + support: failures by cause and user, explain, lockouts, and Fix.
extension ConsoleRouting {
    func addTroubleshooting() {
        let kit = self.kit, c = self.c
        @Sendable func troubleshootingPage(_ req: Request, _ who: ConsoleUser, explained: TroubleshootingPage.Explained? = nil) async throws -> Response {
            let days = TroubleshootingPage.days(req.uri.queryParameters.get("days"))
            let now = c.clock.now(), since = now - Double(days) * 86400
            let attempts = try await c.admin.attempts(AttemptQuery(limit: 5000, failedOnly: true, since: since))
            let fixed = try await c.admin.fixedAttempts(since: since)
            // One row per cause and user, newest first; sign-in noise (wrong passwords, unknown users) in its own list, so
            // a burst of it never hides the failures an admin can fix.
            let rows = FailureGroup.byCauseAndUser(attempts).map { g in
                TroubleshootingPage.Row(
                    group: g, fix: g.example.denials.first.flatMap { c.troubleshooting.fixText(rule: $0.rule, hresult: $0.fault.hresult) } ?? "",
                    resolved: fixed[g.example.id].map { "Resolved by \($0.actor.replacingOccurrences(of: "console:", with: "")) at \(ConsoleTime.short($0.time))" })
            }
            let lockouts = try await c.admin.lockouts().map { l in
                TroubleshootingPage.Lockout(subject: l.subject, who: ConsolePages.lockoutName(l.key), failures: l.failures, lockouts: l.lockouts,
                                            state: l.isLocked(at: now) ? "locked until \(ConsoleTime.short(l.lockedUntil!))" : "counting",
                                            last: l.lastFailure.map(ConsoleTime.short) ?? "-")
            }
            let page = TroubleshootingPage(days: days, page: Int(req.uri.queryParameters.get("page") ?? "") ?? 1,
                                           rows: rows.filter { !$0.group.isNoise }, noise: rows.filter(\.group.isNoise), lockouts: lockouts,
                                           chart: FailureChart.svg(attempts, now: now, days: max(days, 2)), explained: explained)
            return kit.page(who, page, title: "Troubleshooting + support", section: "troubleshooting", req: req)
        }
        view("/console/troubleshooting") { req, _, who in try await troubleshootingPage(req, who) }
        action("/console/troubleshooting/explain", roles: Set(APIRole.allCases)) { req, form, who in
            let text = ConsoleKit.value(form, "text") ?? ""
            let e = c.troubleshooting.explain(text)
            // The same explanation as `winmdm explain` and Graph's explain: causes most likely first, with how sure and why.
            let explained = TroubleshootingPage.Explained(
                text: text, found: e.matches.filter { $0.via != "clue" }.map { (title: $0.title, code: $0.code) },
                causes: e.causes.prefix(8).map {
                    .init(title: $0.title, confirm: $0.confirm, fix: $0.fix, code: $0.code, certainty: $0.certainty, why: $0.clues.joined(separator: "; "),
                          percent: Int(($0.confidence * 100).rounded()), doctor: $0.doctor)
                },
                unrecognized: e.unrecognized, contexts: e.contexts.map { "\($0.title) (\($0.signals.joined(separator: ", ")))" }, question: e.question)
            return try await troubleshootingPage(req, who, explained: explained)
        }
        action("/console/troubleshooting/lockouts/clear", roles: [.admin, .helpdesk]) { _, form, who in
            let gone = try await c.admin.acting(as: "console:\(who.user.upn)").clearLockouts(ConsoleKit.value(form, "who") ?? "")
            return ConsolePages.redirect("/console/troubleshooting?msg=" + ConsolePages.esc("Cleared: " + gone.map(\.subject).joined(separator: "; ")))
        }
        // Fix: first a page with what each available fix would change, narrowest first; then the chosen one.
        view("/console/troubleshooting/fix") { req, _, who in
            let attempt = try await c.admin.attempt(id: req.uri.queryParameters.get("attempt") ?? "")
            let t = c.troubleshooting
            let (recorded, now) = try await t.diagnose(attempt)
            let fixes: [FixAction] = if let now { try await t.fixes(for: now) } else { try await t.recordedFixes(attempt) }
            let page = FixPage(attempt: attempt, reasons: recorded.map { "[\($0.rule)] \($0.reason)" }, allowedNow: now?.allowed == true,
                               options: fixes.map { .init(id: $0.id, description: $0.description, scope: $0.scope.label, command: $0.command, narrow: $0.scope != .tenant) })
            return kit.page(who, page, title: "Fix", section: "troubleshooting", req: req)
        }
        action("/console/troubleshooting/fix") { _, form, who in
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            let attempt = try await admin.attempt(id: ConsoleKit.value(form, "attempt") ?? "")
            let t = c.troubleshooting.acting(as: "console:\(who.user.upn)")
            let now = try await t.diagnose(attempt).now
            let fixes: [FixAction] = if let now { try await t.fixes(for: now) } else { try await t.recordedFixes(attempt) }
            guard let chosen = fixes.first(where: { $0.id == ConsoleKit.value(form, "fix") }) else {
                throw AdminError("That fix no longer applies (someone changed the settings meanwhile); open the failure again to see what would fix it now.")
            }
            try await chosen.apply()
            try await admin.recordFix(attemptID: attempt.id, applied: chosen.description)
            return ConsolePages.redirect("/console/troubleshooting?msg=" + ConsolePages.esc("Applied: \(chosen.description) The failure is marked resolved."))
        }
    }
}
