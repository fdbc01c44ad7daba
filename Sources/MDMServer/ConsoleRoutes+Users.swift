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
            let s = try await c.admin.settings()
            // One page of users by UPN and their device counts in one grouped query: the page costs the same at any size.
            let rows = try await c.admin.users(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1)
            let shown = Array(rows.prefix(ConsolePages.pageSize))
            let counts = try await c.admin.activeEnrollmentCounts(upns: shown.map(\.upn))
            let users = shown.map { u -> [String: Any] in
                ["upn": u.upn, "name": u.displayName, "package": u.isPackageAccount, "devices": counts[u.upn] ?? 0, "enabled": u.enabled ? "enabled" : "blocked",
                 "licenses": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", ")]
            }
            var model: [String: Any] = ["users": users, "products": s.licenseProducts.map { ["sku": $0.skuPartNumber, "name": $0.displayName] }]
            if rows.count > shown.count, let last = shown.last { model["next"] = "/console/users?after=" + ConsolePages.esc(last.upn) }
            return kit.page(who, "users", "All users", "users", model, req: req)
        }
        view("/console/users/:upn") { req, ctx, who in
            let u = try await c.admin.user(ctx.parameters.get("upn") ?? "")
            let s = try await c.admin.settings()
            let groups = try await c.admin.groups(ofUser: u.id)
            let limit = s.applicableRestriction(.deviceLimit, groupIDs: Set(groups.map(\.id)))
            let devices = try await c.admin.activeEnrollments(upn: u.upn).map { e -> [String: Any] in
                ["id": e.id, "name": e.deviceName ?? e.deviceID, "kind": e.kind.rawValue, "state": e.state.rawValue,
                 "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
                 "enrolled": GraphDateText.short(e.enrolledAt)]
            }
            return kit.page(who, "user", u.upn, "users", [
                "upn": u.upn, "name": u.displayName, "groups": groups.map(\.displayName).joined(separator: ", ").isEmpty ? "none" : groups.map(\.displayName).joined(separator: ", "),
                "limit": limit.limit ?? 5, "limitName": limit.isDefault ? "Default" : limit.displayName, "devices": devices,
                "licenses": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", ").isEmpty ? "No licenses." : u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", "),
                "held": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber },
                "products": s.licenseProducts.map { ["sku": $0.skuPartNumber, "name": $0.displayName] },
            ], req: req)
        }
        action("/console/users/:upn/devices/delete", roles: [.admin, .helpdesk]) { req, form, who in
            let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
            let ids = form.filter { $0.0 == "device" }.map(\.1)
            guard !ids.isEmpty else { return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Select the devices to delete first.")) }
            var found: [Enrollment] = []
            for id in ids {
                let e = try await c.admin.enrollment(id)
                guard e.upn == UPN.normalize(upn) else { throw AdminError("Enrollment \(id) does not belong to \(upn).") }
                found.append(e)
            }
            // First a page that names the devices and says what deleting does; then the confirmed form deletes them.
            guard ConsoleKit.value(form, "confirmed") == "yes" else {
                return kit.page(who, "confirmMany", "Delete \(found.count) device\(found.count == 1 ? "" : "s")?", "users", [
                    "upn": upn, "devices": found.map { ["id": $0.id, "name": $0.deviceName ?? $0.deviceID] }, "count": found.count,
                ], req: req)
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
