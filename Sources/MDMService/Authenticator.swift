import Crypto
import Foundation
import MDMCore
import MDMStorage
import MDMWire

/// Who a request's credential proves, or why it proves nothing.
public enum AuthOutcome: Sendable {
    case authenticated(User, CredentialKind)
    case refused(CredentialKind, upn: String?, reason: String)
}

/// Checks the `wsse:Security` credential of Policy and RST requests against the directory.
public struct Authenticator: Sendable {
    let directory: any DirectoryStore
    let hasher: PasswordHasher
    let tokens: FederatedTokens
    let clock: any MDMCore.Clock
    let cache: VerifiedPasswordCache

    public init(directory: any DirectoryStore, hasher: PasswordHasher, tokens: FederatedTokens, clock: any MDMCore.Clock,
                cacheKey: [UInt8]) {
        self.directory = directory
        self.hasher = hasher
        self.tokens = tokens
        self.clock = clock
        self.cache = VerifiedPasswordCache(key: cacheKey)
    }

    public func authenticate(_ credential: SecurityCredential?, policy: AuthPolicy) async throws -> AuthOutcome {
        switch credential {
        case nil:
            return .refused(.none, upn: nil, reason: "The request carries no credential (no WS-Security header).")
        case .usernameToken(let name, let password)?:
            let upn = UPN.normalize(name)
            guard policy == .onPremise else {
                return .refused(.password, upn: upn, reason: "A password was sent, but winmdm is set to Federated sign-in; the device must sign in through the sign-in page.")
            }
            return try await checkPassword(upn: upn, password: password)
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

    /// Verifies a directory password: slow KDF, constant-time comparison, same effort for unknown users.
    public func checkPassword(upn: String, password: String) async throws -> AuthOutcome {
        guard let user = try await directory.user(upn: upn), let stored = user.passwordHash else {
            hasher.burn(password)
            return .refused(.password, upn: upn, reason: "No user \(upn) exists in the directory.")
        }
        if await cache.contains(upn: upn, password: password, hash: stored, now: clock.now()) {
            return user.enabled ? .authenticated(user, .password)
                : .refused(.password, upn: upn, reason: "The account \(upn) is disabled.")
        }
        guard hasher.verify(password, against: stored) else {
            return .refused(.password, upn: upn, reason: "The password for \(upn) is wrong.")
        }
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
