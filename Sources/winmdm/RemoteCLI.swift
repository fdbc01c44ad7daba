import ArgumentParser
import Foundation
import MDMCore
import MDMEmulator
import MDMService

// The CLI against a remote installation: `winmdm users list --server https://mdm.example.com --token T`.
//
// The command is parsed here first (a wrong flag never leaves the machine), then its arguments go to the server's
// `POST /api/cli`, which parses them again with the same definitions and runs the same code on its own installation,
// acting as the token (the audit log names it). Output, errors and the exit code come back unchanged, so a command
// prints the same remotely as it does on the server's machine. Files a command reads are uploaded with it; files it
// writes come back and are written here, and only where the command line said.

/// What travels to `POST /api/cli`.
struct RemoteCommandRequest: Codable {
    /// The release of the client, so a server can say when a refusal may come from a version difference.
    var version: String
    /// The command line after `winmdm`, without the remote options.
    var arguments: [String]
    /// Files the command reads, by the path given on the command line.
    var files: [String: Data] = [:]
    /// Standard input, for commands given `-`.
    var standardInput: Data?
}

/// What comes back: the command's output and exit code, and the files it wrote.
struct RemoteCommandResponse: Codable {
    var standardOutput: Data
    var standardError: Data
    var exitCode: Int32
    var files: [String: RemoteFile] = [:]
}

/// The files and input a command uses, so the client can send them along and knows what it may write back.
protocol RemoteFileUse {
    var inputFiles: [String] { get }
    var outputFiles: [String] { get }
    var readsStandardInput: Bool { get }
}

extension RemoteFileUse {
    var inputFiles: [String] { [] }
    var outputFiles: [String] { [] }
    var readsStandardInput: Bool { false }
}

extension Autopilot.Import: RemoteFileUse { var inputFiles: [String] { [file] } }
extension Identifiers.Import: RemoteFileUse { var inputFiles: [String] { [file] } }
extension Autopilot.ExportJSON: RemoteFileUse { var outputFiles: [String] { output.map { [$0] } ?? [] } }
extension Bulk.Create: RemoteFileUse { var outputFiles: [String] { [outputPath] } }
extension Profiles.SetBlock: RemoteFileUse {
    var inputFiles: [String] { file.flatMap { $0 == "-" ? nil : [$0] } ?? [] }
    var readsStandardInput: Bool { file == "-" }
}
extension Settings.PushCommand: RemoteFileUse {
    var inputFiles: [String] { secretFile.flatMap { $0 == "-" ? nil : [$0] } ?? [] }
    var readsStandardInput: Bool { secretFile == "-" }
}
extension Users.Add: RemoteFileUse { var readsStandardInput: Bool { password == "-" } }
extension Users.Set: RemoteFileUse { var readsStandardInput: Bool { password == "-" } }

/// Which commands may run remotely, and the least API role each needs (the same split as the Graph API: readers read,
/// helpdesk also troubleshoots and retires, deletes, syncs or restarts devices, admins change everything).
enum RemoteCommands {
    /// Commands about the machine they run on (its files, its ports), or that need no server at all.
    static let localOnly: Set<String> = ["serve", "init", "status", "backup", "migrate-database", "bench", "emulate", "explain", "tokens roles"]
    /// Leaf commands that only read.
    static let readingLeaves: Set<String> = ["list", "show", "status", "conflicts", "templates", "preview", "lint", "export-json", "commands"]
    static let readingCommands: Set<String> = ["doctor", "report failures", "audit list", "attempts list", "attempts show", "autopilot devices"]
    static let helpdeskCommands: Set<String> = ["devices retire", "devices delete", "lockouts clear"]
    /// Never for readers, whatever their name says: tokens and managed local administrator passwords.
    static let adminOnly: Set<String> = ["tokens list", "devices local-admin"]

    /// The least role for a command whatever its flags; nil for commands that do not run remotely.
    static func baseRole(_ path: [String]) -> APIRole? {
        let name = path.joined(separator: " ")
        guard let first = path.first, !localOnly.contains(first), !localOnly.contains(name) else { return nil }
        if adminOnly.contains(name) { return .admin }
        if readingCommands.contains(name) || (path.count > 1 && readingLeaves.contains(path.last ?? "")) { return .reader }
        if helpdeskCommands.contains(name) || name == "devices command" { return .helpdesk }
        return .admin
    }

    /// Where a flag raises the role a command needs.
    static let raisedByFlags: [String: String] = [
        "doctor": "admin with --fix",
        "attempts show": "admin with --fix",
        "devices command": "admin except for inventory and reboot",
    ]

