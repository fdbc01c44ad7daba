/// Rule identifiers, declared in the precedence order of SCENARIOS.md: the device is sent the first denial.
public enum RuleID: String, Codable, Sendable, CaseIterable, Comparable {
    case maintenance
    case upnDomainUnverified = "upn-domain-unverified"
    case mdmScope = "mdm-scope"
    case mamScopePrecedence = "mam-scope-precedence"
    case noLicense = "no-license"
    case termsOfUse = "terms-of-use"
    case joinNotAllowed = "join-not-allowed"
    case platformBlocked = "platform-blocked"
    case windowsHome = "windows-home"
    /// An Autopilot device runs Windows Home (Autopilot shows 0x80180022).
    case autopilotHome = "autopilot-home"
    case personalBlocked = "personal-blocked"
    case osVersion = "os-version"
    case enrolledByOtherUser = "enrolled-by-other-user"
    case deviceLimit = "device-limit"
    case joinQuota = "join-quota"
    /// After enrollment: the Enrollment Status Page ran out of time waiting for a blocking profile.
    case statusPageTimeout = "esp-timeout"
    /// After enrollment: a profile the Enrollment Status Page blocks on failed on the device.
    case statusPageProfileFailed = "esp-profile-failed"

    var precedence: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: RuleID, b: RuleID) -> Bool { a.precedence < b.precedence }
}

/// One rule saying no: which rule, why in words a helpdesk person follows, and what the device is told.
public struct Denial: Codable, Sendable, Equatable {
    public var rule: RuleID
    public var reason: String
    public var fault: EnrollmentFault
    /// The restriction or setting that said no, when one did (restriction id, "join-policy", "mdm-scope" …).
    public var source: String?

    public init(rule: RuleID, reason: String, fault: EnrollmentFault, source: String? = nil) {
        self.rule = rule
        self.reason = reason
        self.fault = fault
        self.source = source
    }
}

public enum EnrollmentDecision: Sendable, Equatable {
    case allowed
    case denied([Denial])

    public var denials: [Denial] {
        if case .denied(let d) = self { return d }
        return []
    }
}

/// What the policy needs to know about the directory at the moment of the decision.
public struct PolicySnapshot: Sendable {
    public var settings: TenantSettings
    public var user: User
    /// Ids of the groups the user belongs to.
    public var groupIDs: Set<String>
    /// The user's enrollments (any state); the rules pick the active ones.
    public var userEnrollments: [Enrollment]
    /// Active enrollments of the same hardware (HWDevID), whoever owns them.
    public var deviceEnrollments: [Enrollment]
    /// Corporate or personal as decided for this request (nil: by the enrollment type alone).
    public var ownership: OwnershipRecord?
    /// The Autopilot registration of this hardware, when known.
    public var autopilotDevice: AutopilotDevice?

    public init(settings: TenantSettings, user: User, groupIDs: Set<String> = [], userEnrollments: [Enrollment],
                deviceEnrollments: [Enrollment], ownership: OwnershipRecord? = nil, autopilotDevice: AutopilotDevice? = nil) {
        self.ownership = ownership
        self.autopilotDevice = autopilotDevice
        self.settings = settings
        self.user = user
        self.groupIDs = groupIDs
        self.userEnrollments = userEnrollments
        self.deviceEnrollments = deviceEnrollments
    }
}

