import Foundation
import Hummingbird
import MDMConsole
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
            let page = DevicePage(
                enrollment: e, schedule: try await c.admin.settings().checkInSchedule, now: c.clock.now(),
                commands: try await c.admin.commands(enrollmentID: e.id, limit: 20),
                attempts: try await c.admin.attempts(AttemptQuery(limit: 200, upn: e.upn)),
                profiles: try await c.admin.profileStates(enrollmentID: e.id), compliance: try await c.admin.deviceCompliance(e))
            return kit.page(who, page, title: page.title, section: "windows", req: req)
        }
        // What Retire or Delete will do to this device, with the one button that does it.
        view("/console/devices/windows/:id/confirm") { req, ctx, who in
            let e = try await c.admin.enrollment(ctx.parameters.get("id") ?? "")
            guard let action = DeviceActionPage.Action(rawValue: req.uri.queryParameters.get("action") ?? "") else {
                throw AdminError("Choose retire or delete.")
            }
            let page = DeviceActionPage(enrollment: e, action: action)
            return kit.page(who, page, title: page.title, section: "windows", req: req)
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
            let limit = AuditPage.limit(q.get("limit"))
            let entries = try await c.admin.auditEntries(AuditQuery(limit: limit + 1, actor: text("actor"), target: text("target"),
                                                                    action: text("action"), since: since))
            let page = AuditPage(entries: entries, filter: .init(actor: text("actor"), target: text("target"), action: text("action"), since: sinceText),
                                 limit: limit)
            return kit.page(who, page, title: "Audit log", section: "audit", req: req)
        }
    }
}
