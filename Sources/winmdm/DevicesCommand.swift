import ArgumentParser
import Foundation
import MDMCore

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Devices > Windows devices: list, retire and delete enrollments.",
                                                    subcommands: [List.self, UnassignUser.self, Retire.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrollments (all, or one user's).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only this user's devices (Users > user > Devices).") var user: String?
        @Flag(help: "Include replaced, retired and unenrolled enrollments.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.enrollments(upn: user).filter { all || $0.state == .active }
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No enrolled devices\(user.map { " for \($0)" } ?? "").") }
                print(DeviceTable.render(list))
            }
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
                for d in devices {
                    let e = try await admin.deleteDevice(d)
                    print("Deleted \(e.deviceName ?? e.deviceID) of \(e.upn) (enrollment \(e.id)).")
                }
            }
        }
    }
}

enum DeviceTable {
    static func render(_ list: [Enrollment]) -> String {
        Table.render(["ENROLLMENT", "USER", "DEVICE", "KIND", "OS", "STATE", "CERT EXPIRES", "ENROLLED"], list.map {
            [$0.id, $0.upn, $0.deviceName ?? String($0.deviceID.prefix(12)), $0.kind.rawValue,
             [$0.osVersion, $0.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
             $0.state.rawValue, $0.certificateNotAfter.short, $0.enrolledAt.short]
        })
    }
}
