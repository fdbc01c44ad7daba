import Foundation
import MDMCore
import MDMStorage

/// An administrator's request that could not be carried out: what was wrong and what would be accepted.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for each edge to map without reading the message (CLI exit code, Graph status, console page).
    public enum Code: String, Sendable {
        /// The change was refused: an invalid value, a conflict, or a rule that says no.
        case refused
        /// Something named does not exist.
        case notFound
    }

    public var code: Code
    /// What was wrong, in words every front end can show.
    public var statement: String
    /// How to go on from the command line (`winmdm groups list` shows them), when that differs from the console.
    public var cliHint: String?
    /// How to go on in the console (Groups lists them).
    public var consoleHint: String?

    public init(_ statement: String, cli: String? = nil, console: String? = nil, code: Code = .refused) {
        self.statement = statement
        self.cliHint = cli
        self.consoleHint = console
        self.code = code
    }

    public static func notFound(_ statement: String, cli: String? = nil, console: String? = nil) -> AdminError {
        AdminError(statement, cli: cli, console: console, code: .notFound)
    }

    /// The message with the command line's way on: the CLI and the API say this.
    public var message: String { Self.join(statement, cliHint) }
    /// The message with the console's way on, without command names or flags.
    public var consoleMessage: String { Self.join(statement, consoleHint) }
    public var description: String { message }

    /// A hint that starts with punctuation continues the sentence; any other starts after a space.
    static func join(_ statement: String, _ hint: String?) -> String {
        guard let hint, !hint.isEmpty else { return statement }
        return statement + ([",", ".", ";", ":"].contains(hint.first.map(String.init) ?? "") ? "" : " ") + hint
    }
}

/// Every administrative change goes through here, whichever front end asks (CLI now; API and console later), and
/// every change is written to the audit log with the state before and after.
public struct AdminService: Sendable {
    let store: any MDMStore
    let hasher: PasswordHasher
    let clock: any MDMCore.Clock
    /// Who is acting, for the audit log (`cli:root@host`, a token name …).
    public let actor: String
    /// Wakes a device through WNS after Sync or Restart, when push is configured.
    public var pusher: WNSPusher?

    public init(store: any MDMStore, hasher: PasswordHasher = .standard, clock: any MDMCore.Clock = SystemClock(),
                actor: String = "system") {
        self.store = store
        self.hasher = hasher
        self.clock = clock
        self.actor = actor
    }

    /// Writes the state of a new installation (SCENARIOS.md) when the store has none. Returns true if it did.
    @discardableResult
    public func bootstrap(initialDomain: String, publicURL: String) async throws -> Bool {
        if try await store.tenantSettings() != nil { return false }
        let settings = TenantSettings.newInstallation(initialDomain: initialDomain, publicURL: publicURL, now: clock.now())
        try await store.saveTenantSettings(settings)
        try await audit("tenant.create", "tenant", before: nil as TenantSettings?, after: settings)
        return true
    }

    public func settings() async throws -> TenantSettings {
        guard let s = try await store.tenantSettings() else {
            throw AdminError("This data directory has not been initialised; run `winmdm serve` once with the same --data-dir.")
        }
        return s
    }

    // MARK: Audit

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func json<T: Encodable>(_ v: T?) -> String? {
        guard let v else { return nil }
        return (try? encoder.encode(v)).map { String(decoding: $0, as: UTF8.self) }
    }

    func audit<T: Encodable>(_ action: String, _ target: String, before: T?, after: T?) async throws {
        try await store.appendAudit(AuditEntry(time: clock.now(), actor: actor, action: action, target: target,
                                               before: Self.json(before), after: Self.json(after)))
    }

    /// Marks a recorded failure as resolved by a fix (shown next to the failure until it happens again).
    public func recordFix(attemptID: String, applied: String) async throws {
        try await audit("attempt.fix", attemptID, before: nil as String?, after: applied)
    }

    /// When each of these attempts was marked resolved, and by whom (from the audit log).
    public func fixedAttempts(since: Date) async throws -> [String: AuditEntry] {
        var out: [String: AuditEntry] = [:]
        for e in try await store.auditEntries(AuditQuery(limit: 5000, action: "attempt.fix", since: since)) where out[e.target] == nil { out[e.target] = e }
        return out
    }

