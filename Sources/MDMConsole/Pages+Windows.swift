import Foundation
import MDMCore

/// Devices › Windows › Windows devices: search, sort, compliance, check-ins and certificates, one ⋯ menu per row.
public struct WindowsDevicesPage: PageModel {
    public enum Sort: String, Sendable, CaseIterable {
        case enrolled, name, user, seen, expires
        public var label: String {
            switch self {
            case .enrolled: "Enrolled (oldest first)"
            case .name: "Device name"
            case .user: "Primary user"
            case .seen: "Last check-in"
            case .expires: "Certificate expiry"
            }
        }
    }

    public static let template = "windowsDevices"
    public var devices: [Enrollment]
    /// Compliance per enrollment id (empty when no policy exists).
    public var compliance: [String: [DeviceCompliance]]
    public var schedule: CheckInSchedule
    public var now: Date
    public var query: String
    public var sort: Sort
    /// The next page's address (paging by enrollment, without a search).
    public var next: String?
    /// How many matched a search or a sort, and how many are shown.
    public var summary: String?

    public init(devices: [Enrollment], compliance: [String: [DeviceCompliance]], schedule: CheckInSchedule, now: Date, query: String,
                sort: Sort, next: String? = nil, summary: String? = nil) {
        self.devices = devices
        self.compliance = compliance
        self.schedule = schedule
        self.now = now
        self.query = query
        self.sort = sort
        self.next = next
        self.summary = summary
    }

    /// The active devices that match a search (name, user, DeviceID, enrollment id or Windows version), in the order
    /// asked for, and the summary line that says how many.
    public static func matching(_ all: [Enrollment], query: String, sort: Sort, shown limit: Int) -> (devices: [Enrollment], summary: String) {
        let needle = query.lowercased()
        var found = all.filter { $0.state == .active }
        if !needle.isEmpty {
            found = found.filter { e in [e.deviceName ?? "", e.upn, e.deviceID, e.id, e.osVersion ?? ""].contains { $0.lowercased().contains(needle) } }
        }
        switch sort {
        case .name: found.sort { ($0.deviceName ?? $0.deviceID).lowercased() < ($1.deviceName ?? $1.deviceID).lowercased() }
        case .user: found.sort { ($0.upn, $0.deviceName ?? "") < ($1.upn, $1.deviceName ?? "") }
        case .seen: found.sort { ($0.lastSeenAt ?? .distantPast) > ($1.lastSeenAt ?? .distantPast) }
        case .expires: found.sort { $0.certificateNotAfter < $1.certificateNotAfter }
        case .enrolled: found.sort { $0.enrolledAt < $1.enrolledAt }
        }
        let shown = Array(found.prefix(limit))
        let summary = "\(found.count) device\(found.count == 1 ? "" : "s")\(needle.isEmpty ? "" : (found.count == 1 ? " matches" : " match"))"
            + (found.count > shown.count ? "; the first \(shown.count) are shown, search to narrow." : ".")
        return (shown, summary)
    }

    public var context: [String: Any] {
        var m: [String: Any] = [
            "devices": devices.map { e -> [String: Any] in
                let states = compliance[e.id] ?? []
                return ["id": e.id, "compliance": states.isEmpty ? "no policy" : DeviceCompliance.overall(states).rawValue,
                        "reasons": states.filter { $0.state != .compliant }.flatMap { p in p.reasons.map { "\(p.policyName): \($0)" } },
                        "name": e.deviceName ?? e.deviceID, "upn": e.upn, "primaryUser": e.primaryUser ?? "", "hasUser": e.primaryUser != nil,
                        "ownership": e.ownership.rawValue.capitalized,
                        "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "), "state": e.state.rawValue,
                        "expires": ConsoleTime.short(e.certificateNotAfter),
                        "renewed": e.certificateRenewedAt.map { "renewed " + ConsoleTime.short($0) } ?? "",
                        "seen": e.lastSeenAt.map { ConsoleTime.short($0) } ?? "never",
                        "nextCheckIn": ConsoleTime.short(schedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: now))]
            },
            "schedule": schedule.summary,
            "sorts": Sort.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == sort] as [String: Any] },
        ]
        if !query.isEmpty { m["q"] = query }
        if let next { m["next"] = next }
        if let summary { m["summary"] = summary }
        return m
    }
}

