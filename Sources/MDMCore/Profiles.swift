import Foundation

/// One CSP setting of a configuration profile: the node, how its value is typed, the value (Intune's `omaSetting`).
public struct OMASetting: Codable, Sendable, Equatable {
    /// What it is for people ("Require BitLocker"); optional.
    public var name: String?
    /// `./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera`, `./User/Vendor/MSFT/…` …
    public var locURI: String
    /// `int`, `chr`, `bool`, `b64`, `xml` or `float` (the SyncML Meta Format).
    public var format: String
    public var value: String
    /// `Replace` (the default: idempotent, what Policy CSP leaves want) or `Add` (dynamic nodes that must be created;
    /// an answer of 418, already exists, is sent again as Replace).
    public var verb: String?
    /// Settings of one profile with the same group go out together in one Atomic (DeviceLock wants that): when one
    /// changes, the whole group is sent again.
    public var atomicGroup: String?
    /// Where the setting exists; elsewhere it is recorded as not applicable and not sent.
    public var applicability: SettingApplicability?
    /// A raw SyncML command for what a setting cannot express (an Exec, several items, an Atomic of mixed verbs):
    /// sent as written. `locURI` is its first target, `format` is `syncml`, `value` the XML as given.
    public var block: SyncMLBlock?

    public init(name: String? = nil, locURI: String, format: String, value: String, verb: String? = nil, atomicGroup: String? = nil,
                applicability: SettingApplicability? = nil) {
        self.name = name
        self.locURI = locURI
        self.format = format
        self.value = value
        self.verb = verb
        self.atomicGroup = atomicGroup
        self.applicability = applicability
    }

    public static let formats: Set<String> = ["int", "chr", "bool", "b64", "xml", "float"]
    public static let blockFormat = "syncml"

    /// A raw SyncML block as a setting.
    public init(name: String? = nil, block: SyncMLBlock, xml: String) {
        self.init(name: name, locURI: block.firstTarget, format: Self.blockFormat, value: xml, verb: block.verb)
        self.block = block
    }

    /// Checks what Windows would refuse before anything is stored; the message says what is accepted.
    public func validate() throws(ProfileError) {
        if let block {
            guard atomicGroup == nil else { throw ProfileError("A raw SyncML block cannot join an Atomic group; put the Atomic in the block.") }
            return try block.validate()
        }
        guard locURI.hasPrefix("./"), locURI.count > 2, !locURI.contains(" "), !locURI.hasSuffix("/") else {
            throw ProfileError("'\(locURI)' is not an OMA-URI: it starts with ./Device/Vendor/MSFT/, ./User/Vendor/MSFT/ or ./Vendor/MSFT/ and names one node.")
        }
        guard Self.formats.contains(format) else {
            throw ProfileError("'\(format)' is not a format Windows reads; use one of \(Self.formats.sorted().joined(separator: ", ")).")
        }
        switch format {
        case "int":
            guard Int64(value) != nil else { throw ProfileError("\(locURI) is an int setting; '\(value)' is not an integer.") }
        case "bool":
            guard value == "true" || value == "false" else { throw ProfileError("\(locURI) is a bool setting: true or false, not '\(value)'.") }
        case "float":
            guard Double(value) != nil else { throw ProfileError("\(locURI) is a float setting; '\(value)' is not a number.") }
        case "b64":
            guard Data(base64Encoded: value) != nil else { throw ProfileError("\(locURI) is a b64 setting; the value is not base64.") }
        default: break
        }
        if let verb, verb != "Replace", verb != "Add" {
            throw ProfileError("A profile setting is written with Replace or Add, not '\(verb)'.")
        }
    }
}

/// One SyncML command given as XML by an administrator, parsed: its verb, its items, and for an Atomic or Sequence the
/// commands inside (one level, as Windows accepts).
public struct SyncMLBlock: Codable, Sendable, Equatable {
    public var verb: String
    public var items: [DMItem]
    public var steps: [DMCommandStep]?

