import ArgumentParser
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorage

struct Bulk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bulk enrollment packages for provisioning packages (Windows Configuration Designer).",
                                                    subcommands: [Create.self, List.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a package account and secret, print what to enter in Windows Configuration Designer, and write its customizations XML.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Package name, e.g. \"Kiosks 2026\".") var name: String
        @Option(help: "Where to write the customizations XML (default ./<name>-customizations.xml; mode 0600: it holds the secret).")
        var out: String?
        @Flag(help: "Print JSON.") var json = false

        /// Where the customizations XML goes.
        var outputPath: String {
            out ?? "./\(String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }))-customizations.xml"
        }

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                let made = try await admin.createBulkPackage(name: name)
                let settings = try await admin.settings()
                let base = rt.config.publicURL
                let discovery = base + "/EnrollmentServer/Discovery.svc", policy = base + "/EnrollmentServer/Policy.svc"
                let enrollment = base + "/EnrollmentServer/Enrollment.svc"
                let xml = AdminService.customizationsXML(package: made.package, secret: made.secret, discoveryURL: discovery,
                                                         policyURL: policy, enrollmentURL: enrollment, authPolicy: .onPremise)
                let path = outputPath
                try CommandIO.write(Data(xml.utf8), to: path, mode: 0o600)
                if json {
                    return try JSONOutput.print(["id": made.package.id, "name": made.package.displayName, "upn": made.package.accountUPN,
                        "secret": made.secret, "authPolicy": "OnPremise", "discoveryServiceFullURL": discovery,
                        "policyServiceFullURL": policy, "enrollmentServiceFullURL": enrollment, "customizationsFile": path])
                }
                print("""
                Created bulk enrollment package "\(made.package.displayName)".
                In Windows Configuration Designer (Advanced provisioning › Runtime settings › Workplace › Enrollments), enter:
                  UPN:                       \(made.package.accountUPN)
                  AuthPolicy:                OnPremise
                  DiscoveryServiceFullURL:   \(discovery)
                  PolicyServiceFullURL:      \(policy)
                  EnrollmentServiceFullURL:  \(enrollment)
                  Secret:                    \(made.secret)
                The same settings are in \(path) (File › Import into a new project). The secret is shown only now.
                """)
                if settings.joinPolicy.kind != .all {
                    print("Note: Users may join devices is \(settings.joinPolicy.kind.rawValue.capitalized); add the package account with: winmdm device-settings add-members --user \(made.package.accountUPN)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List bulk enrollment packages.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ps = try await admin.bulkPackages()
                if json { return try JSONOutput.print(ps) }
                guard !ps.isEmpty else { return print("No bulk enrollment packages. Create one with: winmdm bulk create NAME") }
                print(Table.render(["NAME", "ACCOUNT", "CREATED"], ps.map { [$0.displayName, $0.accountUPN, $0.createdAt.short] }))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a package; its account can no longer enroll devices.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Package name or id.") var package: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                switch try await admin.deleteBulkPackage(package) {
                case .deleted(let upn)?: print("Deleted \(package) and its account \(upn) (no device had enrolled with it).")
                case .disabled(let upn, let n)?:
                    print("Deleted \(package). Its account \(upn) stays, disabled, for the \(n) device\(n == 1 ? "" : "s") it enrolled (they stay enrolled); retire them and then winmdm users delete \(upn).")
                case nil: print("Deleted \(package).")
                }
            }
        }
    }
}