/// Devices › Windows › Configuration profiles: each profile's settings, assignments and device states, its recent
/// failures, and the conflicts between profiles.
public struct ConfigurationPage: PageModel {
    public struct Profile: Sendable {
        public var profile: ConfigurationProfile
        /// Where it is assigned, as people read it.
        public var assigned: String
        public var states: [DeviceProfileState]
        /// At most 20 failed settings: device name, node, status.
        public var failures: [(device: String, uri: String, status: String?)]
        public init(profile: ConfigurationProfile, assigned: String, states: [DeviceProfileState], failures: [(device: String, uri: String, status: String?)]) {
            self.profile = profile
            self.assigned = assigned
            self.states = states
            self.failures = failures
        }
    }
    public static let template = "configuration"
    public var profiles: [Profile]
    public var conflicts: [ProfileConflict]
    public var schedule: CheckInSchedule
    public init(profiles: [Profile], conflicts: [ProfileConflict], schedule: CheckInSchedule) {
        self.profiles = profiles
        self.conflicts = conflicts
        self.schedule = schedule
    }
    public var context: [String: Any] {
        ["profiles": profiles.map { p -> [String: Any] in
            func count(_ s: DeviceProfileState.State) -> Int { p.states.filter { $0.state == s }.count }
            return ["name": p.profile.name, "description": p.profile.description, "version": p.profile.version,
                    "settings": p.profile.settings.map { ["uri": $0.locURI, "value": $0.value] },
                    "assigned": p.assigned, "succeeded": count(.succeeded), "pending": count(.pending) + count(.removing),
                    "failed": count(.failed), "conflict": count(.conflict), "notApplicable": count(.notApplicable),
                    "failures": p.failures.map { f -> [String: Any] in
                        ["device": f.device, "uri": f.uri, "status": f.status ?? "-", "hresult": f.status.flatMap(OMAStatus.hresult).map { "(\($0))" } ?? "",
                         "meaning": OMAStatus.meaning(f.status ?? "")]
                    }]
         },
         "conflicts": conflicts.map { ["uri": $0.locURI, "winner": $0.winnerName, "winningValue": $0.winningValue, "loser": $0.loserName,
                                       "losingValue": $0.losingValue, "reason": $0.reason] },
         "hasConflicts": !conflicts.isEmpty, "schedule": schedule.summary]
    }
}

/// Devices › Windows › Compliance policies.
public struct CompliancePage: PageModel {
    public static let template = "compliance"
    /// Each policy with where it is assigned, as people read it.
    public var policies: [(policy: CompliancePolicy, assigned: String)]
    public init(policies: [(policy: CompliancePolicy, assigned: String)]) { self.policies = policies }
    public var context: [String: Any] {
        ["policies": policies.map { p, assigned -> [String: Any] in
            ["name": p.name, "description": p.description, "rules": p.rulesSummary, "assigned": assigned, "created": ConsoleTime.short(p.createdAt)]
        }]
    }
}

/// Devices › Windows › Enrollment Status Page: the pages by priority, and recent pages that failed or timed out.
public struct StatusPagesPage: PageModel {
    public struct Page: Sendable {
        public var restriction: Restriction
        public var groups: String
        public var blocking: String
        public init(restriction: Restriction, groups: String, blocking: String) {
            self.restriction = restriction
            self.groups = groups
            self.blocking = blocking
        }
    }
    public struct Failure: Sendable {
        public var attempt: EnrollmentAttempt
        public var reason: String
        public var fix: String
        public init(attempt: EnrollmentAttempt, reason: String, fix: String) {
            self.attempt = attempt
            self.reason = reason
            self.fix = fix
        }
    }
    public static let template = "statusPage"
    public var pages: [Page]
    public var failures: [Failure]
    public init(pages: [Page], failures: [Failure]) {
        self.pages = pages
        self.failures = failures
    }
    public var context: [String: Any] {
        ["pages": pages.map { p -> [String: Any] in
            let r = p.restriction, s = r.statusPage ?? .intuneDefault
            return ["priority": r.isDefault ? "Default" : String(r.priority), "name": r.isDefault ? "All users and all devices" : r.displayName,
                    "groups": r.isDefault ? "everyone" : p.groups, "shown": s.showInstallationProgress ? "yes" : "no", "blocking": p.blocking,
                    "timeout": s.installProgressTimeoutInMinutes, "buttons": s.failureButtons.joined(separator: ", "),
                    "message": s.customErrorMessage.isEmpty ? StatusPageSettings.windowsErrorText : s.customErrorMessage]
         },
         "failures": failures.map { f -> [String: Any] in
             let a = f.attempt
             return ["time": ConsoleTime.short(a.time), "upn": a.facts.upn ?? "", "device": a.facts.deviceName ?? a.enrollmentID ?? "",
                     "code": a.code ?? "", "reason": f.reason, "fix": f.fix]
         }]
    }
}

