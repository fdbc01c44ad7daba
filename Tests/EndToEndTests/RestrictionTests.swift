import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTesting
import Testing

@Suite struct RestrictionTests {
    /// The device limit holds under concurrency: 64 different devices of one user at once, limit 5.
    @Test func deviceLimitHoldsUnderSixtyFourConcurrentEnrollments() async throws {
        let server = try await TestServer.make()
        try await server.addUser("busy@winmdm.test")
        let results = try await server.inProcess { t in
            await withTaskGroup(of: DeviceFailure?.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        do {
                            _ = try await WindowsDevice(profile: DeviceProfile(upn: "busy@winmdm.test", password: "Correct horse 1"),
                                                        transport: t).enroll(discoveryURL: server.discoveryURL)
                            return nil
                        } catch let failure as DeviceFailure { return failure } catch {
                            return DeviceFailure(hresult: 0, phase: .enroll, message: "\(error)")
                        }
                    }
                }
                var out: [DeviceFailure?] = []
                for await r in group { out.append(r) }
                return out
            }
        }
        let failures = results.compactMap { $0 }
        #expect(results.count - failures.count == 5)
        #expect(failures.count == 59 && failures.allSatisfy { $0.code == "0x80180003" }, "\(Set(failures.map(\.code)))")
        let active = try await server.store.enrollments(upn: "busy@winmdm.test").filter { $0.state == .active }
        #expect(active.count == 5)
        let refused = try await server.store.attempts(AttemptQuery(limit: 500, failedOnly: true, upn: "busy@winmdm.test"))
        #expect(refused.count == 59 && refused.allSatisfy { $0.denials.first?.rule == .deviceLimit })
        await server.close()
    }

    /// A user in several targeted groups gets the restriction with the best priority; the Default otherwise.
    @Test func bestPriorityAmongTheUsersGroupsApplies() async throws {
        let server = try await TestServer.make()
        try await server.addUser("multi@winmdm.test")
        let admin = server.admin
        _ = try await admin.createGroup("Contractors")
        _ = try await admin.createGroup("Engineers")
        for g in ["Contractors", "Engineers"] { _ = try await admin.addMember(group: g, user: "multi@winmdm.test") }
        _ = try await admin.createRestriction(.deviceLimit, name: "One device", limit: 1)
        _ = try await admin.createRestriction(.deviceLimit, name: "Two devices", limit: 2)
        _ = try await admin.assignRestriction(.deviceLimit, "One device", groups: ["Contractors"])
        _ = try await admin.assignRestriction(.deviceLimit, "Two devices", groups: ["Engineers"])
        // Priorities follow creation: "One device" is 1, "Two devices" 2.
        try await server.inProcess { t in
            let p = { DeviceProfile(upn: "multi@winmdm.test", password: "Correct horse 1") }
            _ = try await WindowsDevice(profile: p(), transport: t).enroll(discoveryURL: server.discoveryURL)
            do {
                _ = try await WindowsDevice(profile: p(), transport: t).enroll(discoveryURL: server.discoveryURL)
                Issue.record("the priority-1 restriction (limit 1) did not apply")
            } catch let error as DeviceFailure {
                let a = try await server.store.attempt(id: error.traceID ?? "")
                #expect(a?.denials.first?.reason.contains("\"One device\" (priority 1)") == true)
            }
            _ = try await admin.setPriority(.deviceLimit, "Two devices", priority: 1)
            _ = try await WindowsDevice(profile: p(), transport: t).enroll(discoveryURL: server.discoveryURL)
            _ = try await admin.removeMember(group: "Engineers", user: "multi@winmdm.test")
            _ = try await admin.removeMember(group: "Contractors", user: "multi@winmdm.test")
            // No targeted group left: the Default (5) applies.
            _ = try await WindowsDevice(profile: p(), transport: t).enroll(discoveryURL: server.discoveryURL)
        }
        let list = try await admin.restrictions(.deviceLimit)
        #expect(list.map(\.displayName) == ["Two devices", "One device", "All users and all devices"])
        #expect(list.map(\.priority) == [1, 2, 0])
        await server.close()
    }

    /// V02: a device limit outside 1…15 is refused, saying what is accepted, and nothing changes.
    @Test("V02 device limit outside 1...15 is refused", arguments: [0, -1, 16, 100])
    func V02_deviceLimitOutsideOneToFifteen(_ limit: Int) async throws {
        let server = try await TestServer.make()
        await #expect(throws: AdminError.self) {
            try await server.admin.editRestriction(.deviceLimit, "Default", limit: limit)
        }
        do { _ = try await server.admin.editRestriction(.deviceLimit, "Default", limit: limit) } catch let e as AdminError {
            #expect(e.message.contains("between 1 and 15"))
        }
        await #expect(throws: AdminError.self) { try await server.admin.createRestriction(.deviceLimit, name: "X", limit: limit) }
        let cli = try await CLI.run(["restrictions", "edit", "Default", "--type", "device-limit", "--limit=\(limit)", "--data-dir", server.dir.path])
        #expect(cli.status != 0 && cli.err.contains("between 1 and 15"), "\(cli.err)")
        #expect(try await server.admin.restriction(.deviceLimit, "Default").limit == 5)
        #expect(try await server.admin.restrictions(.deviceLimit).count == 1)
        await server.close()
    }

    @Test func everyAdminChangeIsAudited() async throws {
        let server = try await TestServer.make()
        let dir = server.dir.path
        try await CLI.run(["restrictions", "edit", "Default", "--type", "device-limit", "--limit", "9", "--data-dir", dir])
        try await CLI.run(["maintenance", "on", "--data-dir", dir])
        let out = try await CLI.run(["audit", "list", "--json", "--data-dir", dir]).out
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]])
        #expect(entries.first?["action"] as? String == "tenant.maintenance")
        let edit = try #require(entries.first { $0["action"] as? String == "restriction.update" })
        #expect((edit["actor"] as? String)?.hasPrefix("cli:") == true)
        // Before and after are objects for scripts, and the changed fields are listed (review item 11).
        #expect((edit["before"] as? [String: Any])?["restrictions"] is [Any], "the restrictions are part of the tenant settings")
        let changes = try #require(edit["changes"] as? [[String: Any]])
        #expect(changes.contains { ($0["field"] as? String)?.hasSuffix("_DefaultLimit].limit") == true && $0["before"] as? String == "5" && $0["after"] as? String == "9" },
                "\(changes)")
        // The text shows the one field a one-field change of the whole tenant made, not the whole settings.
        let text = try await CLI.run(["audit", "list", "--limit", "1", "--data-dir", dir]).out
        #expect(text.split(separator: "\n").map(String.init) == [String(text.prefix { $0 != "\n" }), "  maintenance: false → true"], "\(text)")
        // Filters: by actor, target, action and time.
        #expect(try await CLI.run(["audit", "list", "--action", "restriction.", "--data-dir", dir]).out.contains("restriction.update"))
        #expect(!(try await CLI.run(["audit", "list", "--action", "restriction.", "--data-dir", dir]).out.contains("tenant.maintenance")))
        #expect(try await CLI.run(["audit", "list", "--actor", "console:", "--data-dir", dir]).out == "No changes match.\n")
        #expect(try await CLI.run(["audit", "list", "--target", "ALL USERS", "--since", "1h", "--data-dir", dir]).out.contains("restriction.update"))
        // A refused change writes nothing.
        try await CLI.run(["restrictions", "edit", "Default", "--type", "device-limit", "--limit", "99", "--data-dir", dir])
        #expect(try await server.store.auditEntries(limit: 100).count == entries.count)
        await server.close()
    }
}

