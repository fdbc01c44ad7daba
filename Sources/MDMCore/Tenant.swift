import Foundation

/// A group of users; restrictions, scopes and the join policy target groups.
public struct Group: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var displayName: String
    public var description: String
    /// User ids.
    public var members: [String]
    /// Devices, by hardware id (HWDevID): membership outlives a re-enrollment of the same machine.
    public var devices: [String]
    /// An Autopilot device group: its members are also the Autopilot devices whose group tag is this one (Entra's
    /// `(device.devicePhysicalIds -any (_ -eq "[OrderID]:TAG"))` rule), matched without regard to case.
    public var autopilotGroupTag: String?
    public var createdAt: Date

    public init(id: String = UUID().uuidString.lowercased(), displayName: String, description: String = "",
                members: [String] = [], devices: [String] = [], autopilotGroupTag: String? = nil, createdAt: Date) {
        self.autopilotGroupTag = autopilotGroupTag
        self.id = id
        self.displayName = displayName
        self.description = description
        self.members = members
        self.devices = devices
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey { case id, displayName, description, members, devices, autopilotGroupTag, createdAt }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        displayName = try c.decode(String.self, forKey: .displayName)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        members = try c.decodeIfPresent([String].self, forKey: .members) ?? []
        devices = try c.decodeIfPresent([String].self, forKey: .devices) ?? []
        autopilotGroupTag = try c.decodeIfPresent(String.self, forKey: .autopilotGroupTag)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
    }
}

/// A service plan inside a license product.
public enum ServicePlan: String, Codable, Sendable, CaseIterable {
    /// Full device management: what enrollment needs.
    case mdm
    /// Basic mobility and security (Office 365's MDM): not enough to enroll Windows.
    case basicMobility = "basic-mobility"
}

/// A license product ("subscribed SKU") with a number of seats.
public struct LicenseProduct: Codable, Sendable, Equatable {
    public var skuId: String
    public var skuPartNumber: String
    public var displayName: String
    public var servicePlans: [ServicePlan]
    /// nil: unlimited.
    public var seats: Int?

    public init(skuId: String = UUID().uuidString.lowercased(), skuPartNumber: String, displayName: String,
                servicePlans: [ServicePlan], seats: Int?) {
        self.skuId = skuId
        self.skuPartNumber = skuPartNumber.uppercased()
        self.displayName = displayName
        self.servicePlans = servicePlans
        self.seats = seats
    }
}

/// "Users may join devices": All, Selected (users and groups), or None.
public struct JoinPolicy: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case all, selected, none }
    public var kind: Kind
    public var users: [String]
    public var groups: [String]

    public init(kind: Kind, users: [String] = [], groups: [String] = []) {
        self.kind = kind
        self.users = users
        self.groups = groups
    }

    public func allows(userID: String, groupIDs: Set<String>) -> Bool {
        switch kind {
        case .all: true
        case .none: false
        case .selected: users.contains(userID) || !groupIDs.isDisjoint(with: groups)
        }
    }
}

/// MDM or MAM user scope: None, Some (groups) or All.
public struct UserScope: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case none, some, all }
    public var kind: Kind
    public var groups: [String]

    public init(kind: Kind, groups: [String] = []) {
        self.kind = kind
        self.groups = groups
    }

    public func includes(groupIDs: Set<String>) -> Bool {
        switch kind {
        case .all: true
        case .none: false
        case .some: !groupIDs.isDisjoint(with: groups)
        }
    }
}

/// Mobility (MDM and MAM): who is in scope, and the URLs Windows is given.
public struct MobilitySettings: Codable, Sendable, Equatable {
    public var mdmScope: UserScope
    public var mamScope: UserScope
    public var termsOfUseURL: String
    public var discoveryURL: String
    public var complianceURL: String

    public static func defaults(publicURL: String) -> MobilitySettings {
        let base = publicURL.trimmingTrailingSlash()
        return MobilitySettings(mdmScope: UserScope(kind: .all), mamScope: UserScope(kind: .none),
                                termsOfUseURL: base + "/EnrollmentServer/TermsOfUse",
                                discoveryURL: base + "/EnrollmentServer/Discovery.svc",
                                complianceURL: base + "/compliance")
    }

