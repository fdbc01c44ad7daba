import Foundation
import MDMCore
import MDMStorage

// Autopilot device identities (import, tags, assigned user, delete), the profile each resolves to and the seed's
// two profile mistakes (V03, V04), the offline profile file, and corporate identifiers.
extension AdminService {
    /// Imports a `Get-WindowsAutopilotInfo` CSV. A file with a bad header or quoting is refused whole; otherwise
    /// every row gets Intune's result, and the good rows are registered together.
    public func importAutopilotDevices(csv: [UInt8]) async throws -> [AutopilotImportRow] {
        let rows: [AutopilotCSV.Row]
        do { rows = try AutopilotCSV.parse(csv) } catch { throw AdminError("The file was not imported. \(error)") }
        let settings = try await settings()
        let existing = try await store.autopilotDevices()
        let bySerial = Dictionary(existing.map { ($0.serialKey, $0) }, uniquingKeysWith: { a, _ in a })
        let byHash = Dictionary(existing.map { ($0.hardwareHash, $0) }, uniquingKeysWith: { a, _ in a })
        let now = clock.now(), importID = UUID().uuidString.lowercased()
        var seenSerials: Set<String> = [], seenHashes: Set<String> = []
        var results: [AutopilotImportRow] = [], fresh: [AutopilotDevice] = []
        for r in rows {
            let key = AutopilotDevice.serialKey(r.serialNumber)
            if r.serialNumber.isEmpty {
                results.append(.error(r.line, "", 0, "InvalidZtdHardwareHash", "The serial number is empty; capture the device again."))
                continue
            }
            if let problem = AutopilotCSV.hashProblem(r.hardwareHash) {
                results.append(.error(r.line, r.serialNumber, 0, "InvalidZtdHardwareHash", problem))
                continue
            }
            if seenSerials.contains(key) || seenHashes.contains(r.hardwareHash) {
                results.append(.error(r.line, r.serialNumber, 0, "ZtdDeviceDuplicated",
                                      "The device appears twice in this file; the first line was imported, remove the other."))
                continue
            }
            if let d = bySerial[key] ?? byHash[r.hardwareHash] {
                if let other = d.releasedTo {
                    results.append(.error(r.line, r.serialNumber, 808, "ZtdDeviceAssignedToOtherTenant",
                        "The device was released to \(other); it is registered there. That organization must deregister it first (or delete the release here with winmdm autopilot delete \(d.serialNumber))."))
                } else {
                    results.append(.error(r.line, r.serialNumber, 806, "ZtdDeviceAlreadyAssigned",
                        "Device is already registered to the same tenant (serial number \(d.serialNumber), imported \(GraphDateText.string(d.importedAt)))."))
                }
                continue
            }
            var user: String?
            if !r.assignedUser.isEmpty {
                let upn = UPN.normalize(r.assignedUser)
                let domain = upn.split(separator: "@").last.map(String.init) ?? ""
                guard upn.contains("@"), settings.domain(named: domain) != nil else {
                    results.append(.error(r.line, r.serialNumber, 0, "InvalidAssignedUserDomain",
                        "The assigned user \(r.assignedUser) is not in a domain of this organization (\(settings.domains.map(\.name).joined(separator: ", "))); an assigned user with a wrong domain cannot sign in during setup."))
                    continue
                }
                user = upn
            }
            seenSerials.insert(key); seenHashes.insert(r.hardwareHash)
            let d = AutopilotDevice(serialNumber: r.serialNumber, productKey: r.productKey, hardwareHash: r.hardwareHash,
                                    groupTag: r.groupTag, assignedUser: user, importID: importID, importedAt: now)
            fresh.append(d)
            results.append(.complete(r.line, r.serialNumber, deviceID: d.id))
        }
        if !fresh.isEmpty {
            try await store.insertAutopilotDevices(fresh)
            try await audit("autopilot.import", "\(fresh.count) device\(fresh.count == 1 ? "" : "s")", before: nil as [String]?,
                            after: fresh.map(\.serialNumber))
        }
        return results
    }

    public func autopilotDevices() async throws -> [AutopilotDevice] { try await store.autopilotDevices().filter { $0.releasedTo == nil } }