    static func requiredRole(_ path: [String], _ command: any ParsableCommand) -> APIRole {
        // A fix changes policy, whatever command offers it; only inventory and reboot are device actions.
        if (command as? Doctor)?.fix == true || (command as? Attempts.Show)?.fix == true { return .admin }
        if let c = command as? Devices.Command, !["inventory", "reboot"].contains(c.command.lowercased()) { return .admin }
        return baseRole(path) ?? .admin
    }

    /// Every command that runs remotely, with its role: `winmdm tokens roles`.
    static func table() -> [(command: String, role: APIRole, note: String?)] {
        func leaves(_ t: any ParsableCommand.Type, _ prefix: [String]) -> [[String]] {
            let subs = t.configuration.subcommands
            if subs.isEmpty { return [prefix] }
            return subs.flatMap { leaves($0, prefix + [name($0)]) }
        }
        return leaves(WinMDM.self, []).compactMap { path in
            // Commands without the data-directory options need no installation (templates, a name preview).
            guard let type = command(at: path), takesCommonOptions(type) else { return nil }
            return baseRole(path).map { (path.joined(separator: " "), $0, raisedByFlags[path.joined(separator: " ")]) }
        }
    }

    static func allows(_ role: APIRole, _ required: APIRole) -> Bool {
        func rank(_ r: APIRole) -> Int { switch r { case .reader: 0; case .helpdesk: 1; case .admin: 2 } }
        return rank(role) >= rank(required)
    }

    /// A command's name on the command line (`add` for `Users.Add`).
    static func name(_ type: any ParsableCommand.Type) -> String { type.configuration.commandName ?? type._commandName }

    /// The names leading to a command type from `winmdm` (`["users", "add"]`).
    static func path(of type: any ParsableCommand.Type) -> [String] {
        func walk(_ t: any ParsableCommand.Type, _ prefix: [String]) -> [String]? {
            if ObjectIdentifier(t) == ObjectIdentifier(type) { return prefix }
            for s in t.configuration.subcommands {
                if let p = walk(s, prefix + [name(s)]) { return p }
            }
            return nil
        }
        return walk(WinMDM.self, []) ?? []
    }

    static func command(at path: [String]) -> (any ParsableCommand.Type)? {
        var t: any ParsableCommand.Type = WinMDM.self
        for name in path {
            guard let next = t.configuration.subcommands.first(where: { Self.name($0) == name }) else { return nil }
            t = next
        }
        return t
    }

    /// Whether a command type has the data-directory options (looked at on an unparsed instance, whose option groups
    /// exist before they hold values).
    static func takesCommonOptions(_ type: any ParsableCommand.Type) -> Bool {
        Mirror(reflecting: type.init()).children.contains { $0.value is OptionGroup<CommonOptions> }
    }

    /// The data-directory options of a command (every admin command has them as `common`); nil for commands that have
    /// none (explain, emulate), which need no installation.
    static func commonOptions(of command: any ParsableCommand) -> CommonOptions? {
        Mirror(reflecting: command).children.lazy.compactMap { ($0.value as? OptionGroup<CommonOptions>)?.wrappedValue }.first
    }
}

/// How an error ends a command: the text, where it goes and the exit code, the same in a terminal and for a remote
/// caller. A domain error is `Error: …` without the usage block; the rest is what the argument parser says.
enum CommandEnding {
    static func of(_ error: any Error) -> (text: String, toStandardOutput: Bool, code: Int32) {
        switch error {
        case let f as CommandFailure: return ("Error: \(f.message)", false, f.exitCode)
        case let e as AdminError: return of(CommandFailure(e))
        default:
            let code = WinMDM.exitCode(for: error).rawValue
            return (WinMDM.fullMessage(for: error), code == 0, code)
        }
    }
}

/// Exit code of a command the server would not run for this caller (sysexits EX_NOPERM).
let exitNoPermission: Int32 = 77
/// The server could not be reached or did not answer as a winmdm server (EX_UNAVAILABLE).
let exitUnavailable: Int32 = 69

enum RemoteClient {
    struct Target {
        var server: String
        var token: String
        var serverCA: String?
    }

