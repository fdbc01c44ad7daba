import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct DeviceSettings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "device-settings",
        abstract: "Devices > Device settings: who may join devices, and the device registration quota.",
        subcommands: [Show.self, UsersMayJoin.self, AddMembers.self, Quota.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the device settings.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let s = try await admin.settings()
                if json { return try JSONOutput.print(["joinPolicy": AnyEncodable(s.joinPolicy), "userDeviceQuota": AnyEncodable(s.joinQuota)]) }
                print(try await TenantText.join(s, admin))
            }
        }
    }

    struct UsersMayJoin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "users-may-join",
            abstract: "Users may join devices: all, selected (with --user/--group) or none.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "all, selected or none.") var setting: JoinPolicy.Kind
        @Option(help: "A user who may join devices (with selected); repeat for several.") var user: [String] = []
        @Option(help: "A group whose members may join devices (with selected); repeat for several.") var group: [String] = []
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let s = try await admin.setJoinPolicy(setting, users: user, groups: group)
                print(try await TenantText.join(s, admin))
            }
        }
    }

    struct AddMembers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-members",
            abstract: "Add users or groups to Selected (for example the accounts of provisioning packages).")
        @OptionGroup var common: CommonOptions
        @Option(help: "User to add; repeat for several.") var user: [String] = []
        @Option(help: "Group to add; repeat for several.") var group: [String] = []
        func run() async throws {
            guard !(user.isEmpty && group.isEmpty) else { throw ValidationError("Give --user or --group to add.") }
            try await Runtime.withAdmin(common) { admin, _ in
                print(try await TenantText.join(try await admin.addJoinMembers(users: user, groups: group), admin))
            }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the maximum number of joined devices per user (default 50).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "0 to 1000, or unlimited.") var quota: String
        func run() async throws {
            let n: Int
            if quota.lowercased() == "unlimited" { n = TenantSettings.unlimitedJoinQuota } else {
                guard let v = Int(quota) else { throw ValidationError("'\(quota)' is not a quota: give a number from 0 to 1000, or unlimited.") }
                n = v
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let before = try await admin.settings().joinQuota
                let after = try await admin.setJoinQuota(n)
                print(before == after.joinQuota ? "The quota is already \(after.joinQuotaText)." : "Maximum number of devices per user changed from \(TenantSettings.joinQuotaText(before)) to \(after.joinQuotaText).")
                print(try await TenantText.join(after, admin))
                if n == 0 {
                    CommandIO.printError("Warning: a quota of 0 refuses every device (join) enrollment and provisioning package with 0x80180013; user enrollments from Settings are not counted.")
                }
            }
        }
    }
}

struct Mobility: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mobility (MDM and MAM): MDM user scope, MAM user scope and the MDM URLs.",
        subcommands: [Show.self, MDMScope.self, MAMScope.self, URLs.self, RestoreDefaultURLs.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the mobility settings.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let s = try await admin.settings()
                if json { return try JSONOutput.print(s.mobility) }
                print(try await TenantText.mobility(s, admin))
            }
        }
    }

    struct MDMScope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mdm-scope", abstract: "MDM user scope: none, some (with --group) or all.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "none, some or all.") var scope: UserScope.Kind
        @Option(help: "Group in scope (with some); repeat for several.") var group: [String] = []
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let before = try await TenantText.mobility(try await admin.settings(), admin)
                let after = try await TenantText.mobility(
                    try await admin.setScope(.mdm, scope, groups: group), admin)
                print(TenantText.changes(before, after))
            }
        }
    }

    struct MAMScope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mam-scope",
            abstract: "MAM user scope: none, some (with --group) or all. For personal devices MAM wins over MDM.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "none, some or all.") var scope: UserScope.Kind
        @Option(help: "Group in scope (with some); repeat for several.") var group: [String] = []
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let before = try await TenantText.mobility(try await admin.settings(), admin)
                let after = try await TenantText.mobility(
                    try await admin.setScope(.mam, scope, groups: group), admin)
                print(TenantText.changes(before, after))
            }
        }
    }

    struct URLs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "urls", abstract: "Set the MDM terms of use, discovery and compliance URLs.")
        @OptionGroup var common: CommonOptions
        @Option(help: "MDM terms of use URL (https; empty clears it).") var termsOfUse: String?
        @Option(help: "MDM discovery URL.") var discovery: String?
        @Option(help: "MDM compliance URL.") var compliance: String?
        func run() async throws {
            guard termsOfUse != nil || discovery != nil || compliance != nil else {
                throw ValidationError("Give --terms-of-use, --discovery or --compliance.")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let before = try await TenantText.mobility(try await admin.settings(), admin)
                let after = try await TenantText.mobility(
                    try await admin.setMobilityURLs(termsOfUse: termsOfUse, discovery: discovery, compliance: compliance), admin)
                print(TenantText.changes(before, after))
            }
        }
    }

    struct RestoreDefaultURLs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restore-default-urls",
            abstract: "Restore default MDM URLs: winmdm's own terms of use, discovery and compliance pages.")
        @OptionGroup var common: CommonOptions
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                let before = try await TenantText.mobility(try await admin.settings(), admin)
                let after = try await TenantText.mobility(
                    try await admin.restoreDefaultMobilityURLs(publicURL: rt.config.publicURL), admin)
                print(TenantText.changes(before, after))
            }
        }
    }
}

