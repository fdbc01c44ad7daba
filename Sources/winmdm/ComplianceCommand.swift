import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Compliance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Devices > Compliance: policies evaluated from what devices report (Windows version, encryption, firewall, antivirus, TPM), with a grace period.",
        discussion: """
        Devices report the values a policy needs (one Get per node) after a policy changes and then every 8 hours.
        A device's state per policy: compliant, nonCompliant (with the reasons), inGracePeriod, or unknown until it reports.
        """,
        subcommands: [List.self, Create.self, Assign.self, Status.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List compliance policies and their rules.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.compliancePolicies()
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No compliance policies. Create one: winmdm compliance create NAME --os-min 10.0.22631") }
                for p in list { print("\(p.name): \(Compliance.rules(p)); assigned to \(p.assignments.isEmpty ? "nobody" : p.assignments.map { ($0.exclude ? "not " : "") + $0.target }.joined(separator: ", "))") }
            }
        }
    }

    static func rules(_ p: CompliancePolicy) -> String { p.rulesSummary }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a compliance policy.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The policy's name.") var name: String
        @Option(help: "Lowest Windows version, 10.0.BUILD[.REV] (Windows 11 is 10.0.22000 and later).") var osMin: String?
        @Option(help: "Highest Windows version.") var osMax: String?
        @Flag(help: "The OS drive must be encrypted.") var requireEncryption = false
        @Flag(help: "The firewall must be on.") var requireFirewall = false
        @Flag(help: "Antivirus must be on and monitoring.") var requireAntivirus = false
        @Flag(help: "A TPM must be present.") var requireTpm = false
        @Option(help: "Hours a device may stay noncompliant before it counts (0–2160).") var graceHours: Int = 0

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.createCompliancePolicy(CompliancePolicy(
                    name: name, osMinimumVersion: osMin, osMaximumVersion: osMax, storageRequireEncryption: requireEncryption,
                    activeFirewallRequired: requireFirewall, antivirusRequired: requireAntivirus, tpmRequired: requireTpm,
                    graceHours: graceHours, createdAt: Date()))
                print("Created compliance policy \(p.name): \(Compliance.rules(p)). Assign it: winmdm compliance assign '\(p.name)' GROUP")
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a compliance policy to a group, all-users or all-devices (--exclude excludes).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Policy name or id.") var policy: String
        @Argument(help: "A group's name or id, all-users or all-devices.") var target: String
        @Flag(help: "Exclude this group.") var exclude = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.assignCompliancePolicy(policy, to: target, exclude: exclude)
                print("\(p.name) is assigned; devices report their values at their next check-in.")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each device's compliance: overall, and per policy with the reasons.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "One device (enrollment id, name or DeviceID); all active devices when omitted.") var device: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let devices: [Enrollment]
                if let device { devices = [try await admin.enrollment(device)] } else { devices = try await admin.enrollments(upn: nil).filter { $0.state == .active } }
                struct Row: Encodable { var enrollment: String; var device: String; var complianceState: String; var policies: [DeviceCompliance] }
                var rows: [Row] = []
                for e in devices {
                    let c = try await admin.deviceCompliance(e)
                    rows.append(Row(enrollment: e.id, device: e.deviceName ?? e.deviceID, complianceState: DeviceCompliance.overall(c).rawValue, policies: c))
                }
                if json { return try JSONOutput.print(rows) }
                guard !rows.isEmpty else { return print("No enrolled devices.") }
                for r in rows {
                    print("\(r.device)  \(r.policies.isEmpty ? "no policy applies" : r.complianceState)")
                    for p in r.policies {
                        print("  \(p.policyName): \(p.state.rawValue)\(p.graceEndsAt.map { " (grace until \($0.short))" } ?? "")")
                        for reason in p.reasons { print("    \(reason)") }
                    }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a compliance policy.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Policy name or id.") var policy: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in print("Deleted \(try await admin.deleteCompliancePolicy(policy).name).") }
        }
    }
}
