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
    case personalBlocked = "personal-blocked"
    case osVersion = "os-version"
    case enrolledByOtherUser = "enrolled-by-other-user"
    case deviceLimit = "device-limit"
    case joinQuota = "join-quota"

    var precedence: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: RuleID, b: RuleID) -> Bool { a.precedence < b.precedence }
}

/// One rule saying no: which rule, why in words a helpdesk person follows, and what the device is told.
public struct Denial: Codable, Sendable, Equatable {
    public var rule: RuleID
    public var reason: String
    public var fault: EnrollmentFault

    public init(rule: RuleID, reason: String, fault: EnrollmentFault) {
        self.rule = rule
        self.reason = reason
        self.fault = fault
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
    /// The user's enrollments (any state); the rules pick the active ones.
    public var userEnrollments: [Enrollment]
    /// Active enrollments of the same hardware (HWDevID), whoever owns them.
    public var deviceEnrollments: [Enrollment]

    public init(settings: TenantSettings, user: User, userEnrollments: [Enrollment], deviceEnrollments: [Enrollment]) {
        self.settings = settings
        self.user = user
        self.userEnrollments = userEnrollments
        self.deviceEnrollments = deviceEnrollments
    }
}

/// The enrollment policy: pure, evaluates every rule and returns every denial in precedence order.
public enum EnrollmentPolicy {
    public static func evaluate(_ facts: EnrollmentFacts, _ s: PolicySnapshot) -> EnrollmentDecision {
        var denials: [Denial] = []
        let upn = s.user.upn
        let restriction = s.settings.defaultPlatformRestriction

        if s.settings.maintenance {
            denials.append(Denial(rule: .maintenance,
                reason: "Enrollment is paused: an administrator put winmdm in maintenance mode.",
                fault: .detail(.inMaintenance, "The enrollment service is in maintenance; try again later.")))
        }
        let domain = s.user.domain
        if s.settings.domain(named: domain)?.isVerified != true {
            let known = s.settings.domain(named: domain) != nil
            denials.append(Denial(rule: .upnDomainUnverified,
                reason: "The UPN suffix of \(upn) is \(domain), which is \(known ? "not verified" : "not a domain of this tenant"); only users in verified domains can enroll.",
                fault: .detail(.notSupported, "The user's domain \(domain) is not a verified domain of this organization.")))
        }
        if restriction.platformBlocked {
            denials.append(Denial(rule: .platformBlocked,
                reason: "The Default device type restriction blocks Windows (MDM), so no Windows device can enroll.",
                fault: .detail(.deviceNotSupported, "Windows enrollment is blocked by the device type restriction.")))
        }
        if let sku = facts.osEdition, WindowsEdition.isHome(sku), !restriction.homeAllowed {
            denials.append(Denial(rule: .windowsHome,
                reason: "The device runs Windows \(WindowsEdition.name(sku)) (OSEdition \(sku)), and the device type restriction does not allow Home editions.",
                fault: .authorization("Windows Home editions are not allowed to enroll.")))
        }
        if facts.isPersonal, restriction.personalDeviceEnrollmentBlocked {
            denials.append(Denial(rule: .personalBlocked,
                reason: "This is a user enrollment, which counts as a personally owned device, and the device type restriction blocks personally owned Windows devices.",
                fault: .detail(.deviceNotSupported, "Personally owned Windows devices are blocked.")))
        }
        if let v = facts.osVersion {
            if let min = restriction.osMinimumVersion, WindowsVersion.compare(v, min) == .orderedAscending {
                denials.append(Denial(rule: .osVersion,
                    reason: "The device runs Windows \(v), below the minimum \(min) that the device type restriction allows.",
                    fault: .detail(.deviceNotSupported, "This version of Windows (\(v)) is below the minimum \(min).")))
            } else if let max = restriction.osMaximumVersion, WindowsVersion.compare(v, max) == .orderedDescending {
                denials.append(Denial(rule: .osVersion,
                    reason: "The device runs Windows \(v), above the maximum \(max) that the device type restriction allows.",
                    fault: .detail(.deviceNotSupported, "This version of Windows (\(v)) is above the maximum \(max).")))
            }
        }
        if let other = s.deviceEnrollments.first(where: { $0.state == .active && $0.upn != upn }) {
            denials.append(Denial(rule: .enrolledByOtherUser,
                reason: "This device (HWDevID \(other.hwDevID.prefix(12))…) is already enrolled by \(other.upn) (enrollment \(other.id)); it must be retired before \(upn) can enroll it.",
                fault: .authorization("The device is already enrolled by another user.")))
        }
        denials += capacityDenials(facts, user: upn, enrollments: s.userEnrollments, settings: s.settings)
        denials.sort { $0.rule < $1.rule }
        return denials.isEmpty ? .allowed : .denied(denials)
    }

    /// The device limit and join quota, alone: re-checked by storage in the transaction that records the
    /// enrollment, so concurrent enrollments never push a user past the limit.
    public static func capacityDenials(_ facts: EnrollmentFacts, user upn: String, enrollments: [Enrollment],
                                       settings: TenantSettings) -> [Denial] {
        // Re-enrolling the same hardware by the same user replaces the old enrollment: it takes no new slot.
        let others = enrollments.filter { $0.hwDevID != facts.hwDevID }
        if facts.enrollmentType == .device {
            let used = others.filter(\.countsTowardJoinQuota).count
            if used >= settings.joinQuota {
                return [Denial(rule: .joinQuota,
                    reason: "\(upn) already has \(used) device enrollments, the device registration quota of \(settings.joinQuota).",
                    fault: .detail(.deviceCapReached, "The user has reached the device registration quota (\(settings.joinQuota))."))]
            }
        } else {
            let used = others.filter(\.countsTowardDeviceLimit).count
            let limit = settings.defaultDeviceLimit
            if used >= limit {
                return [Denial(rule: .deviceLimit,
                    reason: "\(upn) already has \(used) enrolled devices, the limit of \(limit) set by the Default device limit restriction.",
                    fault: .authorization("The user has reached the device limit (\(limit))."))]
            }
        }
        return []
    }
}

/// Dotted Windows version numbers (`10.0.19045.2006`) compared field by field.
public enum WindowsVersion {
    public static func isValid(_ v: String) -> Bool {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        return (1...4).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
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
