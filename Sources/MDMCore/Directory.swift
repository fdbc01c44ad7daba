import Foundation

/// A directory user. The password is only ever held as a KDF hash string.
public struct User: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var upn: String
    public var displayName: String
    public var passwordHash: String?
    public var enabled: Bool
    public var createdAt: Date

    public init(id: String = UUID().uuidString.lowercased(), upn: String, displayName: String, passwordHash: String?,
                enabled: Bool = true, createdAt: Date) {
        self.id = id
        self.upn = UPN.normalize(upn)
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.enabled = enabled
        self.createdAt = createdAt
    }

    public var domain: String { UPN.domain(of: upn) ?? "" }
}

public enum UPN {
    /// UPNs compare case-insensitively; they are stored lower-cased and trimmed.
    public static func normalize(_ upn: String) -> String {
        upn.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public static func domain(of upn: String) -> String? {
        guard let at = upn.lastIndex(of: "@") else { return nil }
        let d = upn[upn.index(after: at)...]
        return d.isEmpty ? nil : String(d).lowercased()
    }

    /// Whether the text has the shape of a UPN: `name@domain.tld`, no spaces.
    public static func isValid(_ upn: String) -> Bool {
        let parts = upn.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix(".") else { return false }
        return !upn.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "\\" })
    }
}

public struct Domain: Codable, Sendable, Equatable {
    public var name: String
    public var isVerified: Bool
    public init(name: String, isVerified: Bool) {
        self.name = name.lowercased()
        self.isVerified = isVerified
    }
}

/// How devices authenticate during enrollment (PROTOCOL.md §3).
public enum AuthPolicy: String, Codable, Sendable, CaseIterable {
    /// WS-Security UsernameToken with the directory password.
    case onPremise = "OnPremise"
    /// winmdm's sign-in page through the Windows Web Authentication Broker.
    case federated = "Federated"

    public init?(flexible text: String) {
        switch text.lowercased() {
        case "onpremise", "on-premise", "on_premise": self = .onPremise
        case "federated": self = .federated
        default: return nil
        }
    }
}

/// The Default device type (platform) restriction for Windows.
public struct PlatformRestriction: Codable, Sendable, Equatable {
    public var platformBlocked: Bool
    public var personalDeviceEnrollmentBlocked: Bool
    public var osMinimumVersion: String?
    public var osMaximumVersion: String?
    /// Intune's `windowsHomeSkuRestriction`: whether Home editions may enroll.
    public var homeAllowed: Bool

    public init(platformBlocked: Bool = false, personalDeviceEnrollmentBlocked: Bool = false,
                osMinimumVersion: String? = nil, osMaximumVersion: String? = nil, homeAllowed: Bool = false) {
        self.platformBlocked = platformBlocked
        self.personalDeviceEnrollmentBlocked = personalDeviceEnrollmentBlocked
        self.osMinimumVersion = osMinimumVersion
        self.osMaximumVersion = osMaximumVersion
        self.homeAllowed = homeAllowed
    }
}

/// Tenant-wide settings. A new installation starts from `TenantSettings.newInstallation` (SCENARIOS.md).
public struct TenantSettings: Codable, Sendable, Equatable {
    public var organizationName: String
    public var domains: [Domain]
    public var authPolicy: AuthPolicy
    public var maintenance: Bool
    /// Device limit of the Default device limit restriction (1...15).
    public var defaultDeviceLimit: Int
    public var defaultPlatformRestriction: PlatformRestriction
    /// Device registration quota ("Maximum number of devices per user" for joined devices).
    public var joinQuota: Int
    public var termsOfUseURL: String

    public static let deviceLimitRange = 1...15

    public static func newInstallation(initialDomain: String, publicURL: String) -> TenantSettings {
        TenantSettings(
            organizationName: "winmdm",
            domains: [Domain(name: initialDomain, isVerified: true)],
            authPolicy: .onPremise,
            maintenance: false,
            defaultDeviceLimit: 5,
            defaultPlatformRestriction: PlatformRestriction(),
            joinQuota: 50,
            termsOfUseURL: publicURL.trimmingTrailingSlash() + "/EnrollmentServer/TermsOfUse"
        )
    }

    public func domain(named name: String) -> Domain? {
        domains.first { $0.name == name.lowercased() }
    }
}

extension String {
    public func trimmingTrailingSlash() -> String {
        var s = self
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
