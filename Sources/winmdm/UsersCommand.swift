import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Users > All users: add, list, show, change and delete directory users.",
        subcommands: [Add.self, List.self, Show.self, Set.self, Delete.self, TOTPCommand.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user who can enroll devices.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "User principal name, e.g. alice@winmdm.test.") var upn: String
        @Option(help: "Initial password (at least 8 characters); - reads it from standard input.") var password: String
        @Option(help: "Display name (default: the part before @).") var displayName: String?
        @Option(help: "License product to assign (SKU part number or id); repeat for several. Users are created unlicensed otherwise.")
        var license: [String] = []
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var pw = password
            if pw == "-" { pw = CommandIO.readLine() ?? "" }
            try await Runtime.withAdmin(common) { admin, _ in
                let r = try await admin.addUser(upn: upn, password: pw, displayName: displayName, licenses: license)
                if json { return try JSONOutput.print(UserView(r.user, settings: try await admin.settings(), warnings: r.warnings)) }
                print("Added \(r.user.upn) (\(r.user.displayName)).")
                for w in r.warnings { print("Warning: \(w)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their licenses and enrolled devices.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let users = try await admin.users(), settings = try await admin.settings()
                var counts: [String: Int] = [:]
                for e in try await admin.enrollments(upn: nil) where e.state == .active { counts[e.upn, default: 0] += 1 }
                if json { return try JSONOutput.print(users.map { UserView($0, settings: settings, devices: counts[$0.upn] ?? 0) }) }
                guard !users.isEmpty else { return print("No users yet. Add one with: winmdm users add alice@<domain> --password …") }
                print(Table.render(["UPN", "DISPLAY NAME", "ENABLED", "LICENSES", "DEVICES"], users.map {
                    [$0.upn, $0.displayName + ($0.isPackageAccount ? " (package account)" : ""), $0.enabled ? "yes" : "no",
                     $0.assignedLicenses.compactMap { settings.product($0)?.skuPartNumber }.joined(separator: ",").nonEmpty ?? "-",
                     String(counts[$0.upn] ?? 0)]
                }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user: groups, licenses, devices, and what applies to them.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN or id.") var user: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let u = try await admin.user(user), s = try await admin.settings()
                let groups = try await admin.groups().filter { $0.members.contains(u.id) }
                let devices = try await admin.enrollments(upn: u.upn)
                let ids = Swift.Set(groups.map(\.id))
                let limit = s.applicableRestriction(.deviceLimit, groupIDs: ids), platform = s.applicableRestriction(.platform, groupIDs: ids)
                if json {
                    struct Detail: Encodable { var user: UserView; var groups: [String]; var devices: [Enrollment]
                        var deviceLimitRestriction: String; var deviceLimit: Int; var platformRestriction: String }
                    return try JSONOutput.print(Detail(user: UserView(u, settings: s, devices: devices.filter { $0.state == .active }.count),
                        groups: groups.map(\.displayName), devices: devices, deviceLimitRestriction: limit.displayName,
                        deviceLimit: limit.limit ?? 5, platformRestriction: platform.displayName))
                }
                print("""
                \(u.upn) — \(u.displayName)\(u.isPackageAccount ? " (bulk enrollment package account)" : "")
                  enabled:            \(u.enabled ? "yes" : "no")
                  groups:             \(groups.map(\.displayName).joined(separator: ", ").nonEmpty ?? "none")
                  licenses:           \(u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", ").nonEmpty ?? "none")
                  device limit:       \(limit.limit ?? 5) (\(limit.isDefault ? "Default" : limit.displayName))
                  device type rules:  \(platform.isDefault ? "Default" : platform.displayName)
                  devices:            \(DeviceCount.text(devices))
                """)
                for w in AdminService.enrollmentWarnings(u, s) where !u.isPackageAccount { print("  warning: \(w)") }
                if !devices.isEmpty { print(DeviceTable.render(devices)) }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's display name, UPN, password or sign-in state.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN or id.") var user: String
        @Option(help: "New display name.") var displayName: String?
        @Option(help: "New UPN (for example to move from contoso.local to a verified domain).") var upn: String?
        @Option(help: "New password; - reads it from standard input.") var password: String?
        @Option(help: "true or false: whether the account may sign in.") var enabled: Bool?
        @Option(help: "Web console role: admin, helpdesk, reader or none.") var adminRole: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard displayName != nil || upn != nil || password != nil || enabled != nil || adminRole != nil else {
                throw ValidationError("Nothing to change: give --display-name, --upn, --password, --enabled or --admin-role.")
            }
            var role: APIRole?? = nil
            if let r = adminRole {
                if r.lowercased() == "none" { role = .some(nil) } else {
                    guard let v = APIRole(rawValue: r.lowercased()) else { throw ValidationError("--admin-role must be admin, helpdesk, reader or none.") }
                    role = .some(v)
                }
            }
            var pw = password
            if pw == "-" { pw = CommandIO.readLine() ?? "" }
            try await Runtime.withAdmin(common) { admin, _ in
                let before = try await admin.user(user)
                var u = try await admin.updateUser(user, displayName: displayName, enabled: enabled, newUPN: upn, password: pw)
                if let role { u = try await admin.setAdminRole(u.id, role) }
                if json { return try JSONOutput.print(UserView(u, settings: try await admin.settings())) }
                // Say what changed, so a command that changed nothing says so.
                var changed: [String] = []
                if before.upn != u.upn { changed.append("user principal name \(before.upn) → \(u.upn)") }
                if before.displayName != u.displayName { changed.append("display name \"\(before.displayName)\" → \"\(u.displayName)\"") }
                if before.enabled != u.enabled { changed.append(u.enabled ? "enabled" : "disabled (console sessions ended)") }
                if pw != nil { changed.append("password replaced (console sessions ended)") }
                if before.adminRole != u.adminRole {
                    changed.append("console role \(before.adminRole?.rawValue ?? "none") → \(u.adminRole?.rawValue ?? "none")")
                }
                print(changed.isEmpty ? "Nothing changed for \(u.upn)." : "Updated \(u.upn): \(changed.joined(separator: "; ")).")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user who has no enrolled devices.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN or id.") var user: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.deleteUser(user)
                print("Deleted \(user).")
            }
        }
    }
}

/// A user as shown to administrators: never the password hash.
struct UserView: Encodable {
    var id: String
    var userPrincipalName: String
    var displayName: String
    var accountEnabled: Bool
    var assignedLicenses: [String]
    var isPackageAccount: Bool
    var createdDateTime: Date
    var enrolledDevices: Int?
    var warnings: [String]?

    init(_ u: User, settings: TenantSettings, devices: Int? = nil, warnings: [String]? = nil) {
        id = u.id
        userPrincipalName = u.upn
        displayName = u.displayName
        accountEnabled = u.enabled
        assignedLicenses = u.assignedLicenses.map { settings.product($0)?.skuPartNumber ?? $0 }
        isPackageAccount = u.isPackageAccount
        createdDateTime = u.createdAt
        enrolledDevices = devices
        self.warnings = warnings
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension Users {
    struct TOTPCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "totp",
            abstract: "A second factor for the console: set up an authenticator app (TOTP) for a user, or remove it.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN or id.") var user: String
        @Argument(help: "enable (prints the secret to enter in the app, once) or disable.") var action: String

        func run() async throws {
            guard ["enable", "disable"].contains(action) else {
                throw ValidationError("'\(action)' is not an action; use enable or disable.")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                if action == "disable" {
                    let u = try await admin.disableTOTP(user)
                    return print("\(u.upn) signs in to the console with the password alone now; their sessions have ended.")
                }
                let (u, secret) = try await admin.enableTOTP(user)
                print("""
                Authenticator app set up for \(u.upn). Enter this in the app (shown once):
                  secret: \(secret)
                  URI:    \(TOTP.uri(secret: secret, account: u.upn))
                From now on the console asks for the 6-digit code after the password; the user's sessions have ended.
                """)
            }
        }
    }
}

/// A user's devices as the device limit sees them: active ones, and how many of those count toward the limit (a device
/// with its user unassigned, or a joined one, stays active without counting).
enum DeviceCount {
    static func text(_ devices: [Enrollment]) -> String {
        let active = devices.filter { $0.state == .active }
        let counting = active.filter(\.countsTowardDeviceLimit).count
        return "\(active.count) active" + (counting == active.count ? "" : ", \(counting) counting toward the device limit")
    }
}
