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
    /// `Get`, `Replace`, `Add`, `Exec`, `Delete`.
    public var verb: String
    public var items: [DMItem]
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

    public init(id: String = UUID().uuidString.lowercased(), enrollmentID: String, kind: String, verb: String, items: [DMItem],
                createdAt: Date) {
        self.id = id
        self.enrollmentID = enrollmentID
        self.kind = kind
        self.verb = verb
        self.items = items
        self.state = .queued
        self.results = []
        self.createdAt = createdAt
    }
}
