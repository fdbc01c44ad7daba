import ArgumentParser

@main
struct WinMDM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winmdm",
        abstract: "A self-hosted Windows MDM server: enrollment, directory, troubleshooting.",
        subcommands: [Serve.self, Users.self, Attempts.self, Devices.self, Settings.self, Emulate.self]
    )
}
