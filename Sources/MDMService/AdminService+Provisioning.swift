import Foundation
import MDMCore
import MDMStorage

// Bulk enrollment packages and Autopilot deployment profiles.
extension AdminService {
    public struct NewBulkPackage: Sendable {
        public var package: BulkPackage
        /// Shown once; only its hash is kept.
        public var secret: String
    }

    /// Creates a package and its account (a directory user marked as a package account) with a random secret.
    public func createBulkPackage(name: String) async throws -> NewBulkPackage {
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty else { throw AdminError("Give the package a name, like \"Kiosks 2026\".") }
        let s = try await settings()
        guard s.bulkPackages.allSatisfy({ $0.displayName.lowercased() != n.lowercased() }) else {
            throw AdminError("A bulk enrollment package named \(n) already exists.")
        }
        guard let domain = s.domains.first(where: \.isVerified)?.name else { throw AdminError("No verified domain to create the package account in.") }
        let slug = String(n.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(20))
        let upn = "package-\(slug)-\(String(UUID().uuidString.prefix(6)).lowercased())@\(domain)"
        let secret = (0..<24).map { _ in UInt8.random(in: 0...255) }.map { String(format: "%02x", $0) }.joined()
        let account = try await addUser(upn: upn, password: secret, displayName: "Bulk enrollment: \(n)", packageAccount: true)
        let package = BulkPackage(displayName: n, accountUPN: account.user.upn, createdAt: clock.now())
        try await changeSettings("bulk.create", n) { $0.bulkPackages.append(package) }
        return NewBulkPackage(package: package, secret: secret)
    }

    public func bulkPackages() async throws -> [BulkPackage] { try await settings().bulkPackages }

    /// What deleting a package did to its account.
    public enum PackageAccountOutcome: Sendable, Equatable {
        /// No device was enrolled with it: the account is deleted too.
        case deleted(String)
        /// Devices it enrolled stay enrolled, under the account, which is disabled so it enrolls nothing new.
        case disabled(String, devices: Int)
    }

    @discardableResult
    public func deleteBulkPackage(_ ref: String) async throws -> PackageAccountOutcome? {
        let s = try await settings()
        guard let p = s.bulkPackages.first(where: { $0.id == ref.lowercased() || $0.displayName.lowercased() == ref.lowercased() }) else {
            throw AdminError.notFound("No bulk enrollment package \(ref).", cli: "`winmdm bulk list` shows them.")
        }
        try await changeSettings("bulk.delete", p.displayName) { $0.bulkPackages.removeAll { $0.id == p.id } }
        guard var account = try await store.user(upn: p.accountUPN) else { return nil }
        let devices = try await store.activeEnrollments(upn: account.upn).count
        if devices == 0 {
            try await store.deleteUser(id: account.id)
            try await audit("user.delete", account.upn, before: UserRecord(account), after: nil as UserRecord?)
            return .deleted(account.upn)
        }
        // Devices enrolled with the package stay enrolled; the account can no longer enroll new ones.
        let before = account
        account.enabled = false
        try await store.updateUser(account)
        try await audit("user.update", account.upn, before: UserRecord(before), after: UserRecord(account))
        return .disabled(account.upn, devices: devices)
    }

