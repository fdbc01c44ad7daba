import Foundation
import MDMCore
import MDMStorage
import MDMTroubleshoot

/// One denial, explained: the rule, the sentence recorded, what to check, and the fix (as a command and, where
/// winmdm can apply it safely, as an action).
public struct DiagnosisItem: Sendable, Codable {
    public var rule: String
    public var reason: String
    public var code: String
    public var title: String?
    public var confirm: String?
    public var intune: String?
    /// The exact command that fixes it.
    public var fix: String
    /// What `--fix` would do; nil when the fix needs a person's choice (for example which device to delete).
    public var action: String?
}

public struct Diagnosis: Sendable, Codable {
    public var upn: String
    public var facts: EnrollmentFacts
    /// Whether the enrollment would be allowed now.
    public var allowed: Bool
    public var items: [DiagnosisItem]
    /// Autopilot problems (V03, V04) of the devices assigned to this user or of this hardware: enrollment is allowed,
    /// but Windows setup would fail with the code named.
    public var autopilot: [AutopilotNote] = []
    /// Autopilot problems of other devices, counted (`winmdm autopilot lint` lists them).
    public var otherAutopilotProblems = 0
}

/// One Autopilot lint finding, as the doctor shows it.
public struct AutopilotNote: Sendable, Codable, Equatable {
    public var kind: String
    public var code: String
    public var serialNumber: String
    public var message: String
    public var fix: String
}

/// An admin change that resolves a denial; `apply` goes through AdminService, so it is audited.
public struct FixAction: Sendable {
    /// Whom a fix changes things for, so the narrow one can be offered (and chosen) before the tenant-wide one.
    public enum Scope: String, Sendable, Codable, Comparable {
        /// One device (retire a stale enrollment).
        case device
        /// This user only (a license, being allowed to join).
        case user
        /// Everyone a setting or restriction applies to (the Default restriction, the tenant's maintenance).
        case tenant

        public var label: String {
            switch self {
            case .device: "changes one device"
            case .user: "changes this user only"
            case .tenant: "changes it for everyone it applies to"
            }
        }

        public static func < (a: Scope, b: Scope) -> Bool { [.device, .user, .tenant].firstIndex(of: a)! < [.device, .user, .tenant].firstIndex(of: b)! }
    }

    public var rule: RuleID
    public var description: String
    public var command: String
    public var scope: Scope
    public var apply: @Sendable () async throws -> Void
    /// Names this fix among the ones offered for a diagnosis (what a console form posts back).
    public var id: String { "\(rule.rawValue):\(command)" }

    public init(rule: RuleID, description: String, command: String, scope: Scope = .tenant, apply: @escaping @Sendable () async throws -> Void) {
        self.rule = rule
        self.description = description
        self.command = command
        self.scope = scope
        self.apply = apply
    }
}

/// Explains why a user cannot enroll (now, or in a recorded attempt) and fixes it.
public struct TroubleshootService: Sendable {
    let store: any MDMStore
    let admin: AdminService
    let kb: KnowledgeBase
    /// For "Restore default MDM URLs".
    let publicURL: String

    public init(store: any MDMStore, admin: AdminService, kb: KnowledgeBase = .bundled, publicURL: String) {
        self.store = store
        self.admin = admin
        self.kb = kb
        self.publicURL = publicURL
    }

    /// The same service with its fixes audited as someone else.
    public func acting(as actor: String) -> TroubleshootService {
        TroubleshootService(store: store, admin: admin.acting(as: actor), kb: kb, publicURL: publicURL)
    }

    /// The knowledge base's fix for what a rule refused with this code (the troubleshooting page's Fix column).
    public func fixText(rule: RuleID, hresult: UInt32) -> String? { kb.cause(rule: rule.rawValue, hresult: hresult)?.1.fix }

    /// `winmdm explain` for the front ends: codes, dialog text, events or a log, explained.
    public func explain(_ text: String) -> Explanation { Explainer(kb: kb).explain(text) }

