import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Profiles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Devices > Configuration: custom profiles of CSP settings (OMA-URI), assigned to groups, with a status per device.",
        discussion: """
        A profile is a named, versioned set of OMA-URI settings. Assign it to groups (or all-users / all-devices); each
        device receives what is new or changed at its next check-in, and what a removed setting or assignment leaves
        is deleted from the device where the CSP allows it. Two profiles that set one node differently: the older
        profile's value wins, and the conflict is shown (profiles conflicts).
        """,
        subcommands: [List.self, Create.self, Templates.self, Show.self, SetSetting.self, SetBlock.self, Unset.self, Assign.self, Unassign.self, Status.self, Conflicts.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List profiles with their version, settings and assignments.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.configurationProfiles()
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No configuration profiles. Create one: winmdm profiles create NAME") }
                var rows: [[String]] = []
                for p in list { rows.append([p.name, String(p.version), String(p.settings.count), try await Profiles.assignments(p, admin)]) }
                print(Table.render(["NAME", "VERSION", "SETTINGS", "ASSIGNED TO"], rows))
            }
        }
    }

    static func assignments(_ p: ConfigurationProfile, _ admin: AdminService) async throws -> String {
        guard !p.assignments.isEmpty else { return "nobody (not assigned)" }
        var parts: [String] = []
        for a in p.assignments {
            let name = switch a.target {
            case ProfileAssignment.allUsers: "all users"
            case ProfileAssignment.allDevices: "all devices"
            default: (try? await admin.groupNames([a.target]).first) ?? a.target
            }
            parts.append(a.exclude ? "not \(name)" : name)
        }
        return parts.joined(separator: ", ")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a profile: empty (add settings with profiles set), or from a template with --template and --set FIELD=VALUE.",
            discussion: "Example: winmdm profiles create 'Ring 1' --template update-ring --set qualityDeferralDays=3 --set featureDeadlineDays=14\nwinmdm profiles templates lists the templates and their fields.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The profile's name.") var name: String
        @Option(help: "What it is for.") var description: String?
        @Option(help: "update-ring, bitlocker, password, defender or restrictions.") var template: String?
        @Option(name: .customLong("set"), help: "A template field, FIELD=VALUE (repeatable).") var values: [String] = []

        func run() async throws {
            var fields: [String: String] = [:]
            for v in values {
                let kv = v.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw ValidationError("--set '\(v)' is not FIELD=VALUE.") }
                fields[kv[0]] = kv[1]
            }
            if template == nil, !fields.isEmpty { throw ValidationError("--set needs --template; without one, add settings with profiles set.") }
            try await Runtime.withAdmin(common) { admin, _ in
                if let template {
                    let p = try await admin.createConfigurationProfile(name: name, template: template, values: fields, description: description)
                    print("Created profile \(p.name) (\(p.id)) from \(template) with \(p.settings.count) settings:")
                    for s in p.settings { print("  \(s.locURI) = \(s.value)\(s.applicability.map { " (\($0.summary))" } ?? "")") }
                    print("Assign it: winmdm profiles assign '\(p.name)' GROUP")
                } else {
                    let p = try await admin.createConfigurationProfile(name: name, description: description ?? "")
                    print("Created profile \(p.name) (\(p.id)). Add settings: winmdm profiles set '\(p.name)' OMA-URI --format int --value 1")
                }
            }
        }
    }

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The profile templates, their fields, accepted values and defaults, and what Windows they need.")

        func run() async throws {
            for t in ProfileTemplate.all {
                print("\(t.id): \(t.title) (\(t.requirement))")
                for f in t.fields { print("  \(f.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(f.accepted), default \(f.defaultValue): \(f.help)") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One profile: settings, assignments and the devices' status overview.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let (p, states) = try await admin.profileStates(profile)
                if json { return try JSONOutput.print(p) }
                print("Profile       \(p.name) (\(p.id))")
                if !p.description.isEmpty { print("Description   \(p.description)") }
                print("Version       \(p.version), changed \(p.updatedAt.short)")
                print("Assigned to   \(try await Profiles.assignments(p, admin))")
                print("\nSettings:")
                if p.settings.isEmpty { print("  none yet") }
                for s in p.settings { print("  \(s.locURI) (\(s.format)) = \(s.value)\(s.name.map { "   # \($0)" } ?? "")") }
                var counts: [String: Int] = [:]
                for s in states { counts[s.state.rawValue, default: 0] += 1 }
                print("\nDevices: " + (counts.isEmpty ? "none has received it yet (devices pick it up at their next check-in)"
                    : counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
            }
        }
    }

    struct SetSetting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Add a setting to a profile, or change it (raises the profile's version).",
            discussion: """
            Example: winmdm profiles set 'Restrictions' ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera --format int --value 0
            Formats: int, chr, bool (true/false), b64, xml, float. --add sends Add instead of Replace, for nodes that must be
            created (a 418 "already exists" answer is sent again as Replace).
            """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Argument(help: "The OMA-URI (./Device/Vendor/MSFT/…, ./User/Vendor/MSFT/… or ./Vendor/MSFT/…).") var locURI: String
        @Option(help: "int, chr, bool, b64, xml or float.") var format: String
        @Option(help: "The value.") var value: String
        @Option(help: "A name for people.") var name: String?
        @Flag(help: "Create the node with Add instead of Replace.") var add = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.setProfileSetting(profile, OMASetting(name: name, locURI: locURI, format: format, value: value,
                                                                              verb: add ? "Add" : nil))
                print("\(p.name) is at version \(p.version) with \(p.settings.count) setting(s); assigned devices get the change at their next check-in.")
                try await Profiles.printConflicts(admin, of: p) { $0.locURI == locURI }
            }
        }
    }

    struct SetBlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-block",
            abstract: "Add a raw SyncML command to a profile, for what a setting cannot express (an Exec, several items, an Atomic).",
            discussion: """
            The block is one command as Windows reads it, without a CmdID (winmdm numbers it), for example
              <Exec><Item><Target><LocURI>./Device/Vendor/MSFT/Defender/QuickScan</LocURI></Target></Item></Exec>
            or an <Atomic> of Add, Replace, Delete and Exec commands. It is sent as written and gets one status, named by
            its first target (winmdm profiles unset PROFILE FIRST-TARGET removes it). Nothing generic undoes a block:
            when it stops applying, devices keep what it did, and the status says so.
            """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Option(help: "A file holding the block ('-' reads standard input).") var file: String?
        @Option(help: "The block itself.") var xml: String?
        @Option(help: "A name for people.") var name: String?

        func run() async throws {
            let text: String
            switch (file, xml) {
            case (let f?, nil):
                if f == "-" { text = String(decoding: CommandIO.readStandardInput(), as: UTF8.self) }
                else {
                    guard let t = CommandIO.contents(ofFile: f).flatMap({ String(data: $0, encoding: .utf8) }) else { throw ValidationError("Cannot read \(f) as UTF-8 text.") }
                    text = t
                }
            case (nil, let x?): text = x
            default: throw ValidationError("Give the block with --file PATH or --xml TEXT (one of them).")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.setProfileBlock(profile, xml: text, name: name)
                print("\(p.name) is at version \(p.version) with \(p.settings.count) setting(s); assigned devices get the change at their next check-in.")
            }
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a setting from a profile; devices that have it get a Delete of the node.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Argument(help: "The OMA-URI.") var locURI: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.removeProfileSetting(profile, locURI: locURI)
                print("Removed \(locURI) from \(p.name) (now version \(p.version)).")
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a profile to a group (its users' devices), all-users or all-devices; --exclude excludes instead.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Argument(help: "A group's name or id, all-users or all-devices.") var target: String
        @Flag(help: "Exclude this group (an exclusion wins over any inclusion).") var exclude = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.assignProfile(profile, to: target, exclude: exclude)
                print("\(p.name) is assigned to \(try await Profiles.assignments(p, admin)). Devices apply it at their next check-in.")
                try await Profiles.printConflicts(admin, of: p)
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an assignment; devices no longer in scope delete the profile's nodes.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Argument(help: "A group's name or id, all-users or all-devices.") var target: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.unassignProfile(profile, from: target)
                print("\(p.name) is assigned to \(try await Profiles.assignments(p, admin)).")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per device: the profile's state and each setting's, with Windows' status code and what it means.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let (p, rows) = try await admin.profileDeviceStates(profile)
                if json { return try JSONOutput.print(rows.map(\.0)) }
                guard !rows.isEmpty else {
                    return print("No device has \(p.name) yet: assigned devices report at their next check-in.")
                }
                for (s, e) in rows {
                    print("\(e?.deviceName ?? s.enrollmentID)  \(e?.upn ?? "")  \(s.state.rawValue)  (version \(s.version), \(s.updatedAt.short))")
                    for st in s.settings { print("  " + Profiles.describe(st)) }
                }
            }
        }
    }

    /// The conflicts this profile takes part in (those `only` keeps), one line each.
    static func printConflicts(_ admin: AdminService, of p: ConfigurationProfile, only: (ProfileConflict) -> Bool = { _ in true }) async throws {
        for c in try await admin.profileConflicts() where (c.winner == p.id || c.loser == p.id) && only(c) {
            print("Conflict: \(c.loserName) sets \(c.locURI) to \(c.losingValue), \(c.winnerName) to \(c.winningValue); \(c.winnerName) wins (\(c.reason)).")
        }
    }

    static func describe(_ s: SettingStatus) -> String {
        var line = "\(s.state.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)) \(s.locURI)"
        if let code = s.status, !code.hasPrefix("2") {
            line += "  status \(code)\(OMAStatus.hresult(code).map { " (\($0))" } ?? ""): \(OMAStatus.meaning(code))"
        }
        if s.state == .conflict, let w = s.winner { line += "  another profile (\(w)) sets it and wins" }
        if s.state == .remains { line += "  the CSP keeps this value after removal" }
        return line
    }

    struct Conflicts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Profiles that set one node to different values for the same devices, and which wins.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.profileConflicts()
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No conflicts.") }
                print(Table.render(["NODE", "WINS", "VALUE", "LOSES", "VALUE", "WHY"], list.map {
                    [$0.locURI, $0.winnerName, $0.winningValue, $0.loserName, $0.losingValue, $0.reason]
                }))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a profile; devices delete its nodes at their next check-in where the CSP allows it.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.deleteConfigurationProfile(profile)
                print("Deleted \(p.name).")
            }
        }
    }
}
