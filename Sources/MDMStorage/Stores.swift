import Foundation
import MDMCore

/// Users and tenant settings.
public protocol DirectoryStore: Sendable {
    func user(upn: String) async throws -> User?
    /// By the stable id (indexed).
    func user(id: String) async throws -> User?
    func users() async throws -> [User]
    /// One page of users ordered by UPN, starting after `after` (a UPN): at most `limit` rows read.
    func users(after: String?, limit: Int) async throws -> [User]
    /// Throws `StorageError.conflict` when the UPN exists.
    func insertUser(_ user: User) async throws
    func updateUser(_ user: User) async throws
    func deleteUser(id: String) async throws
    func groups() async throws -> [Group]
    func group(id: String) async throws -> Group?
    /// The ids of the groups a user belongs to (indexed by user: reads only those memberships).
    func groupIDs(of userID: String) async throws -> Set<String>
    /// The ids of the groups a device (by HWDevID) belongs to (indexed by device).
    func groupIDs(ofDevice hwDevID: String) async throws -> Set<String>
    /// Throws `StorageError.conflict` when a group has the same display name (case-insensitive).
    func insertGroup(_ group: Group) async throws
    func updateGroup(_ group: Group) async throws
    func deleteGroup(id: String) async throws
    func tenantSettings() async throws -> TenantSettings?
    /// The API token whose secret hashes to this (indexed; nothing else is read).
    func apiToken(sha256: String) async throws -> APIToken?
    /// Records that a token was used (its `lastUsedAt`), without touching the tenant settings or the audit log.
    func noteTokenUse(id: String, at: Date) async throws
    func saveTenantSettings(_ settings: TenantSettings) async throws
    /// Read-modify-write of the settings in one transaction, so concurrent administrators (other processes
    /// included) never lose each other's changes. `audit`, given the settings before and after, names the audit
    /// entry written in the same transaction (nil: none), so a change and its record land together or not at all.
    /// Returns the settings before and after.
    func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void,
                              audit: @Sendable (TenantSettings, TenantSettings) -> AuditEntry?) async throws -> (before: TenantSettings, after: TenantSettings)
}

extension DirectoryStore {
    public func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void) async throws -> (before: TenantSettings, after: TenantSettings) {
        try await updateTenantSettings(change, audit: { _, _ in nil })
    }
}

/// Enrolled devices.
public protocol EnrollmentStore: Sendable {
    /// Every enrollment of the user with this UPN, oldest first. Enrollments belong to the user by id: after a
    /// rename they are found under the new UPN and carry it.
    func enrollments(upn: String) async throws -> [Enrollment]
    /// The user's active enrollments only (indexed): what the device limit and join quota count.
    func activeEnrollments(upn: String) async throws -> [Enrollment]
    /// How many active enrollments each of these users has (by UPN; users without any are absent): one grouped,
    /// indexed query for a page of users.
    func activeEnrollmentCounts(upns: [String]) async throws -> [String: Int]
    /// One page of enrollments, oldest first, after the enrollment with this id (keyset on enrollment time and id).
    func enrollments(after: String?, limit: Int, activeOnly: Bool) async throws -> [Enrollment]
    /// Active enrollments of this hardware id.
    func activeEnrollments(hwDevID: String) async throws -> [Enrollment]
    func enrollment(id: String) async throws -> Enrollment?
    /// The enrollment one of whose device certificates has this thumbprint: the current one, or the one it was renewed
    /// from while the device has not switched yet (indexed).
    func enrollment(certificateThumbprint: String) async throws -> Enrollment?
    func allEnrollments() async throws -> [Enrollment]
    func updateEnrollment(_ enrollment: Enrollment) async throws
    /// What a management check-in needs in one indexed query: the enrollment of this certificate (as
    /// `enrollment(certificateThumbprint:)`) and whether it has queued commands and commands sent but not answered,
    /// so an idle device costs no queue read.
    func checkIn(certificateThumbprint: String) async throws -> CheckInRecord?
    /// Records that the device checked in: one update by primary key, nothing read.
    func markSeen(enrollmentID: String, at: Date) async throws
    /// Read-modify-write of one enrollment in one transaction, so a renewal and a concurrent management session never
    /// undo each other's changes. Nothing is written when `change` throws; its error is rethrown.
    /// Throws `StorageError.notFound` when there is no such enrollment.
    @discardableResult
    func modifyEnrollment(id: String, _ change: @Sendable (inout Enrollment) throws -> Void) async throws -> Enrollment
    func deleteEnrollment(id: String) async throws
    /// Records an enrollment atomically with its capacity check.
    ///
    /// In one transaction, serialised with every other commit for the same user (on every process sharing the
    /// database): reads the user's active enrollments, calls `check` with them, and when it returns no denial
    /// marks any active enrollment of the same user and hardware as superseded (re-enrollment takes no new slot)
    /// and inserts `enrollment`. Returns the denials; nothing is written when there are any.
    func commitEnrollment(_ enrollment: Enrollment, check: @Sendable ([Enrollment]) -> [Denial]) async throws -> [Denial]
}