/// V01: Autopilot device name templates; every broken rule is listed, and the preview cuts serials from the front.
@Suite struct DeviceNameTemplateTests {
    @Test("V01 valid templates and their preview", arguments: [
        ("CONTOSO-%SERIAL%", "PF3X9K2L7Q8R", "CONTOSO-K2L7Q8R"),
        ("MYPC-%RAND:6%", "ANY", nil),
        ("Test-Device-%SERIAL%", "123456", "Test-Device-456"),
        ("%SERIAL%", "SERIAL12345678901234", "L12345678901234"),
        ("KIOSK-01", "x", "KIOSK-01"),
        ("A%RAND:14%", "x", nil),
    ] as [(String, String, String?)])
    func V01_validTemplates(_ template: String, _ serial: String, _ expected: String?) throws {
        let t = try DeviceNameTemplate(template)
        let name = t.expand(serial: serial, random: { 7 })
        #expect(name.count <= 15)
        if let expected { #expect(name == expected) } else { #expect(name.contains("7")) }
    }

    @Test("V01 invalid templates list every broken rule", arguments: [
        ("contoso-%serial%", ["upper case"]),
        ("MY PC-%SERIAL%", ["spaces"]),
        ("ABCDEFGHIJ-%RAND:6%", ["17 characters"]),
        ("%RAND:5%", ["all digits"]),
        ("12345", ["all digits"]),
        ("PC_%SERIAL%", ["'_'"]),
        ("%SERIAL%-%RAND:3%", ["at most one macro"]),
        ("ABCDEFGHIJKLMNO%SERIAL%", ["no room"]),
        ("%RAND:x%", ["needs a number"]),
        ("PC-%NAME%", ["not a macro"]),
        ("My PC %serial%!", ["upper case", "spaces", "'!'"]),
        ("ABCDEFGHIJKLMNOPQ", ["17 characters"]),
        ("", ["empty"]),
    ] as [(String, [String])])
    func V01_invalidTemplatesListEveryBrokenRule(_ template: String, _ mentions: [String]) {
        do {
            _ = try DeviceNameTemplate(template)
            Issue.record("\(template) accepted")
        } catch {
            for m in mentions { #expect(error.problems.contains { $0.contains(m) }, "\(template): \(error.problems)") }
            #expect(error.problems.count >= mentions.count)
        }
    }

    @Test func V01_autopilotProfileCreationRefusesABadTemplate() async throws {
        let server = try await TestServer.make()
        await #expect(throws: AdminError.self) {
            try await server.admin.createAutopilotProfile(name: "Bad", joinType: .entra, template: "pc-%serial%", groups: [])
        }
        let cli = try await CLI.run(["autopilot", "create", "--name", "Bad", "--template", "MY PC-%serial%", "--data-dir", server.dir.path])
        #expect(cli.status != 0)
        #expect(cli.err.contains("An error occurred while creating Autopilot profile") && cli.err.contains("upper case") && cli.err.contains("spaces"))
        let preview = try await CLI.run(["autopilot", "preview", "CONTOSO-%SERIAL%", "--serial", "PF3X9K2L7Q8R"])
        #expect(preview.out.contains("would be named CONTOSO-K2L7Q8R"))
        let ok = try await CLI.run(["autopilot", "create", "--name", "Good", "--template", "CONTOSO-%SERIAL%", "--data-dir", server.dir.path])
        #expect(ok.status == 0)
        #expect(try await server.admin.autopilotProfiles().map(\.displayName) == ["Good"])
        await server.close()
    }
}
