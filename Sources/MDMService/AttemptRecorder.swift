import Foundation
import Logging
import Metrics
import MDMCore
import MDMStorage
import Synchronization

/// Writes attempts, coalescing repeated identical failures from one source: within `window` of the first, a failure
/// with the same source, phase, user, fault and rules adds to the first record's count instead of a row of its own,
/// so one client hammering an endpoint cannot fill the disk.
public final class AttemptRecorder: Sendable {
    let store: any AttemptStore
    let window: TimeInterval
    let logger: Logger
    let recent = Mutex<[String: (id: String, first: Date)]>([:])
    static let capacity = 20_000

    public init(store: any AttemptStore, window: TimeInterval = 600, logger: Logger = Logger(label: "winmdm.attempts")) {
        self.store = store
        self.window = window
        self.logger = logger
    }

    /// Returns the id the attempt is recorded under: its own, or the earlier identical failure's it was counted on
    /// (the TraceId to hand the device, so `winmdm attempts show` finds it).
    @discardableResult
    public func record(_ attempt: EnrollmentAttempt) async -> String {
        Self.count(attempt)
        do {
            if attempt.outcome == .failed, let key = Self.key(attempt) {
                let now = attempt.time
                let window = self.window
                let earlier: String? = recent.withLock { map in
                    if let hit = map[key], now.timeIntervalSince(hit.first) < window { return hit.id }
                    if map.count >= Self.capacity { map = map.filter { now.timeIntervalSince($0.value.first) < window } }
                    if map.count >= Self.capacity { map.removeAll() }
                    map[key] = (attempt.id, now)
                    return nil
                }
                if let earlier {
                    // Repeats are counted, not logged one by one: one client hammering an endpoint cannot flood the log.
                    try await store.noteRepeat(attemptID: earlier, at: now)
                    logger.debug("refused again", metadata: ["attempt": .string(earlier), "phase": .string(attempt.phase.rawValue)])
                    return earlier
                }
            }
            try await store.recordAttempt(attempt)
            if attempt.outcome == .failed { logger.info("refused", metadata: Self.metadata(attempt)) }
        } catch {
            logger.error("could not record attempt", metadata: ["attempt": .string(attempt.id), "error": .string("\(error)")])
        }
        return attempt.id
    }

    /// `winmdm_enrollment_attempts_total{phase, outcome, rule}`: every attempt, repeats included (the rule is the
    /// first denial's, `none` for a success or a failure no rule decided). Labels come from closed sets only.
    static func count(_ a: EnrollmentAttempt) {
        Counter(label: "winmdm_enrollment_attempts_total",
                dimensions: [("phase", a.phase.rawValue), ("outcome", a.outcome.rawValue), ("rule", rule(a))])
            .increment()
    }

    /// The rule that decided, else for a failure the fault's kind (`fault-authentication`, `fault-messageformat` …).
    static func rule(_ a: EnrollmentAttempt) -> String {
        if let r = a.denials.first?.rule { return r.rawValue }
        guard a.outcome == .failed else { return "none" }
        return a.fault.map { "fault-" + $0.subcode.rawValue.lowercased().filter { $0.isLetter || $0.isNumber } } ?? "fault-other"
    }

    /// What a refusal's log line carries: enough to find the attempt (`winmdm attempts show ID`) and to grep by rule,
    /// user or code.
    static func metadata(_ a: EnrollmentAttempt) -> Logger.Metadata {
        var m: Logger.Metadata = ["attempt": .string(a.id), "phase": .string(a.phase.rawValue)]
        if let r = a.denials.first?.rule { m["rule"] = .string(r.rawValue) }
        if let u = a.facts.upn { m["user"] = .string(u) }
        if let c = a.code { m["code"] = .string(c) }
        if let addr = a.remoteAddress { m["address"] = .string(addr) }
        if a.httpStatus != 200 { m["status"] = .string(String(a.httpStatus)) }
        if let reason = a.fault?.reason ?? a.notes.first { m["reason"] = .string(reason) }
        return m
    }

    /// Same source, phase, user, device, fault (with its reason) and rules; nil when there is no source to key on.
    static func key(_ a: EnrollmentAttempt) -> String? {
        guard let source = a.remoteAddress else { return nil }
        let rules = a.denials.map(\.rule.rawValue).joined(separator: ",")
        return [source, a.phase.rawValue, a.facts.upn ?? "", a.facts.hwDevID ?? "", a.fault?.code ?? "", a.fault?.reason ?? "",
                rules, a.notes.joined(separator: ";"), String(a.httpStatus)].joined(separator: "\u{1F}")
    }
}
