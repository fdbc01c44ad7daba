import Foundation
import MDMCore

/// Devices › Enrollment restrictions: the device limit and device type restrictions by priority, the Default last.
public struct RestrictionsPage: PageModel {
    public static let template = "restrictions"
    public var limits: [Restriction]
    public var platforms: [Restriction]
    /// Group names by id, for the assignments.
    public var groupNames: [String: String]

    public init(limits: [Restriction], platforms: [Restriction], groupNames: [String: String]) {
        self.limits = limits
        self.platforms = platforms
        self.groupNames = groupNames
    }

    public static func name(_ r: Restriction) -> String { r.isDefault ? "Default" : r.displayName }
    static func groups(_ r: Restriction, _ names: [String: String], default text: String = "All users and all devices", separator: String = ", ") -> String {
        r.isDefault ? text : r.assignedGroups.map { names[$0] ?? $0 }.joined(separator: separator)
    }

    public var context: [String: Any] {
        ["limits": limits.map { r -> [String: Any] in
            ["id": r.id, "name": Self.name(r), "priority": r.isDefault ? "Default" : String(r.priority),
             "limit": r.limit ?? TenantSettings.defaultDeviceLimit, "groups": Self.groups(r, groupNames)]
         },
         "platforms": platforms.map { r -> [String: Any] in
             let w = r.windows ?? PlatformRestriction()
             return ["id": r.id, "name": Self.name(r), "priority": r.isDefault ? "Default" : String(r.priority),
                     "windows": w.platformBlocked ? "Block" : "Allow", "personal": w.personalDeviceEnrollmentBlocked ? "Block" : "Allow",
                     "home": w.homeAllowed ? "Allow" : "Block", "versions": "\(w.osMinimumVersion ?? "any") – \(w.osMaximumVersion ?? "any")",
                     "groups": Self.groups(r, groupNames)]
         }]
    }
}

/// A restriction's Properties: the form that Review + save checks.
public struct RestrictionPage: PageModel {
    public static let template = "restriction"
    public var restriction: Restriction
    public var groupNames: [String: String]

    public init(restriction: Restriction, groupNames: [String: String]) {
        self.restriction = restriction
        self.groupNames = groupNames
    }

    public var title: String { RestrictionsPage.name(restriction) }

    /// The settings the Properties form edits, as the review lists them (setting, value): compared before and after
    /// saving, they are what Review + save shows.
    public static func settings(_ r: Restriction, groups: [String]) -> [(String, String)] {
        var d: [(String, String)] = []
        if r.type == .deviceLimit { d.append(("Device limit", String(r.limit ?? TenantSettings.defaultDeviceLimit))) }
        if r.type == .platform {
            let w = r.windows ?? PlatformRestriction()
            d += [("Windows (MDM)", w.platformBlocked ? "Block" : "Allow"), ("Personally owned", w.personalDeviceEnrollmentBlocked ? "Block" : "Allow"),
                  ("Windows Home editions", w.homeAllowed ? "Allow" : "Block"), ("Minimum version", w.osMinimumVersion ?? ""),
                  ("Maximum version", w.osMaximumVersion ?? "")]
        }
        if !r.isDefault { d += [("Assigned groups", groups.sorted().joined(separator: ", ")), ("Priority", String(r.priority))] }
        return d
    }

    public var context: [String: Any] {
        let r = restriction, w = r.windows ?? PlatformRestriction()
        return [
            "id": r.id, "name": RestrictionsPage.name(r), "type": r.type == .deviceLimit ? "Device limit" : "Device type",
            "priorityText": r.isDefault ? "evaluated last" : "priority \(r.priority)",
            "groups": RestrictionsPage.groups(r, groupNames, default: "all users and all devices"),
            "isLimit": r.type == .deviceLimit, "isPlatform": r.type == .platform, "limit": r.limit ?? TenantSettings.defaultDeviceLimit,
            "windowsBlocked": w.platformBlocked, "personalBlocked": w.personalDeviceEnrollmentBlocked, "homeAllowed": w.homeAllowed,
            "min": w.osMinimumVersion ?? "", "max": w.osMaximumVersion ?? "", "isDefault": r.isDefault, "priority": r.priority,
            "groupLines": r.assignedGroups.map { groupNames[$0] ?? $0 }.joined(separator: "\n"),
        ]
    }
}

/// Devices › Device settings: who may join devices, and how many each user may join.
public struct DeviceSettingsPage: PageModel {
    public static let template = "deviceSettings"
    public var settings: TenantSettings
    /// The UPNs and group names of a Selected policy.
    public var users: [String]
    public var groups: [String]
    public init(settings: TenantSettings, users: [String], groups: [String]) {
        self.settings = settings
        self.users = users
        self.groups = groups
    }
    public var context: [String: Any] {
        let kind = settings.joinPolicy.kind
        return ["all": kind == .all, "selected": kind == .selected, "none": kind == .none, "users": users.joined(separator: "\n"),
                "groups": groups.joined(separator: "\n"), "quota": settings.joinQuota]
    }
}

/// Mobility (MDM and MAM): the two user scopes and the MDM URLs.
public struct MobilityPage: PageModel {
    public static let template = "mobility"
    public var mobility: MobilitySettings
    public var mdmGroups: [String]
    public var mamGroups: [String]
    public init(mobility: MobilitySettings, mdmGroups: [String], mamGroups: [String]) {
        self.mobility = mobility
        self.mdmGroups = mdmGroups
        self.mamGroups = mamGroups
    }
    static func options(_ scope: UserScope) -> [[String: Any]] {
        [("none", "None"), ("some", "Some"), ("all", "All")].map { ["value": $0.0, "label": $0.1, "on": scope.kind.rawValue == $0.0] }
    }
    public var context: [String: Any] {
        ["mdm": Self.options(mobility.mdmScope), "mam": Self.options(mobility.mamScope),
         "mdmGroups": mdmGroups.joined(separator: "\n"), "mamGroups": mamGroups.joined(separator: "\n"),
         "tou": mobility.termsOfUseURL, "discovery": mobility.discoveryURL, "compliance": mobility.complianceURL]
    }
}