    public init(verb: String, items: [DMItem], steps: [DMCommandStep]? = nil) {
        self.verb = verb
        self.items = items
        self.steps = steps
    }

    public static let verbs: Set<String> = ["Add", "Replace", "Delete", "Exec"]
    public static let containers: Set<String> = ["Atomic", "Sequence"]

    public var firstTarget: String { (items + (steps ?? []).flatMap(\.items)).first?.target ?? "" }


    public func validate() throws(ProfileError) {
        if Self.containers.contains(verb) {
            guard items.isEmpty, let steps, !steps.isEmpty else { throw ProfileError("An \(verb) block holds one or more commands and no items of its own.") }
            for st in steps {
                guard Self.verbs.contains(st.verb) else {
                    throw ProfileError("Inside \(verb), a block takes \(Self.verbs.sorted().joined(separator: ", ")); not \(st.verb).")
                }
                try Self.check(st.items, st.verb)
            }
        } else {
            guard Self.verbs.contains(verb) else {
                throw ProfileError("A block is one of \((Self.verbs.union(Self.containers)).sorted().joined(separator: ", ")); not \(verb) (a Get is a command, not a setting: winmdm devices command).")
            }
            guard steps == nil else { throw ProfileError("Only Atomic and Sequence hold commands.") }
            try Self.check(items, verb)
        }
    }

    static func check(_ items: [DMItem], _ verb: String) throws(ProfileError) {
        guard !items.isEmpty else { throw ProfileError("The \(verb) has no Item.") }
        for i in items {
            guard i.target.hasPrefix("./"), i.target.count > 2, !i.target.contains(" ") else {
                throw ProfileError("'\(i.target)' is not an OMA-URI (each Item needs a Target LocURI starting with ./).")
            }
        }
    }
}

/// The editions and builds a setting exists on.
public struct SettingApplicability: Codable, Sendable, Equatable {
    /// The lowest Windows build (the third part of 10.0.BUILD.REV) that has it.
    public var minBuild: Int?
    /// Not in Home editions (PRODUCT_CORE and its N, country-specific and single-language variants).
    public var notOnHome: Bool

    public init(minBuild: Int? = nil, notOnHome: Bool = false) {
        self.minBuild = minBuild
        self.notOnHome = notOnHome
    }

    public static let homeEditions: Set<Int> = [98, 99, 100, 101]

    /// True when the device has it; unknown edition or build count as having it (Windows will answer).
    public func applies(edition: Int?, osVersion: String?) -> Bool {
        if notOnHome, let e = edition, Self.homeEditions.contains(e) { return false }
        if let minBuild, let v = osVersion {
            let parts = v.split(separator: ".")
            if parts.count >= 3, let build = Int(parts[2]), build < minBuild { return false }
        }
        return true
    }

    public var summary: String {
        [notOnHome ? "not Home" : nil, minBuild.map { "build \($0) or later" }].compactMap { $0 }.joined(separator: ", ")
    }
}

public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Who a profile (or another policy) is assigned to: a group, or everyone, included or excluded.
public struct ProfileAssignment: Codable, Sendable, Equatable, Hashable {
    /// A group id, or `allUsers` / `allDevices` (Intune's two virtual groups).
    public var target: String
    public var exclude: Bool

    public init(target: String, exclude: Bool = false) {
        self.target = target
        self.exclude = exclude
    }

    public static let allUsers = "allUsers"
    public static let allDevices = "allDevices"
}

/// A named, versioned set of CSP settings assigned to groups (Intune's `windows10CustomConfiguration`).
public struct ConfigurationProfile: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var description: String
    /// Raised by every change of its settings: a device that has an older version gets what changed.
    public var version: Int
    public var settings: [OMASetting]
    public var assignments: [ProfileAssignment]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String = UUID().uuidString.lowercased(), name: String, description: String = "", settings: [OMASetting] = [],
                assignments: [ProfileAssignment] = [], createdAt: Date) {
        self.id = id
        self.name = name
        self.description = description
        self.version = 1
        self.settings = settings
        self.assignments = assignments
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// Whether the profile applies to a device whose user belongs to `groupIDs`: some include matches and no exclude
    /// does (an exclusion always wins, as in Intune). A device without a user (`userless`) matches only `allDevices`.
    public func applies(toUserGroups groupIDs: Set<String>, userless: Bool = false, deviceGroups: Set<String> = []) -> Bool {
        ProfileAssignment.applies(assignments, toUserGroups: groupIDs, userless: userless, deviceGroups: deviceGroups)
    }
}