/// The enrollment policy: pure, evaluates every rule and returns every denial in precedence order.
public enum EnrollmentPolicy {
    /// The personal-device rule alone: a device whose ownership is decided as personal is refused where the device type
    /// restriction that applies to the user blocks personally owned Windows devices. Also evaluated at the first
    /// check-in, when the serial number a device reports decides its ownership.
    public static func personalDenial(_ ownership: OwnershipRecord, settings: TenantSettings, groupIDs: Set<String>) -> Denial? {
        let platform = settings.applicableRestriction(.platform, groupIDs: groupIDs)
        guard ownership.ownership == .personal, !ownership.isPending, platform.windows?.personalDeviceEnrollmentBlocked == true else { return nil }
        let named = platform.isDefault ? "the Default device type restriction" : "the device type restriction \"\(platform.displayName)\" (priority \(platform.priority))"
        let why = ownership.source == .notPreregistered
            ? "Corporate identifiers are uploaded and this device matches none of them, so it counts as personally owned"
            : "This user enrollment counts as a personally owned device"
        return Denial(rule: .personalBlocked, reason: "\(why), and \(named) blocks personally owned Windows devices.",
                      fault: .detail(.deviceNotSupported, "Device Identifier not preregistered. Personally owned Windows devices are blocked."),
                      source: platform.id)
    }

