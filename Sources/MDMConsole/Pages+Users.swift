import Foundation
import MDMCore

/// Users › All users: one page of users by UPN, their licenses and enrolled devices, and the New user form.
public struct UsersPage: PageModel {
    public static let template = "users"
    public var users: [User]
    public var settings: TenantSettings
    /// Enrolled devices per UPN (for the users shown).
    public var deviceCounts: [String: Int]
    /// The next page's address, when there is one.
    public var next: String?

    public init(users: [User], settings: TenantSettings, deviceCounts: [String: Int], next: String?) {
        self.users = users
        self.settings = settings
        self.deviceCounts = deviceCounts
        self.next = next
    }

    public var context: [String: Any] {
        var m: [String: Any] = [
            "users": users.map { u -> [String: Any] in
                ["upn": u.upn, "name": u.displayName, "package": u.isPackageAccount, "devices": deviceCounts[u.upn] ?? 0,
                 "enabled": u.enabled ? "enabled" : "blocked", "licenses": UserPage.licenses(u, settings).joined(separator: ", ")]
            },
            "products": UserPage.products(settings),
        ]
        if let next { m["next"] = next }
        return m
    }
}

/// A user's page: properties, groups, the device limit that applies, enrolled devices and licenses.
public struct UserPage: PageModel {
    public static let template = "user"
    public var user: User
    public var settings: TenantSettings
    public var groups: [Group]
    public var devices: [Enrollment]

    public init(user: User, settings: TenantSettings, groups: [Group], devices: [Enrollment]) {
        self.user = user
        self.settings = settings
        self.groups = groups
        self.devices = devices
    }

    static func licenses(_ u: User, _ s: TenantSettings) -> [String] { u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber } }
    static func products(_ s: TenantSettings) -> [[String: Any]] { s.licenseProducts.map { ["sku": $0.skuPartNumber, "name": $0.displayName] } }

    public var context: [String: Any] {
        // The device limit as enrollment applies it: the highest-priority restriction of the user's groups, else the Default.
        let limit = settings.applicableRestriction(.deviceLimit, groupIDs: Set(groups.map(\.id)))
        let held = Self.licenses(user, settings)
        return [
            "upn": user.upn, "name": user.displayName, "groups": groups.isEmpty ? "none" : groups.map(\.displayName).joined(separator: ", "),
            "limit": limit.limit ?? TenantSettings.defaultDeviceLimit, "limitName": limit.isDefault ? "Default" : limit.displayName,
            "devices": devices.map { e -> [String: Any] in
                ["id": e.id, "name": e.deviceName ?? e.deviceID, "kind": e.kind.rawValue, "state": e.state.rawValue,
                 "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
                 "enrolled": ConsoleTime.short(e.enrolledAt)]
            },
            "licenses": held.isEmpty ? "No licenses." : held.joined(separator: ", "), "held": held, "products": Self.products(settings),
        ]
    }
}

/// Delete several of a user's devices: the page that names them before the confirmed form deletes them.
public struct ConfirmDevicesPage: PageModel {
    public static let template = "confirmMany"
    public var upn: String
    public var devices: [Enrollment]
    public init(upn: String, devices: [Enrollment]) {
        self.upn = upn
        self.devices = devices
    }
    public var title: String { "Delete \(devices.count) device\(devices.count == 1 ? "" : "s")?" }
    public var context: [String: Any] {
        ["upn": upn, "devices": devices.map { ["id": $0.id, "name": $0.deviceName ?? $0.deviceID] }, "count": devices.count]
    }
}
