import Foundation
import MDMCore

/// winmdm values in Microsoft Graph's resource shapes and property names.
enum GraphMapping {
    static func user(_ u: User) -> JSONObject {
        ["id": u.id, "userPrincipalName": u.upn, "displayName": u.displayName, "accountEnabled": u.enabled,
         "assignedLicenses": u.assignedLicenses.map { ["skuId": $0, "disabledPlans": [String]()] },
         "createdDateTime": GraphDate.string(u.createdAt), "mail": u.upn]
    }

    static func group(_ g: Group) -> JSONObject {
        ["id": g.id, "displayName": g.displayName, "description": g.description, "createdDateTime": GraphDate.string(g.createdAt),
         "securityEnabled": true, "mailEnabled": false]
    }

    static func domain(_ d: Domain, initial: Bool) -> JSONObject {
        ["id": d.name, "isVerified": d.isVerified, "isDefault": initial, "isInitial": initial, "authenticationType": "Managed",
         "supportedServices": ["Intune"]]
    }

    static func planName(_ p: ServicePlan) -> String { p == .mdm ? "INTUNE_A" : "INTUNE_O365" }
    /// Graph types `servicePlanId` as a GUID: the Microsoft service plans these stand for (Intune Plan 1, and Basic
    /// Mobility and Security), so a script that looks for Intune's plan finds it.
    static func planID(_ p: ServicePlan) -> String { p == .mdm ? "c1ec4a95-1f05-45b3-a911-aa3fa01094f5" : "882e1d05-acd1-4ccb-8708-6ee03664b117" }

    static func sku(_ p: LicenseProduct, used: Int) -> JSONObject {
        ["id": p.skuId, "skuId": p.skuId, "skuPartNumber": p.skuPartNumber, "displayName": p.displayName,
         "appliesTo": "User", "capabilityStatus": "Enabled", "consumedUnits": used,
         "prepaidUnits": ["enabled": p.seats ?? 1_000_000, "suspended": 0, "warning": 0],
         "servicePlans": p.servicePlans.map { ["servicePlanId": planID($0), "servicePlanName": planName($0), "provisioningStatus": "Success", "appliesTo": "User"] }]
    }

    static func membership(_ kind: String, users: [String], groups: [String]) -> JSONObject {
        switch kind {
        case "all": ["@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"]
        case "none": ["@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"]
        default: ["@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership", "users": users, "groups": groups]
        }
    }

    static func deviceRegistrationPolicy(_ s: TenantSettings) -> JSONObject {
        ["id": "deviceRegistrationPolicy", "displayName": "Device Registration Policy",
         "description": "Who may join devices, and how many devices each user may join.",
         "userDeviceQuota": s.joinQuota, "multiFactorAuthConfiguration": "notRequired",
         "azureADJoin": ["isAdminConfigurable": true,
                         "allowedToJoin": membership(s.joinPolicy.kind.rawValue, users: s.joinPolicy.users, groups: s.joinPolicy.groups)],
         "azureADRegistration": ["isAdminConfigurable": false, "allowedToRegister": membership("all", users: [], groups: [])]]
    }

    static let mdmPolicyID = "0000000a-0000-0000-c000-0000000000aa"
    static let mamPolicyID = "0000000a-0000-0000-c000-0000000000ab"

    static func mobilityPolicy(_ s: TenantSettings, mam: Bool, groups: [Group], expand: Bool) -> JSONObject {
        let scope = mam ? s.mobility.mamScope : s.mobility.mdmScope
        var o: JSONObject = [
            "id": mam ? mamPolicyID : mdmPolicyID, "displayName": "winmdm", "description": mam ? "App protection (MAM) user scope" : "MDM user scope",
            "appliesTo": scope.kind == .some ? "selected" : scope.kind.rawValue, "isValid": true,
            "termsOfUseUrl": s.mobility.termsOfUseURL, "discoveryUrl": s.mobility.discoveryURL, "complianceUrl": s.mobility.complianceURL,
        ]
        if expand { o["includedGroups"] = groups.filter { scope.groups.contains($0.id) }.map { group($0) } }
        return o
    }