extension ProfileAssignment {
    /// Whether assignments (of a profile or a policy) reach a device whose user belongs to `groupIDs`: some include
    /// matches and no exclude does. A device without a user (`userless`) matches only `allDevices`.
    /// `deviceGroups`: groups the device itself is in; they apply whether or not the device has a user.
    public static func applies(_ assignments: [ProfileAssignment], toUserGroups groupIDs: Set<String>, userless: Bool,
                               deviceGroups: Set<String> = []) -> Bool {
        func matches(_ a: ProfileAssignment) -> Bool {
            switch a.target {
            case ProfileAssignment.allDevices: true
            case ProfileAssignment.allUsers: !userless
            default: deviceGroups.contains(a.target) || (!userless && groupIDs.contains(a.target))
            }
        }
        let included = assignments.contains { !$0.exclude && matches($0) }
        return included && !assignments.contains { $0.exclude && matches($0) }
    }
}

/// Where one setting of a profile stands on one device.
public enum SettingState: String, Codable, Sendable {
    /// Sent or to be sent; no answer yet.
    case pending
    case succeeded
    case failed
    /// The device says the node or feature does not exist in this edition or build (406).
    case notApplicable
    /// Another profile sets the same node to another value and wins; this value is not sent.
    case conflict
    /// The profile no longer applies: a Delete is on its way.
    case removing
    /// Removed from the device.
    case removed
    /// The profile no longer applies but the CSP keeps the value (Delete refused): it stays on the device.
    case remains
}

public struct SettingStatus: Codable, Sendable, Equatable {
    public var locURI: String
    /// The value last sent (or, for a conflict, the one this profile wanted).
    public var value: String
    public var state: SettingState
    /// The OMA-DM status the device answered (200, 404, 405 …).
    public var status: String?
    /// For a conflict: the profile whose value wins.
    public var winner: String?
    public var updatedAt: Date
    /// A raw SyncML block: nothing generic undoes it, so removing it leaves it on the device, reported as such.
    public var isBlock: Bool?

    public init(locURI: String, value: String, state: SettingState, status: String? = nil, winner: String? = nil, updatedAt: Date) {
        self.locURI = locURI
        self.value = value
        self.state = state
        self.status = status
        self.winner = winner
        self.updatedAt = updatedAt
    }
}

/// Where one profile stands on one device: the version delivered and each setting.
public struct DeviceProfileState: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case pending, succeeded, failed, conflict, notApplicable, removing, removed }

    public var enrollmentID: String
    public var profileID: String
    public var profileName: String
    public var version: Int
    public var settings: [SettingStatus]
    public var updatedAt: Date
    /// False once the profile no longer applies (it is being removed, or what it left is reported).
    public var assigned: Bool

    public init(enrollmentID: String, profileID: String, profileName: String, version: Int, settings: [SettingStatus], updatedAt: Date,
                assigned: Bool = true) {
        self.enrollmentID = enrollmentID
        self.profileID = profileID
        self.profileName = profileName
        self.version = version
        self.settings = settings
        self.updatedAt = updatedAt
        self.assigned = assigned
    }

    /// The profile's state from its settings' (Intune's order: an error shows before a conflict, a conflict before
    /// pending; a profile none of whose settings apply is not applicable).
    public var state: State {
        let s = settings.map(\.state)
        if !assigned { return s.contains(.removing) ? .removing : .removed }
        if s.contains(.failed) { return .failed }
        if s.contains(.conflict) { return .conflict }
        if s.contains(.pending) { return .pending }
        if !s.isEmpty, s.allSatisfy({ $0 == .notApplicable }) { return .notApplicable }
        return .succeeded
    }

    /// Records the device's answer for one node; a Delete's answer settles a removal.
    /// `value` is what the command carried: the answer to a value since replaced is not this setting's any more.
    public mutating func record(locURI: String, value: String?, status: String, deleting: Bool, at now: Date) {
        guard let i = settings.firstIndex(where: { $0.locURI == locURI }) else { return }
        if deleting ? settings[i].state != .removing : ((value.map { settings[i].value != $0 } ?? false) || settings[i].state != .pending) { return }
        settings[i].status = status
        settings[i].updatedAt = now
        if deleting {
            // 404: already gone. Anything else that is not 2xx: the CSP keeps it (tattooed), and that is reported.
            settings[i].state = status.hasPrefix("2") || status == "404" ? .removed : .remains
        } else {
            // 202: accepted, Windows finishes it in the background; it stays pending until the device says more.
            settings[i].state = status == "202" ? .pending
                : status.hasPrefix("2") || status == "418" ? .succeeded : status == "406" ? .notApplicable : .failed
        }
        updatedAt = now
    }
}

