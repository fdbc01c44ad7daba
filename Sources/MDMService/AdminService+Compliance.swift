import Foundation
import MDMCore
import MDMStorage

/// Compliance policies: rules evaluated from what devices report (read on a schedule, one Get per node), with a
/// state per device and a grace period. A change raises the revision, so devices are read again at their next check-in.
extension AdminService {
    public func compliancePolicies() async throws -> [CompliancePolicy] { try await settings().compliancePolicies }

    public func compliancePolicy(_ nameOrID: String) async throws -> CompliancePolicy {
        let all = try await compliancePolicies()
        if let p = all.first(where: { $0.id == nameOrID || $0.name.lowercased() == nameOrID.lowercased() }) { return p }
        throw all.isEmpty
            ? AdminError.notFound("No compliance policy '\(nameOrID)'. There are none yet:", cli: "winmdm compliance create NAME …",
                                  console: "Devices › Windows › Compliance policies creates one.")
            : AdminError.notFound("No compliance policy '\(nameOrID)'. Policies: \(all.map(\.name).joined(separator: ", ")).")
    }

    func changeCompliance(_ action: String, _ target: String, _ change: @escaping @Sendable (inout [CompliancePolicy]) throws -> Void) async throws {
        try await changeSettings(action, "compliance:\(target)") { s in try change(&s.compliancePolicies) }
        try await store.raiseProfilesRevision()
    }

    public func createCompliancePolicy(_ p: CompliancePolicy) async throws -> CompliancePolicy {
        do { try p.validate() } catch { throw AdminError(error.message) }
        guard !p.name.trimmingCharacters(in: .whitespaces).isEmpty else { throw AdminError("A compliance policy needs a name.") }
        guard !(p.osMinimumVersion == nil && p.osMaximumVersion == nil && !p.storageRequireEncryption && !p.activeFirewallRequired
                && !p.antivirusRequired && !p.tpmRequired) else {
            throw AdminError("A compliance policy needs at least one rule:", cli: "--os-min, --os-max, --require-encryption, --require-firewall, --require-antivirus or --require-tpm.",
                             console: "a minimum or maximum Windows version, or encryption, firewall, antivirus or TPM required.")
        }
        if try await compliancePolicies().contains(where: { $0.name.lowercased() == p.name.lowercased() }) {
            throw AdminError("A compliance policy named \(p.name) already exists.")
        }
        try await changeCompliance("compliance.create", p.name) { $0.append(p) }
        return p
    }

    public func assignCompliancePolicy(_ nameOrID: String, to ref: String, exclude: Bool = false) async throws -> CompliancePolicy {
        let target = try await assignmentTarget(ref)
        let p = try await compliancePolicy(nameOrID), now = clock.now()
        try await changeCompliance(exclude ? "compliance.exclude" : "compliance.assign", p.name) { list in
            guard let i = list.firstIndex(where: { $0.id == p.id }) else { return }
            list[i].assignments.removeAll { $0.target == target }
            list[i].assignments.append(ProfileAssignment(target: target, exclude: exclude))
            list[i].updatedAt = now
        }
        return try await compliancePolicy(p.id)
    }

    public func unassignCompliancePolicy(_ nameOrID: String, target: String) async throws -> CompliancePolicy {
        let p = try await compliancePolicy(nameOrID), now = clock.now()
        try await changeCompliance("compliance.unassign", p.name) { list in
            guard let i = list.firstIndex(where: { $0.id == p.id }) else { return }
            list[i].assignments.removeAll { $0.target == target }
            list[i].updatedAt = now
        }
        return try await compliancePolicy(p.id)
    }

    public func deleteCompliancePolicy(_ nameOrID: String) async throws -> CompliancePolicy {
        let p = try await compliancePolicy(nameOrID)
        try await changeCompliance("compliance.delete", p.name) { $0.removeAll { $0.id == p.id } }
        return p
    }

    /// The policies among `policies` that reach this device (through its user's groups, or everyone). Reads the
    /// user's groups only when there is a policy to check.
    static func applying(_ policies: [CompliancePolicy], to e: Enrollment, store: any MDMStore) async throws -> [CompliancePolicy] {
        guard !policies.isEmpty else { return [] }
        var groups: Set<String> = []
        if !e.isUserless, let user = try await store.user(upn: e.upn) { groups = try await store.groupIDs(of: user.id) }
        let deviceGroups = try await store.groupIDs(ofDevice: e.hwDevID)
        return policies.filter { ProfileAssignment.applies($0.assignments, toUserGroups: groups, userless: e.isUserless, deviceGroups: deviceGroups) }
    }

    /// A device's state against each policy that applies to it, from its last reported values. `policies`: the
    /// tenant's, when the caller already read them (a listing reads them once).
    public func deviceCompliance(_ e: Enrollment, policies: [CompliancePolicy]? = nil, now: Date? = nil) async throws -> [DeviceCompliance] {
        let all: [CompliancePolicy]
        if let policies { all = policies } else { all = try await compliancePolicies() }
        let at = now ?? clock.now()
        return try await Self.applying(all, to: e, store: store)
            .map { DeviceCompliance.evaluate($0, inventory: e.inventory, osVersion: e.osVersion, since: e.noncompliantSince?[$0.id], now: at) }
    }
}