    public func auditEntries(limit: Int) async throws -> [AuditEntry] { try await store.auditEntries(limit: limit) }
    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] { try await store.auditEntries(query) }

    /// Changes the tenant settings in one transaction and audits the change.
    @discardableResult
    func changeSettings(_ action: String, _ target: String,
                        _ change: @escaping @Sendable (inout TenantSettings) throws -> Void) async throws -> TenantSettings {
        let (actor, now) = (self.actor, clock.now())
        return try await store.updateTenantSettings(change) { before, after in
            before == after ? nil : AuditEntry(time: now, actor: actor, action: action, target: target,
                                               before: Self.json(before), after: Self.json(after))
        }.after
    }

    // MARK: Users

    public struct NewUser: Sendable {
        public var user: User
        /// Set when enrollment will be refused until something else changes (unverified domain, no license).
        public var warnings: [String]
    }

    public func addUser(upn rawUPN: String, password: String, displayName: String? = nil,
                        licenses: [String] = [], packageAccount: Bool = false) async throws -> NewUser {
        let upn = UPN.normalize(rawUPN)
        guard UPN.isValid(upn) else {
            throw AdminError("'\(rawUPN)' is not a user principal name; expected the form name@domain.example (no spaces).")
        }
        guard password.count >= 8 else { throw AdminError("The password is too short: use at least 8 characters.") }
        if try await store.user(upn: upn) != nil { throw AdminError("A user \(upn) already exists.") }
        let settings = try await settings()
        var skus: [String] = []
        for l in licenses {
            let product = try Self.product(l, in: settings)
            try await checkSeat(product, settings: settings)
            skus.append(product.skuId)
        }
        let user = User(upn: upn, displayName: displayName ?? String(upn.prefix { $0 != "@" }),
                        passwordHash: try hasher.hash(password), createdAt: clock.now(), assignedLicenses: skus,
                        isPackageAccount: packageAccount)
        do { try await store.insertUser(user) } catch let e as StorageError where e.code == .conflict {
            throw AdminError("A user \(upn) already exists.")
        }
        try await audit("user.create", upn, before: nil as UserRecord?, after: UserRecord(user))
        return NewUser(user: user, warnings: packageAccount ? [] : Self.enrollmentWarnings(user, settings))
    }

    public static func enrollmentWarnings(_ user: User, _ settings: TenantSettings) -> [String] {
        var w: [String] = []
        if settings.domain(named: user.domain)?.isVerified != true {
            let verified = settings.domains.filter(\.isVerified).map(\.name).joined(separator: ", ")
            w.append("\(user.domain) is not a verified domain of this tenant (verified: \(verified)); \(user.upn) cannot enroll until it is (winmdm domains add/verify).")
        }
        if !settings.plans(of: user).contains(.mdm) {
            w.append("\(user.upn) has no license with the MDM plan, so enrollment will be refused (0x80180018); assign one with: winmdm licenses assign \(user.upn) \(settings.licenseProducts.first { $0.servicePlans.contains(.mdm) }?.skuPartNumber ?? "SKU")")
        }
        return w
    }

    public func users() async throws -> [User] { try await store.users() }

    public func user(_ upnOrID: String) async throws -> User {
        if let u = try await store.user(upn: upnOrID) { return u }
        if let u = try await store.user(id: upnOrID.lowercased()) { return u }
        throw AdminError.notFound("No user \(upnOrID).", cli: "`winmdm users list` shows the users.", console: "Users › All users lists them.")
    }

    public func updateUser(_ upnOrID: String, displayName: String? = nil, enabled: Bool? = nil, newUPN: String? = nil,
                           password: String? = nil) async throws -> User {
        let before = try await user(upnOrID)
        var u = before
        if let displayName { u.displayName = displayName }
        if let enabled { u.enabled = enabled }
        if let password {
            guard password.count >= 8 else { throw AdminError("The password is too short: use at least 8 characters.") }
            u.passwordHash = try hasher.hash(password)
        }
        if let newUPN {
            let n = UPN.normalize(newUPN)
            guard UPN.isValid(n) else { throw AdminError("'\(newUPN)' is not a user principal name; expected name@domain.example.") }
            if n != u.upn, try await store.user(upn: n) != nil { throw AdminError("A user \(n) already exists.") }
            u.upn = n
        }
        if u.enabled != before.enabled || password != nil { u.sessionEpoch = (u.sessionEpoch ?? 0) + 1 }
        try await keepAnAdministrator(before, after: u)
        // Enrollments belong to the user by id: they follow a new UPN with nothing moved.
        try await store.updateUser(u)
        try await audit("user.update", u.upn, before: UserRecord(before), after: UserRecord(u))
        return u
    }

    /// Lets a user sign in to the web console with a role (nil: not at all).
    public func setAdminRole(_ upnOrID: String, _ role: APIRole?) async throws -> User {
        let before = try await user(upnOrID)
        var u = before
        u.adminRole = role
        if role != before.adminRole { u.sessionEpoch = (u.sessionEpoch ?? 0) + 1 }
        try await keepAnAdministrator(before, after: u)
        try await store.updateUser(u)
        try await audit("user.adminRole", u.upn, before: UserRecord(before), after: UserRecord(u))
        return u
    }

    /// Ends every console session of the user (signing out, "sign out everywhere").
    public func endConsoleSessions(_ userID: String) async throws {
        guard var u = try await store.user(id: userID) else { return }
        u.sessionEpoch = (u.sessionEpoch ?? 0) + 1
        try await store.updateUser(u)
    }

    /// Sets up (or replaces) the console's TOTP second factor; returns the secret to enter in an authenticator app.
    public func enableTOTP(_ upnOrID: String) async throws -> (user: User, secret: String) {
        let before = try await user(upnOrID)
        var u = before
        let secret = TOTP.newSecret()
        u.totpSecret = secret
        u.totpLastStep = nil
        u.sessionEpoch = (u.sessionEpoch ?? 0) + 1
        try await store.updateUser(u)
        try await audit("user.totp", u.upn, before: UserRecord(before), after: UserRecord(u))
        return (u, secret)
    }

    public func disableTOTP(_ upnOrID: String) async throws -> User {
        let before = try await user(upnOrID)
        guard before.totpSecret != nil else { throw AdminError("\(before.upn) has no authenticator app set up.") }
        var u = before
        u.totpSecret = nil
        u.totpLastStep = nil
        u.sessionEpoch = (u.sessionEpoch ?? 0) + 1
        try await store.updateUser(u)
        try await audit("user.totp", u.upn, before: UserRecord(before), after: UserRecord(u))
        return u
    }

    /// Checks a console second-factor code and, when right, uses it up (each code works once).
    public func verifyTOTP(userID: String, code: String, now: Date) async throws -> Bool {
        guard var u = try await store.user(id: userID), let secret = u.totpSecret,
              let step = TOTP.matchingStep(secret: secret, code: code, now: now, after: u.totpLastStep) else { return false }
        u.totpLastStep = step
        try await store.updateUser(u)
        return true
    }

    /// On first run: a console administrator with a random password, unless one exists. Returns (UPN, password).
    public func createInitialAdministrator() async throws -> (upn: String, password: String)? {
        if try await store.users().contains(where: { $0.adminRole == .admin }) { return nil }
        let s = try await settings()
        guard let domain = s.domains.first(where: \.isVerified)?.name else { return nil }
        var upn = "admin@\(domain)"
        if try await store.user(upn: upn) != nil { upn = "winmdm-admin-\(UUID().uuidString.prefix(6).lowercased())@\(domain)" }
        let password = Base64URL.encode((0..<18).map { _ in UInt8.random(in: 0...255) })
        _ = try await addUser(upn: upn, password: password, displayName: "winmdm administrator")
        _ = try await setAdminRole(upn, .admin)
        return (upn, password)
    }

    /// Refuses a change that would leave no enabled console administrator (deleting, disabling or demoting the last one):
    /// nobody could sign in to the console to undo it.
    func keepAnAdministrator(_ before: User, after: User?) async throws {
        guard before.adminRole == .admin, before.enabled, after?.adminRole != .admin || after?.enabled != true else { return }
        let others = try await store.users().filter { $0.id != before.id && $0.adminRole == .admin && $0.enabled }
        guard others.isEmpty else { return }
        let what = after == nil ? "delete" : after?.enabled == false ? "disable" : "change the role of"
        throw AdminError("\(before.upn) is the last enabled console administrator, so winmdm will not \(what) it: nobody could sign in to the console afterwards. Give another user the admin role first", cli: "(winmdm users set UPN --admin-role admin).", console: ".")
    }

    public func deleteUser(_ upnOrID: String) async throws {
        let u = try await user(upnOrID)
        try await keepAnAdministrator(u, after: nil)
        if try await !store.activeEnrollments(upn: u.upn).isEmpty {
            throw AdminError("\(u.upn) still has enrolled devices; retire or delete them first", cli: "(winmdm devices list --user \(u.upn)).",
                             console: "(the user's page lists them).")
        }
        try await store.deleteUser(id: u.id)  // and their group memberships
        try await audit("user.delete", u.upn, before: UserRecord(u), after: nil as UserRecord?)
    }

    // MARK: Attempts and devices

    public func attempts(_ query: AttemptQuery) async throws -> [EnrollmentAttempt] { try await store.attempts(query) }

    public func attempt(id: String) async throws -> EnrollmentAttempt {
        guard let a = try await store.attempt(id: id.lowercased()) else {
            throw AdminError.notFound("No attempt \(id).", cli: "`winmdm attempts list` shows the recorded ones; the id is the TraceId the device logged.",
                                      console: "Troubleshooting + support lists the recorded ones; the id is the TraceId the device logged.")
        }
        return a
    }

    public func enrollments(upn: String?) async throws -> [Enrollment] {
        if let upn { return try await store.enrollments(upn: try await user(upn).upn) }
        return try await store.allEnrollments()
    }

    public func enrollment(_ id: String) async throws -> Enrollment {
        if let e = try await store.enrollment(id: id.lowercased()) { return e }
        // Also accept a device name or DeviceID when it names exactly one active enrollment, or else exactly one
        // that ended (so retiring twice says "already retired", and a retired device can be deleted by name).
        let named = try await store.allEnrollments().filter {
            $0.deviceName?.lowercased() == id.lowercased() || $0.deviceID.lowercased() == id.lowercased()
        }
        let active = named.filter { $0.state == .active }
        if active.count == 1 { return active[0] }
        if active.count > 1 { throw AdminError("\(id) names \(active.count) enrollments; use the enrollment id", cli: "(winmdm devices list).", console: ".") }
        if named.count == 1 { return named[0] }
        if named.count > 1 {
            throw AdminError("\(id) names \(named.count) enrollments that have ended (\(named.map(\.state.rawValue).joined(separator: ", "))); use the enrollment id", cli: "(winmdm devices list --all).", console: ".")
        }
        throw AdminError.notFound("No enrollment \(id).", cli: "`winmdm devices list --all` shows them.", console: "Devices › Windows › Windows devices lists them.")
    }

    /// Retire: the enrollment stops counting and its device must enroll again; the record stays.
    public func retireDevice(_ id: String) async throws -> Enrollment {
        let before = try await enrollment(id)
        guard before.state == .active else {
            throw AdminError("\(before.deviceName ?? before.id) (enrollment \(before.id)) is already \(before.state.rawValue);", cli: "winmdm devices delete \(before.id) removes the record.", console: "Delete removes the record.")
        }
        var e = before
        e.state = .retired
        try await store.updateEnrollment(e)
        try await audit("device.retire", e.id, before: before, after: e)
        return e
    }

    /// Unassign user: the device keeps its enrollment but has no primary user, so it no longer counts toward the
    /// enrolling user's device limit.
    public func unassignUser(_ id: String) async throws -> Enrollment {
        let before = try await enrollment(id)
        guard before.userUnassigned != true else { throw AdminError("\(before.deviceName ?? before.id) has no primary user already.") }
        var e = before
        e.userUnassigned = true
        try await store.updateEnrollment(e)
        try await audit("device.unassignUser", e.id, before: before, after: e)
        return e
    }

    /// Delete: the record is removed (the seed's "select devices, Delete").
    public func deleteDevice(_ id: String) async throws -> Enrollment {
        let e = try await enrollment(id)
        try await store.deleteEnrollment(id: e.id)
        try await audit("device.delete", e.id, before: e, after: nil as Enrollment?)
        return e
    }
}

/// A user as written to the audit log and shown to administrators: never the password hash.
public struct UserRecord: Codable, Sendable, Equatable {
    public var id: String
    public var userPrincipalName: String
    public var displayName: String
    public var accountEnabled: Bool
    public var assignedLicenses: [String]
    public var isPackageAccount: Bool
    public var adminRole: APIRole?
    public var createdDateTime: Date
    /// Whether the console's second factor is set up (the secret itself is never shown or logged).
    public var hasAuthenticatorApp: Bool

    public init(_ u: User) {
        adminRole = u.adminRole
        id = u.id
        userPrincipalName = u.upn
        displayName = u.displayName
        accountEnabled = u.enabled
        assignedLicenses = u.assignedLicenses
        isPackageAccount = u.isPackageAccount
        createdDateTime = u.createdAt
        hasAuthenticatorApp = u.totpSecret != nil
    }
}
