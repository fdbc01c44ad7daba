import Foundation
import MDMCore
import MDMStorage

/// Smart lockout for every password sign-in (enrollment, the Federated page, the console).
///
/// Before the password is checked, the account and the source address are looked up: a locked key refuses the
/// sign-in without running the KDF, even when the password is right. A source that signed the account in recently
/// is familiar and keeps its own count, so an attacker elsewhere cannot lock the real user out.
public struct SignInGuard: Sendable {
    let store: any SignInThrottleStore & AuditStore
    let clock: any MDMCore.Clock

    public init(store: any SignInThrottleStore & AuditStore, clock: any MDMCore.Clock) {
        self.store = store
        self.clock = clock
    }

    public struct Admission: Sendable {
        /// The source signed this account in within the familiar window.
        public var familiar: Bool
        /// The lockout in force, when there is one.
        public var lockout: SignInThrottle?
    }

    public func admit(upn: String, source: String, settings: LockoutSettings) async throws -> Admission {
        let now = clock.now()
        let found = try await store.throttles(keys: keys(upn, source, familiar: true) + [SignInThrottle.account(upn)])
        let entry = { (k: String) in found.first { $0.key == k } }
        let pair = entry(SignInThrottle.pair(upn, source))
        let familiar = pair?.lastSuccess.map { now.timeIntervalSince($0) < settings.familiarFor } ?? false
        let candidates = familiar ? [pair] : [entry(SignInThrottle.account(upn)), entry(SignInThrottle.source(source))]
        return Admission(familiar: familiar, lockout: candidates.compactMap { $0 }.first { $0.isLocked(at: now) })
    }

    /// Counts a failed sign-in; returns the lockouts it started (each audited).
    @discardableResult
    public func failed(upn: String, source: String, familiar: Bool, settings: LockoutSettings) async throws -> [SignInThrottle] {
        let now = clock.now()
        var started: [SignInThrottle] = []
        let updated = try await store.updateThrottles(keys: keys(upn, source, familiar: familiar)) { entries in
            for i in entries.indices {
                let threshold = entries[i].key.hasPrefix("source:") ? settings.sourceThreshold : settings.accountThreshold
                entries[i].fail(at: now, threshold: threshold, settings: settings)
            }
        }
        // `fail` resets the count when it locks: a key locked by this failure has no failures left and failed now.
        for e in updated where e.isLocked(at: now) && e.failures == 0 && e.lastFailure == now {
            started.append(e)
            let until = e.lockedUntil.map { GraphDate.string($0) } ?? ""
            try? await store.appendAudit(AuditEntry(time: now, actor: "system:lockout", action: "sign-in lockout",
                                                    target: e.subject, before: nil,
                                                    after: "locked until \(until) after repeated failed sign-ins (lockout \(e.lockouts))"))
        }
        return started
    }

    /// A right password: the source becomes familiar for the account and its count starts again.
    public func succeeded(upn: String, source: String) async throws {
        let now = clock.now()
        _ = try await store.updateThrottles(keys: [SignInThrottle.pair(upn, source)]) { entries in
            for i in entries.indices {
                entries[i].lastSuccess = now
                if !entries[i].isLocked(at: now) { entries[i].failures = 0 }
            }
        }
    }

    /// Failures count on the pair for a familiar source, else on the account; always on the source.
    func keys(_ upn: String, _ source: String, familiar: Bool) -> [String] {
        [familiar ? SignInThrottle.pair(upn, source) : SignInThrottle.account(upn), SignInThrottle.source(source)]
    }
}

/// Runs the password KDF off the Swift concurrency pool, a bounded number at a time, served fairly across sources:
/// waiting checks are queued per source address and taken round-robin, so a flood of guesses from one place waits
/// behind itself and cannot starve other users' sign-ins; a source (or the whole server) with too many waiting is
/// turned away at once instead of queueing without bound.
public actor KDFBudget {
    public struct Busy: Error, Sendable {}

    let limit: Int
    let perSource: Int
    let maxWaiting: Int
    var running = 0
    var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    var turn: [String] = []
    var waitingCount = 0
    let queue = DispatchQueue(label: "winmdm.kdf", attributes: .concurrent)

    /// `limit` checks run at once; one source may have `perSource` waiting, all sources `maxWaiting`.
    public init(limit: Int = max(1, ProcessInfo.processInfo.activeProcessorCount), perSource: Int = 128, maxWaiting: Int = 1024) {
        self.limit = limit
        self.perSource = perSource
        self.maxWaiting = maxWaiting
    }

    public func run<T: Sendable>(source: String, _ work: @escaping @Sendable () -> T) async throws -> T {
        if running < limit && waitingCount == 0 {
            running += 1
        } else {
            guard waiting[source, default: []].count < perSource, waitingCount < maxWaiting else { throw Busy() }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if waiting[source] == nil { turn.append(source) }
                waiting[source, default: []].append(c)
                waitingCount += 1
            }
        }
        let result = await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            queue.async { c.resume(returning: work()) }
        }
        handOver()
        return result
    }

    /// Checks waiting for a slot now.
    public var waitingChecks: Int { waitingCount }

    /// The slot goes to the next source in turn (its oldest waiter), or is freed.
    func handOver() {
        guard !turn.isEmpty else { running -= 1; return }
        let source = turn.removeFirst()
        var q = waiting[source] ?? []
        let next = q.removeFirst()
        waitingCount -= 1
        if q.isEmpty { waiting[source] = nil } else { waiting[source] = q; turn.append(source) }
        next.resume()
    }
}
