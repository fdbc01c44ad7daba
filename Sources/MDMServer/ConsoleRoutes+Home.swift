import Foundation
import Hummingbird
import MDMCore
import MDMService
import MDMStorage

// Home: what the installation holds, what failed lately, and what to do first on an empty one.
extension ConsoleRouting {
    func addHome() {
        let kit = self.kit, c = self.c
        view("/console/home") { req, _, who in
            let now = c.clock.now()
            let counts = try await c.admin.operationalCounts()
            // Counted in the database, never read: the page costs the same with a hundred thousand users.
            let users = counts.users
            let failures = try await c.admin.attempts(AttemptQuery(limit: 500, failedOnly: true, since: now - 86400))
            let settings = try await c.admin.settings()
            let groups = FailureGroups.build(failures)
            let discovery = c.publicURL + "/EnrollmentServer/Discovery.svc"
            let domain = settings.domains.first(where: \.isVerified)?.name ?? "example.com"
            let host = URLComponents(string: c.publicURL)?.host ?? "mdm.example.com"
            var steps: [[String: Any]] = []
            if users <= 1 {
                steps.append(["title": "Add the users who will enroll", "detail": "Users › All users › New user, or winmdm users add ann@\(domain) --password … --license WINMDM_STANDARD"])
            }
            if counts.activeEnrollments == 0 {
                steps.append(["title": "Point Windows at this server",
                              "detail": "Devices find it through the DNS name EnterpriseEnrollment.\(domain) (a CNAME to \(host)), or by entering the server address \(discovery) in Settings › Accounts › Access work or school › Connect."])
                steps.append(["title": "Enroll a first device",
                              "detail": "On the PC, open this link (it fills in the enrollment dialog):", "link": "ms-device-enrollment:?mode=mdm&username=ann@\(domain)&servername=\(discovery)"])
            }
            return kit.page(who, "home", "Home", "home", [
                "users": users, "devices": counts.activeEnrollments, "queued": counts.queuedCommands,
                "failures": failures.reduce(0) { $0 + 1 + ($1.repeats ?? 0) }, "autopilot": try await c.admin.autopilotDevices().count,
                "profiles": try await c.admin.configurationProfiles().count, "discovery": discovery,
                "steps": steps, "hasSteps": !steps.isEmpty,
                "groups": groups.prefix(5).map(\.model), "hasGroups": !groups.isEmpty,
            ], req: req)
        }
    }
}

/// Recent failures grouped by what caused them and whom: a hundred wrong passwords from one address are one row with
/// a count, and never push the one device-limit refusal off the page.
struct FailureGroups {
    var rule: String
    var code: String
    var reason: String
    var users: [String]
    var count: Int
    var last: Date
    var example: EnrollmentAttempt
    /// Sign-in noise (wrong password, unknown user, lockouts, console sign-ins): shown after the causes an admin can fix.
    var isNoise: Bool

    static func build(_ attempts: [EnrollmentAttempt]) -> [FailureGroups] {
        var byKey: [String: FailureGroups] = [:]
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
                byKey[key] = FailureGroups(rule: rule.isEmpty ? (a.fault?.subcode.rawValue ?? a.phase.rawValue) : rule, code: code, reason: reason,
                                           users: [user], count: n, last: a.lastRepeatAt ?? a.time, example: a, isNoise: noise)
            }
        }
        // Causes an admin can act on first, then by how many it hit.
        return byKey.values.sorted { ($0.isNoise ? 1 : 0, -$0.count, $0.rule) < ($1.isNoise ? 1 : 0, -$1.count, $1.rule) }
    }

    /// One group per cause and user (the troubleshooting page, where each row has its own fix).
    static func byCauseAndUser(_ attempts: [EnrollmentAttempt]) -> [FailureGroups] {
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

    var model: [String: Any] {
        ["rule": rule, "code": code, "reason": reason, "count": count, "last": GraphDateText.short(last), "noise": isNoise,
         "users": users.prefix(5).joined(separator: ", ") + (users.count > 5 ? " and \(users.count - 5) more" : ""),
         "attempt": example.id]
    }
}