    static func restriction(_ r: Restriction) -> JSONObject {
        var o: JSONObject = [
            "id": r.id, "displayName": r.displayName, "description": r.description, "priority": r.priority,
            "createdDateTime": GraphDate.string(r.createdAt), "lastModifiedDateTime": GraphDate.string(r.lastModifiedAt), "version": r.version ?? 1,
        ]
        switch r.type {
        case .deviceLimit:
            o["@odata.type"] = "#microsoft.graph.deviceEnrollmentLimitConfiguration"
            o["limit"] = r.limit ?? 5
            o["deviceEnrollmentConfigurationType"] = "limit"
        case .platform:
            let w = r.windows ?? PlatformRestriction()
            o["@odata.type"] = "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration"
            o["deviceEnrollmentConfigurationType"] = r.isDefault ? "defaultPlatformRestrictions" : "platformRestrictions"
            o["windowsRestriction"] = ["platformBlocked": w.platformBlocked, "personalDeviceEnrollmentBlocked": w.personalDeviceEnrollmentBlocked,
                                       "osMinimumVersion": w.osMinimumVersion ?? "", "osMaximumVersion": w.osMaximumVersion ?? ""]
            o["windowsHomeSkuRestriction"] = ["platformBlocked": !w.homeAllowed, "personalDeviceEnrollmentBlocked": false,
                                              "osMinimumVersion": "", "osMaximumVersion": ""]
        case .enrollmentStatusPage:
            let s = r.statusPage ?? .intuneDefault
            o["@odata.type"] = "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration"
            o["deviceEnrollmentConfigurationType"] = "windows10EnrollmentCompletionPageConfiguration"
            o["showInstallationProgress"] = s.showInstallationProgress
            o["blockDeviceSetupRetryByUser"] = s.blockDeviceSetupRetryByUser
            o["allowDeviceResetOnInstallFailure"] = s.allowDeviceResetOnInstallFailure
            o["allowLogCollectionOnInstallFailure"] = s.allowLogCollectionOnInstallFailure
            o["customErrorMessage"] = s.customErrorMessage
            o["installProgressTimeoutInMinutes"] = s.installProgressTimeoutInMinutes
            o["allowDeviceUseOnInstallFailure"] = s.allowDeviceUseOnInstallFailure
            o["allowDeviceUseBeforeProfileAndAppInstallComplete"] = !s.blockDeviceUseUntilComplete
            o["selectedMobileAppIds"] = [String]()
            o["allowNonBlockingAppInstallation"] = false
            o["installQualityUpdates"] = false
            o["trackInstallProgressForAutopilotOnly"] = false
            o["disableUserStatusTrackingAfterFirstUser"] = s.disableUserStatusTrackingAfterFirstUser
            // winmdm has no apps: the page waits for configuration profiles (null: every profile assigned to the device).
            o["blockingDeviceConfigurationIds"] = s.blockingProfileIDs.map { $0 as Any } ?? NSNull()
        }
        return o
    }

