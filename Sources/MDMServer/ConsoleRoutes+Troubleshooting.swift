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
        @Sendable func troubleshootingPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
            let days = min(max(Int(req.uri.queryParameters.get("days") ?? "") ?? 7, 1), 90)
            let now = c.clock.now(), since = now - Double(days) * 86400
            let attempts = try await c.troubleshooting.failures(since: since, limit: 5000)
            let fixed = try await c.admin.fixedAttempts(since: since)
            // One row per cause and user, newest first; sign-in noise (wrong passwords, unknown users) in its own list, so
            // a burst of it never hides the failures an admin can fix.
            let groups = FailureGroups.byCauseAndUser(attempts)
            func row(_ g: FailureGroups) -> [String: Any] {
                let a = g.example
                let d = a.denials.first
                var m = g.model
                m["upn"] = a.facts.upn ?? a.remoteAddress ?? "-"
                m["fix"] = d.flatMap { c.troubleshooting.fixText(rule: $0.rule, hresult: $0.fault.hresult) } ?? ""
                if let f = fixed[a.id] {
                    m["resolved"] = "Resolved by \(f.actor.replacingOccurrences(of: "console:", with: "")) at \(GraphDateText.short(f.time))"
                } else {
                    m["fixable"] = d != nil && (a.phase == .enroll || a.phase == .auth || a.phase == .policy)
                }
                return m
            }
            let real = groups.filter { !$0.isNoise }, noise = groups.filter(\.isNoise)
            let pageSize = 50, pageNo = max(Int(req.uri.queryParameters.get("page") ?? "") ?? 1, 1)
            let shown = real.dropFirst((pageNo - 1) * pageSize).prefix(pageSize)
            var model = extra
            model["failures"] = shown.map(row)
            model["noise"] = noise.prefix(50).map(row)
            model["noiseCount"] = noise.reduce(0) { $0 + $1.count }
            model["hasNoise"] = !noise.isEmpty
            model["summary"] = "\(real.count) cause\(real.count == 1 ? "" : "s") in the last \(days) day\(days == 1 ? "" : "s")\(real.count > pageSize ? ", page \(pageNo) of \((real.count + pageSize - 1) / pageSize)" : "")."
            if pageNo > 1 { model["prev"] = "/console/troubleshooting?days=\(days)&page=\(pageNo - 1)" }
            if real.count > pageNo * pageSize { model["next"] = "/console/troubleshooting?days=\(days)&page=\(pageNo + 1)" }
            model["ranges"] = [1, 7, 30, 90].map { ["days": $0, "label": $0 == 1 ? "24 hours" : "\($0) days", "on": $0 == days] }
            model["lockouts"] = try await c.admin.lockouts().prefix(50).map { l -> [String: Any] in
                ["subject": l.subject, "who": ConsolePages.lockoutName(l.key), "failures": l.failures, "lockouts": l.lockouts,
                 "state": l.isLocked(at: now) ? "locked until \(GraphDateText.short(l.lockedUntil!))" : "counting",
                 "last": l.lastFailure.map(GraphDateText.short) ?? "-"]
            }
            model["chart"] = FailureChart.svg(attempts, now: now, days: max(days, 2))
            return kit.page(who, "troubleshooting", "Troubleshooting + support", "troubleshooting", model, req: req)
        }
        view("/console/troubleshooting") { req, _, who in try await troubleshootingPage(req, who) }
        action("/console/troubleshooting/explain", roles: Set(APIRole.allCases)) { req, form, who in
            let text = ConsoleKit.value(form, "text") ?? ""
            let e = c.troubleshooting.explain(text)
            // The same explanation as `winmdm explain` and Graph's explain: causes most likely first, with how sure and why.
            let found = e.matches.filter { $0.via != "clue" }.map { m -> [String: Any] in ["title": m.title, "code": m.code] }
            let causes = e.causes.prefix(8).map { c -> [String: Any] in
                var o: [String: Any] = ["title": c.title, "confirm": c.confirm, "fix": c.fix, "code": c.code, "certainty": c.certainty,
                                        "percent": Int((c.confidence * 100).rounded()), "why": c.clues.joined(separator: "; ")]
                if let d = c.doctor { o["doctor"] = d }
                return o
            }
            var extra: [String: Any] = ["text": text, "found": found, "causes": causes, "unrecognized": e.unrecognized,
                                        "contexts": e.contexts.map { "\($0.title) (\($0.signals.joined(separator: ", ")))" }]
            if !causes.isEmpty { extra["explained"] = true }
            if let q = e.question { extra["question"] = q }
            return try await troubleshootingPage(req, who, extra: extra)
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
            return kit.page(who, "fix", "Fix", "troubleshooting", [
                "attempt": attempt.id, "upn": attempt.facts.upn ?? "-", "time": GraphDateText.short(attempt.time), "code": attempt.code ?? "",
                "reasons": recorded.map { "[\($0.rule)] \($0.reason)" }, "allowed": now?.allowed == true,
                "fixes": fixes.map { ["id": $0.id, "description": $0.description, "scope": $0.scope.label, "command": $0.command,
                                      "narrow": $0.scope != .tenant] },
                "hasFixes": !fixes.isEmpty,
            ], req: req)
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
