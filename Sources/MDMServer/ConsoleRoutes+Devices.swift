import Foundation
import Hummingbird
import MDMCore
import MDMService
import MDMStorage

// Devices › Windows › a device: everything known about one enrollment, and Retire/Delete behind a confirmation that
// says exactly what will happen.
extension ConsoleRouting {
    func addDevicePages() {
        let kit = self.kit, c = self.c
        view("/console/devices/windows/:id") { req, ctx, who in
            let e = try await c.admin.enrollment(ctx.parameters.get("id") ?? "")
            let now = c.clock.now()
            let schedule = try await c.admin.settings().checkInSchedule
            let inventory = (e.inventory ?? [:]).sorted { $0.key < $1.key }.map { ["node": $0.key, "value": $0.value] }
            let commands = try await c.admin.commands(enrollmentID: e.id, limit: 20).map { cmd -> [String: Any] in
                ["kind": cmd.kind, "target": cmd.allItems.first?.target ?? "", "state": cmd.state.rawValue, "status": cmd.status ?? "-",
                 "meaning": cmd.status.map(OMAStatus.meaning) ?? "", "created": GraphDateText.short(cmd.createdAt), "note": cmd.note ?? ""]
            }
            let attempts = try await c.admin.attempts(AttemptQuery(limit: 200, upn: e.upn)).filter {
                $0.enrollmentID == e.id || ($0.facts.hwDevID == e.hwDevID && $0.outcome == .failed)
            }.prefix(20).map { a -> [String: Any] in
                ["id": a.id, "time": GraphDateText.short(a.time), "phase": a.phase.rawValue, "outcome": a.outcome.rawValue, "code": a.code ?? "",
                 "reason": a.denials.first.map { "[\($0.rule.rawValue)] \($0.reason)" } ?? a.fault?.reason ?? a.notes.first ?? ""]
            }
            let profiles = try await c.admin.profileStates(enrollmentID: e.id).map { p -> [String: Any] in
                ["name": p.profileName, "version": p.version, "state": p.state.rawValue,
                 "failed": p.settings.filter { $0.state == .failed }.map { "\($0.locURI): \($0.status ?? "?") \(OMAStatus.meaning($0.status ?? ""))" }]
            }
            let compliance = try await c.admin.deviceCompliance(e).map { p -> [String: Any] in
                ["name": p.policyName, "state": p.state.rawValue, "reasons": p.reasons]
            }
            let model: [String: Any] = [
                "id": e.id, "name": e.deviceName ?? e.deviceID, "deviceID": e.deviceID, "hwDevID": e.hwDevID,
                "user": e.primaryUser ?? "none (enrolled by \(e.upn))", "hasUser": e.primaryUser != nil, "upn": e.upn,
                "ownership": e.ownership.rawValue.capitalized, "ownershipReason": e.ownershipRecord?.reason ?? "",
                "kind": e.kind.rawValue, "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
                "state": e.state.rawValue, "active": e.state == .active, "enrolled": GraphDateText.short(e.enrolledAt),
                "seen": e.lastSeenAt.map(GraphDateText.short) ?? "never",
                "next": e.state == .active ? GraphDateText.short(schedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: now)) : "-",
                "thumbprint": e.certificateThumbprint, "expires": GraphDateText.short(e.certificateNotAfter),
                "renewed": e.certificateRenewedAt.map(GraphDateText.short) ?? "not yet",
                "inventory": inventory, "commands": commands, "attempts": Array(attempts), "profiles": profiles, "compliance": compliance,
            ]
            return kit.page(who, "device", e.deviceName ?? "Device", "windows", model, req: req)
        }
        // What Retire or Delete will do to this device, with the one button that does it.
        view("/console/devices/windows/:id/confirm") { req, ctx, who in
            let e = try await c.admin.enrollment(ctx.parameters.get("id") ?? "")
            let action = req.uri.queryParameters.get("action") ?? ""
            let name = e.deviceName ?? e.deviceID
            let consequences: [String]
            switch action {
            case "retire":
                consequences = [
                    "\(name) stops being managed: its certificate is no longer accepted at check-in, and no command or profile reaches it.",
                    "It no longer counts toward \(e.upn)'s device limit\(e.kind == .user ? "" : " or device registration quota").",
                    "The record stays (Windows devices › All, winmdm devices list --all) with its attempts and audit history.",
                    "On the PC the work account stays until someone removes it; to remove it from the device itself, use Sync with an unenroll command (winmdm devices command \(e.id) unenroll) before retiring.",
                ]
            case "delete":
                consequences = [
                    "The record of \(name) is removed: it disappears from every list, and its certificate is no longer accepted.",
                    "It no longer counts toward \(e.upn)'s device limit.",
                    "Its past attempts and the audit log keep their entries. The device can enroll again as a new device.",
                ]
            default: throw AdminError("Choose retire or delete.")
            }
            return kit.page(who, "confirm", "\(action.capitalized) \(name)?", "windows", [
                "id": e.id, "name": name, "upn": e.upn, "action": action, "label": action.capitalized, "consequences": consequences,
            ], req: req)
        }
    }
}

// The audit log: who changed what, with the fields each change changed, filtered like winmdm audit list.
extension ConsoleRouting {
    func addAudit() {
        let kit = self.kit, c = self.c
        view("/console/audit") { req, _, who in
            let q = req.uri.queryParameters
            func text(_ k: String) -> String? { q.get(k).map { $0.removingPercentEncoding ?? $0 }.flatMap { $0.isEmpty ? nil : $0 } }
            let sinceText = text("since")
            var since: Date?
            if let s = sinceText {
                guard let span = TimeSpan.parse(s) else { throw AdminError("'\(s)' is not a time span like 24h or 7d.") }
                since = c.clock.now() - span
            }
            let limit = min(max(Int(q.get("limit") ?? "") ?? 100, 1), 1000)
            let entries = try await c.admin.auditEntries(AuditQuery(limit: limit + 1, actor: text("actor"), target: text("target"),
                                                                    action: text("action"), since: since))
            let shown = entries.prefix(limit).map { e -> [String: Any] in
                let changes = e.changes
                return ["time": GraphDateText.short(e.time), "actor": e.actor, "action": e.action, "target": e.target,
                        "changes": changes.prefix(15).map { ["field": $0.field, "before": $0.before ?? "—", "after": $0.after ?? "—"] },
                        "more": changes.count > 15 ? "… \(changes.count - 15) more fields" : ""]
            }
            var model: [String: Any] = ["entries": Array(shown), "actor": text("actor") ?? "", "target": text("target") ?? "",
                                        "action": text("action") ?? "", "since": sinceText ?? ""]
            if entries.count > limit {
                var more = URLComponents()
                more.queryItems = ["actor", "target", "action", "since"].compactMap { k in text(k).map { URLQueryItem(name: k, value: $0) } }
                    + [URLQueryItem(name: "limit", value: String(min(limit * 2, 1000)))]
                model["more"] = "/console/audit" + (more.url?.absoluteString ?? "")
            }
            return kit.page(who, "audit", "Audit log", "audit", model, req: req)
        }
    }
}
