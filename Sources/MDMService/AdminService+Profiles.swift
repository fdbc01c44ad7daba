import Foundation
import MDMCore
import MDMPKI
import MDMStorage
import MDMWire

/// Configuration profiles: named, versioned CSP settings assigned to groups. A change is one write (the profile and
/// one revision); each device works out what to send or delete at its next check-in (`ManagementService`).
extension AdminService {
    public func configurationProfiles() async throws -> [ConfigurationProfile] { try await store.configurationProfiles() }

    /// By id or name (case-insensitive); the error lists the names there are.
    public func configurationProfile(_ nameOrID: String) async throws -> ConfigurationProfile {
        if let p = try await store.configurationProfile(id: nameOrID) { return p }
        let all = try await store.configurationProfiles()
        if let p = all.first(where: { $0.name.lowercased() == nameOrID.lowercased() }) { return p }
        let names = all.map(\.name)
        throw names.isEmpty
            ? AdminError.notFound("No configuration profile '\(nameOrID)'. There are none yet:", cli: "winmdm profiles create NAME.",
                                  console: "Devices › Windows › Configuration profiles creates one.")
            : AdminError.notFound("No configuration profile '\(nameOrID)'. Profiles: \(names.joined(separator: ", ")).")
    }

    func saveProfile(_ action: String, before: ConfigurationProfile?, after: ConfigurationProfile) async throws {
        let entry = AuditEntry(time: clock.now(), actor: actor, action: action, target: "profile:\(after.name)",
                               before: Self.json(before), after: Self.json(after))
        do { try await store.saveConfigurationProfile(after, audit: entry) } catch let e as StorageError where e.code == .conflict {
            throw AdminError("A profile named \(after.name) already exists; choose another name.")
        }
    }

    public func createConfigurationProfile(name: String, description: String = "", settings: [OMASetting] = []) async throws -> ConfigurationProfile {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200 else { throw AdminError("A profile name is 1 to 200 characters.") }
        for s in settings { do { try s.validate() } catch { throw AdminError(error.message) } }
        try Self.rejectDuplicateNodes(settings)
        let p = ConfigurationProfile(name: name, description: description, settings: settings, createdAt: clock.now())
        try await saveProfile("profile.create", before: nil, after: p)
        return p
    }

    /// A profile built by a template from named fields (`ProfileTemplate.all`); the error names the fields and values accepted.
    public func createConfigurationProfile(name: String, template id: String, values: [String: String], description: String? = nil) async throws -> ConfigurationProfile {
        guard let t = ProfileTemplate.named(id) else {
            throw AdminError.notFound("No template '\(id)'; templates: \(ProfileTemplate.all.map(\.id).joined(separator: ", ")).")
        }
        let settings: [OMASetting]
        do { settings = try t.settings(values) } catch { throw AdminError(error.message) }
        return try await createConfigurationProfile(name: name, description: description ?? "\(t.title) template (\(t.requirement)).", settings: settings)
    }

    static func rejectDuplicateNodes(_ settings: [OMASetting]) throws {
        var seen = Set<String>()
        for s in settings where !seen.insert(s.locURI).inserted {
            throw AdminError("\(s.locURI) appears twice in the profile; a node has one value.")
        }
    }

    /// Adds a setting, or changes the one with the same OMA-URI; raises the version when anything changed.
    public func setProfileSetting(_ nameOrID: String, _ setting: OMASetting) async throws -> ConfigurationProfile {
        do { try setting.validate() } catch { throw AdminError(error.message) }
        let before = try await configurationProfile(nameOrID)
        var p = before
        if let i = p.settings.firstIndex(where: { $0.locURI == setting.locURI }) { p.settings[i] = setting } else { p.settings.append(setting) }
        guard p != before else { return p }
        p.version += 1
        p.updatedAt = clock.now()
        try await saveProfile("profile.setting.set", before: before, after: p)
        return p
    }

    /// The most a raw block may hold; Windows takes about 64 KiB per message.
    public static let maxBlockBytes = 32 * 1024

