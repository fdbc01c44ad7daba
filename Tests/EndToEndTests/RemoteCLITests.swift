import Foundation
import MDMTesting
import Testing

/// Review §6: the CLI against a remote installation (`--server URL --token T`), through the real binary and a real
/// `winmdm serve`: the same output and exit codes as on the server's machine, files going both ways, roles enforced.
@Suite(.serialized) struct RemoteCLITests {
    @Test("§6: admin commands run against a remote server print what they print locally, within the token's role")
    func remoteCommands() async throws {
        let site = try CLI.Site("winmdm-remote")
        defer { site.remove() }
        let (dir, local, url) = (site.dir, site.common, site.url)
        let server = try await CLI.Server(site.serveArguments)
        defer { _ = server.stop() }
        #expect(server.banner.contains("remote CLI:       winmdm <command> --server \(url)"), "\(server.banner)")
        let remote = ["--server", url, "--token-file", dir + "/admin-token", "--server-ca", dir + "/pki/tls-ca.pem"]

        // A change made remotely, the password read from this side's standard input.
        let add = try await CLI.run(["users", "add", "rita@winmdm.test", "--password", "-", "--license", "WINMDM_STANDARD"] + remote,
                              stdin: "Correct horse 1\n")
        #expect(add.status == 0 && add.out == "Added rita@winmdm.test (rita).\n", "\(add.out)\(add.err)")
        let quota = try await CLI.run(["device-settings", "quota", "0"] + remote)
        #expect(quota.status == 0 && quota.err.contains("Warning: a quota of 0 refuses"), "warnings come back on standard error: \(quota.err)")
        try await CLI.run(["device-settings", "quota", "50"] + remote)

        // The same answers, byte for byte, as the commands run on the server's machine.
        for command in [["users", "list"], ["users", "show", "rita@winmdm.test"], ["restrictions", "list"], ["settings", "show"],
                        ["devices", "list", "--all"], ["audit", "list"], ["users", "list", "--json"], ["doctor", "--user", "rita@winmdm.test"]] {
            let here = try await CLI.run(command + local), there = try await CLI.run(command + remote)
            #expect(there.out == here.out && there.err == here.err && there.status == here.status,
                    "\(command): local \(here.status) \(here.out)\(here.err) remote \(there.status) \(there.out)\(there.err)")
        }
        // Failures too: the message and the domain exit code.
        let missingHere = try await CLI.run(["users", "show", "nobody@winmdm.test"] + local)
        let missingThere = try await CLI.run(["users", "show", "nobody@winmdm.test"] + remote)
        #expect(missingThere.status == 66 && missingThere.err == missingHere.err, "\(missingThere.err)")
        let refused = try await CLI.run(["users", "add", "rita@winmdm.test", "--password", "Correct horse 1"] + remote)
        #expect(refused.status == 65 && refused.err.hasPrefix("Error: ") && !refused.err.contains("Usage:"), "\(refused.err)")
        // A wrong flag never leaves this machine: the usage comes from the local parser.
        let wrong = try await CLI.run(["users", "list", "--nope"] + remote)
        #expect(wrong.status == 64 && wrong.err.contains("Unknown option '--nope'"))

        // The audit log names the token that made the change.
        let audit = try await CLI.run(["audit", "list", "--action", "user.create", "--json"] + local).out
        #expect(audit.contains("api:initial admin token") && audit.contains("rita@winmdm.test"), "\(audit)")