    /// "What would happen if this user enrolled this device now?"
    public func doctor(upn: String, hwDevID: String?, osEdition: Int?, osVersion: String?, kind: EnrollmentKind,
                       credential: CredentialKind? = nil) async throws -> Diagnosis {
        let user = try await admin.user(upn)
        let settings = try await admin.settings()
        var facts = EnrollmentFacts(upn: user.upn, credential: credential ?? (settings.authPolicy == .federated ? .federatedToken : .password),
                                    enrollmentType: kind == .user ? .full : .device, deviceID: nil,
                                    hwDevID: hwDevID ?? "DOCTOR-\(UUID().uuidString)", osEdition: osEdition ?? 48,
                                    osVersion: osVersion ?? "10.0.22631.4460")
        facts.kind = kind == .bulk || user.isPackageAccount ? .bulk : kind
        var d = try await evaluate(user: user, facts: facts, settings: settings)
        for f in try await admin.autopilotLint() {
            if f.device.assignedUser == user.upn || (hwDevID != nil && f.device.hwDevID == hwDevID) {
                d.autopilot.append(AutopilotNote(kind: f.kind.rawValue, code: f.code, serialNumber: f.device.serialNumber, message: f.message, fix: f.fix))
            } else {
                d.otherAutopilotProblems += 1
            }
        }
        return d
    }

    /// Explains a recorded attempt from its stored denials, and says whether the same request would pass now.
    public func diagnose(_ attempt: EnrollmentAttempt) async throws -> (recorded: [DiagnosisItem], now: Diagnosis?) {
        var recorded: [DiagnosisItem] = []
        for d in attempt.denials { recorded.append(item(for: d, fix: try await statusPageFix(d, attempt))) }
        guard attempt.phase == .enroll || attempt.phase == .auth, !attempt.denials.isEmpty, let upn = attempt.facts.upn,
              let user = try? await admin.user(upn) else { return (recorded, nil) }
        return (recorded, try await evaluate(user: user, facts: attempt.facts, settings: try await admin.settings()))
    }

    func evaluate(user: User, facts: EnrollmentFacts, settings: TenantSettings) async throws -> Diagnosis {
        let groups = try await store.groupIDs(of: user.id)
        let snapshot = PolicySnapshot(settings: settings, user: user, groupIDs: groups,
                                      userEnrollments: try await store.activeEnrollments(upn: user.upn),
                                      deviceEnrollments: try await store.activeEnrollments(hwDevID: facts.hwDevID ?? ""))
        var denials = EnrollmentPolicy.evaluate(facts, snapshot).denials
        if facts.credential != .federatedToken, settings.authPolicy == .federated,
           let tou = EnrollmentPolicy.termsOfUseDenial(user: user, settings: settings) {
            denials.append(tou)
            denials.sort { $0.rule < $1.rule }
        }
        var items: [DiagnosisItem] = []
        for d in denials { items.append(item(for: d, fix: try await fixAction(for: d, user: user, facts: facts, snapshot: snapshot))) }
        return Diagnosis(upn: user.upn, facts: facts, allowed: denials.isEmpty, items: items)
    }

    /// The fixes for a recorded attempt that a fresh evaluation cannot find (an Enrollment Status Page failure).
    public func recordedFixes(_ a: EnrollmentAttempt) async throws -> [FixAction] {
        var out: [FixAction] = []
        for d in a.denials { if let f = try await statusPageFix(d, a) { out.append(f) } }
        return out
    }

