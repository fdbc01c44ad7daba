import ArgumentParser
import Foundation
import MDMCore
import MDMService

enum YesNo: String, ExpressibleByArgument, CaseIterable {
    case yes, no
    var on: Bool { self == .yes }
    init?(argument: String) {
        switch argument.lowercased() {
        case "yes", "true", "on": self = .yes
        case "no", "false", "off": self = .no
        default: return nil
        }
    }
}

enum BlockOn: String, ExpressibleByArgument, CaseIterable {
    case all, selected
}

/// Options that change an Enrollment Status Page.
struct StatusPageOptions: ParsableArguments {
    @Option(help: "Show app and profile configuration progress: yes or no.") var show: YesNo?
    @Option(help: "Block device use until the blocking profiles are done: yes or no.") var blockDeviceUse: YesNo?
    @Option(help: "Wait for all profiles assigned to the device, or only the --blocking ones: all or selected.") var blockOn: BlockOn?
    @Option(help: "A profile the page waits for (name or id); repeat for several; replaces the list.") var blocking: [String] = []
    @Option(help: "Add a profile to the blocking list.") var addBlocking: [String] = []
    @Option(help: "Remove a profile from the blocking list.") var removeBlocking: [String] = []
    @Option(help: "Minutes before the page shows its error (1–1440).") var timeout: Int?
    @Option(help: "Message shown on error or timeout; \"\" restores Windows' own.") var message: String?
    @Option(help: "Offer Reset device on failure: yes or no.") var allowReset: YesNo?
    @Option(help: "Offer Try again on failure: yes or no.") var allowRetry: YesNo?
    @Option(help: "Offer Continue anyway on failure: yes or no.") var allowUseOnFailure: YesNo?
    @Option(help: "Let the user collect logs on failure: yes or no.") var collectLogs: YesNo?
    @Option(help: "Show the account-setup phase only to the first user: yes or no.") var onlyFirstUser: YesNo?

    var change: StatusPageChange {
        StatusPageChange(showInstallationProgress: show?.on, blockDeviceUseUntilComplete: blockDeviceUse?.on,
                         allowDeviceResetOnInstallFailure: allowReset?.on, blockDeviceSetupRetryByUser: allowRetry.map { !$0.on },
                         allowDeviceUseOnInstallFailure: allowUseOnFailure?.on, allowLogCollectionOnInstallFailure: collectLogs?.on,
                         customErrorMessage: message, installProgressTimeoutInMinutes: timeout,
                         disableUserStatusTrackingAfterFirstUser: onlyFirstUser?.on, blockOnAllProfiles: blockOn.map { $0 == .all },
                         blockingProfiles: blocking.isEmpty ? nil : blocking, addBlocking: addBlocking, removeBlocking: removeBlocking)
    }
}

