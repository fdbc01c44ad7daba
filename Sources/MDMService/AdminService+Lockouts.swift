import Foundation
import MDMCore
import MDMStorage

/// Failed sign-ins and lockouts: what is counted, clearing it, and the thresholds.
extension AdminService {
    /// Keys with a lockout in force or failures counted, newest failure first.
    public func lockouts() async throws -> [SignInThrottle] { try await store.activeThrottles(now: clock.now()) }

    /// Clears the failures and lockouts counted against a UPN or an address (audited).
    public func clearLockouts(_ subject: String) async throws -> [SignInThrottle] {
        let s = subject.trimmingCharacters(in: .whitespaces).lowercased()
        guard !s.isEmpty else { throw AdminError("Name a user (UPN) or an address whose lockout to clear.") }
        let gone = try await store.clearThrottles(matching: s)
        guard !gone.isEmpty else {
            throw AdminError("Nothing is counted against \(subject): no failed sign-ins or lockouts.", cli: "`winmdm lockouts list` shows what is.",
                             console: "Troubleshooting + support lists what is.")
        }
        try await audit("lockout.clear", s, before: gone, after: nil as [SignInThrottle]?)
        return gone
    }

    /// Changes the lockout thresholds; nil leaves a value as it is.
    public func setLockoutSettings(accountThreshold: Int? = nil, sourceThreshold: Int? = nil, duration: TimeInterval? = nil,
                                   maxDuration: TimeInterval? = nil) async throws -> LockoutSettings {
        var next = try await settings().lockout
        if let accountThreshold { next.accountThreshold = accountThreshold }
        if let sourceThreshold { next.sourceThreshold = sourceThreshold }
        if let duration { next.lockoutDuration = duration }
        if let maxDuration { next.maxLockoutDuration = maxDuration }
        guard (1...1000).contains(next.accountThreshold) else {
            throw AdminError("The account threshold must be from 1 to 1000 failed sign-ins (it is \(next.accountThreshold)).")
        }
        guard (1...10000).contains(next.sourceThreshold) else {
            throw AdminError("The address threshold must be from 1 to 10000 failed sign-ins (it is \(next.sourceThreshold)).")
        }
        guard next.lockoutDuration >= 1, next.lockoutDuration <= 86400 else {
            throw AdminError("The lockout duration must be from 1s to 1d, like 60s, 5m or 1h.")
        }
        guard next.maxLockoutDuration >= next.lockoutDuration, next.maxLockoutDuration <= 7 * 86400 else {
            throw AdminError("The longest lockout must be at least the lockout duration and at most 7d.")
        }
        let chosen = next
        return try await changeSettings("settings.lockout", "lockout") { $0.lockout = chosen }.lockout
    }
}
