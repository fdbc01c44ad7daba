import Foundation

/// One item of an OMA-DM command: the node and, for writes, the value.
public struct DMItem: Codable, Sendable, Equatable {
    public var target: String
    public var format: String?
    public var type: String?
    public var data: String?

    public init(target: String, format: String? = nil, type: String? = nil, data: String? = nil) {
        self.target = target
        self.format = format
        self.type = type
        self.data = data
    }
}

/// One command inside an Atomic or a Sequence, with what the device answered for it.
public struct DMCommandStep: Codable, Sendable, Equatable {
    public var verb: String
    public var items: [DMItem]
    /// The CmdID it went out with.
    public var cmdID: String?
    public var status: String?
    public var results: [DMItem]?

    public init(verb: String, items: [DMItem]) {
        self.verb = verb
        self.items = items
    }
}

public enum DeviceCommandState: String, Codable, Sendable {
    /// Waiting for the device's next session.
    case queued
    /// Sent in a session; no Status yet.
    case sent
    /// The device answered 2xx.
    case succeeded
    /// The device answered with an error status.
    case failed
}

/// An administrator's command for one enrolled device: queued, delivered at the next session, answered.
public struct DeviceCommand: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var enrollmentID: String
    /// What it is for people: "inventory", "reboot", "rename", "unenroll", "raw" …
    public var kind: String
    /// `Get`, `Replace`, `Add`, `Exec`, `Delete`; or `Atomic` / `Sequence` with `steps`.
    public var verb: String
    public var items: [DMItem]
    /// The commands of an Atomic (all or none) or a Sequence (in order).
    public var steps: [DMCommandStep]?
    public var state: DeviceCommandState
    /// The device's Status code (200, 404, 418 …).
    public var status: String?
    /// Values returned for a Get.
    public var results: [DMItem]
    public var createdAt: Date
    public var sentAt: Date?
    public var completedAt: Date?
    /// The CmdID it went out with, to match the device's Status and Results.
    public var cmdID: String?
    /// How many sessions it went out in (nil: none yet). A session that ends before the device answers sends it again.
    public var deliveries: Int?
    /// Why it ended without an answer, when it did.
    public var note: String?
    /// For a profile's setting (kind `profile` or `profile-removal`): the profile and the version it came from.
    public var profileID: String?
    public var profileVersion: Int?

    /// Sessions a command goes out in before it is given up as never answered.
    public static let maxDeliveries = 3

    public init(id: String = UUID().uuidString.lowercased(), enrollmentID: String, kind: String, verb: String, items: [DMItem],
                steps: [DMCommandStep]? = nil, createdAt: Date) {
        self.id = id
        self.enrollmentID = enrollmentID
        self.kind = kind
        self.verb = verb
        self.items = items
        self.steps = steps
        self.state = .queued
        self.results = []
        self.createdAt = createdAt
    }

    /// Marks it sent in the message numbered `messageKey` ("session:msgID"); `cmdIDs` are the command's and its steps'.
    public mutating func markSent(at now: Date, messageKey: String, cmdID: String, stepCmdIDs: [String]) {
        state = .sent
        sentAt = now
        deliveries = (deliveries ?? 0) + 1
        self.cmdID = "\(messageKey):\(cmdID)"
        for (i, child) in stepCmdIDs.enumerated() where steps?.indices.contains(i) == true {
            steps?[i].cmdID = "\(messageKey):\(child)"
        }
    }

    /// The session it went out in ended without an answer (the device started a new one): it goes back to the queue,
    /// in its old place, or fails after `maxDeliveries` sessions so a command that breaks every session stops.
    public mutating func requeueUnanswered(at now: Date) {
        guard state == .sent else { return }
        if (deliveries ?? 1) >= Self.maxDeliveries {
            state = .failed
            completedAt = now
            note = "Sent in \(deliveries ?? 1) sessions; the device ended each one without answering."
            return
        }
        state = .queued
        sentAt = nil
        cmdID = nil
        status = nil
        results = []
        steps = steps?.map { var s = $0; s.cmdID = nil; s.status = nil; s.results = nil; return s }
    }

    /// Settles the state from the device's answers: an Atomic or Sequence succeeds only when it and every step did.
    /// Its items and those of its steps, in order.
    public var allItems: [DMItem] { items + (steps ?? []).flatMap(\.items) }

    public mutating func settle() {
        guard let status else { return }
        let ok: (String) -> Bool = { $0.hasPrefix("2") }
        let stepsOK = (steps ?? []).allSatisfy { $0.status.map(ok) ?? true }
        state = ok(status) && stepsOK ? .succeeded : .failed
    }
}

extension DeviceCommand {
    /// The creation time of the `index`th of `count` commands queued together: 10 µs apart, in order, the last at
    /// `now`, so the queue (ordered by creation) keeps them together and ahead of anything queued after them.
    public static func orderedTime(_ now: Date, _ index: Int, of count: Int) -> Date {
        now - Double(count - 1 - index) / 100_000
    }
}
