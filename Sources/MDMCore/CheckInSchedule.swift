import Foundation

/// When enrolled devices start a management session on their own (DMClient `Poll`): a quick first set right after
/// enrollment, a second set, then a steady interval forever. Without push, this is how soon a queued command or a
/// changed profile reaches a device.
public struct CheckInSchedule: Codable, Sendable, Equatable {
    /// Minutes between check-ins of the first set, and how many.
    public var firstInterval: Int
    public var firstCount: Int
    public var secondInterval: Int
    public var secondCount: Int
    /// Minutes between check-ins after both sets, forever.
    public var remainingInterval: Int

    public init(firstInterval: Int, firstCount: Int, secondInterval: Int, secondCount: Int, remainingInterval: Int) {
        self.firstInterval = firstInterval
        self.firstCount = firstCount
        self.secondInterval = secondInterval
        self.secondCount = secondCount
        self.remainingInterval = remainingInterval
    }

    /// Intune's: every 3 minutes for 15 minutes, every 15 minutes for 2 hours, then every 8 hours.
    public static let intune = CheckInSchedule(firstInterval: 3, firstCount: 5, secondInterval: 15, secondCount: 8, remainingInterval: 480)

    /// What Windows accepts, and what keeps a fleet from hammering the server; the message says what would be.
    public func validate() throws(ProfileError) {
        guard (1...1440).contains(firstInterval), (1...100).contains(firstCount) else {
            throw ProfileError("The first set is 1 to 100 check-ins, 1 to 1440 minutes apart (Windows advises against an empty first set).")
        }
        guard secondCount == 0 || (1...1440).contains(secondInterval), (0...100).contains(secondCount) else {
            throw ProfileError("The second set is 0 to 100 check-ins, 1 to 1440 minutes apart.")
        }
        guard (15...10080).contains(remainingInterval) else {
            throw ProfileError("After the first sets devices check in every 15 minutes to 7 days (10080 minutes); \(remainingInterval) is outside.")
        }
        guard firstInterval * firstCount + secondInterval * secondCount <= 7 * 1440 else {
            throw ProfileError("The first two sets should span hours, not more than 7 days.")
        }
    }

    /// When a device enrolled at `enrolledAt` and last seen at `lastSeen` will check in next, by this schedule (at the
    /// latest: Windows may come sooner, at a sign-in or a restart).
    public func nextCheckIn(enrolledAt: Date, lastSeen: Date?, now: Date) -> Date {
        let first = enrolledAt + Double(firstInterval * firstCount * 60)
        let second = first + Double(secondInterval * secondCount * 60)
        let from = max(lastSeen ?? enrolledAt, enrolledAt)
        let interval = from < first ? firstInterval : from < second ? secondInterval : remainingInterval
        var next = from + Double(interval * 60)
        // Overdue: the device missed its slot (off, asleep, offline); it comes at its next one after now.
        while next <= now { next += Double(remainingInterval * 60) }
        return next
    }

    public var summary: String {
        func span(_ m: Int) -> String { m % 60 == 0 ? "\(m / 60) hour\(m == 60 ? "" : "s")" : "\(m) minute\(m == 1 ? "" : "s")" }
        var parts = ["every \(span(firstInterval)) for \(span(firstInterval * firstCount))"]
        if secondCount > 0 { parts.append("every \(span(secondInterval)) for \(span(secondInterval * secondCount))") }
        parts.append("then every \(span(remainingInterval))")
        return parts.joined(separator: ", ")
    }
}
