import Foundation
import MDMCore
import MDMStorage

/// Changes to one restriction's Windows settings; nil leaves a setting as it is.
public struct PlatformChange: Sendable {
    public var platformBlocked: Bool?
    public var personalDeviceEnrollmentBlocked: Bool?
    /// "" clears the bound.
    public var osMinimumVersion: String?
    public var osMaximumVersion: String?
    public var homeAllowed: Bool?

    public init(platformBlocked: Bool? = nil, personalDeviceEnrollmentBlocked: Bool? = nil, osMinimumVersion: String? = nil,
                osMaximumVersion: String? = nil, homeAllowed: Bool? = nil) {
        self.platformBlocked = platformBlocked
        self.personalDeviceEnrollmentBlocked = personalDeviceEnrollmentBlocked
        self.osMinimumVersion = osMinimumVersion
        self.osMaximumVersion = osMaximumVersion
        self.homeAllowed = homeAllowed
    }

    /// Refuses version bounds Windows does not use, and a minimum above the maximum.
    public func validate() throws {
        for v in [osMinimumVersion, osMaximumVersion].compactMap({ $0 }) where !v.isEmpty {
            if let problem = WindowsVersion.boundProblem(v) { throw AdminError(problem) }
        }
        if let min = osMinimumVersion, let max = osMaximumVersion, !min.isEmpty, !max.isEmpty,
           WindowsVersion.compare(min, max) == .orderedDescending {
            throw AdminError("The minimum version \(min) is above the maximum \(max).")
        }
    }

    public func apply(to w: inout PlatformRestriction) {
        if let v = platformBlocked { w.platformBlocked = v }
        if let v = personalDeviceEnrollmentBlocked { w.personalDeviceEnrollmentBlocked = v }
        if let v = osMinimumVersion { w.osMinimumVersion = v.isEmpty ? nil : v }
        if let v = osMaximumVersion { w.osMaximumVersion = v.isEmpty ? nil : v }
        if let v = homeAllowed { w.homeAllowed = v }
    }
}

// Enrollment restrictions: a Default per type plus group-targeted ones with priorities 1…n.
extension AdminService {
    public static let maxRestrictionsPerType = 25

    /// Customs by priority, then the Default.
    public func restrictions(_ type: RestrictionType) async throws -> [Restriction] {
        let s = try await settings()
        return s.restrictions.filter { $0.type == type && !$0.isDefault }.sorted { $0.priority < $1.priority }
            + [s.defaultRestriction(type)]
    }

    /// By id, by display name, or `Default`.
    public func restriction(_ type: RestrictionType, _ ref: String) async throws -> Restriction {
        let all = try await restrictions(type)
        let r = ref.lowercased()
        if r == "default", let d = all.last { return d }
        if let m = all.first(where: { $0.id.lowercased() == r || $0.displayName.lowercased() == r }) { return m }
        throw AdminError.notFound("No \(type.noun) \(ref); they are: \(all.map { $0.isDefault ? "Default" : $0.displayName }.joined(separator: ", ")).")
    }

    /// A device limit or device type restriction by id (the console's addresses name restrictions by id alone).
    public func restriction(id: String) async throws -> Restriction {
        let all = try await restrictions(.deviceLimit) + (try await restrictions(.platform))
        guard let r = all.first(where: { $0.id == id }) else {
            throw AdminError.notFound("No restriction \(id).", console: "Devices › Enrollment restrictions lists them.")
        }
        return r
    }

    public static func checkLimit(_ limit: Int) throws {
        guard TenantSettings.deviceLimitRange.contains(limit) else {
            throw AdminError("A device limit must be between 1 and 15 (got \(limit)); 15 is the most a restriction allows.")
        }
    }

    /// Creates a restriction, assigned to `groups` in the same change: a group that does not exist refuses the
    /// whole creation, leaving nothing behind (not even an audit entry).
    public func createRestriction(_ type: RestrictionType, name: String, description: String = "", limit: Int? = nil,
                                  platform: PlatformChange = .init(), statusPage: StatusPageSettings? = nil,
                                  groups: [String] = []) async throws -> Restriction {
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty, n.lowercased() != "default" else { throw AdminError("Give the restriction a name other than Default.") }
        var r = Restriction(id: UUID().uuidString.lowercased(), type: type, displayName: n, description: description,
                            priority: 1, createdAt: clock.now())
        r.assignedGroups = try await resolveGroups(groups)
        switch type {
        case .deviceLimit:
            guard let limit else { throw AdminError("A device limit restriction needs a limit, 1 to 15", cli: "(--limit).", console: ".") }
            try Self.checkLimit(limit)
            r.limit = limit
        case .platform:
            try platform.validate()
            var w = PlatformRestriction()
            platform.apply(to: &w)
            r.windows = w
        case .enrollmentStatusPage:
            r.statusPage = statusPage ?? StatusPageSettings()
        }
        let made = r
        let after = try await changeSettings("restriction.create", n) { s in
            let same = s.restrictions.filter { $0.type == type && !$0.isDefault }
            guard same.count < Self.maxRestrictionsPerType else {
                throw AdminError("There are already \(Self.maxRestrictionsPerType) \(type.noun)s, the most allowed; delete one first.")
            }
            guard !same.contains(where: { $0.displayName.lowercased() == n.lowercased() }) else {
                throw AdminError("A \(type.noun) named \(n) already exists.")
            }
            var new = made
            new.priority = same.count + 1 // just above the Default
            s.restrictions.append(new)
        }
        return after.restrictions.first { $0.id == made.id }!
    }