/// Two profiles that apply to one device set one node to different values.
public struct ProfileConflict: Codable, Sendable, Equatable {
    public var locURI: String
    public var winner: String
    public var winnerName: String
    public var loser: String
    public var loserName: String
    public var winningValue: String
    public var losingValue: String
    /// Why the winner wins, for people.
    public var reason: String

    public init(locURI: String, winner: String, winnerName: String, loser: String, loserName: String, winningValue: String,
                losingValue: String, reason: String) {
        self.locURI = locURI
        self.winner = winner
        self.winnerName = winnerName
        self.loser = loser
        self.loserName = loserName
        self.winningValue = winningValue
        self.losingValue = losingValue
        self.reason = reason
    }
}

/// What reconciling one device's profiles produced: commands to queue, states to write, states to drop.
public struct ProfilePlan: Sendable, Equatable {
    public var commands: [DeviceCommand] = []
    public var states: [DeviceProfileState] = []
    /// Profiles whose state rows go: nothing of them is left on the device.
    public var dropped: [String] = []
    public var conflicts: [ProfileConflict] = []

    public init() {}
}

/// Desired state for one device: which profiles apply, what to send, what to delete, who wins a conflict. Pure.
public enum ProfilePlanner {
    public static func plan(enrollmentID: String, userGroupIDs: Set<String>, deviceGroupIDs: Set<String> = [], userless: Bool,
                            edition: Int? = nil, osVersion: String? = nil,
                            profiles: [ConfigurationProfile], states: [DeviceProfileState], now: Date) -> ProfilePlan {
        var plan = ProfilePlan()
        // The oldest profile wins a node two profiles set differently (a fixed, explainable rule: creating a profile
        // never changes what older ones already put on devices).
        let desired = profiles.filter { $0.applies(toUserGroups: userGroupIDs, userless: userless, deviceGroups: deviceGroupIDs) }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        var owner: [String: (profile: ConfigurationProfile, value: String)] = [:]
        for p in desired {
            for s in p.settings where owner[s.locURI] == nil { owner[s.locURI] = (p, s.value) }
        }
        let byID = Dictionary(states.map { ($0.profileID, $0) }, uniquingKeysWith: { a, _ in a })

        for p in desired {
            let old = byID[p.id]
            let before = Dictionary((old?.settings ?? []).map { ($0.locURI, $0) }, uniquingKeysWith: { a, _ in a })
            var next: [SettingStatus] = []
            var changed = old == nil || old?.version != p.version || old?.assigned == false
            var toSend: [OMASetting] = []
            for s in p.settings {
                if let a = s.applicability, !a.applies(edition: edition, osVersion: osVersion) {
                    // Not on this edition or build: recorded, never sent (Windows would answer 404, 405 or 406).
                    if before[s.locURI]?.state != .notApplicable { changed = true }
                    next.append(SettingStatus(locURI: s.locURI, value: s.value, state: .notApplicable, status: nil, updatedAt: now))
                    continue
                }
                let won = owner[s.locURI]!
                if won.profile.id != p.id && won.value != s.value {
                    plan.conflicts.append(ProfileConflict(locURI: s.locURI, winner: won.profile.id, winnerName: won.profile.name, loser: p.id,
                                                          loserName: p.name, winningValue: won.value, losingValue: s.value,
                                                          reason: "\(won.profile.name) was created first (\(won.profile.createdAt.formatted(.iso8601)))"))
                    if before[s.locURI]?.state != .conflict { changed = true }
                    next.append(SettingStatus(locURI: s.locURI, value: s.value, state: .conflict, winner: won.profile.id, updatedAt: now))
                    continue
                }
                if let b = before[s.locURI], b.value == s.value, [.succeeded, .pending, .failed, .notApplicable].contains(b.state) {
                    // Already delivered (or refused) with this value: not sent again until the value changes. A
                    // failed one is sent again by a new version of the profile.
                    if old?.version == p.version || b.state != .failed {
                        next.append(b)
                        continue
                    }
                }
                changed = true
                var pending = SettingStatus(locURI: s.locURI, value: s.value, state: .pending, updatedAt: now)
                if s.block != nil { pending.isBlock = true }
                next.append(pending)
                toSend.append(s)
            }
            // A setting of an Atomic group goes with the rest of its group (all of them pending again).
            let groups = Set(toSend.compactMap(\.atomicGroup))
            for g in groups.sorted() {
                let members = p.settings.filter { m in
                    let state = next.first { $0.locURI == m.locURI }?.state
                    return m.atomicGroup == g && state != .notApplicable && state != .conflict
                }
                for m in members where !toSend.contains(where: { $0.locURI == m.locURI }) {
                    if let i = next.firstIndex(where: { $0.locURI == m.locURI }) { next[i].state = .pending; next[i].status = nil }
                }
                plan.commands.append(atomic(enrollmentID, p, members, now))
            }
            for s in toSend where s.atomicGroup == nil { plan.commands.append(command(enrollmentID, p, s, now)) }
            // Nodes this profile set before and no longer does: deleted unless another applying profile sets them.
            for b in old?.settings ?? [] where !p.settings.contains(where: { $0.locURI == b.locURI }) {
                changed = true
                if b.isBlock == true, [.succeeded, .pending].contains(b.state) {
                    next.append(Self.remaining(b, now))
                } else if owner[b.locURI] == nil, [.succeeded, .pending].contains(b.state) {
                    plan.commands.append(deletion(enrollmentID, p, b.locURI, now))
                    next.append(SettingStatus(locURI: b.locURI, value: b.value, state: .removing, updatedAt: now))
                }
            }
            if changed || next != old?.settings {
                plan.states.append(DeviceProfileState(enrollmentID: enrollmentID, profileID: p.id, profileName: p.name, version: p.version,
                                                      settings: next, updatedAt: now))
            }
        }
        // Profiles that no longer apply (unassigned, the user left a group, deleted): what they put on the device goes.
        let desiredIDs = Set(desired.map(\.id))
        for old in states where !desiredIDs.contains(old.profileID) && old.assigned {
            var next: [SettingStatus] = []
            for b in old.settings {
                if b.isBlock == true, [.succeeded, .pending, .remains].contains(b.state) {
                    next.append(b.state == .remains ? b : Self.remaining(b, now))
                } else if owner[b.locURI] == nil, [.succeeded, .pending].contains(b.state) {
                    let p = profiles.first { $0.id == old.profileID }
                    plan.commands.append(deletion(enrollmentID, p, b.locURI, now, profileID: old.profileID))
                    next.append(SettingStatus(locURI: b.locURI, value: b.value, state: .removing, updatedAt: now))
                }
            }
            if next.isEmpty {
                plan.dropped.append(old.profileID)
            } else {
                plan.states.append(DeviceProfileState(enrollmentID: enrollmentID, profileID: old.profileID, profileName: old.profileName,
                                                      version: old.version, settings: next, updatedAt: now, assigned: false))
            }
        }
        return plan
    }

