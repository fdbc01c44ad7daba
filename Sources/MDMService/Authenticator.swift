import Crypto
import Foundation
import MDMCore
import MDMStorage
import MDMWire

/// Who a request's credential proves, or why it proves nothing.
///
/// `reason` is for the administrator (the attempt record): devices and sign-in pages are only ever told that the
/// user name or password is not right, whatever the reason, so a stranger learns nothing about who exists.
public enum AuthOutcome: Sendable {
    case authenticated(User, CredentialKind)
    case refused(CredentialKind, upn: String?, reason: String)
    /// Too many password checks are running or waiting (for this source or overall); nothing was checked.
    case busy(upn: String?, reason: String)
}

/// What a device, the sign-in page or the console login is told for every refused credential.
public enum AuthenticationMessage {
    public static let generic = "The user name or password is incorrect."
    public static let busy = "The server is busy checking other sign-ins; try again in a minute."
}

/// Checks the `wsse:Security` credential of Policy and RST requests against the directory.
public struct Authenticator: Sendable {
    let directory: any MDMStore
    let hasher: PasswordHasher
    let tokens: FederatedTokens
    let clock: any MDMCore.Clock
    let cache: VerifiedPasswordCache
    public let lockout: SignInGuard
    let budget: KDFBudget

    public init(directory: any MDMStore, hasher: PasswordHasher, tokens: FederatedTokens, clock: any MDMCore.Clock,
                cacheKey: [UInt8], budget: KDFBudget = KDFBudget()) {
        self.directory = directory
        self.hasher = hasher
        self.tokens = tokens
        self.clock = clock
        self.cache = VerifiedPasswordCache(key: cacheKey)
        self.lockout = SignInGuard(store: directory, clock: clock)
        self.budget = budget
    }

    /// `source` is the client's address, for the lockout's per-source count.
    /// `settings` are the tenant's, already read by the caller: the auth policy and the lockout thresholds.
    public func authenticate(_ credential: SecurityCredential?, settings: TenantSettings, source: String?) async throws -> AuthOutcome {
        let policy = settings.authPolicy
        switch credential {
        case nil:
            return .refused(.none, upn: nil, reason: "The request carries no credential (no WS-Security header).")
        case .usernameToken(let name, let password)?:
            let upn = UPN.normalize(name)
            guard policy == .onPremise else {
                return .refused(.password, upn: upn, reason: "A password was sent, but winmdm is set to Federated sign-in; the device must sign in through the sign-in page.")
            }
            return try await checkPassword(upn: upn, password: password, source: source, lockout: settings.lockout)
        case .binaryToken(let valueType, let value)?:
            if valueType == TokenValueType.jwt {
                return .refused(.entraJWT, upn: nil, reason: "The device sent an Entra ID access token; winmdm is not registered as an Entra ID MDM application and accepts only its own sign-in.")
            }
            guard let raw = Data(base64Encoded: value).map({ String(decoding: $0, as: UTF8.self) }) else {
                return .refused(.federatedToken, upn: nil, reason: "The security token is not valid base64.")
            }
            let claims: FederatedTokens.Claims
            do { claims = try tokens.verify(raw, now: clock.now()) } catch {
                let why = switch error {
                case .expired: "The sign-in token has expired; sign in again."
                case .badSignature: "The sign-in token was not issued by this server."
                case .malformed: "The security token is not a winmdm sign-in token."
                }
                return .refused(.federatedToken, upn: nil, reason: why)
            }
            guard let user = try await directory.user(upn: claims.upn) else {
                return .refused(.federatedToken, upn: claims.upn, reason: "The user \(claims.upn) of the sign-in token no longer exists.")
            }
            guard user.enabled else {
                return .refused(.federatedToken, upn: user.upn, reason: "The account \(user.upn) is disabled.")
            }
            return .authenticated(user, .federatedToken)
        }
    }

    /// Verifies a directory password: lockout first, then the slow KDF under the budget, constant-time comparison,
    /// the same effort for unknown users; failures and successes feed the lockout.
    /// `lockout` is read from the tenant settings when the caller has not read them already.
    public func checkPassword(upn: String, password: String, source: String?, lockout given: LockoutSettings? = nil) async throws -> AuthOutcome {
        let source = source ?? "unknown"
        var settings = given ?? .standard
        if given == nil, let read = try? await directory.tenantSettings() { settings = read.lockout }
        let admission = try await lockout.admit(upn: upn, source: source, settings: settings)
        if let locked = admission.lockout {
            let until = locked.lockedUntil.map { GraphDate.string($0) } ?? "later"
            return .refused(.password, upn: upn, reason: "Locked out: \(locked.subject) had too many failed sign-ins, so the password was not checked (until \(until); winmdm lockouts clear \(upn)).")
        }
        let user = try await directory.user(upn: upn)
        if let user, let stored = user.passwordHash,
           await cache.contains(upn: upn, password: password, hash: stored, now: clock.now()) {
            return user.enabled ? .authenticated(user, .password)
                : .refused(.password, upn: upn, reason: "The account \(upn) is disabled.")
        }
        let hasher = self.hasher
        let stored = user?.passwordHash
        let right: Bool
        do {
            right = try await budget.run(source: source) {
                guard let stored else { hasher.burn(password); return false }
                return hasher.verify(password, against: stored)
            }
        } catch {
            return .busy(upn: upn, reason: "Too many sign-ins are being checked (from \(source) or overall); this one was turned away unchecked.")
        }
        guard let user, let stored, right else {
            let started = try await lockout.failed(upn: upn, source: source, familiar: admission.familiar, settings: settings)
            var reason = user == nil || stored == nil ? "No user \(upn) exists in the directory (or it has no password)." : "The password for \(upn) is wrong."
            for l in started { reason += " This failure locked \(l.subject) until \(l.lockedUntil.map { GraphDate.string($0) } ?? "later")." }
            return .refused(.password, upn: upn, reason: reason)
        }
        try await lockout.succeeded(upn: upn, source: source)
        await cache.insert(upn: upn, password: password, hash: stored, now: clock.now())
        guard user.enabled else { return .refused(.password, upn: upn, reason: "The account \(upn) is disabled.") }
        return .authenticated(user, .password)
    }
}

/// Remembers recently verified passwords for a few minutes, so the policy and enrollment requests of one
/// enrollment (same password, seconds apart) pay for one scrypt, not two.
///
/// Entries are keyed by an HMAC of (UPN, password, stored hash) under a per-process key: no password is kept,
/// and changing the password invalidates the entry.
public actor VerifiedPasswordCache {
    let key: SymmetricKey
    var entries: [Data: Date] = [:]
    let ttl: TimeInterval = 300
    let capacity = 50_000

    init(key: [UInt8]) { self.key = SymmetricKey(data: key) }

    func digest(_ upn: String, _ password: String, _ hash: String) -> Data {
        var m = Array(upn.utf8)
        m.append(0); m += Array(password.utf8); m.append(0); m += Array(hash.utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: m, using: key))
    }

    func contains(upn: String, password: String, hash: String, now: Date) -> Bool {
        guard let exp = entries[digest(upn, password, hash)] else { return false }
        return exp > now
    }

    func insert(upn: String, password: String, hash: String, now: Date) {
        if entries.count >= capacity { entries = entries.filter { $0.value > now } }
        if entries.count >= capacity { entries.removeAll() }
        entries[digest(upn, password, hash)] = now + ttl
    }
}
