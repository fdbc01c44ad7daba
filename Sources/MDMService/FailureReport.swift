import Foundation
import MDMCore
import MDMStorage

/// The questions the seed article says to collect before troubleshooting, answered from recorded attempts.
public struct FailureReport: Sendable, Codable {
    public struct CodeRow: Sendable, Codable {
        public var code: String
        public var rule: String?
        public var reason: String
        public var count: Int
        public var phases: [String: Int]
        public var firstSeen: Date
        public var lastSeen: Date
    }

    public struct UserRow: Sendable, Codable {
        public var upn: String
        public var failures: Int
        public var codes: [String]
        /// Whether this user ever enrolled successfully (any time).
        public var everWorked: Bool
        public var licenses: [String]
    }

    public var since: Date
    public var until: Date
    public var failedAttempts: Int
    public var succeededAttempts: Int
    public var codes: [CodeRow]
    public var phases: [String: Int]
    public var firstFailure: Date?
    public var lastFailure: Date?
    public var affectedUsers: Int
    /// Users with any attempt in the window: "all users or some?"
    public var usersWithAttempts: Int
    public var affectedDevices: Int
    public var devicesEverWorked: Int
    public var windowsVersions: [String: Int]
    public var windowsEditions: [String: Int]
    public var enrollmentMethods: [String: Int]
    public var users: [UserRow]

    /// "All users", "some users (3 of 10)", or "no users".
    public var scope: String {
        if affectedUsers == 0 { return "no users" }
        return affectedUsers == usersWithAttempts ? "all users who tried (\(affectedUsers))" : "some users (\(affectedUsers) of \(usersWithAttempts) who tried)"
    }

    public static func build(store: any MDMStore, since: Date, until: Date = Date(), limit: Int = 100_000) async throws -> FailureReport {
        let attempts = try await store.attempts(AttemptQuery(limit: limit, since: since)).filter { $0.time <= until }
        let failed = attempts.filter { $0.outcome == .failed }
        var codes: [String: CodeRow] = [:]
        for a in failed {
            let code = a.code ?? "none"
            let rule = a.denials.first?.rule.rawValue
            let key = code + "|" + (rule ?? "")
            var row = codes[key] ?? CodeRow(code: code, rule: rule, reason: a.denials.first?.reason ?? a.fault?.reason ?? "",
                                            count: 0, phases: [:], firstSeen: a.time, lastSeen: a.time)
            row.count += 1
            row.phases[a.phase.rawValue, default: 0] += 1
            row.firstSeen = min(row.firstSeen, a.time)
            row.lastSeen = max(row.lastSeen, a.time)
            codes[key] = row
        }
        func count<K: Hashable>(_ xs: [K]) -> [K: Int] { xs.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        let failedUPNs = Set(failed.compactMap(\.facts.upn))
        let triedUPNs = Set(attempts.compactMap(\.facts.upn))
        let failedDevices = Set(failed.compactMap(\.facts.hwDevID))
        var everWorkedDevices = 0
        for hw in failedDevices where try await !store.activeEnrollments(hwDevID: hw).isEmpty { everWorkedDevices += 1 }
        let settings = try await store.tenantSettings()
        var users: [UserRow] = []
        for upn in failedUPNs.sorted() {
            let mine = failed.filter { $0.facts.upn == upn }
            let history = try await store.attempts(AttemptQuery(limit: 10_000, upn: upn))
            let user = try await store.user(upn: upn)
            let hasEnrollments = !(try await store.enrollments(upn: upn)).isEmpty
            users.append(UserRow(upn: upn, failures: mine.count, codes: Array(Set(mine.compactMap(\.code))).sorted(),
                                 everWorked: hasEnrollments || history.contains { $0.phase == .enroll && $0.outcome == .succeeded },
                                 licenses: user?.assignedLicenses.compactMap { settings?.product($0)?.skuPartNumber } ?? []))
        }
        return FailureReport(
            since: since, until: until, failedAttempts: failed.count, succeededAttempts: attempts.count - failed.count,
            codes: codes.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.code < $1.code },
            phases: count(failed.map(\.phase.rawValue)), firstFailure: failed.map(\.time).min(), lastFailure: failed.map(\.time).max(),
            affectedUsers: failedUPNs.count, usersWithAttempts: triedUPNs.count, affectedDevices: failedDevices.count,
            devicesEverWorked: everWorkedDevices,
            windowsVersions: count(failed.compactMap(\.facts.osVersion)),
            windowsEditions: count(failed.compactMap { $0.facts.osEdition.map { "\(WindowsEdition.name($0)) (\($0))" } }),
            enrollmentMethods: count(failed.compactMap { $0.facts.kind?.rawValue ?? $0.facts.enrollmentType.map { $0 == .device ? "device" : "user" } }),
            users: users)
    }
}