    /// An Enrollment Status Page failure or timeout: stop waiting for the profile that held the page up, so the next
    /// device finishes (or fix the profile's setting, which the explanation names).
    func statusPageFix(_ d: Denial, _ a: EnrollmentAttempt) async throws -> FixAction? {
        guard d.rule == .statusPageTimeout || d.rule == .statusPageProfileFailed, let hold = a.heldBy, let id = d.source,
              let page = try? await admin.restriction(.enrollmentStatusPage, id) else { return nil }
        let admin = self.admin, name = page.isDefault ? "Default" : "\"\(page.displayName)\""
        return FixAction(rule: d.rule, description: "Stop the Enrollment Status Page \(name) waiting for the profile \"\(hold.profileName)\" (or fix its setting \(hold.locURI ?? "")).",
                         command: "winmdm esp edit \(name) --remove-blocking \"\(hold.profileName)\"") {
            _ = try await admin.editStatusPage(id, change: StatusPageChange(removeBlocking: [hold.profileID]))
        }
    }

    func item(for d: Denial, fix: FixAction?) -> DiagnosisItem {
        let cause = kb.cause(rule: d.rule.rawValue, hresult: d.fault.hresult)?.1
        return DiagnosisItem(rule: d.rule.rawValue, reason: d.reason, code: d.fault.code, title: cause?.title, confirm: cause?.confirm,
                             intune: cause?.intune, fix: fix?.command ?? cause?.fix ?? "", action: fix?.description)
    }

    /// The fix actions for what denies this attempt or this user now.
    public func fixes(for diagnosis: Diagnosis) async throws -> [FixAction] {
        let user = try await admin.user(diagnosis.upn)
        let settings = try await admin.settings()
        let snapshot = PolicySnapshot(settings: settings, user: user, groupIDs: try await store.groupIDs(of: user.id),
                                      userEnrollments: try await store.activeEnrollments(upn: user.upn),
                                      deviceEnrollments: try await store.activeEnrollments(hwDevID: diagnosis.facts.hwDevID ?? ""))
        var denials = EnrollmentPolicy.evaluate(diagnosis.facts, snapshot).denials
        if diagnosis.facts.credential != .federatedToken, settings.authPolicy == .federated,
           let tou = EnrollmentPolicy.termsOfUseDenial(user: user, settings: settings) { denials.append(tou) }
        var out: [FixAction] = []
        for d in denials {
            // Per denial, the narrowest change first: retiring a stale device before raising everyone's limit.
            var options = try await narrowFixes(for: d, user: user, snapshot: snapshot)
            if let f = try await fixAction(for: d, user: user, facts: diagnosis.facts, snapshot: snapshot) { options.append(f) }
            out += options.sorted { $0.scope < $1.scope }
        }
        return out
    }

    /// Changes smaller than the rule's own fix: for a device limit, retire the user's device that checked in least
    /// recently (a replaced or abandoned PC is the usual reason for the limit).
    func narrowFixes(for d: Denial, user: User, snapshot s: PolicySnapshot) async throws -> [FixAction] {
        guard d.rule == .deviceLimit else { return [] }
        let counted = s.userEnrollments.filter(\.countsTowardDeviceLimit)
        guard let stale = counted.min(by: { ($0.lastSeenAt ?? $0.enrolledAt) < ($1.lastSeenAt ?? $1.enrolledAt) }) else { return [] }
        let admin = self.admin, name = stale.deviceName ?? stale.deviceID
        let seen = stale.lastSeenAt.map { "last checked in \(GraphDateText.string($0))" } ?? "never checked in since \(GraphDateText.string(stale.enrolledAt))"
        return [FixAction(rule: d.rule, description: "Retire \(name), the least recently seen of \(user.upn)'s \(counted.count) devices (\(seen)); it stops counting toward the limit.",
                          command: "winmdm devices retire \(stale.id)", scope: .device) {
            _ = try await admin.retireDevice(stale.id)
        }]
    }