        // Files: a CSV uploaded from here; a customizations XML written back here, owner-only.
        let csv = dir + "-identifiers.csv"
        try "Contoso,Laptop 7,SN-REMOTE-1\n".write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let imported = try await CLI.run(["identifiers", "import", csv] + remote)
        #expect(imported.status == 0, "\(imported.out)\(imported.err)")
        #expect(try await CLI.run(["identifiers", "list"] + local).out.contains("SN-REMOTE-1"))
        let xml = dir + "-kiosk.xml"
        defer { try? FileManager.default.removeItem(atPath: xml) }
        let bulk = try await CLI.run(["bulk", "create", "Remote kiosks", "--out", xml] + remote)
        #expect(bulk.status == 0 && bulk.out.contains("Created bulk enrollment package"), "\(bulk.out)\(bulk.err)")
        let attributes = try FileManager.default.attributesOfItem(atPath: xml)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try String(contentsOfFile: xml, encoding: .utf8).contains("<Name>Remote kiosks</Name>"))
        // A path on the server's disk is never read: only what the caller uploaded exists for the command.
        let notHere = try await CLI.run(["identifiers", "import", dir + "/admin-token"] + remote)
        #expect(notHere.status != 0 && !notHere.out.contains("wmdm_"), "\(notHere.out)\(notHere.err)")

        // Roles: a reader reads, and is refused a change (exit 77) with nothing changed.
        let created = try await CLI.run(["tokens", "create", "--name", "dashboard", "--role", "reader", "--json"] + local).out
        let reader = try #require((try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["token"] as? String)
        let asReader = ["--server", url, "--token", reader, "--server-ca", dir + "/pki/tls-ca.pem"]
        #expect(try await CLI.run(["users", "list"] + asReader).status == 0)
        let delete = try await CLI.run(["users", "delete", "rita@winmdm.test"] + asReader)
        #expect(delete.status == 77 && delete.err.contains("has the reader role; winmdm users delete needs admin"), "\(delete.err)")
        #expect(try await CLI.run(["users", "show", "rita@winmdm.test"] + local).status == 0)
        try await CLI.run(["users", "add", "noel@winmdm.test", "--password", "Correct horse 1"] + remote)
        let ask = try await CLI.run(["doctor", "--user", "noel@winmdm.test", "--fix"] + remote)
        #expect(ask.status == 64 && ask.err.contains("add --yes"), "a remote --fix cannot ask: \(ask.out)\(ask.err)")
        #expect(try await CLI.run(["users", "show", "noel@winmdm.test"] + local).out.contains("licenses:           none"), "nothing was applied")
        let fix = try await CLI.run(["doctor", "--user", "rita@winmdm.test", "--fix", "--yes"] + asReader)
        #expect(fix.status == 77 && fix.err.contains("admin with --fix"), "\(fix.err)")

        // The environment works as well as flags; a bad token, a local-only command and a mix of both are refused.
        let env = ["WINMDM_SERVER": url, "WINMDM_TOKEN": reader, "WINMDM_SERVER_CA": dir + "/pki/tls-ca.pem"]
        #expect(try await CLI.run(["users", "list"], env: env).out == (try await CLI.run(["users", "list"] + local).out))
        let badToken = try await CLI.run(["users", "list", "--server", url, "--token", "wmdm_nope", "--server-ca", dir + "/pki/tls-ca.pem"])
        #expect(badToken.status == 77 && badToken.err.contains("refused the token"), "\(badToken.err)")
        let backup = try await CLI.run(["backup", dir + "-copy.sqlite"] + remote)
        #expect(backup.status == 64 && backup.err.contains("does not take --server"), "\(backup.err)")
        let both = try await CLI.run(["users", "list"] + remote + local)
        #expect(both.status == 64 && both.err.contains("Give one or the other"), "\(both.err)")
        let untrusted = try await CLI.run(["users", "list", "--server", url, "--token", reader])
        #expect(untrusted.status == 69 && untrusted.err.contains("--server-ca"), "\(untrusted.err)")
    }

    @Test("§6: tokens roles classifies every remote command; nothing that changes anything is open to readers")
    func roles() async throws {
        let r = try await CLI.run(["tokens", "roles", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(rows.count > 90)
        let changing = ["add", "create", "delete", "set", "assign", "unassign", "edit", "remove", "import", "revoke", "on", "off", "verify", "priority", "clear"]
        for row in rows {
            let command = try #require(row["command"] as? String), role = try #require(row["role"] as? String)
            let leaf = String(command.split(separator: " ").last ?? "")
            if changing.contains(leaf) || leaf.hasPrefix("add-") || leaf.hasPrefix("remove-") || leaf.hasPrefix("set-") || leaf.hasPrefix("delete-") {
                #expect(role != "reader", "\(command) changes something and is open to readers")
            }
        }
        #expect(rows.contains { $0["command"] as? String == "devices retire" && $0["role"] as? String == "helpdesk" })
        #expect(rows.contains { $0["command"] as? String == "tokens list" && $0["role"] as? String == "admin" })
        #expect(!rows.contains { ["serve", "backup", "status", "explain"].contains($0["command"] as? String ?? "") })
        // Listed commands take the remote options (one of each group, so the check costs a dozen processes, not a hundred).
        var seen: Set<String> = []
        for row in rows {
            let command = (row["command"] as? String ?? "").split(separator: " ").map(String.init)
            guard let group = command.first, seen.insert(group).inserted else { continue }
            let help = try await CLI.run(command + ["--help"])
            #expect(help.out.contains("--server <server>"), "\(command) has no --server")
        }
        // And a command that has no installation options is not listed: it would run locally whatever --server said.
        #expect(!rows.contains { ["profiles templates", "autopilot preview", "tokens roles"].contains($0["command"] as? String ?? "") })
    }
}
