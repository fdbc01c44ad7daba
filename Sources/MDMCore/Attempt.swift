import Foundation

public enum AttemptOutcome: String, Codable, Sendable {
    case succeeded
    case failed
}

/// One request to an enrollment endpoint, successful or not, with everything needed to understand it later.
public struct EnrollmentAttempt: Codable, Sendable, Equatable, Identifiable {
    /// Sent to the device as the fault's TraceId.
    public var id: String
    public var time: Date
    public var phase: EnrollmentPhase
    public var remoteAddress: String?
    public var userAgent: String?
    public var facts: EnrollmentFacts
    public var outcome: AttemptOutcome
    /// The fault sent, if any.
    public var fault: EnrollmentFault?
    /// Every rule that said no, in precedence order; the first is the one the device saw.
    public var denials: [Denial]
    /// The enrollment created, when one was.
    public var enrollmentID: String?
    /// Non-fatal oddities worth knowing (a CSR quirk, an unknown context item).
    public var notes: [String]
    /// The request body as received, secrets redacted, cut to a bounded size; kept for failures.
    public var requestExcerpt: String?
    public var httpStatus: Int
    /// Identical failures from the same source that followed within the coalescing window, counted on this record
    /// instead of a row each.
    public var repeats: Int?
    public var lastRepeatAt: Date?
    /// For an Enrollment Status Page failure or timeout: the profile it waited on.
    public var heldBy: StatusPageHold?

    public init(id: String = UUID().uuidString.lowercased(), time: Date, phase: EnrollmentPhase,
                remoteAddress: String? = nil, userAgent: String? = nil, facts: EnrollmentFacts = .init(),
                outcome: AttemptOutcome = .succeeded, fault: EnrollmentFault? = nil, denials: [Denial] = [],
                enrollmentID: String? = nil, notes: [String] = [], requestExcerpt: String? = nil, httpStatus: Int = 200) {
        self.id = id
        self.time = time
        self.phase = phase
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent
        self.facts = facts
        self.outcome = outcome
        self.fault = fault
        self.denials = denials
        self.enrollmentID = enrollmentID
        self.notes = notes
        self.requestExcerpt = requestExcerpt
        self.httpStatus = httpStatus
    }

    /// What the device reported, as `0x8018xxxx`; nil for successes.
    public var code: String? { fault?.code }
}
