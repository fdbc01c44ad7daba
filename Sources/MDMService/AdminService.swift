import Foundation
import MDMCore
import MDMStorage

/// An administrator's request that could not be carried out: what was wrong and what would be accepted.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Every administrative change goes through here, whichever front end asks (CLI now; API and console later).
public struct AdminService: Sendable {
    let store: any MDMStore
    let hasher: PasswordHasher
    let clock: any MDMCore.Clock

    public init(store: any MDMStore, hasher: PasswordHasher = .standard, clock: any MDMCore.Clock = SystemClock()) {
        self.store = store
        self.hasher = hasher
        self.clock = clock
    }

    /// Writes the state of a new installation (SCENARIOS.md) when the store has none. Returns true if it did.
    @discardableResult
    public func bootstrap(initialDomain: String, publicURL: String) async throws -> Bool {
        if try await store.tenantSettings() != nil { return false }
        try await store.saveTenantSettings(.newInstallation(initialDomain: initialDomain, publicURL: publicURL))
        return true
    }

    public func settings() async throws -> TenantSettings {
        guard let s = try await store.tenantSettings() else {
            throw AdminError("This data directory has not been initialised; run `winmdm serve` once with the same --data-dir.")
        }
        return s
    }

    public struct NewUser: Sendable {
        public var user: User
        /// Set when the UPN's domain is not a verified domain: enrollment will be refused until it is.
        public var warning: String?
    }

    public func addUser(upn rawUPN: String, password: String, displayName: String? = nil) async throws -> NewUser {
        let upn = UPN.normalize(rawUPN)
        guard UPN.isValid(upn) else {
            throw AdminError("'\(rawUPN)' is not a user principal name; expected the form name@domain.example (no spaces).")
        }
        guard password.count >= 8 else {
            throw AdminError("The password is too short: use at least 8 characters.")
        }
        if try await store.user(upn: upn) != nil {
            throw AdminError("A user \(upn) already exists.")
        }
        let settings = try await settings()
        let user = User(upn: upn, displayName: displayName ?? String(upn.prefix { $0 != "@" }),
                        passwordHash: try hasher.hash(password), createdAt: clock.now())
        do { try await store.insertUser(user) } catch let e as StorageError where e.code == .conflict {
            throw AdminError("A user \(upn) already exists.")
        }
        var warning: String?
        let domain = user.domain
        if settings.domain(named: domain)?.isVerified != true {
            let verified = settings.domains.filter(\.isVerified).map(\.name).joined(separator: ", ")
            warning = "\(domain) is not a verified domain of this tenant (verified: \(verified)); \(upn) cannot enroll until it is."
        }
        return NewUser(user: user, warning: warning)
    }

    public func users() async throws -> [User] { try await store.users() }

    public func attempts(_ query: AttemptQuery) async throws -> [EnrollmentAttempt] { try await store.attempts(query) }

    public func attempt(id: String) async throws -> EnrollmentAttempt {
        guard let a = try await store.attempt(id: id.lowercased()) else {
            throw AdminError("No attempt \(id). `winmdm attempts list` shows the recorded ones; the id is the TraceId the device logged.")
        }
        return a
    }

    public func enrollments(upn: String?) async throws -> [Enrollment] {
        if let upn { return try await store.enrollments(upn: upn) }
        return try await store.allEnrollments()
    }
}

extension AdminService {
    /// Sets the auth policy devices are told at discovery. Returns the previous one.
    public func setAuthPolicy(_ policy: AuthPolicy) async throws -> AuthPolicy {
        var s = try await settings()
        let old = s.authPolicy
        s.authPolicy = policy
        try await store.saveTenantSettings(s)
        return old
    }
}
