import Foundation
import MDMCore

/// The in-memory backend: for tests and for trying things out; loses everything on exit.
public actor InMemoryStore: MDMStore {
    var usersByUPN: [String: User] = [:]
    var settings: TenantSettings?
    var enrollmentsByID: [String: Enrollment] = [:]
    var attemptsList: [EnrollmentAttempt] = []
    var groupsByID: [String: Group] = [:]
    var audit: [AuditEntry] = []
    var queue: [DeviceCommand] = []
    var throttleEntries: [String: SignInThrottle] = [:]

    public init() {}

    public func user(upn: String) -> User? { usersByUPN[UPN.normalize(upn)] }
    public func users() -> [User] { usersByUPN.values.sorted { $0.upn < $1.upn } }
    public func insertUser(_ user: User) throws {
        guard usersByUPN[user.upn] == nil else { throw StorageError(.conflict, "A user \(user.upn) already exists.") }
        usersByUPN[user.upn] = user
    }
    public func updateUser(_ user: User) throws {
        guard usersByUPN[user.upn] != nil else { throw StorageError(.notFound, "No user \(user.upn).") }
        usersByUPN[user.upn] = user
    }
    public func deleteUser(id: String) throws {
        guard let u = usersByUPN.values.first(where: { $0.id == id }) else { throw StorageError(.notFound, "No user \(id).") }
        usersByUPN[u.upn] = nil
    }
    public func groups() -> [Group] { groupsByID.values.sorted { $0.displayName.lowercased() < $1.displayName.lowercased() } }
    public func insertGroup(_ group: Group) throws {
        guard !groupsByID.values.contains(where: { $0.displayName.lowercased() == group.displayName.lowercased() }) else {
            throw StorageError(.conflict, "A group named \(group.displayName) already exists.")
        }
        groupsByID[group.id] = group
    }
    public func updateGroup(_ group: Group) throws {
        guard groupsByID[group.id] != nil else { throw StorageError(.notFound, "No group \(group.id).") }
        groupsByID[group.id] = group
    }
    public func deleteGroup(id: String) throws {
        guard groupsByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No group \(id).") }
    }
    public func tenantSettings() -> TenantSettings? { settings }
    public func saveTenantSettings(_ settings: TenantSettings) { self.settings = settings }
    public func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void) throws -> (before: TenantSettings, after: TenantSettings) {
        guard let before = settings else { throw StorageError(.notFound, "The tenant settings are missing.") }
        var after = before
        try change(&after)
        settings = after
        return (before, after)
    }
    public func appendAudit(_ entry: AuditEntry) { audit.append(entry) }
    public func auditEntries(limit: Int) -> [AuditEntry] { Array(audit.reversed().prefix(limit)) }
    public func updateEnrollment(_ e: Enrollment) throws {
        guard enrollmentsByID[e.id] != nil else { throw StorageError(.notFound, "No enrollment \(e.id).") }
        enrollmentsByID[e.id] = e
    }
    public func deleteEnrollment(id: String) throws {
        guard enrollmentsByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No enrollment \(id).") }
    }

    public func enrollments(upn: String) -> [Enrollment] {
        enrollmentsByID.values.filter { $0.upn == UPN.normalize(upn) }.sorted { $0.enrolledAt < $1.enrolledAt }
    }
    public func activeEnrollments(hwDevID: String) -> [Enrollment] {
        enrollmentsByID.values.filter { $0.hwDevID == hwDevID && $0.state == .active }
    }
    public func enrollment(id: String) -> Enrollment? { enrollmentsByID[id] }
    public func enrollment(certificateThumbprint: String) -> Enrollment? {
        enrollmentsByID.values.first { $0.accepts(certificateThumbprint: certificateThumbprint) }
    }
    public func checkIn(certificateThumbprint: String) -> (enrollment: Enrollment, hasQueuedCommands: Bool)? {
        guard let e = enrollment(certificateThumbprint: certificateThumbprint) else { return nil }
        return (e, !queuedCommands(enrollmentID: e.id).isEmpty)
    }
    public func markSeen(enrollmentID: String, at: Date) {
        enrollmentsByID[enrollmentID]?.lastSeenAt = at
    }
    public func modifyEnrollment(id: String, _ change: @Sendable (inout Enrollment) throws -> Void) throws -> Enrollment {
        guard var e = enrollmentsByID[id] else { throw StorageError(.notFound, "No enrollment \(id).") }
        try change(&e)
        enrollmentsByID[id] = e
        return e
    }
    public func allEnrollments() -> [Enrollment] { enrollmentsByID.values.sorted { $0.enrolledAt < $1.enrolledAt } }

    public func commitEnrollment(_ enrollment: Enrollment, check: @Sendable ([Enrollment]) -> [Denial]) -> [Denial] {
        // Actor isolation makes the read-check-write below one step: nothing interleaves (no await inside).
        let current = enrollments(upn: enrollment.upn)
        let denials = check(current)
        guard denials.isEmpty else { return denials }
        for e in current where e.state == .active && e.hwDevID == enrollment.hwDevID {
            enrollmentsByID[e.id]?.state = .unenrolled
        }
        enrollmentsByID[enrollment.id] = enrollment
        return []
    }

    public func enqueue(_ command: DeviceCommand) { queue.append(command) }
    public func queuedCommands(enrollmentID: String) -> [DeviceCommand] {
        queue.filter { $0.enrollmentID == enrollmentID && $0.state == .queued }
    }
    public func sentCommands(enrollmentID: String) -> [DeviceCommand] {
        queue.filter { $0.enrollmentID == enrollmentID && $0.state == .sent }
    }
    public func updateCommand(_ command: DeviceCommand) throws {
        guard let i = queue.firstIndex(where: { $0.id == command.id }) else { throw StorageError(.notFound, "No command \(command.id).") }
        queue[i] = command
    }
    public func command(id: String) -> DeviceCommand? { queue.first { $0.id == id } }
    public func commands(enrollmentID: String, limit: Int) -> [DeviceCommand] {
        Array(queue.filter { $0.enrollmentID == enrollmentID }.reversed().prefix(limit))
    }

    public func recordAttempt(_ attempt: EnrollmentAttempt) { attemptsList.append(attempt) }
    public func attempt(id: String) -> EnrollmentAttempt? { attemptsList.first { $0.id == id } }
    public func attempts(_ q: AttemptQuery) -> [EnrollmentAttempt] {
        Array(attemptsList.reversed().filter {
            (!q.failedOnly || $0.outcome == .failed) && (q.upn == nil || $0.facts.upn == q.upn)
                && (q.since == nil || $0.time >= q.since!)
        }.prefix(q.limit))
    }

    public func noteRepeat(attemptID: String, at: Date) {
        guard let i = attemptsList.firstIndex(where: { $0.id == attemptID }) else { return }
        attemptsList[i].repeats = (attemptsList[i].repeats ?? 0) + 1
        attemptsList[i].lastRepeatAt = at
    }

    // MARK: SignInThrottleStore

    public func throttles(keys: [String]) -> [SignInThrottle] { keys.compactMap { throttleEntries[$0] } }
    public func updateThrottles(keys: [String], _ change: @Sendable (inout [SignInThrottle]) -> Void) -> [SignInThrottle] {
        var entries = keys.map { throttleEntries[$0] ?? SignInThrottle(key: $0) }
        change(&entries)
        for e in entries { throttleEntries[e.key] = e }
        return entries
    }
    public func activeThrottles(now: Date) -> [SignInThrottle] {
        throttleEntries.values.filter { $0.isLocked(at: now) || $0.failures > 0 }
            .sorted { ($0.lastFailure ?? .distantPast, $0.key) > ($1.lastFailure ?? .distantPast, $1.key) }
    }
    public func clearThrottles(matching subject: String) -> [SignInThrottle] {
        let gone = throttleEntries.values.filter { SignInThrottle.keyMatches($0.key, subject) }
        for g in gone { throttleEntries[g.key] = g.cleared }
        return gone.sorted { $0.key < $1.key }
    }
}
