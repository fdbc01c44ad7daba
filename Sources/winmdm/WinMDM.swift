import ArgumentParser
import Foundation
import MDMService

@main
enum Main {
    static func main() async {
        CrashHandling.prepare(arguments: CommandLine.arguments)
        do {
            var command = try WinMDM.parseAsRoot()
            // --server: the same command, run by a remote installation (RemoteCLI.swift).
            if let target = try RemoteClient.target(for: command) {
                exit(await RemoteClient.run(command, target, arguments: Array(CommandLine.arguments.dropFirst())))
            }
            if var async = command as? AsyncParsableCommand { try await async.run() } else { try command.run() }
        } catch where error is CommandFailure || error is AdminError {
            // A domain error: what was wrong and what would be accepted, without the usage block.
            let e = CommandEnding.of(error)
            FileHandle.standardError.write(Data("\(e.text)\n".utf8))
            exit(e.code)
        } catch {
            WinMDM.exit(withError: error)
        }
    }
}

struct WinMDM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winmdm",
        abstract: "A self-hosted Windows MDM server: enrollment, directory, troubleshooting.",
        version: BuildInfo.version,
        subcommands: [Serve.self, Init.self, Status.self, Users.self, Groups.self, Domains.self, Licenses.self, DeviceSettings.self, Mobility.self,
                      Restrictions.self, StatusPageCommand.self, Devices.self, Profiles.self, Compliance.self, Bulk.self, Autopilot.self, Identifiers.self, Maintenance.self, Settings.self,
                      Attempts.self, Lockouts.self, Audit.self, Explain.self, Doctor.self, Report.self, Tokens.self, Emulate.self, Backup.self, MigrateDatabase.self, Bench.self]
    )
}

/// A command that failed for a reason of the domain (a refused change, something that does not exist, no
/// installation): printed as `Error: …` with its own exit code, never with the usage text, which is for wrong flags.
///
/// Exit codes: 1 a check found a problem (doctor would refuse, lint findings, rows not imported); 64 wrong flags or
/// arguments (argument parser); 65 a change refused (invalid value, conflict, rule); 66 something named does not
/// exist; 69 no installation in the data directory.
struct CommandFailure: Error, CustomStringConvertible {
    static let refused: Int32 = 65
    static let notFound: Int32 = 66
    static let noInstallation: Int32 = 69

    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = CommandFailure.refused) {
        self.message = message
        self.exitCode = exitCode
    }

    /// Wrong flags found after parsing (they combine badly): exit 64 like the parser's, without its usage block.
    init(usage message: String) { self.init(message, exitCode: 64) }

    init(_ e: AdminError) {
        self.init(e.message, exitCode: e.code == .notFound ? Self.notFound : Self.refused)
    }

    var description: String { message }
}

/// The version this binary was built as: `WINMDM_VERSION` at build time is not available to SwiftPM, so the release
/// is written here and the git commit is read from the checkout the binary was built in, when it is still there.
enum BuildInfo {
    static let release = "0.9.0"
    static var version: String { release }
}

/// `winmdm init`: creates an installation (database and tenant) without starting the server.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new installation in the data directory (database and tenant); serve creates its certificates on first start.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Public base URL devices will use (default https://<hostname>:8443).") var publicURL: String?
    @Option(help: "The verified domain of the new installation (default: the public host name, or winmdm.test).") var initialDomain: String?

    func run() async throws {
        let cfg = try ResolvedConfiguration.resolve(common, .init(publicURL: publicURL, initialDomain: initialDomain))
        umask(0o077)
        let runtime = try await Runtime.open(cfg, create: true)
        await runtime.close()
        if !runtime.isNew {
            print("\(cfg.dataDir.path) already holds an installation; nothing was changed.")
        } else {
            print("Next: winmdm serve --data-dir \(cfg.dataDir.path) (creates the certificate authorities, the TLS certificate and the admin token).")
        }
    }
}