    /// Valid means an absolute https URL with a host.
    public var termsOfUseURLIsValid: Bool {
        guard let u = URLComponents(string: termsOfUseURL.trimmingCharacters(in: .whitespaces)) else { return false }
        return u.scheme?.lowercased() == "https" && !(u.host ?? "").isEmpty
    }
}

/// Windows settings of a device type (platform) restriction (Graph `deviceEnrollmentPlatformRestriction`).
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

public enum RestrictionType: String, Codable, Sendable, CaseIterable {
    case deviceLimit = "device-limit"
    case platform
    /// An Enrollment Status Page configuration: the same collection in Graph, the same priorities and groups.
    case enrollmentStatusPage = "esp"

    /// The two kinds that decide whether a device may enroll.
    public static let enrollmentRestrictions: [RestrictionType] = [.deviceLimit, .platform]
}

/// An enrollment restriction: the Default (applies to everyone, evaluated last) or a group-targeted one with a
/// priority (1 is highest).
public struct Restriction: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var type: RestrictionType
    public var displayName: String
    public var description: String
    /// 0 for the Default; 1…n for the others, 1 first.
    public var priority: Int
    public var assignedGroups: [String]
    public var isDefault: Bool
    /// Device limit restrictions: 1…15.
    public var limit: Int?
    /// Platform restrictions.
    public var windows: PlatformRestriction?
    /// Enrollment Status Page configurations.
    public var statusPage: StatusPageSettings?
    public var createdAt: Date
    public var lastModifiedAt: Date
    /// Graph's `version`: 1 when created, one more at each change (nil in records written before it was kept).
    public var version: Int?

    public init(id: String, type: RestrictionType, displayName: String, description: String = "", priority: Int,
                assignedGroups: [String] = [], isDefault: Bool = false, limit: Int? = nil,
                windows: PlatformRestriction? = nil, statusPage: StatusPageSettings? = nil, createdAt: Date, lastModifiedAt: Date? = nil) {
        self.id = id
        self.type = type
        self.displayName = displayName
        self.description = description
        self.priority = priority
        self.assignedGroups = assignedGroups
        self.isDefault = isDefault
        self.limit = limit
        self.windows = windows
        self.statusPage = statusPage
        self.createdAt = createdAt
        self.lastModifiedAt = lastModifiedAt ?? createdAt
    }
}

/// A bulk enrollment package: provisioning packages carry its account and secret to enroll devices.
public struct BulkPackage: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var displayName: String
    public var accountUPN: String
    public var createdAt: Date

    public init(id: String = UUID().uuidString.lowercased(), displayName: String, accountUPN: String, createdAt: Date) {
        self.id = id
        self.displayName = displayName
        self.accountUPN = accountUPN
        self.createdAt = createdAt
    }
}

public enum AutopilotJoinType: String, Codable, Sendable, CaseIterable {
    case entra
    case hybrid
}