struct Autopilot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Windows Autopilot deployment profiles and device name templates.",
        subcommands: [Create.self, List.self, Assign.self, Unassign.self, Delete.self, Preview.self,
                      Import.self, Devices.self, Set.self, Remove.self, Lint.self, ExportJSON.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a deployment profile; the name template is checked against every rule.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Profile name.") var name: String
        @Option(help: "entra or hybrid.") var join: AutopilotJoinType = .entra
        @Option(help: "Device name template, e.g. CONTOSO-%SERIAL% or KIOSK-%RAND:4% (Entra join only).") var template: String?
        @Option(help: "Assign to this group; repeat for several.") var group: [String] = []
        @Flag(name: .customLong("self-deploying"), help: "Self-deploying (shared) instead of user-driven; Entra join only.") var selfDeploying = false
        @Flag(name: .customLong("standard-user"), help: "The user is a standard user, not a local administrator.") var standardUser = false
        @Flag(name: .customLong("show-privacy"), help: "Show the privacy settings page.") var showPrivacy = false
        @Flag(name: .customLong("show-eula"), help: "Show the license terms.") var showEULA = false
        @Flag(name: .customLong("skip-keyboard"), help: "Skip the keyboard page (needs Ethernet).") var skipKeyboard = false
        @Flag(name: .customLong("allow-preprovisioning"), help: "Allow pre-provisioned deployment (Windows key five times).") var preprovisioning = false
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let oobe = AutopilotOOBE(userType: standardUser ? .standard : .administrator, deviceUsageType: selfDeploying ? .shared : .singleUser,
                                         privacySettingsHidden: !showPrivacy, eulaHidden: !showEULA, keyboardSelectionPageSkipped: skipKeyboard)
                let p = try await admin.createAutopilotProfile(name: name, joinType: join, template: template, groups: group,
                                                               oobe: oobe, preprovisioningAllowed: preprovisioning)
                if json { return try JSONOutput.print(p) }
                print("Created Autopilot profile \(p.displayName) (\(p.joinType.rawValue) join\(p.deviceNameTemplate.map { ", names \($0)" } ?? "")).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deployment profiles, oldest first (the oldest wins when two target a device).")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ps = try await admin.autopilotProfiles().sorted { $0.createdAt < $1.createdAt }
                if json { return try JSONOutput.print(ps) }
                guard !ps.isEmpty else { return print("No Autopilot profiles.") }
                var rows: [[String]] = []
                for p in ps {
                    rows.append([p.displayName, p.joinType.rawValue, p.deviceNameTemplate ?? "-",
                                 try await admin.groupNames(p.assignedGroups).joined(separator: ",").nonEmpty ?? "-", p.createdAt.short])
                }
                print(Table.render(["NAME", "JOIN", "NAME TEMPLATE", "GROUPS", "CREATED"], rows))
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a profile to groups.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        func run() async throws { try await Autopilot.changeGroups(common, profile, group, remove: false) }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove groups from a profile.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        @Option(help: "Group; repeat for several.") var group: [String] = []
        func run() async throws { try await Autopilot.changeGroups(common, profile, group, remove: true) }
    }

    /// Assign and Unassign: the same change with the groups added or removed.
    static func changeGroups(_ common: CommonOptions, _ profile: String, _ groups: [String], remove: Bool) async throws {
        guard !groups.isEmpty else { throw ValidationError("Give at least one --group.") }
        try await Runtime.withAdmin(common) { admin, _ in
            let p = try await admin.assignAutopilotProfile(profile, groups: groups, remove: remove)
            print("\(p.displayName) is assigned to \(try await admin.groupNames(p.assignedGroups).joined(separator: ", ").nonEmpty ?? "no groups").")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a profile.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Profile name or id.") var profile: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.deleteAutopilotProfile(profile)
                print("Deleted \(profile).")
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a device name template and show the name a device would get.")
        @Argument(help: "Template, e.g. CONTOSO-%SERIAL%.") var template: String
        @Option(help: "Sample serial number.") var serial: String = "PF3X9K2L7Q8R"
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let parsed: Result<DeviceNameTemplate, TemplateProblems>
            do throws(TemplateProblems) { parsed = .success(try DeviceNameTemplate(template)) } catch { parsed = .failure(error) }
            switch parsed {
            case .success(let t):
                let name = t.expand(serial: serial)
                if json { return try JSONOutput.print(["template": AnyEncodable(template), "valid": AnyEncodable(true), "preview": AnyEncodable(name)]) }
                print("\(template) is valid. A device with serial \(serial) would be named \(name).")
            case .failure(let error):
                if json {
                    try JSONOutput.print(["template": AnyEncodable(template), "valid": AnyEncodable(false), "problems": AnyEncodable(error.problems)])
                    throw ExitCode(1)
                }
                throw ValidationError("\(template) is not a valid device name template:\n" + error.problems.map { "  - " + $0 }.joined(separator: "\n"))
            }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The audit log: every administrative change, who made it, before and after.",
                                                    subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List changes, newest first, each with the fields it changed.",
            discussion: """
            Filters combine: --actor and --target match any part (any case), --action the start of the action, --since a
            time span back from now. --verbose prints the whole before and after objects instead of the changed fields.
              winmdm audit list --actor console:ann@example.com --since 7d
              winmdm audit list --target Kiosks --action restriction.
            """)
        @OptionGroup var common: CommonOptions
        @Option(help: "How many (default 50).") var limit: Int = 50
        @Option(help: "Who made the change: part of console:UPN, api:TOKEN or cli:USER@HOST.") var actor: String?
        @Option(help: "What was changed: part of its name (a UPN, a restriction, an enrollment id).") var target: String?
        @Option(help: "The action or its start (user., restriction.edit …).") var action: String?
        @Option(help: "Only changes within this time back, like 24h or 7d.") var since: String?
        @Flag(help: "Include the whole before and after states.") var verbose = false
        @Flag(help: "Print JSON (before and after as objects, and the changed fields).") var json = false
        func run() async throws {
            guard limit > 0 else { throw ValidationError("--limit must be a positive number.") }
            let from = try since.map { v -> Date in
                guard let s = TimeSpan.parse(v) else { throw ValidationError("--since '\(v)' is not a duration like 90m, 24h or 7d.") }
                return Date() - s
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let entries = try await admin.auditEntries(AuditQuery(limit: limit, actor: actor, target: target, action: action, since: from))
                if json { return try JSONOutput.print(entries.map(AuditJSON.init)) }
                guard !entries.isEmpty else {
                    return print(actor == nil && target == nil && action == nil && since == nil ? "No changes recorded." : "No changes match.")
                }
                for e in entries {
                    print("\(e.time.short)  \(e.actor)  \(e.action)  \(e.target)")
                    if verbose {
                        if let b = e.before { print("  before: \(b)") }
                        if let a = e.after { print("  after:  \(a)") }
                        continue
                    }
                    let changes = e.changes
                    for c in changes.prefix(12) { print("  \(c.field): \(c.before ?? "(none)") → \(c.after ?? "(none)")") }
                    if changes.count > 12 { print("  … \(changes.count - 12) more fields (--verbose shows the whole objects)") }
                }
            }
        }
    }

    /// An entry for scripts: before and after as JSON values, not strings to parse again, and the changed fields.
    struct AuditJSON: Encodable {
        var id: String, time: Date, actor: String, action: String, target: String
        var before: JSONValue?, after: JSONValue?
        var changes: [AuditFieldChange]
        init(_ e: AuditEntry) {
            (id, time, actor, action, target) = (e.id, e.time, e.actor, e.action, e.target)
            before = e.before.flatMap(JSONValue.parse)
            after = e.after.flatMap(JSONValue.parse)
            changes = e.changes
        }
    }
}

/// Any JSON value, re-encoded as itself (for printing stored JSON inside JSON output).
indirect enum JSONValue: Codable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    static func parse(_ text: String) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): if n == n.rounded(), abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
