import ArgumentParser
import Foundation
import MDMCore

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show enrolled devices.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrollments (all, or one user's).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only this user's devices.") var user: String?
        @Flag(help: "Include unenrolled and retired enrollments.") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
            defer { Task { await runtime.close() } }
            let list = try await runtime.admin.enrollments(upn: user).filter { all || $0.state == .active }
            if json { return try JSONOutput.print(list) }
            guard !list.isEmpty else { return print("No enrolled devices\(user.map { " for \($0)" } ?? "").") }
            print(Table.render(["ENROLLMENT", "USER", "DEVICE", "TYPE", "OS", "STATE", "CERT EXPIRES", "ENROLLED"], list.map {
                [$0.id, $0.upn, $0.deviceName ?? String($0.deviceID.prefix(12)), $0.enrollmentType == .full ? "user" : "device",
                 $0.osVersion ?? "-", $0.state.rawValue, $0.certificateNotAfter.short, $0.enrolledAt.short]
            }))
        }
    }
}
