import ArgumentParser
import Foundation

@main
enum Main {
    static func main() async {
        CrashHandling.prepare(arguments: CommandLine.arguments)
        await WinMDM.main()
    }
}

struct WinMDM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winmdm",
        abstract: "A self-hosted Windows MDM server: enrollment, directory, troubleshooting.",
        subcommands: [Serve.self, Users.self, Groups.self, Domains.self, Licenses.self, DeviceSettings.self, Mobility.self,
                      Restrictions.self, StatusPageCommand.self, Devices.self, Profiles.self, Compliance.self, Bulk.self, Autopilot.self, Identifiers.self, Maintenance.self, Settings.self,
                      Attempts.self, Lockouts.self, Audit.self, Explain.self, Doctor.self, Report.self, Tokens.self, Emulate.self, Backup.self, MigrateDatabase.self, Bench.self]
    )
}