public struct AutopilotProfile: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var displayName: String
    public var description: String
    public var joinType: AutopilotJoinType
    public var deviceNameTemplate: String?
    public var assignedGroups: [String]
    public var createdAt: Date
    /// What the out-of-box experience shows and who the user becomes (Graph `outOfBoxExperienceSetting`).
    public var oobe: AutopilotOOBE
    /// "Allow pre-provisioned deployment" (Windows key pressed five times at the first screen).
    public var preprovisioningAllowed: Bool
    /// `os-default` or a language tag such as `en-US`.
    public var locale: String

    public init(id: String = UUID().uuidString.lowercased(), displayName: String, description: String = "",
                joinType: AutopilotJoinType, deviceNameTemplate: String?, assignedGroups: [String] = [], createdAt: Date,
                oobe: AutopilotOOBE = AutopilotOOBE(), preprovisioningAllowed: Bool = false, locale: String = "os-default") {
        self.id = id
        self.displayName = displayName
        self.description = description
        self.joinType = joinType
        self.deviceNameTemplate = deviceNameTemplate
        self.assignedGroups = assignedGroups
        self.createdAt = createdAt
        self.oobe = oobe
        self.preprovisioningAllowed = preprovisioningAllowed
        self.locale = locale
    }

    enum CodingKeys: String, CodingKey {
        case id, displayName, description, joinType, deviceNameTemplate, assignedGroups, createdAt, oobe, preprovisioningAllowed, locale
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        displayName = try c.decode(String.self, forKey: .displayName)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        joinType = try c.decode(AutopilotJoinType.self, forKey: .joinType)
        deviceNameTemplate = try c.decodeIfPresent(String.self, forKey: .deviceNameTemplate)
        assignedGroups = try c.decodeIfPresent([String].self, forKey: .assignedGroups) ?? []
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        oobe = try c.decodeIfPresent(AutopilotOOBE.self, forKey: .oobe) ?? AutopilotOOBE()
        preprovisioningAllowed = try c.decodeIfPresent(Bool.self, forKey: .preprovisioningAllowed) ?? false
        locale = try c.decodeIfPresent(String.self, forKey: .locale) ?? "os-default"
    }

    /// Hybrid profiles take the computer name from the domain join configuration, never from the template.
    public var namesDevices: Bool { joinType == .entra && deviceNameTemplate != nil }
}

/// Graph's `outOfBoxExperienceSetting`, with its defaults.
public struct AutopilotOOBE: Codable, Sendable, Equatable {
    public enum UserType: String, Codable, Sendable, CaseIterable { case administrator, standard }
    /// `singleUser` is user-driven; `shared` is self-deploying.
    public enum UsageType: String, Codable, Sendable, CaseIterable { case singleUser, shared }

    public var userType: UserType = .administrator
    public var deviceUsageType: UsageType = .singleUser
    public var privacySettingsHidden = true
    public var eulaHidden = true
    public var keyboardSelectionPageSkipped = false
    public var escapeLinkHidden = true

    public init(userType: UserType = .administrator, deviceUsageType: UsageType = .singleUser, privacySettingsHidden: Bool = true,
                eulaHidden: Bool = true, keyboardSelectionPageSkipped: Bool = false, escapeLinkHidden: Bool = true) {
        self.userType = userType
        self.deviceUsageType = deviceUsageType
        self.privacySettingsHidden = privacySettingsHidden
        self.eulaHidden = eulaHidden
        self.keyboardSelectionPageSkipped = keyboardSelectionPageSkipped
        self.escapeLinkHidden = escapeLinkHidden
    }
}

/// What an API token may do.
public enum APIRole: String, Codable, Sendable, CaseIterable {
    /// Everything.
    case admin
    /// Read, troubleshoot, and act on devices; no policy changes.
    case helpdesk
    /// Read only.
    case reader
}

/// An API bearer token: only its SHA-256 is kept.
public struct APIToken: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var role: APIRole
    /// Lower-case hex SHA-256 of the token.
    public var sha256: String
    public var createdAt: Date
    /// After this the token is refused (nil: it does not expire).
    public var expiresAt: Date?
    /// When it last authenticated a request, to the hour (nil: never).
    public var lastUsedAt: Date?

    public init(id: String = UUID().uuidString.lowercased(), name: String, role: APIRole, sha256: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.sha256 = sha256
        self.createdAt = createdAt
    }
}

