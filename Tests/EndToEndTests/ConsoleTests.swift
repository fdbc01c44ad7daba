import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMServer
import MDMService
import MDMTesting
import Testing

/// A browser-less console client: keeps the session cookie and the page's CSRF token.
final class ConsoleClient: @unchecked Sendable {
    let client: any TestClientProtocol
    var cookie: String?

    init(_ client: any TestClientProtocol) { self.client = client }

    struct Page { var status: Int; var html: String; var location: String? }

    func get(_ path: String) async throws -> Page {
        var h = HTTPFields()
        if let cookie { h[.cookie] = "winmdm_session=\(cookie)" }
        let r = try await client.execute(uri: path, method: .get, headers: h)
        return Page(status: Int(r.status.code), html: String(buffer: r.body), location: r.headers[.location])
    }

    func post(_ path: String, _ fields: [(String, String)]) async throws -> Page {
        var h = HTTPFields()
        if let cookie { h[.cookie] = "winmdm_session=\(cookie)" }
        h[.contentType] = "application/x-www-form-urlencoded"
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        let r = try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(string: body))
        if let set = r.headers[.setCookie], let v = set.split(separator: ";").first?.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).last {
            cookie = v.isEmpty ? nil : String(v)
        }
        return Page(status: Int(r.status.code), html: String(buffer: r.body), location: r.headers[.location])
    }

    /// A multipart form with one file, as a browser uploads it.
    func upload(_ path: String, _ fields: [(String, String)], file: (name: String, filename: String, bytes: [UInt8])) async throws -> Page {
        let boundary = "----winmdmTest\(UUID().uuidString.prefix(8))"
        var body: [UInt8] = []
        for (k, v) in fields { body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(k)\"\r\n\r\n\(v)\r\n".utf8) }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
        body += file.bytes + Array("\r\n--\(boundary)--\r\n".utf8)
        var h = HTTPFields()
        if let cookie { h[.cookie] = "winmdm_session=\(cookie)" }
        h[.contentType] = "multipart/form-data; boundary=\(boundary)"
        let r = try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(bytes: body))
        return Page(status: Int(r.status.code), html: String(buffer: r.body), location: r.headers[.location])
    }

    /// The CSRF token from a page's forms.
    static func csrf(_ html: String) -> String? {
        guard let r = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    func signIn(_ upn: String, _ password: String) async throws -> Page {
        try await post("/console/login", [("username", upn), ("password", password)])
    }
}