    /// The server a command goes to, nil when it runs here. `--server` on a command that is about this machine is
    /// refused; `WINMDM_SERVER` in the environment is ignored for those.
    static func target(for command: any ParsableCommand, environment env: [String: String] = ProcessInfo.processInfo.environment) throws -> Target? {
        guard let common = RemoteCommands.commonOptions(of: command) else { return nil }
        let path = RemoteCommands.path(of: type(of: command))
        let local = RemoteCommands.baseRole(path) == nil
        if local {
            if common.server != nil {
                throw CommandFailure(usage: "winmdm \(path.joined(separator: " ")) works on this machine's installation and does not take --server; run it on the server.")
            }
            return nil
        }
        guard let server = common.server ?? env["WINMDM_SERVER"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard let url = URLComponents(string: server), let scheme = url.scheme, ["https", "http"].contains(scheme), url.host?.isEmpty == false else {
            throw CommandFailure(usage: "--server '\(server)' is not the server's URL; give its public URL, like https://mdm.example.com.")
        }
        if common.dataDir != nil || common.databaseURL != nil || common.config != nil {
            throw CommandFailure(usage: "--server runs the command on a remote installation; --data-dir, --config and --database-url name a local one. Give one or the other.")
        }
        var token = common.token ?? env["WINMDM_TOKEN"]
        if token == nil, let file = common.tokenFile ?? env["WINMDM_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CommandFailure(usage: "Cannot read the token file \(file).") }
            token = text
        }
        guard let token = token?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw CommandFailure(usage: "--server needs an API token: --token T, --token-file FILE or WINMDM_TOKEN (winmdm tokens create --name NAME --role admin|helpdesk|reader on the server).")
        }
        return Target(server: server.trimmingTrailingSlash(), token: token, serverCA: common.serverCA ?? env["WINMDM_SERVER_CA"])
    }

    /// The arguments after `winmdm` without the remote options, which stay here.
    static func forwardedArguments(_ arguments: [String]) -> [String] {
        var out: [String] = [], skip = false, literal = false
        for a in arguments {
            if skip { skip = false; continue }
            if literal { out.append(a); continue }
            if a == "--" { literal = true; out.append(a); continue }
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if ["--server", "--token", "--token-file", "--server-ca"].contains(name) {
                skip = !a.contains("=")
                continue
            }
            out.append(a)
        }
        return out
    }

    /// Runs the command on the server and returns its exit code, having printed its output and written its files.
    static func run(_ command: any ParsableCommand, _ target: Target, arguments: [String]) async -> Int32 {
        func fail(_ text: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("Error: \(text)\n".utf8))
            return code
        }
        let uses = command as? RemoteFileUse
        var request = RemoteCommandRequest(version: BuildInfo.version, arguments: forwardedArguments(arguments))
        for path in uses?.inputFiles ?? [] {
            guard let data = FileManager.default.contents(atPath: path) else { return fail("Cannot read \(path).", CommandFailure.notFound) }
            request.files[path] = data
        }
        if uses?.readsStandardInput == true { request.standardInput = FileHandle.standardInput.readDataToEndOfFile() }
        let transport: HTTPSTransport
        do {
            transport = try HTTPSTransport(trustRootsPEM: target.serverCA, maxConnections: 1, timeoutSeconds: 600)
        } catch {
            return fail("Cannot use --server-ca \(target.serverCA ?? ""): \(error).", CommandFailure.refused)
        }
        let sent: Result<DeviceResponse, any Error>
        do {
            let body = try JSONEncoder().encode(request)
            sent = .success(try await transport.send(DeviceRequest(method: "POST", url: target.server + "/api/cli", headers: [
                ("Authorization", "Bearer \(target.token)"), ("Content-Type", "application/json"), ("Accept", "application/json"),
            ], body: [UInt8](body))))
        } catch {
            sent = .failure(error)
        }
        try? await transport.shutdown()
        let reply: DeviceResponse
        switch sent {
        case .success(let r): reply = r
        case .failure(let error):
            let hint = target.serverCA == nil && target.server.hasPrefix("https:")
                ? " If the server uses the certificate winmdm generated, give its root with --server-ca (pki/tls-ca.pem in its data directory)." : ""
            return fail("Cannot reach \(target.server): \(error).\(hint)", exitUnavailable)
        }
        guard let answer = try? JSONDecoder().decode(RemoteCommandResponse.self, from: Data(reply.body)) else {
            switch reply.status {
            case 401: return fail("\(target.server) refused the token (unknown, revoked or expired). Create one on the server: winmdm tokens create --name NAME --role admin.", exitNoPermission)
            case 404: return fail("\(target.server) has no remote command endpoint (/api/cli): it is not a winmdm server, or one older than this client (\(BuildInfo.version)).", exitUnavailable)
            case 413: return fail("The request is larger than the server accepts (8 MiB with its files).", CommandFailure.refused)
            default: return fail("\(target.server) answered \(reply.status) to /api/cli: \(String(reply.text.prefix(300)))", exitUnavailable)
            }
        }
        // Only the files this command line asked for are written: a server cannot put a file anywhere else, and one
        // it should not have sent stops everything before anything is written.
        let allowed = Set(uses?.outputFiles ?? [])
        if let stray = answer.files.keys.sorted().first(where: { !allowed.contains($0) }) {
            return fail("The server sent a file this command does not write (\(stray)); nothing was written.", exitUnavailable)
        }
        FileHandle.standardOutput.write(answer.standardOutput)
        FileHandle.standardError.write(answer.standardError)
        for (path, file) in answer.files.sorted(by: { $0.key < $1.key }) {
            do { try CommandIO.write(file.data, to: path, mode: file.mode & 0o666) } catch {
                return fail("Cannot write \(path): \(error).", CommandFailure.refused)
            }
        }
        return answer.exitCode
    }
}

