import Foundation
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMServer
import MDMStorage
import MDMService
import MDMTesting
import Testing

/// The rough edges of the day-one review (reviews/day-one-admin.md), each reproduced through the real CLI.
@Suite(.serialized) struct DayOneTests {
    /// Runs a command against the server's data directory.
    static func cli(_ server: TestServer, _ args: String...) async throws -> CLI.Result {
        try await CLI.run(args + ["--data-dir", server.dir.path])
    }

    @Test("review 7, 31: a version bound like 11 is refused with Windows 11's rule; quota 0 warns and unlimited is accepted")
    func versionBoundsAndQuota() async throws {
        let server = try await TestServer.make()
        let eleven = try await Self.cli(server, "restrictions", "edit", "Default", "--min-version", "11")
        #expect(eleven.status == 65 && eleven.err.contains("Windows 11 is 10.0.22000 and later") && eleven.err.contains("use 10.0.22000"), "\(eleven.err)")
        #expect(try await server.admin.restriction(.platform, "Default").windows?.osMinimumVersion == nil, "the refused change left no trace")
        await #expect(try Self.cli(server, "restrictions", "edit", "Default", "--min-version", "10.0.22000").status == 0)
        await #expect(try Self.cli(server, "compliance", "create", "Ten", "--os-min", "10").err.contains("Windows 10 use 10.0.10240"))

        let zero = try await Self.cli(server, "device-settings", "quota", "0")
        #expect(zero.status == 0 && zero.err.contains("Warning: a quota of 0 refuses every device (join) enrollment"), "\(zero.err)")
        #expect(zero.out.contains("changed from 50 to 0"))
        let unlimited = try await Self.cli(server, "device-settings", "quota", "unlimited")
        #expect(unlimited.status == 0 && unlimited.out.contains("Maximum number of devices per user: Unlimited"), "\(unlimited.out)")
        await #expect(try Self.cli(server, "device-settings", "quota", "lots").err.contains("give a number from 0 to 1000, or unlimited"))
        await server.close()
    }

    @Test("review 14: the last enabled console administrator cannot be deleted, disabled or demoted")
    func lastAdministrator() async throws {
        let server = try await TestServer.make()
        let first = try #require(try await server.admin.createInitialAdministrator())
        for args in [["users", "delete", first.upn], ["users", "set", first.upn, "--enabled", "false"], ["users", "set", first.upn, "--admin-role", "reader"]] {
            let r = try await CLI.run(args + ["--data-dir", server.dir.path])
            #expect(r.status == 65 && r.err.contains("last enabled console administrator"), "\(args): \(r.err)")
        }
        let still = try await server.admin.user(first.upn)
        #expect(still.adminRole == .admin && still.enabled)
        // With a second administrator, the first can go.
        _ = try await server.addUser("second@winmdm.test")
        await #expect(try Self.cli(server, "users", "set", "second@winmdm.test", "--admin-role", "admin").out.contains("console role none → admin"))
        await #expect(try Self.cli(server, "users", "set", first.upn, "--admin-role", "reader").status == 0)
        await #expect(try Self.cli(server, "users", "set", "second@winmdm.test", "--display-name", "Second").out.contains("display name"))
        await #expect(try Self.cli(server, "users", "set", "second@winmdm.test", "--display-name", "Second").out.contains("Nothing changed"))
        await server.close()
    }

    @Test("review 15: devices delete is all or nothing; retiring twice says already retired; an ended enrollment is named by its device name")
    func deviceCommandsOnSeveralAndEndedDevices() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        let ids = try await server.inProcess { t in
            var out: [String] = []
            for name in ["DESK-ONE", "DESK-TWO"] {
                var p = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
                p.deviceName = name
                out.append(try await WindowsDevice(profile: p, transport: t).enroll(discoveryURL: server.discoveryURL).entDMID)
            }
            return out
        }
        let partial = try await Self.cli(server, "devices", "delete", "DESK-ONE", "NOPE")
        #expect(partial.status == 65 && partial.err.contains("Nothing was deleted") && partial.err.contains("No enrollment NOPE"), "\(partial.err)")
        #expect(try await server.admin.enrollments(upn: "alice@winmdm.test").count == 2, "nothing was deleted")
        await #expect(try Self.cli(server, "devices", "retire", "DESK-ONE").status == 0)
        let twice = try await Self.cli(server, "devices", "retire", "DESK-ONE")
        #expect(twice.status == 65 && twice.err.contains("is already retired"), "\(twice.err)")
        let both = try await Self.cli(server, "devices", "delete", "DESK-ONE", "DESK-TWO")
        #expect(both.status == 0 && both.out.contains("Deleted DESK-ONE") && both.out.contains("Deleted DESK-TWO"), "\(both.err)")
        #expect(try await server.admin.enrollments(upn: "alice@winmdm.test").isEmpty && ids.count == 2)
        await server.close()
    }
}

