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

/// One field an audited change changed, as people read it: `limit: 5 → 6`.
public struct AuditFieldChange: Codable, Sendable, Equatable {
    /// Dotted path into the object (`windows.homeAllowed`, `assignedGroups[1]`).
    public var field: String
    /// The value as compact JSON; nil when the field did not exist on that side.
    public var before: String?
    public var after: String?

    public init(field: String, before: String?, after: String?) {
        self.field = field
        self.before = before
        self.after = after
    }
}

extension AuditEntry {
    /// The fields that differ between before and after, in path order: a one-field change of a large object (the
    /// tenant settings) reads as that one field. Arrays of plain values compare whole; arrays of objects by index.
    public var changes: [AuditFieldChange] { AuditDiff.changes(before: before, after: after) }
}

public enum AuditDiff {
    public static func changes(before: String?, after: String?) -> [AuditFieldChange] {
        var left: [String: String] = [:], right: [String: String] = [:]
        if let v = parse(before) { flatten(v, "", into: &left) }
        if let v = parse(after) { flatten(v, "", into: &right) }
        return Set(left.keys).union(right.keys).sorted().compactMap { k in
            left[k] == right[k] ? nil : AuditFieldChange(field: k.isEmpty ? "(value)" : k, before: left[k], after: right[k])
        }
    }

    static func parse(_ text: String?) -> Any? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    static func flatten(_ v: Any, _ path: String, into out: inout [String: String]) {
        if let o = v as? [String: Any] {
            if o.isEmpty { out[path] = "{}" }
            for (k, x) in o { flatten(x, path.isEmpty ? k : "\(path).\(k)", into: &out) }
        } else if let a = v as? [Any], a.contains(where: { $0 is [String: Any] }) {
            // Elements are named by their name (or id) when every one has a distinct one, so an insertion does not
            // shift the path of every element after it; by index otherwise.
            let objects = a.compactMap { $0 as? [String: Any] }
            func label(_ key: String) -> [String]? {
                let l = objects.compactMap { $0[key] as? String }
                return l.count == a.count && Set(l).count == l.count ? l : nil
            }
            let labels = label("displayName") ?? label("name") ?? label("id") ?? a.indices.map(String.init)
            for (i, x) in a.enumerated() { flatten(x, "\(path)[\(labels[i])]", into: &out) }
        } else {
            out[path] = text(v)
        }
    }

    static func text(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if let s = v as? String { return "\"\(s)\"" }
        guard let data = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) else {
            return "\(v)"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