    /// Parses a raw SyncML command as an administrator writes it (no namespaces needed; `<Format>` and `<Type>` are
    /// read as the Meta ones). DTDs and entities are refused like everywhere else.
    public static func parseBlock(_ xml: String) throws -> SyncMLBlock {
        guard xml.utf8.count <= maxBlockBytes else { throw AdminError("A block is at most \(maxBlockBytes / 1024) KiB.") }
        let body = xml.replacingOccurrences(of: "<Format>", with: "<Format xmlns=\"\(SyncMLNS.metinf)\">")
            .replacingOccurrences(of: "<Type>", with: "<Type xmlns=\"\(SyncMLNS.metinf)\">")
        let doc = "<SyncML xmlns=\"\(SyncMLNS.syncml)\"><SyncHdr><SessionID>0</SessionID><MsgID>0</MsgID></SyncHdr><SyncBody>" + body + "</SyncBody></SyncML>"
        let m: SyncMLMessage
        do { m = try SyncMLMessage(bytes: Array(doc.utf8)) } catch { throw AdminError("The block is not well-formed SyncML: \(error.reason)") }
        guard m.commands.count == 1, let c = m.commands.first else {
            throw AdminError("A block is one SyncML command (Add, Replace, Delete, Exec, or an Atomic or Sequence holding them); this holds \(m.commands.count).")
        }
        func items(_ list: [SyncMLItem]) -> [DMItem] { list.map { DMItem(target: $0.target ?? "", format: $0.format, type: $0.type, data: $0.data) } }
        guard c.children.allSatisfy({ $0.children.isEmpty }) else { throw AdminError("A block nests one level: an Atomic or Sequence of plain commands.") }
        let block = SyncMLBlock(verb: c.name, items: items(c.items),
                                steps: c.children.isEmpty ? nil : c.children.map { DMCommandStep(verb: $0.name, items: items($0.items)) })
        do { try block.validate() } catch { throw AdminError(error.message) }
        return block
    }

    /// Adds a raw SyncML block (or replaces the one with the same first target).
    public func setProfileBlock(_ nameOrID: String, xml: String, name: String? = nil) async throws -> ConfigurationProfile {
        try await setProfileSetting(nameOrID, OMASetting(name: name, block: try Self.parseBlock(xml), xml: xml))
    }

    /// Removes a setting: devices that have it get a Delete of the node at their next check-in.
    public func removeProfileSetting(_ nameOrID: String, locURI: String) async throws -> ConfigurationProfile {
        let before = try await configurationProfile(nameOrID)
        var p = before
        guard let i = p.settings.firstIndex(where: { $0.locURI == locURI }) else {
            throw AdminError("\(before.name) has no setting \(locURI); its settings: \(before.settings.map(\.locURI).joined(separator: ", ")).")
        }
        p.settings.remove(at: i)
        p.version += 1
        p.updatedAt = clock.now()
        try await saveProfile("profile.setting.remove", before: before, after: p)
        return p
    }

    /// `all-users`, `all-devices`, or a group's name or id.
    func assignmentTarget(_ ref: String) async throws -> String {
        switch ref.lowercased() {
        case "all-users", "allusers": return ProfileAssignment.allUsers
        case "all-devices", "alldevices": return ProfileAssignment.allDevices
        default: return try await group(ref).id
        }
    }

    public func assignProfile(_ nameOrID: String, to ref: String, exclude: Bool = false) async throws -> ConfigurationProfile {
        let target = try await assignmentTarget(ref)
        let before = try await configurationProfile(nameOrID)
        var p = before
        p.assignments.removeAll { $0.target == target }
        p.assignments.append(ProfileAssignment(target: target, exclude: exclude))
        guard p != before else { return p }
        p.updatedAt = clock.now()
        try await saveProfile(exclude ? "profile.exclude" : "profile.assign", before: before, after: p)
        return p
    }

    public func unassignProfile(_ nameOrID: String, from ref: String) async throws -> ConfigurationProfile {
        let target = try await assignmentTarget(ref)
        let before = try await configurationProfile(nameOrID)
        var p = before
        guard p.assignments.contains(where: { $0.target == target }) else {
            throw AdminError("\(before.name) is not assigned to \(ref).")
        }
        p.assignments.removeAll { $0.target == target }
        p.updatedAt = clock.now()
        try await saveProfile("profile.unassign", before: before, after: p)
        return p
    }