    public static func evaluate(_ facts: EnrollmentFacts, _ s: PolicySnapshot) -> EnrollmentDecision {
        var denials: [Denial] = []
        let upn = s.user.upn
        let settings = s.settings
        let kind = facts.kind ?? facts.kind(packageAccount: s.user.isPackageAccount)

        if settings.maintenance {
            denials.append(Denial(rule: .maintenance,
                reason: "Enrollment is paused: an administrator put winmdm in maintenance mode.",
                fault: .detail(.inMaintenance, "The enrollment service is in maintenance; try again later."), source: "maintenance"))
        }
        let domain = s.user.domain
        if settings.domain(named: domain)?.isVerified != true {
            let known = settings.domain(named: domain) != nil
            denials.append(Denial(rule: .upnDomainUnverified,
                reason: "The UPN suffix of \(upn) is \(domain), which is \(known ? "not verified" : "not a domain of this tenant"); only users in verified domains can enroll.",
                fault: .detail(.notSupported, "The user's domain \(domain) is not a verified domain of this organization."),
                source: "domains"))
        }
        if kind == .user, !settings.mobility.mdmScope.includes(groupIDs: s.groupIDs) {
            let scope = settings.mobility.mdmScope
            let why = scope.kind == .none ? "MDM user scope is None" : "MDM user scope is Some, and \(upn) is in none of its groups"
            denials.append(Denial(rule: .mdmScope, reason: "\(why), so \(upn) may not enroll devices in MDM.",
                fault: .detail(.notSupported, "MDM enrollment is not enabled for this user."), source: "mdm-scope"))
        }
        if kind.isPersonal, settings.mobility.mamScope.includes(groupIDs: s.groupIDs) {
            denials.append(Denial(rule: .mamScopePrecedence,
                reason: "This is a personal device and the MAM user scope includes \(upn); for personal devices MAM wins over MDM, so the device is not MDM-enrolled.",
                fault: .detail(.notSupported, "App protection (MAM) applies to this user's personal devices instead of MDM."),
                source: "mam-scope"))
        }
        if kind != .bulk, !settings.plans(of: s.user).contains(.mdm) {
            let held = s.user.assignedLicenses.compactMap { settings.product($0)?.skuPartNumber }
            let what = held.isEmpty ? "holds no license" : "holds \(held.joined(separator: ", ")), none of which includes the MDM service plan"
            denials.append(Denial(rule: .noLicense, reason: "\(upn) \(what).",
                fault: .detail(.userLicense, "The user has no license for device management."), source: "licenses"))
        }
        if facts.credential == .federatedToken, let d = termsOfUseDenial(user: s.user, settings: settings) {
            denials.append(d)
        }
        if kind != .user, !settings.joinPolicy.allows(userID: s.user.id, groupIDs: s.groupIDs) {
            let policy = settings.joinPolicy
            let why = policy.kind == .none ? "\"Users may join devices\" is None"
                : "\"Users may join devices\" is Selected, and neither \(upn) nor a group of theirs is selected"
            denials.append(Denial(rule: .joinNotAllowed,
                reason: "\(why), so \(upn) may not \(kind == .bulk ? "enroll devices with a provisioning package" : "join devices").",
                fault: .authorization("The user is not allowed to join devices."), source: "join-policy"))
        }
        let platform = settings.applicableRestriction(.platform, groupIDs: s.groupIDs)
        let windows = platform.windows ?? PlatformRestriction()
        let named = platform.isDefault ? "the Default device type restriction" : "the device type restriction \"\(platform.displayName)\" (priority \(platform.priority))"
        if windows.platformBlocked {
            denials.append(Denial(rule: .platformBlocked,
                reason: "\(named.capitalizedFirst) blocks Windows (MDM) for \(upn).",
                fault: .detail(.deviceNotSupported, "Windows enrollment is blocked by the device type restriction."), source: platform.id))
        }
        let autopilot = facts.autopilot == true || s.autopilotDevice != nil
        if let sku = facts.osEdition, WindowsEdition.isHome(sku), autopilot {
            let which = s.autopilotDevice.map { "registered with Autopilot (serial number \($0.serialNumber))" } ?? "enrolling through Windows Autopilot"
            denials.append(Denial(rule: .autopilotHome,
                reason: "The device is \(which) and runs Windows \(WindowsEdition.name(sku)) (OSEdition \(sku)); Autopilot does not support Home editions, and setup shows \"Autopilot device enrollment failed with error HRESULT = 0x80180022\". Upgrade it to Pro, Enterprise or Education.",
                fault: .authorization("Windows Autopilot does not support Windows Home editions (0x80180022)."), source: "autopilot"))
        } else if let sku = facts.osEdition, WindowsEdition.isHome(sku), !windows.homeAllowed {
            denials.append(Denial(rule: .windowsHome,
                reason: "The device runs Windows \(WindowsEdition.name(sku)) (OSEdition \(sku)), and \(named) does not allow Home editions.",
                fault: .authorization("Windows Home editions are not allowed to enroll."), source: platform.id))
        }
        let ownership = s.ownership ?? OwnershipRecord(kind.isPersonal ? .personal : .corporate, .enrollmentType, "", at: .distantPast)
        if let d = personalDenial(ownership, settings: settings, groupIDs: s.groupIDs) { denials.append(d) }
        if let v = facts.osVersion {
            if let min = windows.osMinimumVersion, !min.isEmpty, WindowsVersion.compare(v, min) == .orderedAscending {
                denials.append(Denial(rule: .osVersion,
                    reason: "The device runs Windows \(v), below the minimum \(min) that \(named) allows.",
                    fault: .detail(.deviceNotSupported, "This version of Windows (\(v)) is below the minimum \(min)."), source: platform.id))
            } else if let max = windows.osMaximumVersion, !max.isEmpty, WindowsVersion.compare(v, max) == .orderedDescending {
                denials.append(Denial(rule: .osVersion,
                    reason: "The device runs Windows \(v), above the maximum \(max) that \(named) allows.",
                    fault: .detail(.deviceNotSupported, "This version of Windows (\(v)) is above the maximum \(max)."), source: platform.id))
            }
        }
        if let other = s.deviceEnrollments.first(where: { $0.state == .active && $0.upn != upn }) {
            denials.append(Denial(rule: .enrolledByOtherUser,
                reason: "This device (\(other.deviceName ?? "HWDevID " + String(other.hwDevID.prefix(12)) + "…")) is already enrolled by \(other.upn) (enrollment \(other.id)); retire that enrollment before \(upn) can enroll it.",
                fault: .authorization("The device is already enrolled by another user."), source: other.id))
        }
        denials += capacityDenials(facts, kind: kind, user: upn, enrollments: s.userEnrollments, settings: settings,
                                   groupIDs: s.groupIDs)
        denials.sort { $0.rule < $1.rule }
        return denials.isEmpty ? .allowed : .denied(denials)
    }