struct StatusPageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esp",
        abstract: "Devices > Enrollment > Windows > Enrollment Status Page: what Windows' setup screen waits for.",
        discussion: """
        The page applies to devices enrolled during Windows setup (OOBE). Each device gets the configuration assigned to
        its user's groups with the best priority, else the Default (not shown until you edit it). While it shows,
        winmdm holds device preparation, delivers the profiles, and releases the page when every blocking profile has
        succeeded; a blocking profile that fails, or the timeout, ends it with an error, recorded as an attempt
        (winmdm attempts list --failed) with the profile that held it up.
        """,
        subcommands: [List.self, Show.self, Create.self, Edit.self, Assign.self, Unassign.self, Priority.self, Delete.self])

    static func describe(_ r: Restriction, _ admin: AdminService) async throws -> String {
        let s = r.statusPage ?? .intuneDefault
        let groups = r.isDefault ? "All users and all devices" : (try await admin.groupNames(r.assignedGroups).joined(separator: ", ").nonEmpty ?? "not assigned (no effect until assigned to a group)")
        var lines = ["\(r.isDefault ? "Default" : r.displayName) — Enrollment Status Page\(r.isDefault ? ", evaluated last" : ", priority \(r.priority)")",
                     "  id:        \(r.id)", "  assigned:  \(groups)",
                     "  show progress: \(s.showInstallationProgress ? "yes" : "no (Windows skips the page)")"]
        if s.showInstallationProgress {
            lines += ["  block device use until done: \(s.blockDeviceUseUntilComplete ? "yes" : "no")",
                      "  waits for: \(try await admin.blockingProfileNames(s))",
                      "  timeout: \(s.installProgressTimeoutInMinutes) minutes",
                      "  on error: \(s.failureButtons.joined(separator: ", "))\(s.allowLogCollectionOnInstallFailure ? ", collect logs" : "")",
                      "  message: \(s.customErrorMessage.isEmpty ? StatusPageSettings.windowsErrorText + " (Windows' own)" : s.customErrorMessage)",
                      "  account setup: \(s.disableUserStatusTrackingAfterFirstUser ? "first user only" : "every new user")"]
        }
        return lines.joined(separator: "\n")
    }

    static func show(_ r: Restriction, _ admin: AdminService, json: Bool) async throws {
        if json { return try JSONOutput.print(r) }
        print(try await describe(r, admin))
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List Enrollment Status Pages in evaluation order.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let all = try await admin.restrictions(.enrollmentStatusPage)
                if json { return try JSONOutput.print(all) }
                var rows: [[String]] = []
                for r in all {
                    let s = r.statusPage ?? .intuneDefault
                    rows.append([r.isDefault ? "Default" : String(r.priority), r.isDefault ? "Default" : r.displayName,
                                 r.isDefault ? "everyone" : try await admin.groupNames(r.assignedGroups).joined(separator: ",").nonEmpty ?? "-",
                                 s.showInstallationProgress ? "shown, \(s.installProgressTimeoutInMinutes) min, waits for \(try await admin.blockingProfileNames(s))" : "not shown"])
                }
                print(Table.render(["PRIORITY", "NAME", "GROUPS", "SETTINGS"], rows))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one Enrollment Status Page.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name, id or Default.") var page: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await StatusPageCommand.show(try await admin.restriction(.enrollmentStatusPage, page), admin, json: json)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an Enrollment Status Page (shown, blocking, 60 minutes unless the options say); it gets the priority just above the Default.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Name.") var name: String
        @Option(help: "Description.") var description: String = ""
        @OptionGroup var options: StatusPageOptions
        @Option(help: "Assign to this group right away; repeat for several.") var group: [String] = []
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await admin.createStatusPage(name: name, description: description, change: options.change, groups: group)
                try await StatusPageCommand.show(r, admin, json: json)
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an Enrollment Status Page, the Default included; devices enrolling from now on get the change.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name, id or Default.") var page: String
        @Option(help: "New name.") var name: String?
        @Option(help: "New description.") var description: String?
        @OptionGroup var options: StatusPageOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            guard !options.change.isEmpty || name != nil || description != nil else {
                throw ValidationError("Nothing to change: give --show, --block-device-use, --block-on, --blocking, --add-blocking, --remove-blocking, --timeout, --message, --allow-reset, --allow-retry, --allow-use-on-failure, --collect-logs, --only-first-user, --name or --description.")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await admin.editStatusPage(page, name: name, description: description, change: options.change)
                try await StatusPageCommand.show(r, admin, json: json)
            }
        }
    }

    static func changeGroups(_ common: CommonOptions, _ ref: String, _ groups: [String], remove: Bool) async throws {
        guard !groups.isEmpty else { throw ValidationError("Give at least one --group.") }
        try await Runtime.withAdmin(common) { admin, _ in
            let r = try await admin.assignRestriction(.enrollmentStatusPage, ref, groups: groups, remove: remove)
            print(try await describe(r, admin))
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign an Enrollment Status Page to groups.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var page: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        func run() async throws { try await StatusPageCommand.changeGroups(common, page, group, remove: false) }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove groups from an Enrollment Status Page.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var page: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        func run() async throws { try await StatusPageCommand.changeGroups(common, page, group, remove: true) }
    }

    struct Priority: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move an Enrollment Status Page to a priority (1 is evaluated first).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var page: String
        @Argument(help: "New priority.") var priority: Int
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.setPriority(.enrollmentStatusPage, page, priority: priority)
                print(list.map { "\($0.isDefault ? "Default" : String($0.priority)). \($0.isDefault ? "Default" : $0.displayName)" }.joined(separator: "\n"))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an Enrollment Status Page (not the Default).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Name or id.") var page: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await admin.restriction(.enrollmentStatusPage, page)
                try await admin.deleteRestriction(.enrollmentStatusPage, r.id)
                print("Deleted \(r.displayName).")
            }
        }
    }
}