struct Maintenance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause enrollment (devices get 0x80180017) and resume it.",
                                                    subcommands: [On.self, Off.self, Status.self])

    struct On: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start maintenance: every enrollment is refused with InMaintenance.")
        @OptionGroup var common: CommonOptions
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                _ = try await admin.setMaintenance(true)
                print("Maintenance is on: enrollments are refused with 0x80180017 until `winmdm maintenance off`.")
            }
        }
    }

    struct Off: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End maintenance.")
        @OptionGroup var common: CommonOptions
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                _ = try await admin.setMaintenance(false)
                print("Maintenance is off: enrollment is open.")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether maintenance is on.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON: {\"maintenance\": true|false}.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let on = try await admin.settings().maintenance
                if json { return try JSONOutput.print(["maintenance": on]) }
                print("Maintenance is \(on ? "on" : "off").")
            }
        }
    }
}

/// Human-readable summaries of tenant settings, shared by the commands that change them.
enum TenantText {
    /// What a change changed, line by line ("MDM user scope: All → Some (Staff)"), then the whole state; or that
    /// nothing changed.
    static func changes(_ before: String, _ after: String) -> String {
        let b = before.split(separator: "\n").map(String.init), a = after.split(separator: "\n").map(String.init)
        func split(_ line: String) -> (String, String) {
            guard let i = line.firstIndex(of: ":") else { return (line, "") }
            return (String(line[..<i]), line[line.index(after: i)...].trimmingCharacters(in: .whitespaces))
        }
        var changed: [String] = []
        for (x, y) in zip(b, a) where x != y {
            let (k, v1) = split(x), (_, v2) = split(y)
            changed.append("Changed \(k): \(v1) → \(v2)")
        }
        return (changed.isEmpty ? ["Nothing changed."] : changed).joined(separator: "\n") + "\n\n" + after
    }

    static func join(_ s: TenantSettings, _ admin: AdminService) async throws -> String {
        var who = s.joinPolicy.kind.rawValue.capitalized
        if s.joinPolicy.kind == .selected {
            let users = try await admin.users().filter { s.joinPolicy.users.contains($0.id) }.map(\.upn)
            let groups = try await admin.groupNames(s.joinPolicy.groups)
            who += " (users: \(users.joined(separator: ", ").nonEmpty ?? "none"); groups: \(groups.joined(separator: ", ").nonEmpty ?? "none"))"
        }
        return "Users may join devices: \(who)\nMaximum number of devices per user: \(s.joinQuotaText)"
    }

    static func scope(_ sc: UserScope, _ admin: AdminService) async throws -> String {
        sc.kind == .some ? "Some (\(try await admin.groupNames(sc.groups).joined(separator: ", ")))" : sc.kind.rawValue.capitalized
    }

    static func mobility(_ s: TenantSettings, _ admin: AdminService) async throws -> String {
        """
        MDM user scope:         \(try await scope(s.mobility.mdmScope, admin))
        MAM user scope:         \(try await scope(s.mobility.mamScope, admin))
        MDM terms of use URL:   \(s.mobility.termsOfUseURL.nonEmpty ?? "(blank)")\(s.mobility.termsOfUseURLIsValid ? "" : "   <- not a valid https URL")
        MDM discovery URL:      \(s.mobility.discoveryURL)
        MDM compliance URL:     \(s.mobility.complianceURL)
        """
    }
}
