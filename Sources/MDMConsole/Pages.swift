import Foundation

/// A console page's values, typed: the route fills one from the services, and the page names its template and says
/// what the template reads. Built by plain functions, a page model can be tested without HTTP.
public protocol PageModel: Sendable {
    static var template: String { get }
    /// What the template reads (Mustache's context).
    var context: [String: Any] { get }
}

/// A short page that says what happened, with a way back: a refused form, something not found, a refused role.
public struct MessagePage: PageModel {
    public static let template = "message"
    public var heading: String
    public var text: String
    /// Where "Back" leads; nil shows none.
    public var back: String?

    public init(heading: String, text: String, back: String? = nil) {
        self.heading = heading
        self.text = text
        self.back = back
    }

    public var context: [String: Any] {
        var c: [String: Any] = ["heading": heading, "text": text]
        if let back { c["back"] = back }
        return c
    }
}

/// Review + save, as in the Intune admin center: what the form will change, field by field, before anything does.
/// Save posts the same form again with `reviewed=yes`; Back returns to the form.
public struct ReviewPage: PageModel {
    public struct Change: Sendable, Equatable {
        public var field: String
        public var before: String
        public var after: String
        public init(field: String, before: String, after: String) {
            self.field = field
            self.before = before
            self.after = after
        }
    }

    public static let template = "review"
    public var heading: String
    public var changes: [Change]
    /// Where Save posts.
    public var action: String
    /// The form as submitted (the security token is added by the layout, not carried here).
    public var fields: [(name: String, value: String)]
    public var back: String

    public init(heading: String, changes: [Change], action: String, fields: [(name: String, value: String)], back: String) {
        self.heading = heading
        self.changes = changes
        self.action = action
        self.fields = fields.filter { $0.name != "csrf" && $0.name != "reviewed" }
        self.back = back
    }

    /// The changes between two descriptions of the same settings, in the order of `before` ("(none)" for empty).
    public static func changes(_ before: [(String, String)], _ after: [(String, String)]) -> [Change] {
        let wanted = Dictionary(after, uniquingKeysWith: { _, last in last })
        return before.compactMap { field, old in
            guard let new = wanted[field], new != old else { return nil }
            return Change(field: field, before: old.isEmpty ? "(none)" : old, after: new.isEmpty ? "(none)" : new)
        }
    }

    public var context: [String: Any] {
        ["heading": heading, "action": action, "back": back, "hasChanges": !changes.isEmpty,
         "changes": changes.map { ["field": $0.field, "before": $0.before, "after": $0.after] },
         "fields": fields.map { ["name": $0.name, "value": $0.value] }]
    }
}