    /// A raw block that no longer applies: what it did stays; it is listed as remaining until its profile is gone.
    static func remaining(_ b: SettingStatus, _ now: Date) -> SettingStatus {
        var r = b
        r.state = .remains
        r.updatedAt = now
        return r
    }

    static func command(_ enrollmentID: String, _ p: ConfigurationProfile, _ s: OMASetting, _ now: Date) -> DeviceCommand {
        var c = DeviceCommand(enrollmentID: enrollmentID, kind: "profile", verb: s.verb ?? "Replace",
                              items: [DMItem(target: s.locURI, format: s.format, data: s.value)], createdAt: now)
        if let b = s.block {
            c = DeviceCommand(enrollmentID: enrollmentID, kind: "profile-block", verb: b.verb, items: b.items, steps: b.steps, createdAt: now)
        }
        c.profileID = p.id
        c.profileVersion = p.version
        return c
    }

    static func atomic(_ enrollmentID: String, _ p: ConfigurationProfile, _ settings: [OMASetting], _ now: Date) -> DeviceCommand {
        let steps = settings.map { DMCommandStep(verb: $0.verb ?? "Replace", items: [DMItem(target: $0.locURI, format: $0.format, data: $0.value)]) }
        var c = DeviceCommand(enrollmentID: enrollmentID, kind: "profile", verb: "Atomic", items: [], steps: steps, createdAt: now)
        c.profileID = p.id
        c.profileVersion = p.version
        return c
    }