    /// The terms-of-use rule of the Federated sign-in page (S07): a broken terms URL, or only a basic-mobility
    /// license, stops the sign-in before any token is issued.
    public static func termsOfUseDenial(user: User, settings: TenantSettings) -> Denial? {
        let fault = EnrollmentFault.detail(.invalidEnrollmentData, "The MDM terms of use could not be shown.")
        if !settings.mobility.termsOfUseURLIsValid {
            let url = settings.mobility.termsOfUseURL
            return Denial(rule: .termsOfUse,
                reason: "The MDM terms of use URL is \(url.isEmpty ? "blank" : "'\(url)', not a valid https URL"), so the sign-in page cannot show the terms.",
                fault: fault, source: "mobility")
        }
        let plans = settings.plans(of: user)
        if plans.contains(.basicMobility) && !plans.contains(.mdm) {
            return Denial(rule: .termsOfUse,
                reason: "\(user.upn)'s only license is a basic-mobility one without the MDM plan, so the MDM terms of use are not offered.",
                fault: fault, source: "licenses")
        }
        return nil
    }

    /// The device limit and join quota, alone: re-checked by storage in the transaction that records the
    /// enrollment, so concurrent enrollments never push a user past the limit.
    public static func capacityDenials(_ facts: EnrollmentFacts, kind: EnrollmentKind, user upn: String,
                                       enrollments: [Enrollment], settings: TenantSettings,
                                       groupIDs: Set<String>) -> [Denial] {
        // Re-enrolling the same hardware by the same user replaces the old enrollment: it takes no new slot.
        let others = enrollments.filter { $0.hwDevID != facts.hwDevID }
        if kind == .user {
            let r = settings.applicableRestriction(.deviceLimit, groupIDs: groupIDs)
            let limit = r.limit ?? 5
            let used = others.filter(\.countsTowardDeviceLimit).count
            if used >= limit {
                let named = r.isDefault ? "the Default device limit restriction" : "the device limit restriction \"\(r.displayName)\" (priority \(r.priority))"
                return [Denial(rule: .deviceLimit,
                    reason: "\(upn) already has \(used) enrolled devices, the limit of \(limit) set by \(named).",
                    fault: .authorization("The user has reached the device limit (\(limit))."), source: r.id)]
            }
        } else {
            let used = others.filter(\.countsTowardJoinQuota).count
            if used >= settings.joinQuota {
                return [Denial(rule: .joinQuota,
                    reason: "\(upn) already has \(used) device enrollments, the device registration quota of \(settings.joinQuota).",
                    fault: .detail(.deviceCapReached, "The user has reached the device registration quota (\(settings.joinQuota))."),
                    source: "join-quota")]
            }
        }
        return []
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// Dotted Windows version numbers (`10.0.19045.2006`) compared field by field.
public enum WindowsVersion {
    public static func isValid(_ v: String) -> Bool {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        return (1...4).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// Why a version bound an administrator typed is not one Windows can be compared with, or nil. Windows 10 and 11
    /// both report 10.0.BUILD[.REV] (Windows 11 is 10.0.22000 and later), and the revision is not known at enrollment,
    /// so a bound needs major.minor.build: "11" or "10" would block or allow far more than meant.
    public static func boundProblem(_ v: String) -> String? {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        if isValid(v), parts.count >= 3, parts[0] == "10", parts[1] == "0" { return nil }
        let meant = parts.first == "11" ? " For Windows 11 use 10.0.22000 (23H2 is 10.0.22631, 24H2 10.0.26100)."
            : parts.first == "10" ? " For Windows 10 use 10.0.10240 or a later build (22H2 is 10.0.19045)." : ""
        return "'\(v)' is not a Windows version bound: Windows 10 and 11 both report 10.0.BUILD[.REVISION], and Windows 11 is 10.0.22000 and later; give at least major.minor.build, like 10.0.19045.\(meant)"
    }

    public static func compare(_ a: String, _ b: String) -> ComparisonResult3 {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0, r = i < y.count ? y[i] : 0
            if l < r { return .orderedAscending }
            if l > r { return .orderedDescending }
        }
        return .orderedSame
    }
}

public enum ComparisonResult3: Sendable { case orderedAscending, orderedSame, orderedDescending }