/// Running winmdm as an administrator runs it: a real `winmdm serve`, its log, and the commands next to it.
@Suite(.serialized) struct DayOneServerTests {
    @Test("review 22, 28, 30, 37: refusals are logged at info as JSON; emulate's JSON names attempts; the REASON column is one shape; a taken port is said plainly")
    func serveLogsAndCommandOutput() async throws {
        let site = try CLI.Site("winmdm-dayone")
        defer { site.remove() }
        let (dir, port, common) = (site.dir, site.port, site.common)
        let server = try await CLI.Server(site.serveArguments + ["--log-format", "json"])
        defer { _ = server.stop() }
        let version = await BuildInfoForTests.version
        #expect(server.banner.contains("winmdm \(version)"), "\(server.banner)")
        try await CLI.run(["users", "add", "eve@winmdm.test", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD"] + common)
        let url = "https://localhost:\(port)"
        let ok = try await CLI.run(["emulate", "--server", url, "--upn", "eve@winmdm.test", "--password", "Correct horse 1", "--json", "--lifecycle"] + common)
        let okJSON = try #require(try JSONSerialization.jsonObject(with: Data(ok.out.utf8)) as? [String: Any])
        #expect((okJSON["enrollments"] as? [String])?.count == 1 && ok.err.isEmpty, "no progress bar when standard error is not a terminal: \(ok.err)")
        let bad = try await CLI.run(["emulate", "--server", url, "--upn", "eve@winmdm.test", "--password", "wrong password", "--json"] + common)
        let badJSON = try #require(try JSONSerialization.jsonObject(with: Data(bad.out.utf8)) as? [String: Any])
        let failure = try #require((badJSON["failures"] as? [[String: Any]])?.first)
        let attempt = try #require(failure["attempt"] as? String)
        #expect(failure["code"] as? String == "0x80180002")
        // The refusal is in the server's log: one JSON object with the attempt id, the user and the code.
        let log = await server.output(until: attempt)
        let line = try #require(log.split(separator: "\n").first { $0.contains(attempt) })
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(entry["message"] as? String == "refused" && entry["level"] as? String == "info")
        #expect(entry["user"] as? String == "eve@winmdm.test" && entry["code"] as? String == "0x80180002" && entry["phase"] as? String == "policy")
        // attempts list: a success never shows a note cut off; a failure shows its reason.
        let list = try await CLI.run(["attempts", "list"] + common).out
        #expect(!list.contains("PrintableString"), "\(list)")
        #expect(list.split(separator: "\n").contains { $0.contains("enroll") && $0.contains("succeeded") && $0.contains("enrolled") })
        #expect(list.contains("The password for eve@winmdm.test is wrong."))
        // The same hardware again, as "If this device tried again now" suggests.
        let hw = String(repeating: "AB", count: 32)
        for _ in 0..<2 {
            #expect(try await CLI.run(["emulate", "--server", url, "--upn", "eve@winmdm.test", "--password", "Correct horse 1", "--hwdevid", hw] + common).status == 0)
        }
        let devices = try await CLI.run(["devices", "list", "--all", "--json"] + common).out
        #expect(devices.components(separatedBy: hw).count - 1 == 2, "two enrollments of one PC")
        // /metrics: Prometheus text through swift-metrics, behind an API token.
        let https = try HTTPSTransport(trustRootsPEM: dir + "/pki/tls-ca.pem")
        let anonymous = try await https.send(DeviceRequest(method: "GET", url: url + "/metrics"))
        #expect(anonymous.status == 401)
        let token = try String(contentsOfFile: dir + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let metrics = try await https.send(DeviceRequest(method: "GET", url: url + "/metrics", headers: [("Authorization", "Bearer \(token)")])).text
        try? await https.shutdown()
        for family in ["# TYPE winmdm_enrollment_attempts_total counter", "# TYPE winmdm_checkins_total counter",
                       "# TYPE winmdm_command_queue_depth gauge", "# TYPE http_server_request_duration histogram",
                       "# TYPE winmdm_database_operation_duration_seconds histogram", "# TYPE winmdm_database_operations_in_flight gauge",
                       "# TYPE winmdm_active_enrollments gauge", "# TYPE winmdm_sql_statements_total counter"] {
            #expect(metrics.contains(family), "missing \(family)")
        }
        #expect(metrics.contains(#"winmdm_enrollment_attempts_total{phase="policy",outcome="failed",rule="fault-authentication"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"winmdm_enrollment_attempts_total{phase="enroll",outcome="succeeded",rule="none"} 3"#))
        #expect(metrics.contains("winmdm_active_enrollments 2.0"), "the replayed PC's first enrollment was replaced")
        #expect(metrics.contains(#"winmdm_checkins_total{result="reported"}"#))
        #expect(metrics.contains(#"http_server_request_duration_bucket{http_route="/EnrollmentServer/Enrollment.svc""#))
        // winmdm status: every check ok while the server runs; a key file others can read is a problem (exit 1).
        let status = try await CLI.run(["status"] + common)
        #expect(status.status == 0 && status.out.contains("public URL") && status.out.contains("answers (health and discovery)"), "\(status.out)\(status.err)")
        #expect(status.out.contains("2 enrolled devices") && status.out.contains("TLS certificate  ok"), "\(status.out)")
        chmod(dir + "/admin-token", 0o644)
        let exposed = try await CLI.run(["status"] + common)
        #expect(exposed.status == 1 && exposed.out.contains("admin-token has mode 644"), "\(exposed.out)")
        chmod(dir + "/admin-token", 0o600)
        // A second server on the same port says what is wrong and what to do.
        let taken = try await CLI.run(["serve", "--listen", "127.0.0.1:\(port)"] + common, timeout: 60)
        #expect(taken.status != 0 && taken.err.contains("Cannot listen on 127.0.0.1:\(port): the address is already in use"), "\(taken.err)")
        #expect(!taken.err.contains("bind(descriptor"))
    }
}

/// The release the binary reports (`winmdm --version`, the serve banner).
enum BuildInfoForTests {
    static var version: String { get async { (try? await CLI.run(["--version"]).out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?" } }
}

/// The console as an Intune admin uses it: home, a device's page, Retire/Delete behind a confirmation, the audit log,
/// actions hidden from readers, and a refused form that leads back.
@Suite struct DayOneConsoleTests {
    @Test("review 13, 14, 32, 35 and item 3: home, device page, confirmation, search, audit page, roles, back link")
    func consolePages() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            let signedIn = try await web.signIn(first.upn, first.password)
            #expect(signedIn.location == "/console/home")
            // An empty installation: what to do first, with the discovery URL and the enrollment link.
            let empty = try await web.get("/console/home")
            #expect(empty.html.contains("What to do first") && empty.html.contains("ms-device-enrollment:?mode=mdm"))
            #expect(empty.html.contains("/EnrollmentServer/Discovery.svc") && empty.html.contains("No enrollment failed in the last 24 hours"))

            _ = try await server.addUser("dan@winmdm.test")
            _ = try await server.admin.editRestriction(.deviceLimit, "Default", limit: 1)
            let ids = try await server.inProcess { t in
                var p = DeviceProfile(upn: "dan@winmdm.test", password: "Correct horse 1")
                p.deviceName = "DAN-LAPTOP"
                let id = try await WindowsDevice(profile: p, transport: t).enroll(discoveryURL: server.discoveryURL)
                // Noise (wrong passwords, below the lockout threshold) and one real cause (the device limit).
                for _ in 0..<8 {
                    _ = try? await WindowsDevice(profile: DeviceProfile(upn: "dan@winmdm.test", password: "wrong horse"), transport: t).enroll(discoveryURL: server.discoveryURL)
                }
                _ = try? await WindowsDevice(profile: DeviceProfile(upn: "dan@winmdm.test", password: "Correct horse 1"), transport: t).enroll(discoveryURL: server.discoveryURL)
                return [id.entDMID]
            }
            let home = try await web.get("/console/home").html
            #expect(home.contains("<strong>1</strong>enrolled devices") && !home.contains("What to do first"), "\(home)")
            // Grouped by cause: the device-limit refusal comes first, the sign-in noise after it, as one counted row.
            let limitRow = try #require(home.range(of: "device-limit")), noiseRow = try #require(home.range(of: "(sign-in)"))
            #expect(limitRow.lowerBound < noiseRow.lowerBound)
            #expect(home.contains("<td>8</td>"), "eight wrong passwords are one row")

            // The device page: overview with times in UTC, inventory, commands, attempts; actions in one menu per row.
            let list = try await web.get("/console/devices/windows").html
            #expect(list.contains("href=\"/console/devices/windows/\(ids[0])\"") && list.contains("class=\"menu\""))
            let device = try await web.get("/console/devices/windows/\(ids[0])")
            #expect(device.status == 200 && device.html.contains("DAN-LAPTOP") && device.html.contains(" UTC") && device.html.contains("Enrollment attempts"))
            // Search and sort.
            #expect(try await web.get("/console/devices/windows?q=dan-lap&sort=name").html.contains("1 device match"))
            #expect(try await web.get("/console/devices/windows?q=nobody").html.contains("No device matches."))
            // Delete asks first and says what will happen; without the confirmation nothing is deleted.
            let csrf = try #require(ConsoleClient.csrf(list))
            let unconfirmed = try await web.post("/console/devices/windows/\(ids[0])", [("csrf", csrf), ("action", "delete")])
            #expect(unconfirmed.status == 303 && unconfirmed.location == "/console/devices/windows/\(ids[0])/confirm?action=delete")
            #expect(try await server.store.enrollment(id: ids[0]) != nil)
            let confirm = try await web.get("/console/devices/windows/\(ids[0])/confirm?action=delete").html
            #expect(confirm.contains("The record of DAN-LAPTOP is removed") && confirm.contains("name=\"confirmed\" value=\"yes\""))
            let done = try await web.post("/console/devices/windows/\(ids[0])", [("csrf", csrf), ("action", "delete"), ("confirmed", "yes")])
            #expect(done.status == 303 && done.location?.contains("Deleted%20DAN") == true)
            #expect(try await server.store.enrollment(id: ids[0]) == nil)

            // The audit log page: filtered, with the field that changed.
            let audit = try await web.get("/console/audit?action=restriction.").html
            #expect(audit.contains("restriction.update") && audit.contains("].limit</code>: 5 → 1") && !audit.contains("user.create"), "\(audit)")

            // A refused form keeps the navigation and leads back.
            let refused = try await web.post("/console/devices/enrollment-restrictions/create", [("csrf", csrf), ("type", "deviceLimit"), ("name", "X"), ("limit", "99")])
            #expect(refused.status == 400 && refused.html.contains("← Back"))

            // A reader sees no action it cannot use.
            _ = try await server.addUser("reader@winmdm.test")
            _ = try await server.admin.setAdminRole("reader@winmdm.test", .reader)
            web.cookie = nil
            _ = try await web.signIn("reader@winmdm.test", "Correct horse 1")
            let readerList = try await web.get("/console/devices/windows").html
            #expect(!readerList.contains("class=\"menu\"") && !readerList.contains("value=\"sync\""))
        }
    }
}

/// The review's smaller gaps (item 38 and friends), through the CLI and the HTTP routes.
@Suite struct DayOneGapsTests {
    @Test("review 18, 23, 38: license plurals, negative seats, delete-product, bulk delete removes an unused account, restriction version, compliance page, Graph plan GUIDs")
    func smallGaps() async throws {
        let server = try await TestServer.make()
        func cli(_ args: String...) async throws -> CLI.Result { try await CLI.run(args + ["--data-dir", server.dir.path]) }
        let added = try await cli("licenses", "add-product", "E3", "--plan", "mdm", "--seats", "1")
        #expect(added.out.contains("1 seat)"), "\(added.out)")
        let negative = try await cli("licenses", "set-seats", "E3", "-3")
        #expect(negative.status == 64 && negative.err.contains("'-3' is not a number of seats: give 0 or more"), "\(negative.err)")
        _ = try await server.addUser("e3@winmdm.test", licensed: false)
        await #expect(try cli("licenses", "assign", "e3@winmdm.test", "E3").status == 0)
        let held = try await cli("licenses", "delete-product", "E3")
        #expect(held.status == 65 && held.err.contains("1 user holds E3"), "\(held.err)")
        await #expect(try cli("licenses", "unassign", "e3@winmdm.test", "E3").status == 0)
        await #expect(try cli("licenses", "delete-product", "E3").status == 0)
        await #expect(!(try cli("licenses", "list").out.contains("E3")))

        // A package no device used: deleting it deletes its account too.
        let made = try await server.admin.createBulkPackage(name: "Lab")
        let gone = try await cli("bulk", "delete", "Lab")
        #expect(gone.out.contains("and its account"), "\(gone.out)")
        #expect(try await server.store.user(upn: made.package.accountUPN) == nil)

        // Commands say what they changed (review 25).
        await #expect(try cli("groups", "create", "Staff").status == 0)
        await #expect(try cli("mobility", "mdm-scope", "some", "--group", "Staff").out.hasPrefix("Changed MDM user scope: All → Some (Staff)"))
        await #expect(try cli("mobility", "mdm-scope", "some", "--group", "Staff").out.hasPrefix("Nothing changed."))
        await #expect(try cli("groups", "add-member", "Staff", "e3@winmdm.test").out.contains("Added e3@winmdm.test"))
        await #expect(try cli("groups", "add-member", "Staff", "e3@winmdm.test").out.contains("Already in Staff: e3@winmdm.test"))
        let ghost = try await cli("groups", "add-member", "Staff", "e3@winmdm.test", "ghost@winmdm.test")
        #expect(ghost.status == 66 && !ghost.out.contains("Already"), "nothing is done when one user does not exist")

        // Graph: a restriction's version counts its changes; service plans carry Microsoft's GUIDs.
        _ = try await server.admin.editRestriction(.deviceLimit, "Default", limit: 7)
        _ = try await server.admin.editRestriction(.deviceLimit, "Default", limit: 8)
        #expect(try await server.admin.restriction(.deviceLimit, "Default").version == 3)
        let token = try await server.admin.createToken(name: "gaps", role: .reader).secret
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in
            let api = API(client: client, token: token)
            let skus = try await api.call(.get, "/graph/v1.0/subscribedSkus").raw
            #expect(skus.contains("c1ec4a95-1f05-45b3-a911-aa3fa01094f5") && !skus.contains("\"servicePlanId\":\"mdm\""), "\(skus)")
            let limits = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations").raw
            #expect(limits.contains("\"version\":3"), "\(limits)")
            // The default MDM compliance URL answers with a page a user can act on.
            let page = try await client.execute(uri: "/compliance", method: .get)
            #expect(page.status == .ok && String(buffer: page.body).contains("Access work or school"))
        }
        await server.close()
    }
}

/// Users and groups made from the console (review items 3, 13): new user with a license, license removal, a group with
/// members, and a group deleted only when confirmed.
@Suite struct DayOneDirectoryConsoleTests {
    @Test("console: new user, remove license, groups with members, delete group when confirmed")
    func usersAndGroups() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            let users = try await web.get("/console/users")
            let csrf = try #require(ConsoleClient.csrf(users.html))
            #expect(users.html.contains("New user"))
            let made = try await web.post("/console/users/new", [("csrf", csrf), ("upn", "Ann@Contoso.example"), ("displayName", "Ann"),
                                                                  ("password", "Correct horse 1"), ("license", "WINMDM_STANDARD")])
            #expect(made.status == 303 && made.location?.contains("Warning") == true, "an unverified domain is warned about: \(made.location ?? "")")
            #expect(try await server.admin.user("ann@contoso.example").assignedLicenses.count == 1)
            let short = try await web.post("/console/users/new", [("csrf", csrf), ("upn", "bo@winmdm.test"), ("password", "short")])
            let bo = try? await server.admin.user("bo@winmdm.test")
            #expect(short.status == 400 && short.html.contains("at least 8 characters") && bo == nil)
            let removed = try await web.post("/console/users/ann@contoso.example/licenses/remove", [("csrf", csrf), ("sku", "WINMDM_STANDARD")])
            let ann = try await server.admin.user("ann@contoso.example")
            #expect(removed.status == 303 && ann.assignedLicenses.isEmpty)

            let group = try await web.post("/console/groups/new", [("csrf", csrf), ("name", "Finance"), ("tag", "")])
            let gid = try #require(group.location?.split(separator: "?").first?.split(separator: "/").last.map(String.init))
            _ = try await web.post("/console/groups/\(gid)/members", [("csrf", csrf), ("upn", "ann@contoso.example"), ("action", "add")])
            #expect(try await server.admin.group("Finance").members.count == 1)
            #expect(try await web.get("/console/groups/\(gid)").html.contains("ann@contoso.example"))
            let again = try await web.post("/console/groups/\(gid)/members", [("csrf", csrf), ("upn", "ann@contoso.example"), ("action", "add")])
            #expect(again.location?.contains("already") == true, "adding a member twice says so")
            let ask = try await web.post("/console/groups/\(gid)/delete", [("csrf", csrf)])
            let left = try await server.admin.groups().count
            #expect(ask.status == 200 && left == 1, "not deleted without confirmation")
            _ = try await web.post("/console/groups/\(gid)/delete", [("csrf", csrf), ("confirmed", "yes")])
            #expect(try await server.admin.groups().isEmpty)
            #expect(try await server.admin.auditEntries(AuditQuery(limit: 10, actor: "console:\(first.upn)", action: "group.")).count == 3)
        }
    }
}

@Suite struct DayOneTokenTests {
    @Test("review 38: a token made with an expiry is refused after it, and the list says so")
    func tokensExpire() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        let short = try await server.admin.createToken(name: "contractor", role: .reader, lifetime: 3600)
        await #expect(throws: AdminError.self) { try await server.admin.createToken(name: "blink", role: .reader, lifetime: 60) }
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in
            let api = API(client: client, token: short.secret)
            let before = try await api.call(.get, "/graph/v1.0/users")
            #expect(before.status == 200)
            clock.advance(by: 3601)
            let after = try await api.call(.get, "/graph/v1.0/users")
            #expect(after.status == 401, "an expired token is refused")
        }
        let used = try #require(try await server.admin.tokens().first { $0.name == "contractor" })
        #expect(used.expiresAt != nil && used.lastUsedAt != nil, "the list says when it expires and when it was last used")
        await server.close()
    }
}

