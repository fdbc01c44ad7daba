import Foundation
import MDMCore
import MDMStorage

/// The reads the front ends page through (the console's listings and detail pages, status counts). They change
/// nothing, so nothing is audited; each is one indexed query of the store, never a scan of what it does not return.
extension AdminService {
    /// How many users, enrolled devices and commands there are, counted in the database.
    public func operationalCounts() async throws -> OperationalCounts { try await store.operationalCounts() }

    /// Users in UPN order after `after` (exclusive), at most `limit`.
    public func users(after: String?, limit: Int) async throws -> [User] { try await store.users(after: after, limit: limit) }

    /// Users by id, in the order given; ids no user has are left out.
    public func users(ids: [String]) async throws -> [User] {
        var out: [User] = []
        for id in ids { if let u = try await store.user(id: id) { out.append(u) } }
        return out
    }

    /// The groups a user is a direct member of, by name.
    public func groups(ofUser userID: String) async throws -> [Group] {
        var out: [Group] = []
        for id in try await store.groupIDs(of: userID) { if let g = try await store.group(id: id) { out.append(g) } }
        return out.sorted { $0.displayName.localizedCaseInsensitiveCompare($1.displayName) == .orderedAscending }
    }

    /// Enrolled devices per UPN, for the UPNs given.
    public func activeEnrollmentCounts(upns: [String]) async throws -> [String: Int] { try await store.activeEnrollmentCounts(upns: upns) }

    public func activeEnrollments(upn: String) async throws -> [Enrollment] { try await store.activeEnrollments(upn: upn) }

    /// Enrollments in id order after `after`, at most `limit`.
    public func enrollments(after: String?, limit: Int, activeOnly: Bool) async throws -> [Enrollment] {
        try await store.enrollments(after: after, limit: limit, activeOnly: activeOnly)
    }

    /// The enrollments named, all of them the user's: one that is not refuses the lot (a form that named another
    /// user's device changes nothing).
    public func enrollments(ids: [String], ofUser upn: String) async throws -> [Enrollment] {
        let owner = UPN.normalize(upn)
        var found: [Enrollment] = []
        for id in ids {
            let e = try await enrollment(id)
            guard e.upn == owner else { throw AdminError("Enrollment \(id) does not belong to \(owner).") }
            found.append(e)
        }
        return found
    }

    /// Every enrollment (a sort by a column other than the key needs them all).
    public func allEnrollments() async throws -> [Enrollment] { try await store.allEnrollments() }

    /// An enrollment by id, nil when there is none.
    public func enrollment(id: String) async throws -> Enrollment? { try await store.enrollment(id: id) }

    /// A device's newest commands, newest first.
    public func commands(enrollmentID: String, limit: Int) async throws -> [DeviceCommand] {
        try await store.commands(enrollmentID: enrollmentID, limit: limit)
    }

    /// Where each configuration profile stands on a device.
    public func profileStates(enrollmentID: String) async throws -> [DeviceProfileState] { try await store.profileStates(enrollmentID: enrollmentID) }
}
