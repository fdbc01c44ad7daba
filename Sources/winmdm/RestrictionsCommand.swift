import ArgumentParser
import Foundation
import MDMCore
import MDMService

/// Options that change a device type restriction's Windows settings.
struct PlatformOptions: ParsableArguments {
    @Option(help: "Windows (MDM): allow or block.") var windows: AllowBlock?
    @Option(help: "Personally owned Windows devices: allow or block.") var personal: AllowBlock?
    @Option(help: "Minimum Windows version (major.minor.build[.rev]); \"\" clears it.") var minVersion: String?
    @Option(help: "Maximum Windows version; \"\" clears it.") var maxVersion: String?
    @Option(help: "Windows Home editions: allow or block.") var home: AllowBlock?

    var change: PlatformChange {
        PlatformChange(platformBlocked: windows?.blocked, personalDeviceEnrollmentBlocked: personal?.blocked,
                       osMinimumVersion: minVersion, osMaximumVersion: maxVersion, homeAllowed: home.map { !$0.blocked })
    }
    var isEmpty: Bool { windows == nil && personal == nil && minVersion == nil && maxVersion == nil && home == nil }
}

struct Restrictions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Devices > Enrollment restrictions: device limit and device type restrictions.",
        discussion: """
        Each type has a Default that applies to everyone and is evaluated last, plus restrictions assigned to groups
        with priorities (1 first). A user in several targeted groups gets the one with the best priority.
        Name a restriction by its name, its id, or Default (with --type when both types could match).
        """,
        subcommands: [List.self, Show.self, Create.self, Edit.self, Assign.self, Unassign.self, Priority.self, Delete.self])

    /// Finds a restriction across both types unless --type says which.
    static func find(_ admin: AdminService, _ ref: String, _ type: RestrictionType?) async throws -> Restriction {
        if let type { return try await admin.restriction(type, ref) }
        let a = try? await admin.restriction(.deviceLimit, ref), b = try? await admin.restriction(.platform, ref)
        switch (a, b) {
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (.some, .some): throw ValidationError("\(ref) names a restriction of each type; add --type device-limit or --type platform.")
        default: throw ValidationError("No restriction \(ref). `winmdm restrictions list` shows them.")
        }
    }

    /// Prints a restriction as JSON or as the Properties text.
    static func show(_ r: Restriction, _ admin: AdminService, json: Bool) async throws {
        if json { return try JSONOutput.print(r) }
        print(try await describe(r, admin))
    }

    /// Adds groups to a restriction or removes them, then shows it.
    static func changeGroups(_ common: CommonOptions, _ ref: String, _ type: RestrictionType?, _ groups: [String], remove: Bool) async throws {
        guard !groups.isEmpty else { throw ValidationError("Give at least one --group.") }
        try await Runtime.withAdmin(common) { admin, _ in
            let r0 = try await find(admin, ref, type)
            print(try await describe(try await admin.assignRestriction(r0.type, r0.id, groups: groups, remove: remove), admin))
        }
    }

    static func describe(_ r: Restriction, _ admin: AdminService) async throws -> String {
        let groups = r.isDefault ? "All users and all devices" : (try await admin.groupNames(r.assignedGroups).joined(separator: ", ").nonEmpty ?? "not assigned (no effect until assigned to a group)")
        var lines = ["\(r.isDefault ? "Default" : r.displayName) — \(r.type.label) restriction\(r.isDefault ? ", evaluated last" : ", priority \(r.priority)")",
                     "  id:        \(r.id)", "  assigned:  \(groups)"]
        if let l = r.limit { lines.append("  device limit: \(l)") }
        if let w = r.windows {
            lines.append("  Windows (MDM): \(w.platformBlocked ? "Block" : "Allow"); personally owned: \(w.personalDeviceEnrollmentBlocked ? "Block" : "Allow"); Home editions: \(w.homeAllowed ? "Allow" : "Block"); versions: \(w.osMinimumVersion ?? "any") – \(w.osMaximumVersion ?? "any")")
        }
        return lines.joined(separator: "\n")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List restrictions of both types in evaluation order.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only device-limit or platform.") var type: RestrictionType?
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                var all: [Restriction] = []
                for t in RestrictionType.enrollmentRestrictions where type == nil || type == t { all += try await admin.restrictions(t) }
                if json { return try JSONOutput.print(all) }
                var rows: [[String]] = []
                for r in all {
                    let setting = r.limit.map { "limit \($0)" } ?? r.windows.map {
                        "Windows \($0.platformBlocked ? "Block" : "Allow"), personal \($0.personalDeviceEnrollmentBlocked ? "Block" : "Allow"), Home \($0.homeAllowed ? "Allow" : "Block")"
                            + (($0.osMinimumVersion ?? $0.osMaximumVersion) != nil ? ", \($0.osMinimumVersion ?? "any")–\($0.osMaximumVersion ?? "any")" : "")
                    } ?? ""
                    rows.append([r.type.label, r.isDefault ? "Default" : String(r.priority), r.isDefault ? "Default" : r.displayName,
                                 r.isDefault ? "everyone" : try await admin.groupNames(r.assignedGroups).joined(separator: ",").nonEmpty ?? "-", setting])
                }
                print(Table.render(["TYPE", "PRIORITY", "NAME", "GROUPS", "SETTINGS"], rows))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one restriction (Properties).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name, id or Default.") var restriction: String
        @Option(help: "device-limit or platform.") var type: RestrictionType?
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await Restrictions.find(admin, restriction, type)
                try await Restrictions.show(r, admin, json: json)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a restriction; it gets the priority just above the Default.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "device-limit or platform.") var type: RestrictionType
        @Option(help: "Name.") var name: String
        @Option(help: "Description.") var description: String = ""
        @Option(help: "Device limit (1–15), for device-limit restrictions.") var limit: Int?
        @OptionGroup var platform: PlatformOptions
        @Option(help: "Assign to this group right away; repeat for several.") var group: [String] = []
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            if type == .platform && limit != nil { throw ValidationError("--limit applies to device-limit restrictions.") }
            if type == .deviceLimit && !platform.isEmpty { throw ValidationError("--windows/--personal/--home/--min-version/--max-version apply to platform restrictions.") }
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await admin.createRestriction(type, name: name, description: description, limit: limit,
                                                          platform: platform.change, groups: group)
                try await Restrictions.show(r, admin, json: json)
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a restriction (Properties > Edit), the Default included.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name, id or Default.") var restriction: String
        @Option(help: "device-limit or platform (needed for Default unless the options say).") var type: RestrictionType?
        @Option(help: "New name.") var name: String?
        @Option(help: "New description.") var description: String?
        @Option(help: "Device limit, 1–15 (device-limit restrictions).") var limit: Int?
        @OptionGroup var platform: PlatformOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let implied: RestrictionType? = type ?? (limit != nil ? .deviceLimit : (!platform.isEmpty ? .platform : nil))
            guard limit != nil || !platform.isEmpty || name != nil || description != nil else {
                throw ValidationError("Nothing to change: give --limit, --windows, --personal, --home, --min-version, --max-version, --name or --description.")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let r0 = try await Restrictions.find(admin, restriction, implied)
                let r = try await admin.editRestriction(r0.type, r0.id, name: name, description: description, limit: limit, platform: platform.change)
                try await Restrictions.show(r, admin, json: json)
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a restriction to groups.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var restriction: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        @Option(help: "device-limit or platform.") var type: RestrictionType?
        func run() async throws {
            try await Restrictions.changeGroups(common, restriction, type, group, remove: false)
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove groups from a restriction.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var restriction: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        @Option(help: "device-limit or platform.") var type: RestrictionType?
        func run() async throws {
            try await Restrictions.changeGroups(common, restriction, type, group, remove: true)
        }
    }

    struct Priority: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a restriction to a priority (1 is evaluated first).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var restriction: String
        @Argument(help: "New priority.") var priority: Int
        @Option(help: "device-limit or platform.") var type: RestrictionType?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let r0 = try await Restrictions.find(admin, restriction, type)
                let list = try await admin.setPriority(r0.type, r0.id, priority: priority)
                print(list.map { "\($0.isDefault ? "Default" : String($0.priority)). \($0.isDefault ? "Default" : $0.displayName)" }.joined(separator: "\n"))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a restriction (not the Default).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var restriction: String
        @Option(help: "device-limit or platform.") var type: RestrictionType?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let r0 = try await Restrictions.find(admin, restriction, type)
                try await admin.deleteRestriction(r0.type, r0.id)
                print("Deleted \(r0.displayName).")
            }
        }
    }
}
