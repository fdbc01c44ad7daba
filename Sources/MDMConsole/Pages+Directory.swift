import Foundation
import MDMCore

/// Users › Groups: every group with its members and devices counted, and the New group form.
public struct GroupsPage: PageModel {
    public static let template = "groups"
    public var groups: [Group]
    public init(groups: [Group]) { self.groups = groups.sorted { $0.displayName.lowercased() < $1.displayName.lowercased() } }
    public var context: [String: Any] {
        ["groups": groups.map { g -> [String: Any] in
            ["id": g.id, "name": g.displayName, "description": g.description, "members": g.members.count, "devices": g.devices.count,
             "tag": g.autopilotGroupTag ?? ""]
        }]
    }
}

/// A group: its members by UPN, its devices, and the Autopilot group tag that fills it.
public struct GroupPage: PageModel {
    public static let template = "group"
    public var group: Group
    public var members: [User]
    public init(group: Group, members: [User]) {
        self.group = group
        self.members = members.sorted { $0.upn < $1.upn }
    }
    public var context: [String: Any] {
        ["id": group.id, "name": group.displayName, "description": group.description, "devices": group.devices,
         "members": members.map { ["upn": $0.upn, "name": $0.displayName] }, "tag": group.autopilotGroupTag ?? ""]
    }
}

/// Tenant administration: maintenance and the domains.
public struct TenantPage: PageModel {
    public static let template = "tenant"
    public var settings: TenantSettings
    public init(settings: TenantSettings) { self.settings = settings }
    public var context: [String: Any] {
        ["maintenance": settings.maintenance ? "on" : "off", "on": settings.maintenance,
         "domains": settings.domains.map { ["name": $0.name, "verified": $0.isVerified, "status": $0.isVerified ? "Verified" : "Unverified"] as [String: Any] }]
    }
}
