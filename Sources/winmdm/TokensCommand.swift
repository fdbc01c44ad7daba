import ArgumentParser
import Foundation
import MDMCore
import MDMService

extension APIRole: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "API bearer tokens for /graph: admin, helpdesk or reader.",
                                                    subcommands: [Create.self, List.self, Revoke.self, Roles.self])

    struct Roles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which role each command needs when it runs remotely (--server URL --token T), the same split as the Graph API.")
        @Option(help: "Only the commands this role may run.") var role: APIRole?
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let rows = RemoteCommands.table().filter { row in role.map { RemoteCommands.allows($0, row.role) } ?? true }
            if json {
                struct Row: Encodable { var command: String; var role: String; var note: String? }
                return try JSONOutput.print(rows.map { Row(command: $0.command, role: $0.role.rawValue, note: $0.note) })
            }
            print(Table.render(["COMMAND", "ROLE", "NOTE"], rows.map { ["winmdm " + $0.command, $0.role.rawValue, $0.note ?? "-"] }))
            print("\nNot remote (they work on the machine they run on, or need no server): "
                  + RemoteCommands.localOnly.sorted().map { "winmdm \($0)" }.joined(separator: ", ") + ".")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is shown once.")
        @OptionGroup var common: CommonOptions
        @Option(help: "admin (everything), helpdesk (read, troubleshoot, device actions) or reader (read only).") var role: APIRole
        @Option(help: "Who or what uses it.") var name: String
        @Option(help: "Refuse it after this long, like 90d or 52w (default: it does not expire).") var expires: String?
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let lifetime = try expires.map { v -> TimeInterval in
                guard let s = TimeSpan.parse(v) else { throw ValidationError("--expires '\(v)' is not a duration like 90d or 52w.") }
                return s
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let t = try await admin.createToken(name: name, role: role, lifetime: lifetime)
                if json {
                    return try JSONOutput.print(["name": t.token.name, "role": t.token.role.rawValue, "token": t.secret,
                                                 "expiresAt": t.token.expiresAt.map { ISO8601DateFormatter().string(from: $0) } ?? ""])
                }
                print("Created \(t.token.role.rawValue) token \"\(t.token.name)\"\(t.token.expiresAt.map { ", valid until \($0.short)" } ?? " (it does not expire)"). Use it as: Authorization: Bearer \(t.secret)")
                print("It is shown only now.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (names and roles; never the secrets).")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON (never the secrets or their hashes).") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let tokens = try await admin.tokens()
                if json {
                    struct Out: Encodable { var id: String; var name: String; var role: String; var createdAt: Date; var expiresAt: Date?; var lastUsedAt: Date? }
                    return try JSONOutput.print(tokens.map { Out(id: $0.id, name: $0.name, role: $0.role.rawValue, createdAt: $0.createdAt,
                                                                 expiresAt: $0.expiresAt, lastUsedAt: $0.lastUsedAt) })
                }
                let now = Date()
                print(Table.render(["NAME", "ROLE", "CREATED", "LAST USED", "EXPIRES", "ID"], tokens.map {
                    [$0.name, $0.role.rawValue, $0.createdAt.short, $0.lastUsedAt?.short ?? "never",
                     $0.expiresAt.map { ($0 <= now ? "expired " : "") + $0.short } ?? "never", $0.id]
                }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name or id.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Token name or id.") var token: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.revokeToken(token)
                print("Revoked \(token).")
            }
        }
    }
}
