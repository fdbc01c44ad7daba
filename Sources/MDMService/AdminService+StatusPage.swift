import Foundation
import MDMCore
import MDMStorage

/// Changes to an Enrollment Status Page configuration; nil leaves a setting as it is. Profiles are named by name or
/// id and resolved before anything is written.
public struct StatusPageChange: Sendable {
    public var showInstallationProgress: Bool?
    public var blockDeviceUseUntilComplete: Bool?
    public var allowDeviceResetOnInstallFailure: Bool?
    public var blockDeviceSetupRetryByUser: Bool?
    public var allowDeviceUseOnInstallFailure: Bool?
    public var allowLogCollectionOnInstallFailure: Bool?
    public var customErrorMessage: String?
    public var installProgressTimeoutInMinutes: Int?
    public var disableUserStatusTrackingAfterFirstUser: Bool?
    /// Wait for every profile assigned to the device (true), or only for the listed ones (false).
    public var blockOnAllProfiles: Bool?
    /// Replaces the list of blocking profiles (and means "only these").
    public var blockingProfiles: [String]?
    public var addBlocking: [String]
    public var removeBlocking: [String]

    public init(showInstallationProgress: Bool? = nil, blockDeviceUseUntilComplete: Bool? = nil, allowDeviceResetOnInstallFailure: Bool? = nil,
                blockDeviceSetupRetryByUser: Bool? = nil, allowDeviceUseOnInstallFailure: Bool? = nil,
                allowLogCollectionOnInstallFailure: Bool? = nil, customErrorMessage: String? = nil,
                installProgressTimeoutInMinutes: Int? = nil, disableUserStatusTrackingAfterFirstUser: Bool? = nil,
                blockOnAllProfiles: Bool? = nil, blockingProfiles: [String]? = nil, addBlocking: [String] = [], removeBlocking: [String] = []) {
        self.showInstallationProgress = showInstallationProgress
        self.blockDeviceUseUntilComplete = blockDeviceUseUntilComplete
        self.allowDeviceResetOnInstallFailure = allowDeviceResetOnInstallFailure
        self.blockDeviceSetupRetryByUser = blockDeviceSetupRetryByUser
        self.allowDeviceUseOnInstallFailure = allowDeviceUseOnInstallFailure
        self.allowLogCollectionOnInstallFailure = allowLogCollectionOnInstallFailure
        self.customErrorMessage = customErrorMessage
        self.installProgressTimeoutInMinutes = installProgressTimeoutInMinutes
        self.disableUserStatusTrackingAfterFirstUser = disableUserStatusTrackingAfterFirstUser
        self.blockOnAllProfiles = blockOnAllProfiles
        self.blockingProfiles = blockingProfiles
        self.addBlocking = addBlocking
        self.removeBlocking = removeBlocking
    }

    public var isEmpty: Bool {
        showInstallationProgress == nil && blockDeviceUseUntilComplete == nil && allowDeviceResetOnInstallFailure == nil
            && blockDeviceSetupRetryByUser == nil && allowDeviceUseOnInstallFailure == nil && allowLogCollectionOnInstallFailure == nil
            && customErrorMessage == nil && installProgressTimeoutInMinutes == nil && disableUserStatusTrackingAfterFirstUser == nil
            && blockOnAllProfiles == nil && blockingProfiles == nil && addBlocking.isEmpty && removeBlocking.isEmpty
    }

    /// The same change with profile ids instead of names.
    public struct Resolved: Sendable {
        var change: StatusPageChange
        var list: [String]?
        var add: [String]
        var remove: [String]
        /// Every assigned profile: removing one from "wait for all" leaves all the others.
        var all: [String] = []

        func apply(to s: inout StatusPageSettings) {
            let c = change
            if let v = c.showInstallationProgress { s.showInstallationProgress = v }
            if let v = c.blockDeviceUseUntilComplete { s.blockDeviceUseUntilComplete = v }
            if let v = c.allowDeviceResetOnInstallFailure { s.allowDeviceResetOnInstallFailure = v }
            if let v = c.blockDeviceSetupRetryByUser { s.blockDeviceSetupRetryByUser = v }
            if let v = c.allowDeviceUseOnInstallFailure { s.allowDeviceUseOnInstallFailure = v }
            if let v = c.allowLogCollectionOnInstallFailure { s.allowLogCollectionOnInstallFailure = v }
            if let v = c.customErrorMessage { s.customErrorMessage = v }
            if let v = c.installProgressTimeoutInMinutes { s.installProgressTimeoutInMinutes = v }
            if let v = c.disableUserStatusTrackingAfterFirstUser { s.disableUserStatusTrackingAfterFirstUser = v }
            if c.blockOnAllProfiles == true { s.blockingProfileIDs = nil }
            if c.blockOnAllProfiles == false, s.blockingProfileIDs == nil { s.blockingProfileIDs = [] }
            if let list { s.blockingProfileIDs = list }
            if !add.isEmpty || !remove.isEmpty {
                var ids = s.blockingProfileIDs ?? all
                ids += add.filter { !ids.contains($0) }
                ids.removeAll { remove.contains($0) }
                s.blockingProfileIDs = ids
            }
        }
    }
}

// The Enrollment Status Page: a Default that applies to everyone, and configurations assigned to groups with
// priorities, kept with the restrictions (one Graph collection, one priority order per type).
extension AdminService {
    func resolve(_ change: StatusPageChange) async throws -> StatusPageChange.Resolved {
        func ids(_ refs: [String]) async throws -> [String] {
            var out: [String] = []
            for r in refs { out.append(try await configurationProfile(r).id) }
            return out
        }
        if change.blockOnAllProfiles == true, change.blockingProfiles != nil || !change.addBlocking.isEmpty {
            throw AdminError("Waiting for all profiles and naming blocking profiles contradict each other; give one of them.")
        }
        var list: [String]?
        if let refs = change.blockingProfiles { list = try await ids(refs) }
        let all = change.removeBlocking.isEmpty ? [] : try await configurationProfiles().filter { !$0.assignments.isEmpty }.map(\.id)
        return .init(change: change, list: list, add: try await ids(change.addBlocking), remove: try await ids(change.removeBlocking), all: all)
    }

    public func createStatusPage(name: String, description: String = "", change: StatusPageChange = .init(),
                                 groups: [String] = []) async throws -> Restriction {
        var s = StatusPageSettings()
        try await resolve(change).apply(to: &s)
        do { try s.validate() } catch { throw AdminError(error.message) }
        return try await createRestriction(.enrollmentStatusPage, name: name, description: description, statusPage: s, groups: groups)
    }

    public func editStatusPage(_ ref: String, name: String? = nil, description: String? = nil, change: StatusPageChange) async throws -> Restriction {
        let r = try await restriction(.enrollmentStatusPage, ref)
        let resolved = try await resolve(change)
        var preview = r.statusPage ?? .intuneDefault
        resolved.apply(to: &preview)
        do { try preview.validate() } catch { throw AdminError(error.message) }
        return try await editRestriction(.enrollmentStatusPage, r.id, name: name, description: description, statusPage: resolved)
    }

    /// Profile names for the blocking list ("all assigned profiles" when nil).
    public func blockingProfileNames(_ s: StatusPageSettings) async throws -> String {
        guard let ids = s.blockingProfileIDs else { return "all profiles assigned to the device" }
        guard !ids.isEmpty else { return "none" }
        let profiles = try await configurationProfiles()
        return ids.map { id in profiles.first { $0.id == id }?.name ?? "\(id) (deleted)" }.joined(separator: ", ")
    }
}