@Suite struct ConsoleTests {
    static func run(_ body: @escaping @Sendable (ConsoleClient, TestServer) async throws -> Void) async throws {
        let server = try await TestServer.make()
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in try await body(ConsoleClient(client), server) }
        await server.close()
    }

    @Test func initialAdministratorSignsInAndOut() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            #expect(try await server.admin.createInitialAdministrator() == nil, "only once")
            #expect(try await web.get("/console/users").location == "/console/login")
            let wrong = try await web.signIn(first.upn, "wrong password")
            #expect(wrong.status == 401 && wrong.html.contains("wrong") && web.cookie == nil)
            try await server.addUser("plain@winmdm.test")
            #expect(try await web.signIn("plain@winmdm.test", "Correct horse 1").status == 401, "users without a console role are refused")
            let ok = try await web.signIn(first.upn, first.password)
            #expect(ok.status == 303 && ok.location == "/console/home" && web.cookie != nil)
            let users = try await web.get("/console/users")
            #expect(users.status == 200 && users.html.contains("Users › All users") && users.html.contains(first.upn))
            let out = try await web.post("/console/logout", [("csrf", ConsoleClient.csrf(users.html)!)])
            #expect(out.location == "/console/login" && web.cookie == nil)
            #expect(try await web.get("/console/users").location == "/console/login")
        }
    }

    @Test func raiseTheDeviceLimitFollowingTheSeedsSteps() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            // Devices > Enrollment restrictions > Default (Device limit restrictions) > Properties > Edit.
            let list = try await web.get("/console/devices/enrollment-restrictions")
            #expect(list.html.contains("Device limit restrictions") && list.html.contains("Device type restrictions"))
            let id = try await server.admin.restriction(.deviceLimit, "Default").id
            let props = try await web.get("/console/devices/enrollment-restrictions/\(id)")
            #expect(props.html.contains("Device limit (maximum 15)"))
            let csrf = try #require(ConsoleClient.csrf(props.html))
            let tooMany = try await web.post("/console/devices/enrollment-restrictions/\(id)", [("csrf", csrf), ("limit", "16")])
            #expect(tooMany.status == 400 && tooMany.html.contains("between 1 and 15"))
            // Review + save: the first post shows the change, the reviewed one saves it.
            let review = try await web.post("/console/devices/enrollment-restrictions/\(id)", [("csrf", csrf), ("limit", "12")])
            #expect(review.status == 200 && review.html.contains("<strong>12</strong>"))
            #expect(try await server.admin.restriction(.deviceLimit, "Default").limit == 5)
            let saved = try await web.post("/console/devices/enrollment-restrictions/\(id)", [("csrf", csrf), ("reviewed", "yes"), ("limit", "12")])
            #expect(saved.status == 303)
            #expect(try await server.admin.restriction(.deviceLimit, "Default").limit == 12)
            #expect(try await server.store.auditEntries(limit: 1).first?.actor == "console:\(first.upn)")
            // A group-targeted restriction, created, assigned and re-prioritised from the console.
            _ = try await server.admin.createGroup("Contractors")
            _ = try await server.admin.createRestriction(.deviceLimit, name: "First", limit: 3)
            let made = try await web.post("/console/devices/enrollment-restrictions/create",
                                          [("csrf", csrf), ("type", "device-limit"), ("name", "Contractors"), ("limit", "2"), ("groups", "Contractors")])
            #expect(made.location?.contains("priority%202") == true, "\(made.location ?? "-")")
            let created = try await server.admin.restriction(.deviceLimit, "Contractors")
            #expect(created.limit == 2 && created.priority == 2 && created.assignedGroups.count == 1)
            _ = try await web.post("/console/devices/enrollment-restrictions/\(created.id)", [("csrf", csrf), ("reviewed", "yes"), ("limit", "2"), ("groups", "Contractors"), ("priority", "1")])
            #expect(try await server.admin.restriction(.deviceLimit, "Contractors").priority == 1)
            #expect(try await server.admin.restriction(.deviceLimit, "First").priority == 2)
        }
    }

    @Test func deleteAUsersDeviceFollowingTheSeedsSteps() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            try await server.addUser("owner@winmdm.test")
            let id = try await server.inProcess { t in
                try await WindowsDevice(profile: DeviceProfile(upn: "owner@winmdm.test", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
            }
            _ = try await web.signIn(first.upn, first.password)
            // Users > All users > the user > Devices: select, Delete.
            let page = try await web.get("/console/users/owner@winmdm.test")
            #expect(page.html.contains("value=\"\(id.entDMID)\""))
            // Delete first names the devices and says what it does; nothing is deleted until that is confirmed.
            let ask = try await web.post("/console/users/owner@winmdm.test/devices/delete",
                                         [("csrf", ConsoleClient.csrf(page.html)!), ("device", id.entDMID)])
            #expect(ask.status == 200 && ask.html.contains("Delete 1 device(s) of owner@winmdm.test?"))
            #expect(try await server.store.enrollment(id: id.entDMID) != nil)
            let done = try await web.post("/console/users/owner@winmdm.test/devices/delete",
                                          [("csrf", ConsoleClient.csrf(page.html)!), ("device", id.entDMID), ("confirmed", "yes")])
            #expect(done.status == 303 && done.location?.contains("Deleted") == true)
            #expect(try await server.store.enrollment(id: id.entDMID) == nil)
            // Devices > Windows > Windows devices > Unassign user.
            let again = try await server.inProcess { t in
                try await WindowsDevice(profile: DeviceProfile(upn: "owner@winmdm.test", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
            }
            let list = try await web.get("/console/devices/windows")
            #expect(list.html.contains("Unassign user") && list.html.contains("no policy"))
            // A compliance policy the device cannot meet: its state and reason show in the list.
            _ = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Future", osMinimumVersion: "10.0.99999", createdAt: Date()))
            _ = try await server.admin.assignCompliancePolicy("Future", to: "all-users")
            let judged = try await web.get("/console/devices/windows").html
            #expect(judged.contains("nonCompliant") && judged.contains("Future: "), "\(judged)")
            #expect(try await web.get("/console/devices/windows/compliance").html.contains("Windows 10.0.99999 or later"))
            _ = try await server.admin.deleteCompliancePolicy("Future")
            _ = try await web.post("/console/devices/windows/\(again.entDMID)", [("csrf", ConsoleClient.csrf(list.html)!), ("action", "unassign")])
            let e = try #require(try await server.store.enrollment(id: again.entDMID))
            #expect(e.primaryUser == nil && e.state == .active && !e.countsTowardDeviceLimit)
            #expect(try await web.get("/console/devices/windows").html.contains("none (enrolled by owner@winmdm.test)"))
            // Sync and Restart queue commands for the next check-in.
            let again2 = try await web.get("/console/devices/windows")
            let synced = try await web.post("/console/devices/windows/\(again.entDMID)", [("csrf", ConsoleClient.csrf(again2.html)!), ("action", "sync")])
            #expect(synced.status == 303 && synced.location?.contains("Sync%20queued") == true)
            // Without push the console says when the device is expected, instead of pretending it is immediate.
            #expect(synced.location?.contains("expected%20by") == true, "\(synced.location ?? "")")
            _ = try await web.post("/console/devices/windows/\(again.entDMID)", [("csrf", ConsoleClient.csrf(again2.html)!), ("action", "reboot")])
            let kinds = try await server.store.queuedCommands(enrollmentID: again.entDMID).map(\.kind)
            #expect(kinds == Array(repeating: "inventory", count: 7) + ["reboot"], "\(kinds)")
        }
    }

    @Test func formsWithoutTheCSRFTokenOrTheRightRoleChangeNothing() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            let id = try await server.admin.restriction(.deviceLimit, "Default").id
            let missing = try await web.post("/console/devices/enrollment-restrictions/\(id)", [("limit", "9")])
            #expect(missing.status == 403)
            let forged = try await web.post("/console/devices/enrollment-restrictions/\(id)", [("csrf", "forged"), ("limit", "9")])
            #expect(forged.status == 403)
            #expect(try await server.admin.restriction(.deviceLimit, "Default").limit == 5)
            // A reader may look but not change.
            try await server.addUser("viewer@winmdm.test")
            _ = try await server.admin.setAdminRole("viewer@winmdm.test", .reader)
            let reader = ConsoleClient(web.client)
            _ = try await reader.signIn("viewer@winmdm.test", "Correct horse 1")
            let settings = try await reader.get("/console/devices/device-settings")
            #expect(settings.status == 200)
            let refused = try await reader.post("/console/devices/device-settings", [("csrf", ConsoleClient.csrf(settings.html)!), ("join", "none")])
            #expect(refused.status == 403)
            #expect(try await server.admin.settings().joinPolicy.kind == .all)
            // The last administrator cannot lose the role.
            await #expect(throws: AdminError.self) { try await server.admin.setAdminRole(first.upn, nil) }
        }
    }

    @Test func maintenanceDomainsAndUPNFromTheConsole() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            _ = try await server.admin.setMaintenance(true)
            let tenant = try await web.get("/console/tenant")
            #expect(tenant.html.contains("End maintenance"))
            let csrf = try #require(ConsoleClient.csrf(tenant.html))
            #expect(try await web.post("/console/tenant/maintenance", [("csrf", csrf), ("maintenance", "off")]).status == 303)
            #expect(try await server.admin.settings().maintenance == false)
            _ = try await web.post("/console/tenant/domains", [("csrf", csrf), ("domain", "contoso.com")])
            _ = try await web.post("/console/tenant/domains/verify", [("csrf", csrf), ("domain", "contoso.com")])
            #expect(try await server.admin.settings().domain(named: "contoso.com")?.isVerified == true)
            try await server.addUser("carol@contoso.local")
            let moved = try await web.post("/console/users/carol@contoso.local/properties", [("csrf", csrf), ("newUPN", "carol@contoso.com"), ("displayName", "Carol")])
            #expect(moved.location?.hasPrefix("/console/users/carol@contoso.com") == true)
            #expect(try await server.admin.user("carol@contoso.com").displayName == "Carol")
        }
    }

    @Test func theDeviceAndUserListsPage() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            try await server.addUser("many@winmdm.test")
            let now = Date()
            let devices = (0..<105).map { n in
                Enrollment(upn: "many@winmdm.test", deviceID: "MANY\(n)", hwDevID: "HW-MANY\(n)", deviceName: String(format: "MANY-%03d", n),
                           enrollmentType: .full, osEdition: 48, osVersion: "10.0.26100.1", certificateSerial: "0\(n)",
                           certificateThumbprint: "MANY\(n)", certificateNotAfter: now.addingTimeInterval(86400), enrolledAt: now.addingTimeInterval(Double(n)))
            }
            try await server.store.insertEnrollments(devices)
            _ = try await web.signIn(first.upn, first.password)
            let one = try await web.get("/console/devices/windows")
            #expect(one.html.contains("MANY-000") && one.html.contains("MANY-099") && !one.html.contains("MANY-100"))
            let next = try #require(one.html.range(of: "<a href=\"/console/devices/windows?after=").map { one.html[$0.lowerBound...] })
            let href = String(next.dropFirst("<a href=\"".count).prefix { $0 != "\"" })
            let two = try await web.get(href)
            #expect(two.html.contains("MANY-100") && two.html.contains("MANY-104") && !two.html.contains("MANY-099") && !two.html.contains("Next page"))
            // Users show their active device count from one grouped query.
            let users = try await web.get("/console/users")
            #expect(users.html.contains("<td>105</td>") && !users.html.contains("Next page"), "\(users.html)")
        }
    }

    @Test func everyPageRendersWithTheSeedsLabels() async throws {
        try await Self.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            try await server.addUser("nolic@winmdm.test", licensed: false)
            _ = try? await server.inProcess { t in
                try await WindowsDevice(profile: DeviceProfile(upn: "nolic@winmdm.test", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
            }
            _ = try await web.signIn(first.upn, first.password)
            let pages: [(String, [String])] = [
                ("/console/devices/device-settings", ["Users may join devices", "Maximum number of devices per user"]),
                ("/console/mobility", ["MDM user scope", "MAM user scope", "Restore default MDM URLs", "MDM terms of use URL"]),
                ("/console/devices/windows", ["Windows devices"]),
                ("/console/devices/windows/autopilot", ["Autopilot deployment profiles", "Apply device name template"]),
                ("/console/troubleshooting", ["Troubleshooting + support", "nolic@winmdm.test", "0x80180018", "<svg", ">Fix…<"]),
            ]
            for (path, labels) in pages {
                let p = try await web.get(path)
                #expect(p.status == 200, "\(path)")
                for l in labels { #expect(p.html.contains(l), "\(path) lacks \(l)") }
            }
            let tpl = try await web.get("/console/devices/windows/autopilot")
            let bad = try await web.post("/console/devices/windows/autopilot", [("csrf", ConsoleClient.csrf(tpl.html)!), ("template", "my pc %serial%"), ("serial", "X1"), ("action", "preview")])
            #expect(bad.html.contains("upper case") && bad.html.contains("spaces"))
            let explain = try await web.post("/console/troubleshooting/explain", [("csrf", ConsoleClient.csrf(tpl.html)!), ("text", "not authorised to enrol <script>")])
            #expect(explain.html.contains("The user is not authorized to enroll") && !explain.html.contains("<script>"))
            // Fix…: a page says what each fix changes (narrowest first) before anything changes; the chosen one assigns
            // the license through AdminService, and the failure is then marked resolved (review item 6).
            let attempt = try #require(try await server.store.attempts(.init(limit: 1, failedOnly: true)).first)
            let offer = try await web.get("/console/troubleshooting/fix?attempt=\(attempt.id)")
            #expect(offer.html.contains("Assign the WINMDM_STANDARD license") && offer.html.contains("This changes this user only."), "\(offer.html)")
            #expect(try await server.admin.user("nolic@winmdm.test").assignedLicenses.isEmpty, "looking changes nothing")
            let fixID = try #require(offer.html.range(of: "name=\"fix\" value=\"").map { String(offer.html[$0.upperBound...].prefix { $0 != "\"" }) })
            let wrong = try await web.post("/console/troubleshooting/fix", [("csrf", ConsoleClient.csrf(offer.html)!), ("attempt", attempt.id), ("fix", "nonsense")])
            #expect(wrong.status == 400 && wrong.html.contains("no longer applies"))
            let fixed = try await web.post("/console/troubleshooting/fix", [("csrf", ConsoleClient.csrf(offer.html)!), ("attempt", attempt.id),
                                                                            ("fix", fixID.replacingOccurrences(of: "&#39;", with: "'"))])
            #expect(fixed.location?.contains("Applied") == true, "\(fixed.status) \(fixed.html)")
            #expect(try await server.admin.user("nolic@winmdm.test").assignedLicenses.count == 1)
            let after = try await web.get("/console/troubleshooting").html
            #expect(after.contains("Resolved by \(first.upn)") && !after.contains(">Fix…<"), "\(after)")
        }
    }
}
