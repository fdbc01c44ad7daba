import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Tenant administration: maintenance and domains.
extension ConsoleRouting {
    func addTenant() {
        let kit = self.kit, c = self.c
        view("/console/tenant") { req, _, who in
            kit.page(who, TenantPage(settings: try await c.admin.settings()), title: "Tenant administration", section: "tenant", req: req)
        }
        action("/console/tenant/maintenance") { _, form, who in
            let on = ConsoleKit.value(form, "maintenance") == "on"
            _ = try await c.admin.acting(as: "console:\(who.user.upn)").setMaintenance(on)
            return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc(on ? "Maintenance started." : "Maintenance ended."))
        }
        action("/console/tenant/domains") { _, form, who in
            let d = try await c.admin.acting(as: "console:\(who.user.upn)").addDomain(ConsoleKit.value(form, "domain") ?? "")
            return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc("Added \(d.name); verify it to let its users enroll."))
        }
        action("/console/tenant/domains/verify") { _, form, who in
            let d = try await c.admin.acting(as: "console:\(who.user.upn)").verifyDomain(ConsoleKit.value(form, "domain") ?? "")
            return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc("\(d.name) is verified."))
        }
    }
}
