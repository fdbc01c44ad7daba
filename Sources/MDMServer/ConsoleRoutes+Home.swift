import Foundation
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Home: what the installation holds, what failed lately, and what to do first on an empty one.
extension ConsoleRouting {
    func addHome() {
        let kit = self.kit, c = self.c
        view("/console/home") { req, _, who in
            // Counted in the database, never read: the page costs the same with a hundred thousand users.
            let counts = try await c.admin.operationalCounts()
            let settings = try await c.admin.settings()
            let home = HomePage.build(
                users: counts.users, devices: counts.activeEnrollments, queuedCommands: counts.queuedCommands,
                failures: try await c.admin.attempts(AttemptQuery(limit: 500, failedOnly: true, since: c.clock.now() - 86400)),
                autopilotDevices: try await c.admin.autopilotDevices().count, profiles: try await c.admin.configurationProfiles().count,
                publicURL: c.publicURL, domain: settings.domains.first(where: \.isVerified)?.name)
            return kit.page(who, home, title: "Home", section: "home", req: req)
        }
    }
}