/// Review item 32: the console's refusals speak the console's language, and Review + save reviews before it saves.
@Suite struct DayOneReviewTests {
    @Test("review 32: Review + save shows what changes and saves only when confirmed; refusals name console places, not commands")
    func reviewAndConsoleWording() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            let csrf = try #require(ConsoleClient.csrf(try await web.get("/console/devices/enrollment-restrictions").html))
            let id = try #require(try await server.admin.restrictions(.deviceLimit).last?.id)
            let path = "/console/devices/enrollment-restrictions/\(id)"

            // The first post is the review: what changes, nothing saved yet.
            let review = try await web.post(path, [("csrf", csrf), ("limit", "7")])
            #expect(review.status == 200 && review.html.contains("Review + save: Default"), "\(review.html)")
            #expect(review.html.contains("<td>Device limit</td><td>5</td><td><strong>7</strong></td>"), "\(review.html)")
            #expect(review.html.contains("name=\"reviewed\" value=\"yes\"") && review.html.contains("name=\"limit\" value=\"7\""))
            #expect(try await server.admin.restrictions(.deviceLimit).last?.limit == 5, "the review saved nothing")
            // Save.
            let saved = try await web.post(path, [("csrf", csrf), ("reviewed", "yes"), ("limit", "7")])
            let savedLimit = try await server.admin.restrictions(.deviceLimit).last?.limit
            #expect(saved.status == 303 && savedLimit == 7)
            // The form as saved: nothing to review.
            #expect(try await web.post(path, [("csrf", csrf), ("limit", "7")]).html.contains("Nothing would change"))