    public func autopilotDevice(_ ref: String) async throws -> AutopilotDevice {
        if let d = try await store.autopilotDevice(id: ref.lowercased()) { return d }
        if let d = try await store.autopilotDevice(serial: ref) { return d }
        throw AdminError.notFound("No Autopilot device \(ref).", cli: "`winmdm autopilot devices` lists them by serial number.",
                                  console: "Devices › Windows › Autopilot devices lists them by serial number.")
    }

    /// Deregisters a device; with `releasedTo`, its serial is kept as belonging to that organization (import 808).
    public func deleteAutopilotDevice(_ ref: String, releasedTo: String? = nil) async throws {
        let d = try await autopilotDevice(ref)
        if let to = releasedTo?.trimmingCharacters(in: .whitespaces), !to.isEmpty {
            var r = d
            r.releasedTo = to
            r.assignedUser = nil
            try await store.updateAutopilotDevice(r)
            try await audit("autopilot.release", d.serialNumber, before: d, after: r)
        } else {
            try await store.deleteAutopilotDevice(id: d.id)
            try await audit("autopilot.delete", d.serialNumber, before: d, after: nil as AutopilotDevice?)
        }
    }

    /// The profile a device resolves to, and every profile that targets it.
    public func autopilotResolution(_ d: AutopilotDevice) async throws -> AutopilotResolution {
        let groups = try await store.groups()
        return AutopilotResolution.resolve(groupIDs: autopilotGroupIDs(d, groups: groups), profiles: try await settings().autopilotProfiles)
    }

    /// Sets the group tag or the assigned user. A user on a device whose profile is hybrid join is refused unless
    /// `override` (SCENARIOS.md V04: setup then fails with 0x80070774).
    public func updateAutopilotDevice(_ ref: String, groupTag: String? = nil, assignedUser: String?? = nil, override: Bool = false) async throws -> AutopilotDevice {
        let before = try await autopilotDevice(ref)
        var d = before
        if let t = groupTag { d.groupTag = t.trimmingCharacters(in: .whitespaces) }
        if let u = assignedUser {
            if let u {
                let upn = UPN.normalize(u)
                let domain = upn.split(separator: "@").last.map(String.init) ?? ""
                guard upn.contains("@"), try await settings().domain(named: domain) != nil else {
                    throw AdminError("\(u) is not in a domain of this organization;", cli: "`winmdm domains list` shows them.",
                                     console: "Tenant administration lists them.")
                }
                d.assignedUser = upn
            } else { d.assignedUser = nil }
        }
        if d.assignedUser != nil, !override, let w = try await autopilotResolution(d).winner, w.joinType == .hybrid {
            throw AdminError("Not assigned: \(d.serialNumber) gets the hybrid join profile \"\(w.displayName)\", and a user assigned to a hybrid Autopilot device makes setup Entra-join at sign-in instead of joining the domain, which fails with 0x80070774 (\"Something went wrong. Confirm you are using the correct sign-in information…\"). Leave the device without a user, or assign anyway:", cli: "add --override.", console: "the command line and the API can override this.")
        }
        guard d != before else { return d }
        try await store.updateAutopilotDevice(d)
        try await audit("autopilot.update", d.serialNumber, before: before, after: d)
        return d
    }

    /// One finding of the Autopilot lint.
    public struct AutopilotFinding: Sendable, Equatable {
        public enum Kind: String, Sendable { case profileConflict = "profile-conflict", hybridAssignedUser = "hybrid-assigned-user" }
        public var kind: Kind
        public var code: String
        public var device: AutopilotDevice
        public var profiles: [AutopilotProfile]
        public var message: String
        public var fix: String
    }

