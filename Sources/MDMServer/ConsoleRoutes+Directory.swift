import Foundation
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Users › New user, license removal; Groups: list, create, members, delete (review item 3).
extension ConsoleRouting {
    func addDirectory() {
        let kit = self.kit, c = self.c
        @Sendable func admin(_ who: ConsoleUser) -> AdminService { c.admin.acting(as: "console:\(who.user.upn)") }
        @Sendable func upnIn(_ req: Request) -> String {
            req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
        }

        action("/console/users/new") { _, form, who in
            let license = ConsoleKit.value(form, "license").flatMap { $0.isEmpty ? nil : $0 }
            let made = try await admin(who).addUser(upn: ConsoleKit.value(form, "upn") ?? "", password: ConsoleKit.value(form, "password") ?? "",
                                                    displayName: ConsoleKit.value(form, "displayName").flatMap { $0.isEmpty ? nil : $0 },
                                                    licenses: license.map { [$0] } ?? [])
            let text = (["Created \(made.user.upn)."] + made.warnings.map { "Warning: " + $0 }).joined(separator: " ")
            return ConsolePages.redirect("/console/users/\(made.user.upn)?msg=" + ConsolePages.esc(text))
        }
        action("/console/users/:upn/licenses/remove") { req, form, who in
            let upn = upnIn(req)
            let sku = ConsoleKit.value(form, "sku") ?? ""
            _ = try await admin(who).unassignLicense(upn, sku: sku)
            return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Removed the \(sku) license; \(upn) cannot enroll new devices without an MDM license."))
        }

        view("/console/groups") { req, _, who in
            kit.page(who, GroupsPage(groups: try await c.admin.groups()), title: "Groups", section: "groups", req: req)
        }
        action("/console/groups/new") { _, form, who in
            let tag = ConsoleKit.value(form, "tag").flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            let g = try await admin(who).createGroup(ConsoleKit.value(form, "name") ?? "", description: ConsoleKit.value(form, "description") ?? "",
                                                     autopilotGroupTag: tag)
            return ConsolePages.redirect("/console/groups/\(g.id)?msg=" + ConsolePages.esc("Created the group \(g.displayName)."))
        }
        view("/console/groups/:id") { req, ctx, who in
            let g = try await c.admin.group(ctx.parameters.get("id") ?? "")
            return kit.page(who, GroupPage(group: g, members: try await c.admin.users(ids: Array(g.members))), title: g.displayName,
                            section: "groups", req: req)
        }
        action("/console/groups/:id/members") { req, form, who in
            let id = String(req.uri.path.split(separator: "/").dropFirst(2).first ?? "")
            let upn = ConsoleKit.value(form, "upn") ?? ""
            let before = try await c.admin.group(id)
            let g = ConsoleKit.value(form, "action") == "remove" ? try await admin(who).removeMember(group: id, user: upn)
                : try await admin(who).addMember(group: id, user: upn)
            let what = g.members.count == before.members.count ? "Nothing changed: \(upn) \(g.members.count > 0 && ConsoleKit.value(form, "action") != "remove" ? "is already a member" : "is not a member")."
                : ConsoleKit.value(form, "action") == "remove" ? "Removed \(upn)." : "Added \(upn)."
            return ConsolePages.redirect("/console/groups/\(g.id)?msg=" + ConsolePages.esc(what))
        }
        action("/console/groups/:id/delete") { req, form, who in
            let id = String(req.uri.path.split(separator: "/").dropFirst(2).first ?? "")
            let g = try await c.admin.group(id)
            guard ConsoleKit.value(form, "confirmed") == "yes" else {
                return kit.page(who, MessagePage(
                    heading: "Delete the group \(g.displayName)?",
                    text: "Its \(g.members.count) member(s) stay; restrictions, profiles and policies assigned to it stop applying to them. Use the Delete button on the group's page again to confirm.",
                    back: "/console/groups/\(g.id)?confirm=delete"), title: "Delete \(g.displayName)?", section: "groups", req: req)
            }
            try await admin(who).deleteGroup(id)
            return ConsolePages.redirect("/console/groups?msg=" + ConsolePages.esc("Deleted the group \(g.displayName)."))
        }
    }
}