    /// Changes name, description or the whole list of settings (a PATCH); the version rises when the settings change.
    public func updateConfigurationProfile(_ nameOrID: String, name: String? = nil, description: String? = nil,
                                           settings: [OMASetting]? = nil) async throws -> ConfigurationProfile {
        let before = try await configurationProfile(nameOrID)
        var p = before
        if let name {
            let n = name.trimmingCharacters(in: .whitespaces)
            guard !n.isEmpty, n.count <= 200 else { throw AdminError("A profile name is 1 to 200 characters.") }
            p.name = n
        }
        if let description { p.description = description }
        if let settings, settings != p.settings {
            for s in settings { do { try s.validate() } catch { throw AdminError(error.message) } }
            try Self.rejectDuplicateNodes(settings)
            p.settings = settings
            p.version += 1
        }
        guard p != before else { return p }
        p.updatedAt = clock.now()
        try await saveProfile("profile.update", before: before, after: p)
        return p
    }

    /// Replaces every assignment at once (Graph's `assign` action). Group ids must exist.
    public func setProfileAssignments(_ nameOrID: String, _ assignments: [ProfileAssignment]) async throws -> ConfigurationProfile {
        for a in assignments where a.target != ProfileAssignment.allUsers && a.target != ProfileAssignment.allDevices {
            _ = try await group(a.target)
        }
        let before = try await configurationProfile(nameOrID)
        var p = before
        p.assignments = []
        for a in assignments where !p.assignments.contains(where: { $0.target == a.target }) { p.assignments.append(a) }
        guard p != before else { return p }
        p.updatedAt = clock.now()
        try await saveProfile("profile.assign", before: before, after: p)
        return p
    }

    /// Deletes the profile; devices delete its nodes at their next check-in (where the CSP allows it).
    public func deleteConfigurationProfile(_ nameOrID: String) async throws -> ConfigurationProfile {
        let p = try await configurationProfile(nameOrID)
        let entry = AuditEntry(time: clock.now(), actor: actor, action: "profile.delete", target: "profile:\(p.name)",
                               before: Self.json(p), after: nil)
        try await store.deleteConfigurationProfile(id: p.id, audit: entry)
        return p
    }

    /// Each device's state of a profile (one indexed read; no enrollment is read): enough for counts.
    public func profileStates(_ nameOrID: String) async throws -> (ConfigurationProfile, [DeviceProfileState]) {
        let p = try await configurationProfile(nameOrID)
        return (p, try await store.profileStates(profileID: p.id))
    }

    /// Each device's state of a profile, with its enrollment (when it still exists).
    public func profileDeviceStates(_ nameOrID: String) async throws -> (ConfigurationProfile, [(DeviceProfileState, Enrollment?)]) {
        let p = try await configurationProfile(nameOrID)
        var rows: [(DeviceProfileState, Enrollment?)] = []
        for s in try await store.profileStates(profileID: p.id) { rows.append((s, try await store.enrollment(id: s.enrollmentID))) }
        return (p, rows)
    }

    public func deviceProfileStates(enrollmentID: String) async throws -> [DeviceProfileState] {
        try await store.profileStates(enrollmentID: enrollmentID)
    }

    /// Pairs of profiles that set one node to different values and can apply to the same device (an assignment to
    /// everyone, or a group both include), with the value that wins: the older profile's.
    public func profileConflicts() async throws -> [ProfileConflict] {
        let profiles = try await store.configurationProfiles()  // oldest first
        var out: [ProfileConflict] = []
        func includes(_ p: ConfigurationProfile) -> Set<String> { Set(p.assignments.filter { !$0.exclude }.map(\.target)) }
        for (i, a) in profiles.enumerated() {
            for b in profiles[(i + 1)...] {
                let ia = includes(a), ib = includes(b)
                let everyone: Set<String> = [ProfileAssignment.allUsers, ProfileAssignment.allDevices]
                guard !ia.isEmpty, !ib.isEmpty, !ia.isDisjoint(with: everyone) || !ib.isDisjoint(with: everyone) || !ia.isDisjoint(with: ib) else { continue }
                for sb in b.settings {
                    guard let sa = a.settings.first(where: { $0.locURI == sb.locURI }), sa.value != sb.value else { continue }
                    out.append(ProfileConflict(locURI: sb.locURI, winner: a.id, winnerName: a.name, loser: b.id, loserName: b.name,
                                               winningValue: sa.value, losingValue: sb.value,
                                               reason: "\(a.name) was created first (\(a.createdAt.formatted(.iso8601)))"))
                }
            }
        }
        return out
    }
}

