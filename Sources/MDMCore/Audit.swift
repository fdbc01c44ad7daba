import Foundation

/// One administrative change: who did what to which object, with the state before and after (JSON).
public struct AuditEntry: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var time: Date
    public var actor: String
    public var action: String
    public var target: String
    public var before: String?
    public var after: String?

    public init(id: String = UUID().uuidString.lowercased(), time: Date, actor: String, action: String, target: String,
                before: String?, after: String?) {
        self.id = id
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.before = before
        self.after = after
    }
}