/// Tenant-wide settings, kept as one document. A new installation starts from `newInstallation` (SCENARIOS.md).
public struct TenantSettings: Codable, Sendable, Equatable {
    public var tenantID: String
    public var organizationName: String
    public var domains: [Domain]
    public var authPolicy: AuthPolicy
    public var maintenance: Bool
    public var licenseProducts: [LicenseProduct]
    /// "Users may join devices".
    public var joinPolicy: JoinPolicy
    /// Device registration quota: device (and bulk) enrollments per user.
    public var joinQuota: Int
    /// Entra's "Unlimited" device registration quota.
    public static let unlimitedJoinQuota = 2_147_483_647
    /// The quota as Entra's page shows it: a number, or Unlimited.
    public var joinQuotaText: String { Self.joinQuotaText(joinQuota) }
    public static func joinQuotaText(_ q: Int) -> String { q >= unlimitedJoinQuota ? "Unlimited" : String(q) }
    public var mobility: MobilitySettings
    /// Both types, Defaults included.
    public var restrictions: [Restriction]
    public var bulkPackages: [BulkPackage]
    public var autopilotProfiles: [AutopilotProfile]
    public var apiTokens: [APIToken]
    /// Failed sign-in thresholds and lockout lengths.
    public var lockout: LockoutSettings = .standard
    /// How often devices check in on their own (carried by the provisioning document and the DMClient Poll nodes).
    public var checkInSchedule: CheckInSchedule = .intune
    /// Compliance policies, oldest first.
    public var compliancePolicies: [CompliancePolicy] = []
    /// Windows push through WNS, when configured.
    public var push: PushSettings?

    public static let deviceLimitRange = 1...15
    /// Intune's Default device limit restriction, when a restriction carries none.
    public static let defaultDeviceLimit = 5
    public static let defaultLicenseSKU = "WINMDM_STANDARD"

    public static func newInstallation(initialDomain: String, publicURL: String, now: Date = Date(),
                                       tenantID: String = UUID().uuidString.lowercased()) -> TenantSettings {
        TenantSettings(
            tenantID: tenantID,
            organizationName: "winmdm",
            domains: [Domain(name: initialDomain, isVerified: true)],
            authPolicy: .onPremise,
            maintenance: false,
            licenseProducts: [LicenseProduct(skuPartNumber: defaultLicenseSKU, displayName: "winmdm Standard (device management)",
                                             servicePlans: [.mdm], seats: nil)],
            joinPolicy: JoinPolicy(kind: .all),
            joinQuota: 50,
            mobility: .defaults(publicURL: publicURL),
            restrictions: [
                Restriction(id: "\(tenantID)_DefaultLimit", type: .deviceLimit, displayName: "All users and all devices",
                            description: "Default device limit restriction, applied last to every user.", priority: 0,
                            isDefault: true, limit: 5, createdAt: now),
                Restriction(id: "\(tenantID)_DefaultPlatformRestrictions", type: .platform, displayName: "All users and all devices",
                            description: "Default device type restriction, applied last to every user.", priority: 0,
                            isDefault: true, windows: PlatformRestriction(), createdAt: now),
                defaultStatusPage(tenantID: tenantID, createdAt: now),
            ],
            bulkPackages: [],
            autopilotProfiles: [])
    }

    /// Installations from before the Enrollment Status Page existed have no Default page: it is the Default that is
    /// not shown, so adding it changes nothing (it is stored the first time it is edited).
    public mutating func addMissingDefaults() {
        if !restrictions.contains(where: { $0.type == .enrollmentStatusPage && $0.isDefault }) {
            restrictions.append(Self.defaultStatusPage(tenantID: tenantID, createdAt: restrictions.map(\.createdAt).min() ?? Date(timeIntervalSince1970: 0)))
        }
    }

    /// Intune's Default Enrollment Status Page: applies to everyone, evaluated last, not shown until edited.
    public static func defaultStatusPage(tenantID: String, createdAt: Date) -> Restriction {
        Restriction(id: "\(tenantID)_DefaultWindows10EnrollmentCompletionPageConfiguration", type: .enrollmentStatusPage,
                    displayName: "All users and all devices", description: "Default Enrollment Status Page, applied last to every user and device.",
                    priority: 0, isDefault: true, statusPage: .intuneDefault, createdAt: createdAt)
    }

    public func domain(named name: String) -> Domain? {
        domains.first { $0.name == name.lowercased() }
    }