/// An enrollment as a management check-in finds it.
public struct CheckInRecord: Sendable, Equatable {
    public var enrollment: Enrollment
    public var hasQueuedCommands: Bool
    /// Commands went out and are not answered yet: a new session means the device will never answer them.
    public var hasSentCommands: Bool
    /// The profiles' revision (raised by every change of a profile, an assignment or a group's members) and the one
    /// this device was last reconciled at: when they differ, the device's desired state is worked out again.
    public var profilesRevision: Int
    public var reconciledRevision: Int
    public init(enrollment: Enrollment, hasQueuedCommands: Bool, hasSentCommands: Bool, profilesRevision: Int = 0, reconciledRevision: Int = 0) {
        self.enrollment = enrollment
        self.hasQueuedCommands = hasQueuedCommands
        self.hasSentCommands = hasSentCommands
        self.profilesRevision = profilesRevision
        self.reconciledRevision = reconciledRevision
    }
}

/// Configuration profiles and where each stands on each device.
///
/// Assigning a profile to a group of any size is one write: every change raises one revision, and each device works
/// out its own desired state at its next check-in (`reconcileProfiles`), so nothing is queued for devices that never
/// come back.
public protocol ProfileStore: Sendable {
    /// Oldest first (the order that decides conflicts).
    func configurationProfiles() async throws -> [ConfigurationProfile]
    func configurationProfile(id: String) async throws -> ConfigurationProfile?
    /// Inserts or replaces the profile and raises the revision, with `audit` written in the same transaction.
    /// Throws `StorageError.conflict` when another profile has the same name (case-insensitive).
    func saveConfigurationProfile(_ profile: ConfigurationProfile, audit: AuditEntry?) async throws
    /// Deletes the profile and raises the revision (devices remove its settings at their next check-in).
    func deleteConfigurationProfile(id: String, audit: AuditEntry?) async throws
    func profilesRevision() async throws -> Int
    /// Raises the revision without another change (compliance policies, the schedule): every device looks again at its
    /// next check-in.
    func raiseProfilesRevision() async throws
    func profileStates(enrollmentID: String) async throws -> [DeviceProfileState]
    /// Every device's state of one profile (indexed by profile).
    func profileStates(profileID: String) async throws -> [DeviceProfileState]
    /// Read-modify-write of one state in one transaction; `change` returns false to drop the row (nothing of the
    /// profile is left to report). Nothing happens when there is no such state.
    func modifyProfileState(enrollmentID: String, profileID: String, _ change: @Sendable (inout DeviceProfileState) -> Bool) async throws
    /// In one transaction, and only when the enrollment was reconciled at an older revision than `revision` (so two
    /// instances never both do it): reads the profiles, the groups of the enrollment's user and of its device, and its
    /// states, lets `plan` decide, queues its commands, writes its states and drops the ones it names. Returns nil when
    /// another session already reconciled this revision.
    func reconcileProfiles(enrollmentID: String, revision: Int,
                           plan: @Sendable (_ profiles: [ConfigurationProfile], _ userGroups: Set<String>, _ deviceGroups: Set<String>,
                                            _ states: [DeviceProfileState]) -> ProfilePlan) async throws -> ProfilePlan?
}

public struct AttemptQuery: Sendable {
    public var limit: Int
    public var failedOnly: Bool
    public var upn: String?
    public var since: Date?

    public init(limit: Int = 50, failedOnly: Bool = false, upn: String? = nil, since: Date? = nil) {
        self.limit = limit
        self.failedOnly = failedOnly
        self.upn = upn
        self.since = since
    }
}

/// The record of every enrollment request.
public protocol AttemptStore: Sendable {
    func recordAttempt(_ attempt: EnrollmentAttempt) async throws
    func attempt(id: String) async throws -> EnrollmentAttempt?
    /// Newest first.
    func attempts(_ query: AttemptQuery) async throws -> [EnrollmentAttempt]
    /// Counts one more identical failure on an attempt already recorded (no new row).
    func noteRepeat(attemptID: String, at: Date) async throws
    /// Deletes attempts recorded before `date`; returns how many.
    @discardableResult
    func pruneAttempts(before date: Date) async throws -> Int
}

/// Failed sign-in counters and lockouts (smart lockout), shared by every server process using the database.
public protocol SignInThrottleStore: Sendable {
    func throttles(keys: [String]) async throws -> [SignInThrottle]
    /// Reads the entries of `keys` (missing ones start empty), lets `change` update them, and writes them back in one
    /// transaction, so concurrent failures are never lost.
    func updateThrottles(keys: [String], _ change: @Sendable (inout [SignInThrottle]) -> Void) async throws -> [SignInThrottle]
    /// Entries with a lockout in force at `now` or failures counted, newest failure first.
    func activeThrottles(now: Date) async throws -> [SignInThrottle]
    /// Clears the failures and lockouts of the entries whose key names `subject` (a UPN or an address), keeping only
    /// when a familiar source last succeeded; returns the entries as they were.
    func clearThrottles(matching subject: String) async throws -> [SignInThrottle]
}

