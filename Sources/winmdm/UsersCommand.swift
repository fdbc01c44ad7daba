import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage directory users (safe while the server runs).",
        subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user who can enroll devices.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "User principal name, e.g. alice@winmdm.test.") var upn: String
        @Option(help: "Initial password (at least 8 characters). Use --password - to read it from standard input.")
        var password: String
        @Option(help: "Display name (default: the part before @).") var displayName: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
            defer { Task { await runtime.close() } }
            var pw = password
            if pw == "-" { pw = readLine(strippingNewline: true) ?? "" }
            do {
                let result = try await runtime.admin.addUser(upn: upn, password: pw, displayName: displayName)
                if json {
                    try JSONOutput.print(UserView(result.user, warning: result.warning))
                } else {
                    print("Added \(result.user.upn) (\(result.user.displayName)).")
                    if let w = result.warning { print("Warning: \(w)") }
                }
            } catch let e as AdminError {
                throw ValidationError(e.message)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and their enrolled devices.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
            defer { Task { await runtime.close() } }
            let users = try await runtime.admin.users()
            var counts: [String: Int] = [:]
            for e in try await runtime.admin.enrollments(upn: nil) where e.state == .active { counts[e.upn, default: 0] += 1 }
            if json { return try JSONOutput.print(users.map { UserView($0, devices: counts[$0.upn] ?? 0) }) }
            guard !users.isEmpty else { return print("No users yet. Add one with: winmdm users add alice@<domain> --password …") }
            print(Table.render(["UPN", "DISPLAY NAME", "ENABLED", "DEVICES", "CREATED"], users.map {
                [$0.upn, $0.displayName, $0.enabled ? "yes" : "no", String(counts[$0.upn] ?? 0), $0.createdAt.short]
            }))
        }
    }
}

/// A user as shown to administrators: never the password hash.
struct UserView: Encodable {
    var id: String
    var userPrincipalName: String
    var displayName: String
    var accountEnabled: Bool
    var createdDateTime: Date
    var enrolledDevices: Int?
    var warning: String?

    init(_ u: User, devices: Int? = nil, warning: String? = nil) {
        id = u.id
        userPrincipalName = u.upn
        displayName = u.displayName
        accountEnabled = u.enabled
        createdDateTime = u.createdAt
        enrolledDevices = devices
        self.warning = warning
    }
}