            // A group-targeted restriction: an unknown group refuses the whole edit, the limit included, in console words.
            _ = try await server.admin.createGroup("Staff", description: "")
            let custom = try await server.admin.createRestriction(.deviceLimit, name: "Staff devices", limit: 3, groups: ["Staff"])
            let refused = try await web.post("/console/devices/enrollment-restrictions/\(custom.id)",
                                             [("csrf", csrf), ("reviewed", "yes"), ("limit", "9"), ("groups", "Staff\nNo such group"), ("priority", "1")])
            #expect(refused.status == 404 && refused.html.contains("No group No such group. Groups lists them, and New group adds one."), "\(refused.html)")
            #expect(!refused.html.contains("winmdm ") && refused.html.contains("← Back"))
            #expect(try await server.admin.restriction(.deviceLimit, custom.id).limit == 3, "nothing half-saved")

            // Mobility: Some without a group, in the console's words (the review's example).
            let some = try await web.post("/console/mobility", [("csrf", csrf), ("mdm", "some"), ("mdmGroups", "")])
            #expect(some.status == 400 && some.html.contains("Some needs at least one group; pick one, or choose None or All otherwise."), "\(some.html)")
            #expect(!some.html.contains("--group"))
            // The CLI keeps its own wording for the same refusal.
            let cli = try await CLI.run(["mobility", "mdm-scope", "some", "--data-dir", server.dir.path])
            #expect(cli.status == 65 && cli.err.contains("Some needs at least one group; give --group, or use none or all otherwise."), "\(cli.err)")
        }
    }
}