    /// The Windows Configuration Designer customizations for a package (Runtime settings › Workplace › Enrollments).
    public static func customizationsXML(package: BulkPackage, secret: String, discoveryURL: String, policyURL: String,
                                         enrollmentURL: String, authPolicy: AuthPolicy) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        return """
        <?xml version="1.0" encoding="utf-8"?>
        <WindowsCustomizations>
          <PackageConfig xmlns="urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0">
            <ID>{\(package.id)}</ID>
            <Name>\(esc(package.displayName))</Name>
            <Version>1.0</Version>
            <OwnerType>ITAdmin</OwnerType>
            <Rank>0</Rank>
            <Notes>Enrolls devices into winmdm with the bulk enrollment account \(esc(package.accountUPN)).</Notes>
          </PackageConfig>
          <Settings xmlns="urn:schemas-microsoft-com:windows-provisioning">
            <Customizations>
              <Common>
                <Workplace>
                  <Enrollments>
                    <UPN UPN="\(esc(package.accountUPN))">
                      <AuthPolicy>\(authPolicy.rawValue)</AuthPolicy>
                      <DiscoveryServiceFullURL>\(esc(discoveryURL))</DiscoveryServiceFullURL>
                      <EnrollmentServiceFullURL>\(esc(enrollmentURL))</EnrollmentServiceFullURL>
                      <PolicyServiceFullURL>\(esc(policyURL))</PolicyServiceFullURL>
                      <Secret>\(esc(secret))</Secret>
                    </UPN>
                  </Enrollments>
                </Workplace>
              </Common>
            </Customizations>
          </Settings>
        </WindowsCustomizations>

        """
    }

    // MARK: Autopilot

    public func autopilotProfiles() async throws -> [AutopilotProfile] { try await settings().autopilotProfiles }

    public func createAutopilotProfile(name: String, joinType: AutopilotJoinType, template: String?, groups: [String],
                                       oobe: AutopilotOOBE = AutopilotOOBE(), preprovisioningAllowed: Bool = false) async throws -> AutopilotProfile {
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty, n.count <= 200 else { throw AdminError("A profile name must be 1 to 200 characters.") }
        if let template {
            guard joinType == .entra else {
                throw AdminError("Hybrid-join profiles take device names from the domain join configuration; a name template applies to Entra join profiles only.")
            }
            do { _ = try DeviceNameTemplate(template) } catch {
                throw AdminError("An error occurred while creating Autopilot profile: the device name template \"\(template)\" is not valid. " + error.problems.map { "• " + $0 }.joined(separator: " "))
            }
        }
        let ids = try await resolveGroups(groups)
        if joinType == .hybrid, oobe.deviceUsageType == .shared {
            throw AdminError("Self-deploying mode supports Entra join only; make the profile entra or user-driven.")
        }
        let p = AutopilotProfile(displayName: n, joinType: joinType, deviceNameTemplate: template, assignedGroups: ids, createdAt: clock.now(),
                                 oobe: oobe, preprovisioningAllowed: preprovisioningAllowed)
        try await changeSettings("autopilot.create", n) { s in
            guard s.autopilotProfiles.count < 350 else { throw AdminError("There are already 350 Autopilot profiles, the most allowed.") }
            guard !s.autopilotProfiles.contains(where: { $0.displayName.lowercased() == n.lowercased() }) else {
                throw AdminError("An Autopilot profile named \(n) already exists.")
            }
            s.autopilotProfiles.append(p)
        }
        return p
    }

    public func assignAutopilotProfile(_ ref: String, groups: [String], remove: Bool = false) async throws -> AutopilotProfile {
        let s = try await settings()
        guard let p = s.autopilotProfiles.first(where: { $0.id == ref.lowercased() || $0.displayName.lowercased() == ref.lowercased() }) else {
            throw AdminError.notFound("No Autopilot profile \(ref).", cli: "`winmdm autopilot list` shows them.",
                                      console: "Devices › Windows › Autopilot deployment profiles lists them.")
        }
        let ids = try await resolveGroups(groups)
        let after = try await changeSettings(remove ? "autopilot.unassign" : "autopilot.assign", p.displayName) { s in
            guard let i = s.autopilotProfiles.firstIndex(where: { $0.id == p.id }) else { return }
            if remove { s.autopilotProfiles[i].assignedGroups.removeAll { ids.contains($0) } }
            else { s.autopilotProfiles[i].assignedGroups += ids.filter { !s.autopilotProfiles[i].assignedGroups.contains($0) } }
        }
        return after.autopilotProfiles.first { $0.id == p.id }!
    }

    public func deleteAutopilotProfile(_ ref: String) async throws {
        let s = try await settings()
        guard let p = s.autopilotProfiles.first(where: { $0.id == ref.lowercased() || $0.displayName.lowercased() == ref.lowercased() }) else {
            throw AdminError.notFound("No Autopilot profile \(ref).", cli: "`winmdm autopilot list` shows them.",
                                      console: "Devices › Windows › Autopilot deployment profiles lists them.")
        }
        try await changeSettings("autopilot.delete", p.displayName) { $0.autopilotProfiles.removeAll { $0.id == p.id } }
    }
}