    enum CodingKeys: String, CodingKey {
        case tenantID, organizationName, domains, authPolicy, maintenance, licenseProducts, joinPolicy, joinQuota, mobility,
             restrictions, bulkPackages, autopilotProfiles, apiTokens, lockout, checkInSchedule, compliancePolicies, push
    }

    /// Documents written by older versions lack newer keys: those take their new-installation defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tenantID = try c.decode(String.self, forKey: .tenantID)
        organizationName = try c.decodeIfPresent(String.self, forKey: .organizationName) ?? "winmdm"
        domains = try c.decode([Domain].self, forKey: .domains)
        authPolicy = try c.decodeIfPresent(AuthPolicy.self, forKey: .authPolicy) ?? .onPremise
        maintenance = try c.decodeIfPresent(Bool.self, forKey: .maintenance) ?? false
        licenseProducts = try c.decodeIfPresent([LicenseProduct].self, forKey: .licenseProducts) ?? []
        joinPolicy = try c.decodeIfPresent(JoinPolicy.self, forKey: .joinPolicy) ?? JoinPolicy(kind: .all)
        joinQuota = try c.decodeIfPresent(Int.self, forKey: .joinQuota) ?? 50
        mobility = try c.decode(MobilitySettings.self, forKey: .mobility)
        restrictions = try c.decode([Restriction].self, forKey: .restrictions)
        bulkPackages = try c.decodeIfPresent([BulkPackage].self, forKey: .bulkPackages) ?? []
        autopilotProfiles = try c.decodeIfPresent([AutopilotProfile].self, forKey: .autopilotProfiles) ?? []
        apiTokens = try c.decodeIfPresent([APIToken].self, forKey: .apiTokens) ?? []
        lockout = try c.decodeIfPresent(LockoutSettings.self, forKey: .lockout) ?? .standard
        checkInSchedule = try c.decodeIfPresent(CheckInSchedule.self, forKey: .checkInSchedule) ?? .intune
        compliancePolicies = try c.decodeIfPresent([CompliancePolicy].self, forKey: .compliancePolicies) ?? []
        push = try c.decodeIfPresent(PushSettings.self, forKey: .push)
        addMissingDefaults()
    }

    public init(tenantID: String, organizationName: String, domains: [Domain], authPolicy: AuthPolicy, maintenance: Bool,
                licenseProducts: [LicenseProduct], joinPolicy: JoinPolicy, joinQuota: Int, mobility: MobilitySettings,
                restrictions: [Restriction], bulkPackages: [BulkPackage], autopilotProfiles: [AutopilotProfile],
                apiTokens: [APIToken] = []) {
        self.tenantID = tenantID
        self.organizationName = organizationName
        self.domains = domains
        self.authPolicy = authPolicy
        self.maintenance = maintenance
        self.licenseProducts = licenseProducts
        self.joinPolicy = joinPolicy
        self.joinQuota = joinQuota
        self.mobility = mobility
        self.restrictions = restrictions
        self.bulkPackages = bulkPackages
        self.autopilotProfiles = autopilotProfiles
        self.apiTokens = apiTokens
    }

    public func defaultRestriction(_ type: RestrictionType) -> Restriction {
        restrictions.first { $0.type == type && $0.isDefault }!
    }

    /// The restriction of this type that applies to a member of these groups: the best-priority (lowest number)
    /// group-targeted one, else the Default.
    public func applicableRestriction(_ type: RestrictionType, groupIDs: Set<String>) -> Restriction {
        restrictions.filter { $0.type == type && !$0.isDefault && !groupIDs.isDisjoint(with: $0.assignedGroups) }
            .min { $0.priority < $1.priority } ?? defaultRestriction(type)
    }

    public func product(_ skuOrPartNumber: String) -> LicenseProduct? {
        licenseProducts.first { $0.skuId == skuOrPartNumber.lowercased() || $0.skuPartNumber == skuOrPartNumber.uppercased() }
    }

    /// Service plans a user's licenses give.
    public func plans(of user: User) -> Set<ServicePlan> {
        Set(user.assignedLicenses.compactMap { product($0) }.flatMap(\.servicePlans))
    }
}