    /// The smallest change that removes one denial, or nil when a person must choose.
    func fixAction(for d: Denial, user: User, facts: EnrollmentFacts, snapshot s: PolicySnapshot) async throws -> FixAction? {
        let admin = self.admin, upn = user.upn, settings = s.settings
        let restriction = settings.restrictions.first { $0.id == d.source }
        let rname = restriction.map { $0.isDefault ? "Default" : "\"\($0.displayName)\"" } ?? "Default"
        let kindFlag = "--type platform"
        switch d.rule {
        case .maintenance:
            return FixAction(rule: d.rule, description: "End maintenance.", command: "winmdm maintenance off") {
                _ = try await admin.setMaintenance(false)
            }
        case .upnDomainUnverified:
            let domain = user.domain
            let exists = settings.domain(named: domain) != nil
            return FixAction(rule: d.rule, description: "\(exists ? "Verify" : "Add and verify") the domain \(domain).",
                             command: exists ? "winmdm domains verify \(domain)" : "winmdm domains add \(domain) && winmdm domains verify \(domain)") {
                if !exists { _ = try await admin.addDomain(domain) }
                _ = try await admin.verifyDomain(domain)
            }
        case .mdmScope:
            let scope = settings.mobility.mdmScope
            if scope.kind == .some, let g = s.groupIDs.first {
                let name = try await admin.groupNames([g]).first ?? g
                let all = try await admin.groupNames(scope.groups + [g])
                return FixAction(rule: d.rule, description: "Add the group \(name) of \(upn) to the MDM user scope.",
                                 command: "winmdm mobility mdm-scope some " + all.map { "--group \"\($0)\"" }.joined(separator: " ")) {
                    _ = try await admin.setScope(.mdm, .some, groups: all)
                }
            }
            return FixAction(rule: d.rule, description: "Set MDM user scope to All.", command: "winmdm mobility mdm-scope all") {
                _ = try await admin.setScope(.mdm, .all, groups: [])
            }
        case .mamScopePrecedence:
            let scope = settings.mobility.mamScope
            let remaining = scope.groups.filter { !s.groupIDs.contains($0) }
            if scope.kind == .some, !remaining.isEmpty {
                let names = try await admin.groupNames(remaining)
                return FixAction(rule: d.rule, description: "Remove \(upn)'s groups from the MAM user scope.",
                                 command: "winmdm mobility mam-scope some " + names.map { "--group \"\($0)\"" }.joined(separator: " ")) {
                    _ = try await admin.setScope(.mam, .some, groups: names)
                }
            }
            return FixAction(rule: d.rule, description: "Set MAM user scope to None.", command: "winmdm mobility mam-scope none") {
                _ = try await admin.setScope(.mam, .none, groups: [])
            }
        case .noLicense:
            return try await licenseFix(d.rule, user: user, settings: settings)
        case .termsOfUse:
            if !settings.mobility.termsOfUseURLIsValid {
                let url = publicURL
                return FixAction(rule: d.rule, description: "Restore the default MDM URLs.", command: "winmdm mobility restore-default-urls") {
                    _ = try await admin.restoreDefaultMobilityURLs(publicURL: url)
                }
            }
            return try await licenseFix(d.rule, user: user, settings: settings)
        case .joinNotAllowed:
            if settings.joinPolicy.kind == .selected {
                return FixAction(rule: d.rule, description: "Add \(upn) to the users who may join devices.",
                                 command: "winmdm device-settings add-members --user \(upn)") {
                    _ = try await admin.addJoinMembers(users: [upn], groups: [])
                }
            }
            return FixAction(rule: d.rule, description: "Let \(upn) join devices (Users may join devices: Selected, with \(upn)).",
                             command: "winmdm device-settings users-may-join selected --user \(upn)", scope: .user) {
                _ = try await admin.setJoinPolicy(.selected, users: [upn], groups: [])
            }
        case .platformBlocked:
            guard let r = restriction else { return nil }
            return FixAction(rule: d.rule, description: "Allow Windows (MDM) in the \(rname) device type restriction.",
                             command: "winmdm restrictions edit \(rname) \(kindFlag) --windows allow") {
                _ = try await admin.editRestriction(.platform, r.id, platform: PlatformChange(platformBlocked: false))
            }
        case .windowsHome:
            guard let r = restriction else { return nil }
            return FixAction(rule: d.rule, description: "Allow Windows Home editions in the \(rname) device type restriction (or upgrade the device to Pro).",
                             command: "winmdm restrictions edit \(rname) \(kindFlag) --home allow") {
                _ = try await admin.editRestriction(.platform, r.id, platform: PlatformChange(homeAllowed: true))
            }
        case .autopilotHome:
            // Only the device can change: upgrade Windows to Pro or higher.
            return nil
        case .personalBlocked:
            guard let r = restriction else { return nil }
            return FixAction(rule: d.rule, description: "Allow personally owned devices in the \(rname) device type restriction (or enroll as a corporate device).",
                             command: "winmdm restrictions edit \(rname) \(kindFlag) --personal allow") {
                _ = try await admin.editRestriction(.platform, r.id, platform: PlatformChange(personalDeviceEnrollmentBlocked: false))
            }
        case .osVersion:
            guard let r = restriction, let v = facts.osVersion, let w = r.windows else { return nil }
            let below = w.osMinimumVersion.map { WindowsVersion.compare(v, $0) == .orderedAscending } ?? false
            let change = below ? PlatformChange(osMinimumVersion: v) : PlatformChange(osMaximumVersion: v)
            return FixAction(rule: d.rule, description: "\(below ? "Lower the minimum" : "Raise the maximum") Windows version of the \(rname) restriction to \(v) (or update Windows).",
                             command: "winmdm restrictions edit \(rname) \(kindFlag) \(below ? "--min-version" : "--max-version") \(v)") {
                _ = try await admin.editRestriction(.platform, r.id, platform: change)
            }
        case .enrolledByOtherUser:
            guard let id = d.source, let other = s.deviceEnrollments.first(where: { $0.id == id }) else { return nil }
            return FixAction(rule: d.rule, description: "Retire \(other.upn)'s enrollment \(id) of this device.",
                             command: "winmdm devices retire \(id)", scope: .device) {
                _ = try await admin.retireDevice(id)
            }
        case .deviceLimit:
            guard let r = restriction, let limit = r.limit, limit < TenantSettings.deviceLimitRange.upperBound else { return nil }
            let name = r.isDefault ? "Default" : "\"\(r.displayName)\""
            return FixAction(rule: d.rule, description: "Raise the device limit of the \(name) restriction from \(limit) to \(limit + 1) (or delete an unused device: winmdm devices list --user \(upn)).",
                             command: "winmdm restrictions edit \(name) --type device-limit --limit \(limit + 1)") {
                _ = try await admin.editRestriction(.deviceLimit, r.id, limit: limit + 1)
            }
        case .statusPageTimeout, .statusPageProfileFailed:
            // Not an enrollment rule: these are recorded after enrollment, and their fix comes from the attempt.
            return nil
        case .joinQuota:
            let q = settings.joinQuota + 1
            guard q <= 1000 else { return nil }
            return FixAction(rule: d.rule, description: "Raise the device registration quota to \(q) (or delete a stale device).",
                             command: "winmdm device-settings quota \(q)") {
                _ = try await admin.setJoinQuota(q)
            }
        }
    }

    func licenseFix(_ rule: RuleID, user: User, settings: TenantSettings) async throws -> FixAction? {
        let used = try await admin.licenseUsage()
        guard let p = settings.licenseProducts.first(where: { $0.servicePlans.contains(.mdm) && ($0.seats == nil || (used[$0.skuId] ?? 0) < $0.seats!) }) else {
            return nil
        }
        let upn = user.upn, admin = self.admin
        return FixAction(rule: rule, description: "Assign the \(p.skuPartNumber) license (it includes the MDM plan) to \(upn).",
                         command: "winmdm licenses assign \(upn) \(p.skuPartNumber)", scope: .user) {
            _ = try await admin.assignLicense(upn, sku: p.skuPartNumber)
        }
    }
}