/// The per-enrollment command queue (the shape nanomdm and Fleet use: commands, a queue, results).
public protocol CommandQueueStore: Sendable {
    func enqueue(_ command: DeviceCommand) async throws
    /// Queued commands of one enrollment, oldest first: the whole cost of an idle check-in (one indexed lookup).
    func queuedCommands(enrollmentID: String) async throws -> [DeviceCommand]
    /// Commands sent and not yet answered, oldest first (indexed): what a device's statuses can refer to.
    func sentCommands(enrollmentID: String) async throws -> [DeviceCommand]
    func updateCommand(_ command: DeviceCommand) async throws
    func command(id: String) async throws -> DeviceCommand?
    /// All commands of one enrollment, newest first.
    func commands(enrollmentID: String, limit: Int) async throws -> [DeviceCommand]
}

/// Administrative changes, newest last.
/// Which audit entries to read: newest first, at most `limit`, narrowed by who, what and since when.
public struct AuditQuery: Sendable {
    public var limit: Int
    /// Part of the actor (`console:ann@…`, `api:helpdesk laptop`, `cli:root@host`), any case.
    public var actor: String?
    /// Part of the target (a UPN, a restriction's name, an enrollment id), any case.
    public var target: String?
    /// The action or its start (`restriction.` for every restriction change).
    public var action: String?
    public var since: Date?

    public init(limit: Int = 50, actor: String? = nil, target: String? = nil, action: String? = nil, since: Date? = nil) {
        self.limit = limit
        self.actor = actor
        self.target = target
        self.action = action
        self.since = since
    }
}

public protocol AuditStore: Sendable {
    func appendAudit(_ entry: AuditEntry) async throws
    /// Newest first.
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry]
    /// Deletes audit entries older than `date`; returns how many.
    @discardableResult
    func pruneAudit(before date: Date) async throws -> Int
}

/// Autopilot device identities and corporate device identifiers: looked up by serial number (and hardware, once a
/// device enrolled), one indexed row each.
public protocol DeviceRegistrationStore: Sendable {
    func autopilotDevices() async throws -> [AutopilotDevice]
    func autopilotDevice(id: String) async throws -> AutopilotDevice?
    /// By serial number, case-insensitive.
    func autopilotDevice(serial: String) async throws -> AutopilotDevice?
    func autopilotDevice(hwDevID: String) async throws -> AutopilotDevice?
    /// All or none: a serial number that exists already fails the whole insert with a conflict.
    func insertAutopilotDevices(_ devices: [AutopilotDevice]) async throws
    func updateAutopilotDevice(_ device: AutopilotDevice) async throws
    func deleteAutopilotDevice(id: String) async throws
    /// Whether any Autopilot device or corporate identifier exists (a new enrollment then asks for its serial number).
    func registrationCounts() async throws -> (autopilot: Int, identifiers: Int)

    func deviceIdentifiers() async throws -> [DeviceIdentifier]
    func deviceIdentifier(key: String) async throws -> DeviceIdentifier?
    /// Adds the identifiers (an existing key is replaced); with `replacingAll`, the others are removed first.
    func saveDeviceIdentifiers(_ identifiers: [DeviceIdentifier], replacingAll: Bool) async throws
    func updateDeviceIdentifier(_ identifier: DeviceIdentifier) async throws
    func deleteDeviceIdentifier(key: String) async throws
}

/// Everything a winmdm server needs, composed from the role protocols.
extension AuditStore {
    /// The newest `limit` entries.
    public func auditEntries(limit: Int) async throws -> [AuditEntry] { try await auditEntries(AuditQuery(limit: limit)) }
}

public typealias MDMStore = DirectoryStore & EnrollmentStore & AttemptStore & AuditStore & CommandQueueStore & SignInThrottleStore & ProfileStore
    & DeviceRegistrationStore & OperationsStore

/// How much work the installation holds, for `/metrics` and `winmdm status`: read when asked (a scrape), never on a
/// device's request.
public struct OperationalCounts: Sendable, Equatable, Codable {
    /// Directory accounts (provisioning packages' accounts included).
    public var users: Int
    public var activeEnrollments: Int
    /// Commands waiting for their device's next session, and sent but not answered yet.
    public var queuedCommands: Int
    public var sentCommands: Int
    public init(users: Int = 0, activeEnrollments: Int, queuedCommands: Int, sentCommands: Int) {
        self.users = users
        self.activeEnrollments = activeEnrollments
        self.queuedCommands = queuedCommands
        self.sentCommands = sentCommands
    }
}

public protocol OperationsStore: Sendable {
    /// Counted through indexes (`enrollments_state`, `commands_waiting`), without reading documents.
    func operationalCounts() async throws -> OperationalCounts
}

public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case conflict, notFound, backend }
    public var code: Code
    public var reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}
