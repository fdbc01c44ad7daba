import Foundation

/// Failed sign-ins counted against one key, and the lockout they earned.
///
/// Keys name what is counted, in the spirit of Entra's smart lockout:
/// - `account:<upn>`: failures for an account from sources that never signed it in (an attacker elsewhere);
/// - `pair:<upn>|<address>`: one account from one source; with a recent success it is a *familiar* source, which
///   keeps its own count, so an attacker elsewhere cannot lock the real user out;
/// - `source:<address>`: failures from one address across all accounts (password spraying, guessing names).
public struct SignInThrottle: Codable, Sendable, Equatable {
    public var key: String
    public var failures: Int
    public var lastFailure: Date?
    public var lockedUntil: Date?
    /// Lockouts earned since the count last reset; each doubles the next one.
    public var lockouts: Int
    public var lastSuccess: Date?

    public init(key: String, failures: Int = 0, lastFailure: Date? = nil, lockedUntil: Date? = nil, lockouts: Int = 0,
                lastSuccess: Date? = nil) {
        self.key = key
        self.failures = failures
        self.lastFailure = lastFailure
        self.lockedUntil = lockedUntil
        self.lockouts = lockouts
        self.lastSuccess = lastSuccess
    }

    public static func account(_ upn: String) -> String { "account:\(upn)" }
    public static func pair(_ upn: String, _ address: String) -> String { "pair:\(upn)|\(address)" }
    public static func source(_ address: String) -> String { "source:\(address)" }

    /// Whether `key` names `subject` exactly: the UPN or address part, not a substring of another one.
    public static func keyMatches(_ key: String, _ subject: String) -> Bool {
        let s = subject.lowercased()
        let body = key.split(separator: ":", maxSplits: 1).last.map(String.init) ?? key
        return body.split(separator: "|").contains { $0 == s }
    }

    /// The entry once an admin cleared it: nothing counted, no lockout; a familiar source stays familiar (nil when
    /// nothing is left to keep).
    public var cleared: SignInThrottle? {
        lastSuccess.map { SignInThrottle(key: key, lastSuccess: $0) }
    }

    public func isLocked(at now: Date) -> Bool { lockedUntil.map { $0 > now } ?? false }

    /// What the key names, for people: "alice@example.com from unfamiliar sources", "203.0.113.9".
    public var subject: String {
        if key.hasPrefix("account:") { return "\(key.dropFirst(8)) (from unfamiliar addresses)" }
        if key.hasPrefix("pair:") {
            let rest = key.dropFirst(5).split(separator: "|", maxSplits: 1)
            return rest.count == 2 ? "\(rest[0]) from \(rest[1])" : String(key)
        }
        if key.hasPrefix("source:") { return "address \(key.dropFirst(7)) (any account)" }
        return key
    }

    /// Counts a failure under `settings` and locks when the threshold is reached; a count older than the
    /// observation window starts again.
    public mutating func fail(at now: Date, threshold: Int, settings: LockoutSettings) {
        if let last = lastFailure, now.timeIntervalSince(last) > settings.observationWindow, !isLocked(at: now) {
            failures = 0
            lockouts = 0
        }
        failures += 1
        lastFailure = now
        if failures >= threshold {
            let growth = pow(2.0, Double(min(lockouts, 16)))
            lockedUntil = now + min(settings.lockoutDuration * growth, settings.maxLockoutDuration)
            lockouts += 1
            failures = 0
        }
    }
}

/// Thresholds of failed sign-ins (enrollment, the Federated page and the console). Tenant settings, changed with
/// `winmdm settings lockout`.
public struct LockoutSettings: Codable, Sendable, Equatable {
    /// Failures for one account (from unfamiliar sources, or from one familiar source) before it locks.
    public var accountThreshold: Int
    /// Failures from one address, whatever the account, before the address locks.
    public var sourceThreshold: Int
    /// The first lockout's length; each further lockout in the window doubles it, up to `maxLockoutDuration`.
    public var lockoutDuration: TimeInterval
    public var maxLockoutDuration: TimeInterval
    /// Failures older than this (with no lockout in force) are forgotten.
    public var observationWindow: TimeInterval
    /// A source that signed an account in within this time counts as familiar for it.
    public var familiarFor: TimeInterval

    public static let standard = LockoutSettings(accountThreshold: 10, sourceThreshold: 30, lockoutDuration: 60,
                                                 maxLockoutDuration: 3600, observationWindow: 3600, familiarFor: 30 * 86400)

    public init(accountThreshold: Int, sourceThreshold: Int, lockoutDuration: TimeInterval, maxLockoutDuration: TimeInterval,
                observationWindow: TimeInterval, familiarFor: TimeInterval) {
        self.accountThreshold = accountThreshold
        self.sourceThreshold = sourceThreshold
        self.lockoutDuration = lockoutDuration
        self.maxLockoutDuration = maxLockoutDuration
        self.observationWindow = observationWindow
        self.familiarFor = familiarFor
    }
}