/// Devices › Windows › Autopilot deployment profiles: each profile, how many devices it wins, the lint's warnings, and
/// the form that previews a device name template before creating a profile.
public struct AutopilotProfilesPage: PageModel {
    public struct Row: Sendable {
        public var profile: AutopilotProfile
        public var groups: String
        /// Devices this profile is the one that applies to.
        public var devices: Int
        public var warnings: [String]
        public init(profile: AutopilotProfile, groups: String, devices: Int, warnings: [String]) {
            self.profile = profile
            self.groups = groups
            self.devices = devices
            self.warnings = warnings
        }
    }
    /// The New profile form as last submitted, with the name a serial number would get or what is wrong with the template.
    public struct Form: Sendable {
        public var name, template, serial: String
        public var preview: String?
        public var problems: [String]
        public init(name: String = "", template: String = "", serial: String = "PF3X9K2L7Q8R", preview: String? = nil, problems: [String] = []) {
            self.name = name
            self.template = template
            self.serial = serial
            self.preview = preview
            self.problems = problems
        }
    }
    public static let template = "autopilot"
    public var rows: [Row]
    public var form: Form
    public init(rows: [Row], form: Form = Form()) {
        self.rows = rows
        self.form = form
    }
    public var context: [String: Any] {
        var m: [String: Any] = [
            "profiles": rows.map { r -> [String: Any] in
                let p = r.profile
                return ["name": p.displayName, "join": p.joinType == .entra ? "Microsoft Entra joined" : "Hybrid joined",
                        "template": p.deviceNameTemplate ?? "", "groups": r.groups, "devices": r.devices, "created": ConsoleTime.short(p.createdAt),
                        "warnings": r.warnings]
            },
            "template": form.template, "serial": form.serial, "name": form.name,
        ]
        if let p = form.preview { m["preview"] = p }
        if !form.problems.isEmpty { m["problems"] = form.problems; m["hasProblems"] = true }
        return m
    }
}

/// Devices › Windows › Autopilot devices: the imported devices, the profile each gets, the lint's warnings, and the
/// result of a CSV upload, row by row.
public struct AutopilotDevicesPage: PageModel {
    public struct Row: Sendable {
        public var device: AutopilotDevice
        public var profile: String
        public var warnings: [String]
        public init(device: AutopilotDevice, profile: String, warnings: [String]) {
            self.device = device
            self.profile = profile
            self.warnings = warnings
        }
    }
    /// An upload: every row's result, or why the whole file was refused.
    public enum Upload: Sendable {
        case imported([AutopilotImportRow])
        case refused(String)
    }
    public static let template = "autopilotDevices"
    public var rows: [Row]
    public var upload: Upload?
    public init(rows: [Row], upload: Upload? = nil) {
        self.rows = rows
        self.upload = upload
    }
    public var context: [String: Any] {
        var m: [String: Any] = [
            "devices": rows.map { r -> [String: Any] in
                let d = r.device
                return ["serial": d.serialNumber, "model": [d.manufacturer, d.model].compactMap { $0 }.joined(separator: " "),
                        "tag": d.groupTag, "user": d.assignedUser ?? "", "profile": r.profile,
                        "state": ["notContacted": "Not contacted", "enrolled": "Enrolled", "failed": "Failed"][d.enrollmentState.rawValue] ?? "",
                        "imported": ConsoleTime.short(d.importedAt), "warnings": r.warnings]
            },
        ]
        switch upload {
        case .imported(let rows)?:
            m["results"] = rows.map { r -> [String: Any] in
                ["line": r.line, "serial": r.serialNumber, "status": r.status == .complete ? "Imported" : "Error",
                 "error": r.errorName.map { n in r.errorCode == 0 ? n : "\(r.errorCode) \(n)" } ?? "", "message": r.message ?? ""]
            }
            let ok = rows.filter { $0.status == .complete }.count
            m["summary"] = "\(ok) of \(rows.count) device\(rows.count == 1 ? "" : "s") imported."
        case .refused(let why)?: m["uploadError"] = why
        case nil: break
        }
        return m
    }
}
