import ArgumentParser
import Foundation
import MDMCore
import MDMService

// winmdm autopilot import / devices / set / remove / lint / export-json, and winmdm identifiers.
extension Autopilot {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register devices from the CSV Get-WindowsAutopilotInfo writes (at most 500 a file); prints Intune's result for each row.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            guard let data = CommandIO.contents(ofFile: file) else { throw ValidationError("Cannot read \(file).") }
            try await Runtime.withAdmin(common) { admin, _ in
                let rows = try await admin.importAutopilotDevices(csv: Array(data))
                if json { return try JSONOutput.print(rows) }
                print(Table.render(["LINE", "SERIAL", "RESULT", "ERROR", "DETAILS"], rows.map { r in
                    [String(r.line), r.serialNumber, r.status.rawValue,
                     r.errorName.map { n in r.errorCode == 0 ? n : "\(r.errorCode) - \(n)" } ?? "-", r.message ?? ""]
                }))
                let ok = rows.filter { $0.status == .complete }.count
                print("\(ok) of \(rows.count) device\(rows.count == 1 ? "" : "s") imported.")
                if ok < rows.count { throw ExitCode(1) }
            }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List Autopilot devices with their group tag, user and the profile each gets.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ds = try await admin.autopilotDevices()
                if json { return try JSONOutput.print(ds) }
                guard !ds.isEmpty else { return print("No Autopilot devices. `winmdm autopilot import FILE` registers them.") }
                var rows: [[String]] = []
                for d in ds {
                    let r = try await admin.autopilotResolution(d)
                    rows.append([d.serialNumber, d.groupTag.nonEmpty ?? "-", d.assignedUser ?? "-",
                                 (r.winner?.displayName ?? "none") + (r.isConflict ? " (conflict: \(r.targeting.count) profiles)" : ""),
                                 d.enrollmentState.rawValue])
                }
                print(Table.render(["SERIAL", "GROUP TAG", "ASSIGNED USER", "PROFILE", "STATE"], rows))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a device's group tag or assigned user (a user on a hybrid join profile is refused: 0x80070774).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Serial number or id.") var device: String
        @Option(name: .customLong("group-tag"), help: "The group tag (empty to clear).") var groupTag: String?
        @Option(help: "The assigned user's UPN.") var user: String?
        @Flag(name: .customLong("no-user"), help: "Remove the assigned user.") var noUser = false
        @Flag(help: "Assign the user even though the device's profile is hybrid join.") var override = false
        func run() async throws {
            guard groupTag != nil || user != nil || noUser else { throw ValidationError("Give --group-tag, --user or --no-user.") }
            try await Runtime.withAdmin(common) { admin, _ in
                let d = try await admin.updateAutopilotDevice(device, groupTag: groupTag, assignedUser: noUser ? .some(nil) : user.map { .some($0) },
                                                              override: override)
                print("\(d.serialNumber): group tag \(d.groupTag.nonEmpty ?? "none"), assigned user \(d.assignedUser ?? "none").")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deregister an Autopilot device (or release it to another organization).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Serial number or id.") var device: String
        @Option(name: .customLong("released-to"), help: "The organization that now owns it; importing it again then fails with 808.")
        var releasedTo: String?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.deleteAutopilotDevice(device, releasedTo: releasedTo)
                print(releasedTo.map { "Released \(device) to \($0)." } ?? "Deregistered \(device).")
            }
        }
    }

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find devices two profiles target (0x801C03EA) and users assigned on hybrid profiles (0x80070774); exits 1 when it finds any.")
        @OptionGroup var common: CommonOptions
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let findings = try await admin.autopilotLint()
                guard !findings.isEmpty else { return print("No Autopilot profile problems.") }
                for f in findings {
                    print("\(f.device.serialNumber) [\(f.code)] \(f.message)")
                    print("  Fix: \(f.fix)")
                }
                throw ExitCode(1)
            }
        }
    }

    struct ExportJSON: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export-json",
            abstract: "Write the AutopilotConfigurationFile.json of a profile, for Autopilot for existing devices.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Option(help: "Where to write it (default: standard output).") var output: String?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let bytes = try await admin.autopilotConfigurationFile(profile)
                if let output {
                    do { try CommandIO.write(Data(bytes), to: output) } catch { throw ValidationError("Cannot write \(output): \(error)") }
                    print("Wrote \(output). Copy it as \(AutopilotConfigurationFile.fileName) to %WINDIR%\\Provisioning\\Autopilot\\ before sysprep.")
                } else {
                    CommandIO.writeOutput(Data(bytes))
                }
            }
        }
    }
}

struct Identifiers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Corporate device identifiers (manufacturer,model,serial): once any exist, only matching devices enroll as corporate.",
        subcommands: [Import.self, List.self, Delete.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import manufacturer,model,serial lines (no header, at most 5,000).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Replace every identifier with the file's.") var replace = false
        func run() async throws {
            guard let data = CommandIO.contents(ofFile: file) else { throw ValidationError("Cannot read \(file).") }
            try await Runtime.withAdmin(common) { admin, _ in
                let (added, replaced) = try await admin.importDeviceIdentifiers(csv: Array(data), replacingAll: replace)
                print("Imported \(added) new identifier\(added == 1 ? "" : "s")\(replaced > 0 ? ", \(replaced) already known" : "").")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List corporate identifiers and the device that matched each.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ids = try await admin.deviceIdentifiers()
                if json { return try JSONOutput.print(ids) }
                guard !ids.isEmpty else { return print("No corporate identifiers.") }
                print(Table.render(["IDENTIFIER", "STATUS"], ids.map { [$0.identifier, $0.enrollmentID == nil ? "Not contacted" : "Enrolled"] }))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one identifier.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "manufacturer,model,serial") var identifier: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.deleteDeviceIdentifier(identifier)
                print("Deleted \(identifier).")
            }
        }
    }
}

extension Devices {
    struct Ownership: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or set whether a device is corporate or personal, and why.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Enrollment id, device name or DeviceID.") var device: String
        @Argument(help: "corporate or personal (omit to show).") var ownership: DeviceOwnership?
        @Option(help: "Why (kept with the change).") var reason: String?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let e = ownership == nil ? try await admin.enrollment(device) : try await admin.setOwnership(device, ownership!, reason: reason)
                print("\(e.deviceName ?? e.deviceID): \(e.ownership.rawValue). \(e.ownershipRecord?.reason ?? (e.kind.isPersonal ? "A user enrollment." : "A device enrollment."))")
            }
        }
    }
}

extension DeviceOwnership: ExpressibleByArgument {}