    static func deletion(_ enrollmentID: String, _ p: ConfigurationProfile?, _ locURI: String, _ now: Date, profileID: String? = nil) -> DeviceCommand {
        var c = DeviceCommand(enrollmentID: enrollmentID, kind: "profile-removal", verb: "Delete", items: [DMItem(target: locURI)], createdAt: now)
        c.profileID = p?.id ?? profileID
        c.profileVersion = p?.version
        return c
    }
}

/// What OMA-DM status codes mean when Windows answers a setting (MANAGEMENT.md §1.7), and Intune's HRESULT for each.
public enum OMAStatus {
    public static func meaning(_ code: String) -> String {
        switch code {
        case "200": "Applied."
        case "202": "Accepted; Windows finishes it in the background."
        case "212": "Authentication accepted."
        case "213": "Chunk accepted; more is expected."
        case "214": "Cancelled: the rest of the session was not run."
        case "215": "Not run: the user cancelled, or an Atomic stopped before it."
        case "216": "Rolled back with the rest of its Atomic."
        case "400": "Malformed command (a server error)."
        case "401": "The device says the server's credentials are invalid."
        case "403": "Forbidden."
        case "404": "The node does not exist on this device: a typo in the OMA-URI, or a CSP this Windows build does not have."
        case "405": "Not allowed here: the node is read-only, the policy is not available in this edition, or it was sent to the wrong scope (user vs device)."
        case "406": "The CSP does not support this optional feature on this device (not applicable)."
        case "407": "The device wants the server to authenticate."
        case "415": "Wrong type or format: check the Format and the escaping of XML values."
        case "418": "Already exists (an Add of a node that is there); sent again as Replace."
        case "424": "Size mismatch of a chunked value."
        case "425": "Permission denied by the node's access control."
        case "500": "The CSP failed to apply the value (often a value it does not accept)."
        case "507": "The Atomic failed; nothing in it was applied."
        case "516": "The Atomic failed to roll back; the state of its nodes is unknown."
        case "unanswered": "The device ended \(DeviceCommand.maxDeliveries) sessions without answering it."
        default: "Status \(code)."
        }
    }

    /// Intune reports an OMA-DM status as 0x87D10000 + the code (0x87D10194 for 404).
    public static func hresult(_ code: String) -> String? {
        hresultValue(code).map { String(format: "0x%08X", $0) }
    }

    public static func hresultValue(_ code: String) -> UInt32? {
        guard let n = UInt32(code), (100...999).contains(n) else { return nil }
        return 0x87D1_0000 + n
    }
}
