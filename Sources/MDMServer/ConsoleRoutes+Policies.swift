import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Devices › Enrollment restrictions, Device settings, and Mobility (MDM and MAM user scope).
extension ConsoleRouting {
    func addEnrollmentPolicies() {
        let kit = self.kit, c = self.c
        @Sendable func groupNames() async throws -> [String: String] {
            Dictionary(try await c.admin.groups().map { ($0.id, $0.displayName) }, uniquingKeysWith: { first, _ in first })
        }
        view("/console/devices/enrollment-restrictions") { req, _, who in
            let page = RestrictionsPage(limits: try await c.admin.restrictions(.deviceLimit), platforms: try await c.admin.restrictions(.platform),
                                        groupNames: try await groupNames())
            return kit.page(who, page, title: "Enrollment restrictions", section: "restrictions", req: req)
        }
        view("/console/devices/enrollment-restrictions/:id") { req, ctx, who in
            let page = RestrictionPage(restriction: try await c.admin.restriction(id: ctx.parameters.get("id") ?? ""), groupNames: try await groupNames())
            return kit.page(who, page, title: page.title, section: "restrictions", req: req)
        }
        action("/console/devices/enrollment-restrictions/create") { _, form, who in
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            guard let type = RestrictionType(rawValue: ConsoleKit.value(form, "type") ?? "") else { throw AdminError("Choose a device limit or device type restriction.") }
            let r = try await admin.createRestriction(type, name: ConsoleKit.value(form, "name") ?? "",
                                                      limit: type == .deviceLimit ? Int(ConsoleKit.value(form, "limit") ?? "") ?? 0 : nil,
                                                      groups: ConsoleKit.lines(ConsoleKit.value(form, "groups")))
            return ConsolePages.redirect("/console/devices/enrollment-restrictions/\(r.id)?msg=" + ConsolePages.esc("Created \(r.displayName) with priority \(r.priority)."))
        }
        action("/console/devices/enrollment-restrictions/:id/delete") { req, _, who in
            let parts = req.uri.path.split(separator: "/")
            let id = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
            let r = try await c.admin.restriction(id: id)
            try await c.admin.acting(as: "console:\(who.user.upn)").deleteRestriction(r.type, r.id)
            return ConsolePages.redirect("/console/devices/enrollment-restrictions?msg=" + ConsolePages.esc("Deleted \(r.displayName)."))
        }
        action("/console/devices/enrollment-restrictions/:id") { req, form, who in
            let id = String(req.uri.path.split(separator: "/").last ?? "")
            let r = try await c.admin.restriction(id: id)
            // Everything is read and checked before anything changes: a limit out of range, a version bound Windows does
            // not use or a group that does not exist refuses the whole edit.
            var limit: Int?
            var platform: PlatformChange?
            if r.type == .deviceLimit {
                guard let n = Int(ConsoleKit.value(form, "limit") ?? "") else { throw AdminError("The device limit must be a number from 1 to 15.") }
                try AdminService.checkLimit(n)
                limit = n
            } else {
                let change = PlatformChange(
                    platformBlocked: ConsoleKit.value(form, "windows").map { $0 == "block" }, personalDeviceEnrollmentBlocked: ConsoleKit.value(form, "personal").map { $0 == "block" },
                    osMinimumVersion: ConsoleKit.value(form, "min") ?? "", osMaximumVersion: ConsoleKit.value(form, "max") ?? "", homeAllowed: ConsoleKit.value(form, "home").map { $0 == "allow" })
                try change.validate()
                platform = change
            }
            var wanted: [Group] = []
            if !r.isDefault { wanted = try await ConsoleKit.lines(ConsoleKit.value(form, "groups")).asyncMap { try await c.admin.group($0) } }
            let priority = r.isDefault ? nil : ConsoleKit.value(form, "priority").flatMap(Int.init)
            // Review + save: first what will change, then the reviewed form saves it.
            guard ConsoleKit.value(form, "reviewed") == "yes" else {
                var after = r
                if let limit { after.limit = limit }
                if let platform { var w = r.windows ?? PlatformRestriction(); platform.apply(to: &w); after.windows = w }
                if let priority { after.priority = priority }
                let changes = ReviewPage.changes(RestrictionPage.settings(r, groups: try await c.admin.groupNames(r.assignedGroups)),
                                                 RestrictionPage.settings(after, groups: wanted.map(\.displayName)))
                return kit.page(who, ReviewPage(heading: "Review + save: \(RestrictionsPage.name(r))", changes: changes, action: req.uri.path,
                                                fields: form.map { (name: $0.0, value: $0.1) }, back: "/console/devices/enrollment-restrictions/\(r.id)"),
                                title: "Review + save", section: "restrictions", req: req)
            }
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            if let limit { _ = try await admin.editRestriction(.deviceLimit, r.id, limit: limit) }
            if let platform { _ = try await admin.editRestriction(.platform, r.id, platform: platform) }
            if !r.isDefault {
                _ = try await admin.setRestrictionGroups(r.type, r.id, groups: wanted.map(\.id))
                if let p = priority, p != r.priority { _ = try await admin.setPriority(r.type, r.id, priority: p) }
            }
            return ConsolePages.redirect("/console/devices/enrollment-restrictions?msg=" + ConsolePages.esc("Saved \(r.isDefault ? "Default" : r.displayName)."))
        }

        // MARK: Devices > Device settings

        view("/console/devices/device-settings") { req, _, who in
            let s = try await c.admin.settings()
            let page = DeviceSettingsPage(settings: s, users: try await c.admin.users(ids: s.joinPolicy.users).map(\.upn),
                                          groups: try await c.admin.groupNames(s.joinPolicy.groups))
            return kit.page(who, page, title: "Device settings", section: "deviceSettings", req: req)
        }
        action("/console/devices/device-settings") { _, form, who in
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            guard let kind = JoinPolicy.Kind(rawValue: ConsoleKit.value(form, "join") ?? "") else { throw AdminError("Choose All, Selected or None.") }
            _ = try await admin.setJoinPolicy(kind, users: kind == .selected ? ConsoleKit.lines(ConsoleKit.value(form, "users")) : [],
                                              groups: kind == .selected ? ConsoleKit.lines(ConsoleKit.value(form, "groups")) : [])
            if let q = ConsoleKit.value(form, "quota") {
                guard let n = Int(q) else { throw AdminError("The maximum number of devices per user must be a number.") }
                _ = try await admin.setJoinQuota(n)
            }
            return ConsolePages.redirect("/console/devices/device-settings?msg=" + ConsolePages.esc("Device settings saved."))
        }

        // MARK: Mobility (MDM and MAM)

        view("/console/mobility") { req, _, who in
            let m = try await c.admin.settings().mobility
            let page = MobilityPage(mobility: m, mdmGroups: try await c.admin.groupNames(m.mdmScope.groups),
                                    mamGroups: try await c.admin.groupNames(m.mamScope.groups))
            return kit.page(who, page, title: "Mobility (MDM and MAM)", section: "mobility", req: req)
        }
        action("/console/mobility") { _, form, who in
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            for (field, which, groupsField) in [("mdm", AdminService.ScopeTarget.mdm, "mdmGroups"), ("mam", .mam, "mamGroups")] {
                if let k = ConsoleKit.value(form, field).flatMap(UserScope.Kind.init(rawValue:)) {
                    _ = try await admin.setScope(which, k, groups: k == .some ? ConsoleKit.lines(ConsoleKit.value(form, groupsField)) : [])
                }
            }
            _ = try await admin.setMobilityURLs(termsOfUse: ConsoleKit.value(form, "tou"), discovery: ConsoleKit.value(form, "discovery"), compliance: ConsoleKit.value(form, "compliance"))
            return ConsolePages.redirect("/console/mobility?msg=" + ConsolePages.esc("Mobility settings saved."))
        }
        action("/console/mobility/restore-default-urls") { _, _, who in
            _ = try await c.admin.acting(as: "console:\(who.user.upn)").restoreDefaultMobilityURLs(publicURL: c.publicURL)
            return ConsolePages.redirect("/console/mobility?msg=" + ConsolePages.esc("Default MDM URLs restored."))
        }
    }
}