// MARK: Check-in schedule

extension AdminService {
    /// The profile that carries the check-in schedule to devices already enrolled (new ones get it in their
    /// provisioning document): an ordinary profile assigned to all devices, so its status shows like any other.
    public static let scheduleProfileName = "Check-in schedule (winmdm)"

    static func scheduleSettings(_ s: CheckInSchedule, providerID: String) -> [OMASetting] {
        let base = "./Vendor/MSFT/DMClient/Provider/\(providerID)/Poll/"
        return [
            OMASetting(name: "First set: minutes apart", locURI: base + "IntervalForFirstSetOfRetries", format: "int", value: String(s.firstInterval)),
            OMASetting(name: "First set: check-ins", locURI: base + "NumberOfFirstRetries", format: "int", value: String(s.firstCount)),
            OMASetting(name: "Second set: minutes apart", locURI: base + "IntervalForSecondSetOfRetries", format: "int",
                       value: String(s.secondCount == 0 ? 0 : s.secondInterval)),
            OMASetting(name: "Second set: check-ins", locURI: base + "NumberOfSecondRetries", format: "int", value: String(s.secondCount)),
            OMASetting(name: "Then: minutes apart", locURI: base + "IntervalForRemainingScheduledRetries", format: "int", value: String(s.remainingInterval)),
            OMASetting(name: "Then: forever", locURI: base + "NumberOfRemainingScheduledRetries", format: "int", value: "0"),
        ]
    }

    /// Changes the schedule: new enrollments get it in their provisioning document, enrolled devices through the
    /// schedule profile at their next check-in. Returns the schedule before and after.
    public func setCheckInSchedule(_ schedule: CheckInSchedule, providerID: String) async throws -> (before: CheckInSchedule, after: CheckInSchedule) {
        do { try schedule.validate() } catch { throw AdminError(error.message) }
        let before = try await settings().checkInSchedule
        try await changeSettings("settings.check-in-schedule", "tenant") { $0.checkInSchedule = schedule }
        let settings = Self.scheduleSettings(schedule, providerID: providerID)
        let profiles = try await store.configurationProfiles()
        if let p = profiles.first(where: { $0.name == Self.scheduleProfileName }) {
            _ = try await updateConfigurationProfile(p.id, settings: settings)
            if !p.assignments.contains(where: { $0.target == ProfileAssignment.allDevices }) {
                _ = try await assignProfile(p.id, to: "all-devices")
            }
        } else {
            let p = try await createConfigurationProfile(name: Self.scheduleProfileName, description: "Sent by winmdm settings check-in-schedule.",
                                                         settings: settings)
            _ = try await assignProfile(p.id, to: "all-devices")
        }
        return (before, schedule)
    }
}

// The managed local administrator (template local-admin): winmdm picks each device's password when it first sends
// the account, keeps it sealed, and shows it to an administrator who asks, with an audit entry for every look.
extension AdminService {
    public struct LocalAdminPassword: Sendable, Encodable {
        public var enrollmentID: String
        public var deviceName: String?
        public var account: String
        public var password: String
        public var setAt: Date
    }

    public func revealLocalAdminPassword(_ device: String, secrets: SecretBox) async throws -> LocalAdminPassword {
        let e = try await enrollment(device)
        guard let a = e.localAdmin else {
            throw AdminError("\(e.deviceName ?? e.id) has no managed local administrator yet: assign a profile made from the local-admin template", cli: "(winmdm profiles create NAME --template local-admin); the password is picked when the device first receives it.",
                             console: "; the password is picked when the device first receives it.")
        }
        let password: String
        do { password = try secrets.open(a.sealedPassword, context: e.id) } catch {
            throw AdminError("The password of \(e.deviceName ?? e.id) cannot be opened with this installation's secret key (secret-key in the data directory); was the key replaced?")
        }
        struct Looked: Encodable { var account: String; var setAt: Date }
        try await audit("device.localAdmin.reveal", e.id, before: Looked?.none, after: Looked(account: a.account, setAt: a.setAt))
        return LocalAdminPassword(enrollmentID: e.id, deviceName: e.deviceName, account: a.account, password: password, setAt: a.setAt)
    }
}
