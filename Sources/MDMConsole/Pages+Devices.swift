import Foundation
import MDMCore

/// A device's page: overview (user, ownership and why, check-ins, certificate), compliance, profiles, commands,
/// inventory and the enrollment attempts about it.
public struct DevicePage: PageModel {
    public static let template = "device"
    public var enrollment: Enrollment
    public var schedule: CheckInSchedule
    public var now: Date
    public var commands: [DeviceCommand]
    public var attempts: [EnrollmentAttempt]
    public var profiles: [DeviceProfileState]
    public var compliance: [DeviceCompliance]

    public init(enrollment: Enrollment, schedule: CheckInSchedule, now: Date, commands: [DeviceCommand], attempts: [EnrollmentAttempt],
                profiles: [DeviceProfileState], compliance: [DeviceCompliance]) {
        self.enrollment = enrollment
        self.schedule = schedule
        self.now = now
        self.commands = commands
        // The attempts of this enrollment, and the failures of the same hardware (a retry that was refused).
        self.attempts = Array(attempts.filter {
            $0.enrollmentID == enrollment.id || ($0.facts.hwDevID == enrollment.hwDevID && $0.outcome == .failed)
        }.prefix(20))
        self.profiles = profiles
        self.compliance = compliance
    }

    public var title: String { enrollment.deviceName ?? "Device" }

    public var context: [String: Any] {
        let e = enrollment
        return [
            "id": e.id, "name": e.deviceName ?? e.deviceID, "deviceID": e.deviceID, "hwDevID": e.hwDevID,
            "user": e.primaryUser ?? "none (enrolled by \(e.upn))", "hasUser": e.primaryUser != nil, "upn": e.upn,
            "ownership": e.ownership.rawValue.capitalized, "ownershipReason": e.ownershipRecord?.reason ?? "",
            "kind": e.kind.rawValue, "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
            "state": e.state.rawValue, "active": e.state == .active, "enrolled": ConsoleTime.short(e.enrolledAt),
            "seen": e.lastSeenAt.map(ConsoleTime.short) ?? "never",
            "next": e.state == .active ? ConsoleTime.short(schedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: now)) : "-",
            "thumbprint": e.certificateThumbprint, "expires": ConsoleTime.short(e.certificateNotAfter),
            "renewed": e.certificateRenewedAt.map(ConsoleTime.short) ?? "not yet",
            "inventory": (e.inventory ?? [:]).sorted { $0.key < $1.key }.map { ["node": $0.key, "value": $0.value] },
            "commands": commands.map { cmd -> [String: Any] in
                ["kind": cmd.kind, "target": cmd.allItems.first?.target ?? "", "state": cmd.state.rawValue, "status": cmd.status ?? "-",
                 "meaning": cmd.status.map(OMAStatus.meaning) ?? "", "created": ConsoleTime.short(cmd.createdAt), "note": cmd.note ?? ""]
            },
            "attempts": attempts.map { a -> [String: Any] in
                ["id": a.id, "time": ConsoleTime.short(a.time), "phase": a.phase.rawValue, "outcome": a.outcome.rawValue, "code": a.code ?? "",
                 "reason": a.denials.first.map { "[\($0.rule.rawValue)] \($0.reason)" } ?? a.fault?.reason ?? a.notes.first ?? ""]
            },
            "profiles": profiles.map { p -> [String: Any] in
                ["name": p.profileName, "version": p.version, "state": p.state.rawValue,
                 "failed": p.settings.filter { $0.state == .failed }.map { "\($0.locURI): \($0.status ?? "?") \(OMAStatus.meaning($0.status ?? ""))" }]
            },
            "compliance": compliance.map { ["name": $0.policyName, "state": $0.state.rawValue, "reasons": $0.reasons] as [String: Any] },
        ]
    }
}

/// Retire… or Delete…: what will happen to the device, with the one button that does it.
public struct DeviceActionPage: PageModel {
    public enum Action: String, Sendable { case retire, delete }
    public static let template = "confirm"
    public var enrollment: Enrollment
    public var action: Action

    public init(enrollment: Enrollment, action: Action) {
        self.enrollment = enrollment
        self.action = action
    }

    public var name: String { enrollment.deviceName ?? enrollment.deviceID }
    public var title: String { "\(action.rawValue.capitalized) \(name)?" }

    public var consequences: [String] {
        let e = enrollment
        switch action {
        case .retire:
            return [
                "\(name) stops being managed: its certificate is no longer accepted at check-in, and no command or profile reaches it.",
                "It no longer counts toward \(e.upn)'s device limit\(e.kind == .user ? "" : " or device registration quota").",
                "The record stays (Windows devices › All, winmdm devices list --all) with its attempts and audit history.",
                "On the PC the work account stays until someone removes it; to remove it from the device itself, use Sync with an unenroll command (winmdm devices command \(e.id) unenroll) before retiring.",
            ]
        case .delete:
            return [
                "The record of \(name) is removed: it disappears from every list, and its certificate is no longer accepted.",
                "It no longer counts toward \(e.upn)'s device limit.",
                "Its past attempts and the audit log keep their entries. The device can enroll again as a new device.",
            ]
        }
    }

    public var context: [String: Any] {
        ["id": enrollment.id, "name": name, "upn": enrollment.upn, "action": action.rawValue, "label": action.rawValue.capitalized,
         "consequences": consequences]
    }
}

/// The audit log: who changed what, with the fields each change changed, filtered like `winmdm audit list`.
public struct AuditPage: PageModel {
    public struct Filter: Sendable {
        public var actor, target, action, since: String?
        public init(actor: String?, target: String?, action: String?, since: String?) {
            self.actor = actor
            self.target = target
            self.action = action
            self.since = since
        }
    }
    public static let template = "audit"
    public var entries: [AuditEntry]
    public var filter: Filter
    /// How many were asked for; one more read tells whether there are more.
    public var limit: Int

    public init(entries: [AuditEntry], filter: Filter, limit: Int) {
        self.entries = entries
        self.filter = filter
        self.limit = limit
    }

    /// How many entries to show: 1 to 1,000, 100 when none or nonsense.
    public static func limit(_ query: String?) -> Int { min(max(Int(query ?? "") ?? 100, 1), 1000) }

    public var context: [String: Any] {
        var m: [String: Any] = [
            "entries": entries.prefix(limit).map { e -> [String: Any] in
                let changes = e.changes
                return ["time": ConsoleTime.short(e.time), "actor": e.actor, "action": e.action, "target": e.target,
                        "changes": changes.prefix(15).map { ["field": $0.field, "before": $0.before ?? "—", "after": $0.after ?? "—"] },
                        "more": changes.count > 15 ? "… \(changes.count - 15) more fields" : ""]
            },
            "actor": filter.actor ?? "", "target": filter.target ?? "", "action": filter.action ?? "", "since": filter.since ?? "",
        ]
        if entries.count > limit {
            var more = URLComponents()
            more.queryItems = [("actor", filter.actor), ("target", filter.target), ("action", filter.action), ("since", filter.since)]
                .compactMap { k, v in v.map { URLQueryItem(name: k, value: $0) } } + [URLQueryItem(name: "limit", value: String(min(limit * 2, 1000)))]
            m["more"] = "/console/audit" + (more.url?.absoluteString ?? "")
        }
        return m
    }
}