/// The server's side: runs a remote caller's command on this installation, acting as its token.
enum RemoteCommandServer {
    static let maxRequestBytes = 8 << 20

    static func handle(_ body: [UInt8], token: APIToken, runtime: Runtime) async -> ServiceResponse {
        func reply(_ r: RemoteCommandResponse, status: Int = 200) -> ServiceResponse {
            ServiceResponse(status: status, contentType: "application/json", body: Array((try? JSONEncoder().encode(r)) ?? Data()),
                            headers: [("Cache-Control", "no-store")])
        }
        func refuse(_ text: String, _ code: Int32, status: Int) -> ServiceResponse {
            reply(RemoteCommandResponse(standardOutput: Data(), standardError: Data("Error: \(text)\n".utf8), exitCode: code), status: status)
        }
        guard let request = try? JSONDecoder().decode(RemoteCommandRequest.self, from: Data(body)) else {
            return refuse("The request is not a winmdm remote command (JSON with version and arguments).", 64, status: 400)
        }
        let versionNote = request.version == BuildInfo.version ? "" : " (this server is winmdm \(BuildInfo.version); the client is \(request.version))"
        let command: any ParsableCommand
        do {
            command = try WinMDM.parseAsRoot(request.arguments)
        } catch {
            let e = CommandEnding.of(error)
            let text = e.text + (e.code == 0 ? "" : versionNote)
            return reply(RemoteCommandResponse(standardOutput: e.toStandardOutput ? Data((text + "\n").utf8) : Data(),
                                               standardError: e.toStandardOutput ? Data() : Data((text + "\n").utf8), exitCode: e.code))
        }
        let path = RemoteCommands.path(of: type(of: command))
        let name = path.joined(separator: " ")
        guard let common = RemoteCommands.commonOptions(of: command), RemoteCommands.baseRole(path) != nil else {
            return refuse("winmdm \(name) does not run remotely; run it where it is needed.", 64, status: 400)
        }
        guard common.dataDir == nil, common.config == nil, common.databaseURL == nil, common.server == nil else {
            return refuse("A remote command runs on the server's installation; --data-dir, --config, --database-url and --server are not taken.", 64, status: 400)
        }
        let required = RemoteCommands.requiredRole(path, command)
        guard RemoteCommands.allows(token.role, required) else {
            let what = RemoteCommands.raisedByFlags[name].map { "\(required.rawValue) here (\($0))" } ?? required.rawValue
            return refuse("The token \"\(token.name)\" has the \(token.role.rawValue) role; winmdm \(name) needs \(what). winmdm tokens roles lists what each role may run.", exitNoPermission, status: 403)
        }
        let io = CommandIO(uploaded: request.files.mapValues { [UInt8]($0) }, standardInput: [UInt8](request.standardInput ?? Data()))
        var code: Int32 = 0
        await CommandIO.$remote.withValue(io) {
            await Runtime.$serving.withValue(runtime.acting(as: "api:\(token.name)")) {
                do {
                    var c = command
                    if var async = c as? AsyncParsableCommand { try await async.run() } else { try c.run() }
                } catch {
                    let e = CommandEnding.of(error)
                    if !e.text.isEmpty { e.toStandardOutput ? print(e.text) : CommandIO.printError(e.text) }
                    code = e.code
                }
            }
        }
        let out = io.output
        return reply(RemoteCommandResponse(standardOutput: Data(out.out), standardError: Data(out.err), exitCode: code, files: out.files))
    }
}