    static func assignments(_ r: Restriction) -> [JSONObject] {
        r.assignedGroups.map { ["id": "\(r.id)_\($0)", "target": ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": $0]] }
    }

    static func enrollmentType(_ k: EnrollmentKind) -> String {
        switch k {
        case .user: "userEnrollment"
        case .device: "windowsAzureADJoin"
        case .bulk: "windowsBulkUserless"
        }
    }

    /// managedDevice `complianceState` for winmdm's overall state; no policy assigned counts as compliant, as in
    /// Intune's default ("Mark devices with no compliance policy assigned as: Compliant").
    static func complianceState(_ policies: [DeviceCompliance]) -> String {
        guard !policies.isEmpty else { return "compliant" }
        switch DeviceCompliance.overall(policies) {
        case .compliant: return "compliant"
        case .nonCompliant: return "noncompliant"
        case .inGracePeriod: return "inGracePeriod"
        case .unknown: return "unknown"
        }
    }

    static func managedDevice(_ e: Enrollment, userID: String?, compliance: String = "unknown") -> JSONObject {
        ["id": e.id, "complianceState": compliance, "deviceName": e.deviceName ?? e.deviceID, "userPrincipalName": e.primaryUser ?? "", "userId": e.primaryUser == nil ? "" : userID ?? "",
         "enrolledByUserPrincipalName": e.upn,
         "operatingSystem": "Windows", "osVersion": e.osVersion ?? "", "managedDeviceOwnerType": e.kind.isPersonal ? "personal" : "company",
         "deviceEnrollmentType": enrollmentType(e.kind), "enrolledDateTime": GraphDate.string(e.enrolledAt),
         "lastSyncDateTime": GraphDate.string(e.lastSeenAt ?? e.enrolledAt), "managementAgent": "mdm",
         "managementState": e.state == .active ? "managed" : (e.state == .retired ? "retirePending" : "unhealthy"),
         "azureADDeviceId": e.deviceID, "serialNumber": "", "hardwareId": e.hwDevID,
         "manufacturer": e.inventory?["./DevInfo/Man"] ?? "", "model": e.inventory?["./DevInfo/Mod"] ?? "",
         "managementCertificateExpirationDate": GraphDate.string(e.certificateNotAfter)]
    }

    static func failureCategory(_ a: EnrollmentAttempt) -> String {
        if let rule = a.denials.first?.rule {
            switch rule {
            case .maintenance: return "inMaintenance"
            case .upnDomainUnverified: return "accountValidation"
            case .noLicense, .termsOfUse: return "userValidation"
            case .mdmScope, .mamScopePrecedence: return "featureNotSupported"
            case .platformBlocked, .osVersion, .personalBlocked, .autopilotHome: return "deviceNotSupported"
            case .windowsHome, .deviceLimit, .joinQuota, .joinNotAllowed, .enrolledByOtherUser: return "enrollmentRestrictionsEnforced"
            case .statusPageTimeout, .statusPageProfileFailed: return "unknown"
            }
        }
        switch a.fault?.subcode {
        case .authentication?: return "authentication"
        case .messageFormat?: return "badRequest"
        case .authorization?: return "authorization"
        default: return "unknown"
        }
    }

    static func troubleshootingEvent(_ a: EnrollmentAttempt, userID: String?) -> JSONObject {
        ["@odata.type": "#microsoft.graph.enrollmentTroubleshootingEvent", "id": a.id, "eventDateTime": GraphDate.string(a.time),
         "correlationId": a.id, "operatingSystem": "Windows", "osVersion": a.facts.osVersion ?? "", "userId": userID ?? "",
         "userPrincipalName": a.facts.upn ?? "", "deviceId": a.facts.deviceID ?? "", "managedDeviceIdentifier": a.facts.hwDevID ?? "",
         "enrollmentType": a.facts.kind.map(enrollmentType) ?? "unknown", "failureCategory": failureCategory(a),
         "failureReason": a.denials.first?.reason ?? a.fault?.reason ?? "", "errorCode": a.code ?? "", "phase": a.phase.rawValue]
    }

    static func autopilotProfile(_ p: AutopilotProfile) -> JSONObject {
        ["@odata.type": p.joinType == .entra ? "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile"
                                             : "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile",
         "id": p.id, "displayName": p.displayName, "description": p.description, "deviceNameTemplate": p.deviceNameTemplate ?? "",
         "createdDateTime": GraphDate.string(p.createdAt), "lastModifiedDateTime": GraphDate.string(p.createdAt), "deviceType": "windowsPc"]
    }
}