    /// V03 (two or more profiles target a device) and V04 (a user assigned to a device whose profile is hybrid join).
    public func autopilotLint() async throws -> [AutopilotFinding] {
        let groups = try await store.groups(), profiles = try await settings().autopilotProfiles
        var out: [AutopilotFinding] = []
        for d in try await autopilotDevices() {
            let r = AutopilotResolution.resolve(groupIDs: autopilotGroupIDs(d, groups: groups), profiles: profiles)
            if let why = r.explanation {
                out.append(AutopilotFinding(kind: .profileConflict, code: "0x801C03EA", device: d, profiles: r.targeting, message: why,
                    fix: "Remove the device (or its group tag) from the groups of all but one profile, or unassign the extra profiles from those groups."))
            }
            if let w = r.winner, w.joinType == .hybrid, let u = d.assignedUser {
                out.append(AutopilotFinding(kind: .hybridAssignedUser, code: "0x80070774", device: d, profiles: [w],
                    message: "\(u) is assigned to \(d.serialNumber), whose profile \"\(w.displayName)\" is hybrid join: setup signs the user in to Entra instead of joining the domain and fails with 0x80070774.",
                    fix: "winmdm autopilot set \(d.serialNumber) --no-user"))
            }
        }
        return out
    }

    /// `AutopilotConfigurationFile.json` for a profile, with this installation's tenant id and domain.
    public func autopilotConfigurationFile(_ ref: String) async throws -> [UInt8] {
        let s = try await settings()
        guard let p = s.autopilotProfiles.first(where: { $0.id == ref.lowercased() || $0.displayName.lowercased() == ref.lowercased() }) else {
            throw AdminError.notFound("No Autopilot profile \(ref).", cli: "`winmdm autopilot list` shows them.",
                                      console: "Devices › Windows › Autopilot deployment profiles lists them.")
        }
        let domain = s.domains.first { $0.isVerified && $0.name.hasSuffix(".onmicrosoft.com") }?.name
            ?? s.domains.first(where: \.isVerified)?.name ?? s.domains.first?.name ?? ""
        do { return try AutopilotConfigurationFile.encode(p, tenantID: s.tenantID, tenantDomain: domain) } catch { throw AdminError(error.description) }
    }

    // MARK: Corporate identifiers

    /// Imports `manufacturer,model,serial` lines; returns how many were new.
    public func importDeviceIdentifiers(csv: [UInt8], replacingAll: Bool = false) async throws -> (added: Int, replaced: Int) {
        let ids: [DeviceIdentifier]
        do { ids = try DeviceIdentifierCSV.parse(csv, now: clock.now()) } catch { throw AdminError("The file was not imported. \(error)") }
        let unique = Dictionary(ids.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let existing = Set(try await store.deviceIdentifiers().map(\.key))
        try await store.saveDeviceIdentifiers(Array(unique.values), replacingAll: replacingAll)
        let replaced = unique.keys.filter(existing.contains).count
        try await audit("identifiers.import", "\(unique.count) identifier\(unique.count == 1 ? "" : "s")", before: nil as [String]?,
                        after: unique.values.map(\.identifier).sorted())
        return (unique.count - replaced, replaced)
    }

    public func deviceIdentifiers() async throws -> [DeviceIdentifier] { try await store.deviceIdentifiers() }

    public func deleteDeviceIdentifier(_ identifier: String) async throws {
        let f = identifier.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 3 else { throw AdminError("Give the identifier as manufacturer,model,serial, as `winmdm identifiers list` shows it.") }
        let key = DeviceIdentifier.key(manufacturer: f[0], model: f[1], serial: f[2])
        guard let before = try await store.deviceIdentifier(key: key) else { throw AdminError.notFound("No corporate identifier \(identifier).") }
        try await store.deleteDeviceIdentifier(key: key)
        try await audit("identifiers.delete", before.identifier, before: before, after: nil as DeviceIdentifier?)
    }

    /// An administrator decides a device's ownership; the reason is kept and shown.
    public func setOwnership(_ enrollmentRef: String, _ ownership: DeviceOwnership, reason: String?) async throws -> Enrollment {
        let e = try await enrollment(enrollmentRef)
        let why = reason?.trimmingCharacters(in: .whitespaces).isEmpty == false ? reason! : "Set by an administrator."
        let record = OwnershipRecord(ownership, .admin, why, at: clock.now(), by: actor)
        let after = try await store.modifyEnrollment(id: e.id) { $0.ownershipRecord = record }
        try await audit("device.ownership", e.deviceName ?? e.id, before: e.ownershipRecord, after: record)
        return after
    }
}

/// ISO dates in messages.
enum GraphDateText {
    static func string(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
}
