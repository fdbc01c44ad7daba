import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Users › All users: the list, a user's page with devices and licenses, and the changes made from it.
extension ConsoleRouting {
    func addUsers() {
        let kit = self.kit, c = self.c
        view("/console/users") { req, _, who in
            // One page of users by UPN and their device counts in one grouped query: the page costs the same at any size.
            let rows = try await c.admin.users(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1)
            let shown = Array(rows.prefix(ConsolePages.pageSize))
            let next = rows.count > shown.count ? shown.last.map { "/console/users?after=" + ConsolePages.esc($0.upn) } : nil
            let page = UsersPage(users: shown, settings: try await c.admin.settings(),
                                 deviceCounts: try await c.admin.activeEnrollmentCounts(upns: shown.map(\.upn)), next: next)
            return kit.page(who, page, title: "All users", section: "users", req: req)
        }
        view("/console/users/:upn") { req, ctx, who in
            let u = try await c.admin.user(ctx.parameters.get("upn") ?? "")
            let page = UserPage(user: u, settings: try await c.admin.settings(), groups: try await c.admin.groups(ofUser: u.id),
                                devices: try await c.admin.activeEnrollments(upn: u.upn))
            return kit.page(who, page, title: u.upn, section: "users", req: req)
        }
        action("/console/users/:upn/devices/delete", roles: [.admin, .helpdesk]) { req, form, who in
            let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
            let ids = form.filter { $0.0 == "device" }.map(\.1)
            guard !ids.isEmpty else { return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Select the devices to delete first.")) }
            let found = try await c.admin.enrollments(ids: ids, ofUser: upn)
            // First a page that names the devices and says what deleting does; then the confirmed form deletes them.
            guard ConsoleKit.value(form, "confirmed") == "yes" else {
                let page = ConfirmDevicesPage(upn: upn, devices: found)
                return kit.page(who, page, title: page.title, section: "users", req: req)
            }
            for e in found { _ = try await c.admin.acting(as: "console:\(who.user.upn)").deleteDevice(e.id) }
            return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Deleted \(found.count == 1 ? "1 device" : "\(found.count) devices")."))
        }
        action("/console/users/:upn/properties") { req, form, who in
            let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
            let newUPN = ConsoleKit.value(form, "newUPN").flatMap { $0.isEmpty ? nil : UPN.normalize($0) }
            let u = try await c.admin.acting(as: "console:\(who.user.upn)").updateUser(
                upn, displayName: ConsoleKit.value(form, "displayName").flatMap { $0.isEmpty ? nil : $0 }, newUPN: newUPN)
            // The same warnings the CLI gives (an unverified domain: the user cannot enroll until it is verified).
            let warnings = u.isPackageAccount ? [] : AdminService.enrollmentWarnings(u, try await c.admin.settings())
            return ConsolePages.redirect("/console/users/\(u.upn)?msg=" + ConsolePages.esc((["Saved \(u.upn)."] + warnings.map { "Warning: " + $0 }).joined(separator: " ")))
        }
        action("/console/users/:upn/licenses") { req, form, who in
            let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
            _ = try await c.admin.acting(as: "console:\(who.user.upn)").assignLicense(upn, sku: ConsoleKit.value(form, "sku") ?? "")
            return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("License assigned."))
        }
    }
}
