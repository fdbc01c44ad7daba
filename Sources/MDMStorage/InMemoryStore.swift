import Foundation
import MDMCore

/// The in-memory backend: for tests and for trying things out; loses everything on exit.
public actor InMemoryStore: MDMStore {
    /// By id; `upnIndex` maps each UPN to its id.
    var usersByID: [String: User] = [:]
    var upnIndex: [String: String] = [:]
    var settings: TenantSettings?
    /// Stored with the UPN they were made with; `owners` maps an enrollment to its user's id, and reads carry the
    /// owner's current UPN (a rename moves nothing).
    var enrollmentsByID: [String: Enrollment] = [:]
    var owners: [String: String] = [:]
    var attemptsList: [EnrollmentAttempt] = []
    var groupsByID: [String: Group] = [:]
    var audit: [AuditEntry] = []
    var queue: [DeviceCommand] = []
    var throttleEntries: [String: SignInThrottle] = [:]
    var profilesByID: [String: ConfigurationProfile] = [:]
    /// enrollment id → profile id → state.
    var profileStatesByEnrollment: [String: [String: DeviceProfileState]] = [:]
    var revision = 0
    var reconciled: [String: Int] = [:]
    var autopilotByID: [String: AutopilotDevice] = [:]
    var identifiersByKey: [String: DeviceIdentifier] = [:]

    public init() {}

    public func user(upn: String) -> User? { upnIndex[UPN.normalize(upn)].flatMap { usersByID[$0] } }
    public func user(id: String) -> User? { usersByID[id] }
    public func users() -> [User] { usersByID.values.sorted { $0.upn < $1.upn } }
    public func users(after: String?, limit: Int) -> [User] {
        Array(users().filter { $0.upn > (after ?? "") }.prefix(max(0, limit)))
    }
    public func insertUser(_ user: User) throws {
        guard upnIndex[user.upn] == nil, usersByID[user.id] == nil else { throw StorageError(.conflict, "A user \(user.upn) already exists.") }
        usersByID[user.id] = user
        upnIndex[user.upn] = user.id
    }
    public func updateUser(_ user: User) throws {
        guard let old = usersByID[user.id] else { throw StorageError(.notFound, "No user \(user.id).") }
        if let other = upnIndex[user.upn], other != user.id { throw StorageError(.conflict, "A user \(user.upn) already exists.") }
        upnIndex[old.upn] = nil
        upnIndex[user.upn] = user.id
        usersByID[user.id] = user
    }
    public func deleteUser(id: String) throws {
        guard let u = usersByID.removeValue(forKey: id) else { throw StorageError(.notFound, "No user \(id).") }
        upnIndex[u.upn] = nil
        for (gid, var g) in groupsByID where g.members.contains(id) {
            g.members.removeAll { $0 == id }
            groupsByID[gid] = g
        }
        for (eid, owner) in owners where owner == id {
            owners[eid] = nil
            enrollmentsByID[eid]?.upn = u.upn  // past enrollments keep the UPN they were made with
        }
    }
    public func group(id: String) -> Group? { groupsByID[id] }
    public func groupIDs(of userID: String) -> Set<String> { Set(groupsByID.values.filter { $0.members.contains(userID) }.map(\.id)) }
    public func groupIDs(ofDevice hwDevID: String) -> Set<String> { Set(groupsByID.values.filter { $0.devices.contains(hwDevID) }.map(\.id)) }
    public func groups() -> [Group] { groupsByID.values.sorted { $0.displayName.lowercased() < $1.displayName.lowercased() } }
    public func insertGroup(_ group: Group) throws {
        guard !groupsByID.values.contains(where: { $0.displayName.lowercased() == group.displayName.lowercased() }) else {
            throw StorageError(.conflict, "A group named \(group.displayName) already exists.")
        }
        groupsByID[group.id] = group
        revision += 1
    }
    public func updateGroup(_ group: Group) throws {
        guard groupsByID[group.id] != nil else { throw StorageError(.notFound, "No group \(group.id).") }
        guard !groupsByID.values.contains(where: { $0.id != group.id && $0.displayName.lowercased() == group.displayName.lowercased() }) else {
            throw StorageError(.conflict, "A group named \(group.displayName) already exists.")
        }
        if groupsByID[group.id]?.members != group.members || groupsByID[group.id]?.devices != group.devices { revision += 1 }
        groupsByID[group.id] = group
    }
    public func deleteGroup(id: String) throws {
        guard groupsByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No group \(id).") }
        revision += 1
    }
    public func tenantSettings() -> TenantSettings? { settings }
    public func apiToken(sha256: String) -> APIToken? { settings?.apiTokens.first { $0.sha256 == sha256 } }
    public func noteTokenUse(id: String, at: Date) {
        guard let i = settings?.apiTokens.firstIndex(where: { $0.id == id }) else { return }
        settings?.apiTokens[i].lastUsedAt = at
    }
    public func saveTenantSettings(_ settings: TenantSettings) { self.settings = settings }
    public func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void,
                                     audit entry: @Sendable (TenantSettings, TenantSettings) -> AuditEntry?) throws -> (before: TenantSettings, after: TenantSettings) {
        guard let before = settings else { throw StorageError(.notFound, "The tenant settings are missing.") }
        var after = before
        try change(&after)
        guard after != before else { return (before, after) }
        settings = after
        if let e = entry(before, after) { audit.append(e) }
        return (before, after)
    }
    public func appendAudit(_ entry: AuditEntry) { audit.append(entry) }
    public func auditEntries(_ q: AuditQuery) -> [AuditEntry] {
        func has(_ value: String, _ part: String?) -> Bool { part.map { value.lowercased().contains($0.lowercased()) } ?? true }
        return Array(audit.reversed().filter { e in
            has(e.actor, q.actor) && has(e.target, q.target) && (q.action.map { e.action.lowercased().hasPrefix($0.lowercased()) } ?? true)
                && (q.since.map { e.time >= $0 } ?? true)
        }.prefix(q.limit))
    }
    public func pruneAudit(before date: Date) -> Int {
        let n = audit.count
        audit.removeAll { $0.time < date }
        return n - audit.count
    }
    /// The enrollment as read: with its owner's current UPN.
    func read(_ e: Enrollment) -> Enrollment {
        var e = e
        if let owner = owners[e.id], let u = usersByID[owner] { e.upn = u.upn }
        return e
    }
    func store(_ e: Enrollment) {
        enrollmentsByID[e.id] = e
        if let id = upnIndex[UPN.normalize(e.upn)] { owners[e.id] = id }
    }
    func sorted(_ list: some Sequence<Enrollment>) -> [Enrollment] {
        list.map(read).sorted { ($0.enrolledAt, $0.id) < ($1.enrolledAt, $1.id) }
    }

    public func updateEnrollment(_ e: Enrollment) throws {
        guard enrollmentsByID[e.id] != nil else { throw StorageError(.notFound, "No enrollment \(e.id).") }
        store(e)
    }
    public func deleteEnrollment(id: String) throws {
        guard enrollmentsByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No enrollment \(id).") }
        owners[id] = nil
        profileStatesByEnrollment[id] = nil
        reconciled[id] = nil
    }

    public func enrollments(upn: String) -> [Enrollment] {
        let n = UPN.normalize(upn)
        if let uid = upnIndex[n] { return sorted(enrollmentsByID.values.filter { owners[$0.id] == uid }) }
        return sorted(enrollmentsByID.values.filter { owners[$0.id] == nil && $0.upn == n })
    }
    public func activeEnrollments(upn: String) -> [Enrollment] { enrollments(upn: upn).filter { $0.state == .active } }
    public func activeEnrollmentCounts(upns: [String]) -> [String: Int] {
        var out: [String: Int] = [:]
        for u in Set(upns.map(UPN.normalize)) { let n = activeEnrollments(upn: u).count; if n > 0 { out[u] = n } }
        return out
    }
    public func enrollments(after: String?, limit: Int, activeOnly: Bool) -> [Enrollment] {
        var all = sorted(enrollmentsByID.values.filter { !activeOnly || $0.state == .active })
        if let after, let a = enrollmentsByID[after] { all = all.filter { ($0.enrolledAt, $0.id) > (a.enrolledAt, a.id) } }
        return Array(all.prefix(max(0, limit)))
    }
    public func activeEnrollments(hwDevID: String) -> [Enrollment] {
        sorted(enrollmentsByID.values.filter { $0.hwDevID == hwDevID && $0.state == .active })
    }
    public func enrollment(id: String) -> Enrollment? { enrollmentsByID[id].map(read) }
    public func enrollment(certificateThumbprint: String) -> Enrollment? {
        enrollmentsByID.values.first { $0.accepts(certificateThumbprint: certificateThumbprint) }.map(read)
    }
    public func checkIn(certificateThumbprint: String) -> CheckInRecord? {
        guard let e = enrollment(certificateThumbprint: certificateThumbprint) else { return nil }
        return CheckInRecord(enrollment: e, hasQueuedCommands: !queuedCommands(enrollmentID: e.id).isEmpty,
                             hasSentCommands: !sentCommands(enrollmentID: e.id).isEmpty, profilesRevision: revision,
                             reconciledRevision: reconciled[e.id] ?? 0)
    }
    public func markSeen(enrollmentID: String, at: Date) {
        enrollmentsByID[enrollmentID]?.lastSeenAt = at
    }
    public func modifyEnrollment(id: String, _ change: @Sendable (inout Enrollment) throws -> Void) throws -> Enrollment {
        guard var e = enrollment(id: id) else { throw StorageError(.notFound, "No enrollment \(id).") }
        try change(&e)
        store(e)
        return e
    }
    public func allEnrollments() -> [Enrollment] { sorted(enrollmentsByID.values) }

    public func commitEnrollment(_ enrollment: Enrollment, check: @Sendable ([Enrollment]) -> [Denial]) -> [Denial] {
        // Actor isolation makes the read-check-write below one step: nothing interleaves (no await inside).
        let current = activeEnrollments(upn: enrollment.upn)
        let denials = check(current)
        guard denials.isEmpty else { return denials }
        for e in current where e.hwDevID == enrollment.hwDevID { enrollmentsByID[e.id]?.state = .unenrolled }
        store(enrollment)
        return []
    }

    public func enqueue(_ command: DeviceCommand) { queue.append(command) }
    public func operationalCounts() -> OperationalCounts {
        OperationalCounts(users: usersByID.count, activeEnrollments: enrollmentsByID.values.filter { $0.state == .active }.count,
                          queuedCommands: queue.filter { $0.state == .queued }.count, sentCommands: queue.filter { $0.state == .sent }.count)
    }
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
            (!q.failedOnly || $0.outcome == .failed) && (q.upn == nil || $0.facts.upn.map(UPN.normalize) == UPN.normalize(q.upn!))
                && (q.since == nil || $0.time >= q.since!)
        }.prefix(q.limit))
    }

    public func pruneAttempts(before date: Date) -> Int {
        let n = attemptsList.count
        attemptsList.removeAll { $0.time < date }
        return n - attemptsList.count
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

    // MARK: Profiles

    public func configurationProfiles() -> [ConfigurationProfile] {
        profilesByID.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }
    public func configurationProfile(id: String) -> ConfigurationProfile? { profilesByID[id] }
    public func saveConfigurationProfile(_ profile: ConfigurationProfile, audit entry: AuditEntry?) throws {
        if profilesByID.values.contains(where: { $0.id != profile.id && $0.name.lowercased() == profile.name.lowercased() }) {
            throw StorageError(.conflict, "A profile named \(profile.name) already exists.")
        }
        profilesByID[profile.id] = profile
        revision += 1
        if let entry { audit.append(entry) }
    }
    public func deleteConfigurationProfile(id: String, audit entry: AuditEntry?) throws {
        guard profilesByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No profile \(id).") }
        revision += 1
        if let entry { audit.append(entry) }
    }
    public func profilesRevision() -> Int { revision }
    public func raiseProfilesRevision() { revision += 1 }
    public func profileStates(enrollmentID: String) -> [DeviceProfileState] {
        (profileStatesByEnrollment[enrollmentID] ?? [:]).values.sorted { $0.profileName.lowercased() < $1.profileName.lowercased() }
    }
    public func profileStates(profileID: String) -> [DeviceProfileState] {
        profileStatesByEnrollment.values.compactMap { $0[profileID] }.sorted { $0.enrollmentID < $1.enrollmentID }
    }
    public func modifyProfileState(enrollmentID: String, profileID: String, _ change: @Sendable (inout DeviceProfileState) -> Bool) {
        guard var s = profileStatesByEnrollment[enrollmentID]?[profileID] else { return }
        if change(&s) { profileStatesByEnrollment[enrollmentID]?[profileID] = s } else { profileStatesByEnrollment[enrollmentID]?[profileID] = nil }
    }
    public func reconcileProfiles(enrollmentID: String, revision r: Int,
                                  plan: @Sendable ([ConfigurationProfile], Set<String>, Set<String>, [DeviceProfileState]) -> ProfilePlan) -> ProfilePlan? {
        guard let e = enrollmentsByID[enrollmentID], (reconciled[enrollmentID] ?? 0) < r else { return nil }
        reconciled[enrollmentID] = r
        let groups = owners[enrollmentID].map(groupIDs(of:)) ?? []
        let p = plan(configurationProfiles(), groups, groupIDs(ofDevice: e.hwDevID), profileStates(enrollmentID: enrollmentID))
        queue += p.commands
        for st in p.states { profileStatesByEnrollment[enrollmentID, default: [:]][st.profileID] = st }
        for id in p.dropped { profileStatesByEnrollment[enrollmentID]?[id] = nil }
        return p
    }
}