    public func editRestriction(_ type: RestrictionType, _ ref: String, name: String? = nil, description: String? = nil,
                                limit: Int? = nil, platform: PlatformChange = .init(),
                                statusPage: StatusPageChange.Resolved? = nil) async throws -> Restriction {
        let r = try await restriction(type, ref)
        if let limit {
            guard type == .deviceLimit else { throw AdminError("A limit applies to device limit restrictions only.") }
            try Self.checkLimit(limit)
        }
        try platform.validate()
        if let name, r.isDefault || name.lowercased() == "default" { throw AdminError("The Default restriction keeps its name.") }
        let now = clock.now()
        let after = try await changeSettings("restriction.update", r.displayName) { s in
            guard let i = s.restrictions.firstIndex(where: { $0.id == r.id }) else { return }
            if let name { s.restrictions[i].displayName = name }
            if let description { s.restrictions[i].description = description }
            if let limit { s.restrictions[i].limit = limit }
            if type == .platform {
                var w = s.restrictions[i].windows ?? PlatformRestriction()
                platform.apply(to: &w)
                s.restrictions[i].windows = w
            }
            if type == .enrollmentStatusPage, let statusPage {
                var p = s.restrictions[i].statusPage ?? .intuneDefault
                statusPage.apply(to: &p)
                s.restrictions[i].statusPage = p
            }
            s.restrictions[i].lastModifiedAt = now
            s.restrictions[i].version = (s.restrictions[i].version ?? 1) + 1
        }
        return after.restrictions.first { $0.id == r.id }!
    }

    public func assignRestriction(_ type: RestrictionType, _ ref: String, groups: [String], remove: Bool = false) async throws -> Restriction {
        let r = try await restriction(type, ref)
        guard !r.isDefault else { throw AdminError("The Default restriction applies to everyone; it cannot be assigned to groups.") }
        let ids = try await resolveGroups(groups)
        let after = try await changeSettings(remove ? "restriction.unassign" : "restriction.assign", r.displayName) { s in
            guard let i = s.restrictions.firstIndex(where: { $0.id == r.id }) else { return }
            if remove {
                s.restrictions[i].assignedGroups.removeAll { ids.contains($0) }
            } else {
                s.restrictions[i].assignedGroups += ids.filter { !s.restrictions[i].assignedGroups.contains($0) }
            }
        }
        return after.restrictions.first { $0.id == r.id }!
    }

    /// Sets exactly which groups a restriction is assigned to (the console's Properties form): the groups that differ
    /// are added and removed in one change, audited once. An unknown group refuses the whole change.
    public func setRestrictionGroups(_ type: RestrictionType, _ ref: String, groups: [String]) async throws -> Restriction {
        let r = try await restriction(type, ref)
        guard !r.isDefault else { throw AdminError("The Default restriction applies to everyone; it cannot be assigned to groups.") }
        let ids = try await resolveGroups(groups)
        guard Set(ids) != Set(r.assignedGroups) else { return r }
        let after = try await changeSettings("restriction.assign", r.displayName) { s in
            guard let i = s.restrictions.firstIndex(where: { $0.id == r.id }) else { return }
            s.restrictions[i].assignedGroups = ids.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        return after.restrictions.first { $0.id == r.id }!
    }

    /// Moves a restriction to `priority` (1 is highest) and renumbers the others of its type.
    public func setPriority(_ type: RestrictionType, _ ref: String, priority: Int) async throws -> [Restriction] {
        let r = try await restriction(type, ref)
        guard !r.isDefault else { throw AdminError("The Default restriction is always evaluated last; its priority cannot change.") }
        try await changeSettings("restriction.setPriority", r.displayName) { s in
            var ordered = s.restrictions.filter { $0.type == type && !$0.isDefault }.sorted { $0.priority < $1.priority }
            guard (1...ordered.count).contains(priority) else {
                throw AdminError("Priority must be between 1 and \(ordered.count) (1 is evaluated first).")
            }
            ordered.removeAll { $0.id == r.id }
            ordered.insert(r, at: priority - 1)
            for (n, item) in ordered.enumerated() {
                if let i = s.restrictions.firstIndex(where: { $0.id == item.id }) { s.restrictions[i].priority = n + 1 }
            }
        }
        return try await restrictions(type)
    }

    public func deleteRestriction(_ type: RestrictionType, _ ref: String) async throws {
        let r = try await restriction(type, ref)
        guard !r.isDefault else { throw AdminError("The Default restriction cannot be deleted; edit it instead.") }
        try await changeSettings("restriction.delete", r.displayName) { s in
            s.restrictions.removeAll { $0.id == r.id }
            let rest = s.restrictions.filter { $0.type == type && !$0.isDefault }.sorted { $0.priority < $1.priority }
            for (n, item) in rest.enumerated() {
                if let i = s.restrictions.firstIndex(where: { $0.id == item.id }) { s.restrictions[i].priority = n + 1 }
            }
        }
    }
}

extension RestrictionType {
    /// "device limit restriction", "Enrollment Status Page".
    public var noun: String { self == .enrollmentStatusPage ? label : label + " restriction" }
    public var label: String {
        switch self {
        case .deviceLimit: "device limit"
        case .platform: "device type"
        case .enrollmentStatusPage: "Enrollment Status Page"
        }
    }
}
