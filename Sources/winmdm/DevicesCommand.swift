import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Devices > Windows devices: list, retire and delete enrollments.",
                                                    subcommands: [List.self, Show.self, Command.self, Commands.self, LocalAdmin.self, Ownership.self, UnassignUser.self, Retire.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrollments (all, or one user's).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only this user's devices (Users > user > Devices).") var user: String?
        @Flag(help: "Include replaced, retired and unenrolled enrollments.") var all = false
        @Option(help: "Only devices whose certificate expires within this time (30d, 12h …).") var expiring: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let horizon = try expiring.map { v -> Date in
                guard let s = TimeSpan.parse(v) else { throw ValidationError("--expiring '\(v)' is not a duration like 30d or 12h.") }
                return Date() + s
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.enrollments(upn: user).filter { (all || $0.state == .active) && (horizon == nil || $0.certificateNotAfter <= horizon!) }
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else {
                    if let expiring { return print("No device certificate expires within \(expiring)\(user.map { " for \($0)" } ?? "") (devices renew their own before that).") }
                    return print("No enrolled devices\(user.map { " for \($0)" } ?? "").")
                }
                print(DeviceTable.render(list))
            }
        }
    }

    struct LocalAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "local-admin",
            abstract: "Show the managed local administrator's name and password of a device (audited).",
            discussion: "Only for devices that received a profile made from the local-admin template. Every look is written to the audit log.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                let p = try await admin.revealLocalAdminPassword(device, secrets: try rt.secretBox())
                if json { return try JSONOutput.print(p) }
                print("Device    \(p.deviceName ?? p.enrollmentID)\nAccount   .\\\(p.account)\nPassword  \(p.password)\nSet       \(p.setAt.short) (the Accounts CSP cannot change it later)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One device: identity, certificate and renewal, last check-in, inventory, recent commands.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let e = try await admin.enrollment(device)
                let commands = try await admin.deviceCommands(e.id, limit: 10)
                if json {
                    struct Shown: Encodable { var enrollment: Enrollment; var commands: [DeviceCommand] }
                    return try JSONOutput.print(Shown(enrollment: e, commands: commands))
                }
                let days = Int(e.certificateNotAfter.timeIntervalSinceNow / 86400)
                var rows: [(String, String)] = [
                    ("Enrollment", e.id), ("Device name", e.deviceName ?? "-"), ("DeviceID", e.deviceID), ("HWDevID", e.hwDevID),
                    ("Enrolled by", e.upn), ("Primary user", e.primaryUser ?? "none"), ("Kind", e.kind.rawValue),
                    ("Windows", [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " ")),
                    ("State", e.state.rawValue), ("Enrolled", e.enrolledAt.short), ("Last check-in", e.lastSeenAt?.short ?? "never"),
                    ("Next check-in", e.state == .active ? "by \(try await admin.settings().checkInSchedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: Date()).short) (schedule: winmdm settings check-in-schedule)" : "-"),
                    ("Logged-on user", e.loginStatus ?? "-"),
                    ("Certificate", "\(e.certificateThumbprint) (serial \(e.certificateSerial))"),
                    ("Expires", "\(e.certificateNotAfter.short) (\(days >= 0 ? "in \(days) days" : "expired"))"),
                ]
                if let at = e.certificateRenewedAt { rows.append(("Renewed", "\(at.short), \(e.renewalCount ?? 1) time(s)")) }
                if let page = e.statusPage {
                    rows.append(("Status page", "\(page.configurationName): \(page.summary)\(page.attemptID.map { " — winmdm attempts show \($0)" } ?? "")"))
                }
                if let old = e.previousCertificateThumbprint {
                    rows.append(("Previous cert", "\(old): still accepted until the device checks in with the new one"))
                }
                for (k, v) in rows { print(k.padding(toLength: 16, withPad: " ", startingAt: 0) + v) }
                if let inventory = e.inventory, !inventory.isEmpty {
                    print("\nInventory:")
                    for (k, v) in inventory.sorted(by: { $0.key < $1.key }) { print("  \(k) = \(v)") }
                }
                let profiles = try await admin.deviceProfileStates(enrollmentID: e.id)
                if !profiles.isEmpty {
                    print("\nConfiguration profiles:")
                    for p in profiles {
                        print("  \(p.profileName): \(p.state.rawValue) (version \(p.version))")
                        for st in p.settings where st.state != .succeeded { print("    " + Profiles.describe(st)) }
                    }
                }
                if !commands.isEmpty {
                    print("\nRecent commands:")
                    print(Table.render(["CREATED", "KIND", "COMMAND", "STATE", "STATUS"], commands.map {
                        [$0.createdAt.short, $0.kind, Commands.describe($0), $0.state.rawValue,
                         Commands.statuses($0)]
                    }))
                }
            }
        }
    }

    struct Command: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a command for a device's next check-in: inventory, reboot, rename NAME, poll-interval MINUTES, unenroll, raw, atomic or sequence.",
            discussion: """
            raw takes --verb Get|Replace|Add|Delete|Exec --target ./Node/Path [--format chr|int|bool|b64|xml] [--data VALUE].
            atomic and sequence take one --step per command, each "VERB ./Node/Path [FORMAT [DATA]]" or a built-in
            ("reboot", "rename NAME", "poll-interval MINUTES", "inventory"). The device applies an atomic all together or
            not at all; a sequence runs in order.
            """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String
        @Argument(help: "inventory, reboot, rename, poll-interval, unenroll or raw.") var command: String
        @Argument(help: "The new name (rename) or minutes (poll-interval).") var value: String?
        @Option(help: "raw: the command.") var verb: String?
        @Option(help: "raw: the node path.") var target: String?
        @Option(help: "raw: the data format.") var format: String?
        @Option(help: "raw: the value.") var data: String?
        @Option(help: "atomic, sequence: one command, \"VERB ./Node/Path [FORMAT [DATA]]\" or a built-in; repeat.") var step: [String] = []
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let c: BuiltInCommand
            switch command.lowercased() {
            case "inventory": c = .inventory
            case "reboot": c = .reboot
            case "unenroll": c = .unenroll
            case "rename":
                guard let value else { throw ValidationError("rename needs the new computer name.") }
                c = .rename(value)
            case "poll-interval":
                guard let m = value.flatMap(Int.init) else { throw ValidationError("poll-interval needs a number of minutes.") }
                c = .pollInterval(m)
            case "raw":
                guard let verb, let target else { throw ValidationError("raw needs --verb and --target.") }
                c = .raw(verb: verb, target: target, format: format, data: data)
            case "atomic", "sequence":
                guard !step.isEmpty else { throw ValidationError("\(command) needs at least one --step \"VERB ./Node/Path [FORMAT [DATA]]\".") }
                let steps = try step.map(Self.parseStep)
                c = command.lowercased() == "atomic" ? .atomic(steps) : .sequence(steps)
            default:
                throw ValidationError("'\(command)' is not a command; use inventory, reboot, rename, poll-interval, unenroll, raw, atomic or sequence.")
            }
            try await Runtime.withAdmin(common) { admin, rt in
                let q = try await admin.queueCommand(device, c, providerID: rt.config.providerID)
                if json { return try JSONOutput.print(q) }
                var what = q.steps.map { "\($0.count) command(s)" } ?? q.items.map(\.target).joined(separator: ", ")
                if case .inventory = c { what = "one Get per node, from \(what)" }
                let e = try await admin.enrollment(q.enrollmentID)
                let next = try await admin.settings().checkInSchedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: Date())
                print("Queued \(q.kind) (\(q.verb) \(what)) as \(q.id); it goes out at the device's next check-in, expected by \(next.short) "
                      + (q.note.map { "(\($0))" } ?? "(no push: a restart or a sign-in brings it sooner; Settings > Accounts > Access work or school > Info > Sync at once)."))
            }
        }

        /// `VERB ./Node/Path [FORMAT [DATA …]]`, or a built-in command with its value.
        static func parseStep(_ text: String) throws -> BuiltInCommand {
            let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let first = words.first else { throw ValidationError("An empty --step; give \"VERB ./Node/Path [FORMAT [DATA]]\".") }
            switch first.lowercased() {
            case "inventory": return .inventory
            case "reboot": return .reboot
            case "rename":
                guard words.count == 2 else { throw ValidationError("--step '\(text)': rename takes one computer name.") }
                return .rename(words[1])
            case "poll-interval":
                guard words.count == 2, let m = Int(words[1]) else { throw ValidationError("--step '\(text)': poll-interval takes minutes.") }
                return .pollInterval(m)
            default:
                guard words.count >= 2 else {
                    throw ValidationError("--step '\(text)' is not \"VERB ./Node/Path [FORMAT [DATA]]\" (for example \"Replace ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera int 0\").")
                }
                let data = words.count > 3 ? words[3...].joined(separator: " ") : nil
                return .raw(verb: first, target: words[1], format: words.count > 2 ? words[2] : nil, data: data)
            }
        }
    }

    struct Commands: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A device's commands: queued, sent, and what the device answered.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.deviceCommands(device)
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No commands for \(device).") }
                print(Table.render(["CREATED", "KIND", "COMMAND", "STATE", "STATUS", "RESULT"], list.map {
                    [$0.createdAt.short, $0.kind, Self.describe($0), $0.state.rawValue,
                     Commands.statuses($0), $0.results.map { "\($0.target.split(separator: "/").last ?? "")=\($0.data ?? "")" }.joined(separator: " ")]
                }))
            }
        }

        /// The device's answer, then one per step of an Atomic or Sequence.
        static func statuses(_ c: DeviceCommand) -> String {
            ([c.status ?? "-"] + (c.steps ?? []).map { $0.status ?? "-" }).joined(separator: " ")
        }

        static func describe(_ c: DeviceCommand) -> String {
            if let steps = c.steps { return "\(c.verb): " + steps.map { "\($0.verb) \($0.items.first?.target ?? "")" }.joined(separator: "; ") }
            return "\(c.verb) \(c.items.first?.target ?? "")\(c.items.count > 1 ? " (+\(c.items.count - 1))" : "")"
        }
    }

    struct UnassignUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unassign-user",
            abstract: "Remove a device's primary user; it stays enrolled and stops counting toward that user's device limit.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let e = try await admin.unassignUser(device)
                print("\(e.deviceName ?? e.deviceID) has no primary user now (enrolled by \(e.upn)).")
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire an enrollment: it stops counting toward limits; the record stays.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let e = try await admin.retireDevice(device)
                print("Retired \(e.deviceName ?? e.deviceID) of \(e.upn) (enrollment \(e.id)).")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an enrollment (Users > user > Devices > Delete).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID; repeat for several.") var devices: [String]

        func run() async throws {
            guard !devices.isEmpty else { throw ValidationError("Name at least one device (winmdm devices list --user UPN shows them).") }
            try await Runtime.withAdmin(common) { admin, _ in
                // All or nothing: every name must resolve before anything is deleted.
                var found: [Enrollment] = [], problems: [String] = []
                for d in devices {
                    do { found.append(try await admin.enrollment(d)) } catch let e as AdminError { problems.append(e.message) }
                }
                guard problems.isEmpty else {
                    throw AdminError("Nothing was deleted. " + problems.joined(separator: " "), code: problems.count == devices.count ? .notFound : .refused)
                }
                for e in found {
                    _ = try await admin.deleteDevice(e.id)
                    print("Deleted \(e.deviceName ?? e.deviceID) of \(e.upn) (enrollment \(e.id)).")
                }
            }
        }
    }
}

enum DeviceTable {
    static func render(_ list: [Enrollment]) -> String {
        Table.render(["ENROLLMENT", "USER", "DEVICE", "KIND", "OS", "STATE", "CERT EXPIRES", "ENROLLED"], list.map {
            // A device with no primary user (unassigned, or a provisioning package's) is not shown as anyone's.
            [$0.id, $0.primaryUser ?? "none (enrolled by \($0.upn))", $0.deviceName ?? String($0.deviceID.prefix(12)), $0.kind.rawValue,
             [$0.osVersion, $0.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
             $0.state.rawValue, $0.certificateNotAfter.short, $0.enrolledAt.short]
        })
    }
}