extension InMemoryStore {
    public func autopilotDevices() -> [AutopilotDevice] { autopilotByID.values.sorted { ($0.importedAt, $0.serialKey) < ($1.importedAt, $1.serialKey) } }
    public func autopilotDevice(id: String) -> AutopilotDevice? { autopilotByID[id] }
    public func autopilotDevice(serial: String) -> AutopilotDevice? {
        let k = AutopilotDevice.serialKey(serial)
        return autopilotByID.values.first { $0.serialKey == k }
    }
    public func autopilotDevice(hwDevID: String) -> AutopilotDevice? { autopilotByID.values.first { $0.hwDevID == hwDevID } }
    public func insertAutopilotDevices(_ devices: [AutopilotDevice]) throws {
        var keys = Set(autopilotByID.values.map(\.serialKey))
        for d in devices {
            guard keys.insert(d.serialKey).inserted, autopilotByID[d.id] == nil else {
                throw StorageError(.conflict, "An Autopilot device with serial number \(d.serialNumber) already exists.")
            }
        }
        for d in devices { autopilotByID[d.id] = d }
    }
    public func updateAutopilotDevice(_ device: AutopilotDevice) throws {
        guard autopilotByID[device.id] != nil else { throw StorageError(.notFound, "No Autopilot device \(device.id).") }
        if autopilotByID.values.contains(where: { $0.id != device.id && $0.serialKey == device.serialKey }) {
            throw StorageError(.conflict, "An Autopilot device with serial number \(device.serialNumber) already exists.")
        }
        autopilotByID[device.id] = device
    }
    public func deleteAutopilotDevice(id: String) throws {
        guard autopilotByID.removeValue(forKey: id) != nil else { throw StorageError(.notFound, "No Autopilot device \(id).") }
    }
    public func registrationCounts() -> (autopilot: Int, identifiers: Int) { (autopilotByID.count, identifiersByKey.count) }
    public func deviceIdentifiers() -> [DeviceIdentifier] { identifiersByKey.values.sorted { $0.key < $1.key } }
    public func deviceIdentifier(key: String) -> DeviceIdentifier? { identifiersByKey[key.uppercased()] }
    public func saveDeviceIdentifiers(_ identifiers: [DeviceIdentifier], replacingAll: Bool) {
        if replacingAll { identifiersByKey = [:] }
        for i in identifiers { identifiersByKey[i.key] = i }
    }
    public func updateDeviceIdentifier(_ identifier: DeviceIdentifier) throws {
        guard identifiersByKey[identifier.key] != nil else { throw StorageError(.notFound, "No corporate identifier \(identifier.identifier).") }
        identifiersByKey[identifier.key] = identifier
    }
    public func deleteDeviceIdentifier(key: String) throws {
        guard identifiersByKey.removeValue(forKey: key.uppercased()) != nil else { throw StorageError(.notFound, "No corporate identifier \(key).") }
    }
}
