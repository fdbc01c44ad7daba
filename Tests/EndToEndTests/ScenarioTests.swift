import Foundation
import MDMCore
import MDMStorage
import MDMTesting
import Testing

/// SCENARIOS.md S01–S15, end to end: the cause is set with the real `winmdm` CLI, the emulated device enrolls
/// through the protocol and sees the code, the attempt records the rule, the fix is applied with the CLI, and the
/// next enrollment succeeds.
struct Scenario: @unchecked Sendable {
    let server: TestServer
    let transport: any DeviceTransport

    /// Runs an admin command against the server's data directory; it must succeed.
    @discardableResult
    func admin(_ args: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let r = try await CLI.run(args + ["--data-dir", server.dir.path])
        #expect(r.status == 0, "winmdm \(args.joined(separator: " ")) failed: \(r.err)", sourceLocation: sourceLocation)
        return r.out
    }

    func json(_ args: String...) async throws -> Any {
        let r = try await CLI.run(args + ["--json", "--data-dir", server.dir.path])
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    }

    func device(_ upn: String = "alice@winmdm.test", password: String = "Correct horse 1", edition: Int = 48,
                version: String = "10.0.22631.4460", type: EnrollmentType = .full, hw: String? = nil) -> DeviceProfile {
        var p = DeviceProfile(upn: upn, password: password, osEdition: edition, osVersion: version, enrollmentType: type)
        if let hw { p.hwDevID = hw }
        return p
    }

    @discardableResult
    func succeeds(_ p: DeviceProfile, sourceLocation: SourceLocation = #_sourceLocation) async throws -> EnrolledIdentity? {
        do { return try await WindowsDevice(profile: p, transport: transport).enroll(discoveryURL: server.discoveryURL) } catch {
            Issue.record("enrollment failed: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Enrolls, expects `code`, and returns the recorded attempt after checking its first denial is `rule`.
    @discardableResult
    func fails(_ p: DeviceProfile, code: UInt32, rule: RuleID, mentions: String,
               sourceLocation: SourceLocation = #_sourceLocation) async throws -> EnrollmentAttempt? {
        do {
            _ = try await WindowsDevice(profile: p, transport: transport).enroll(discoveryURL: server.discoveryURL)
            Issue.record("enrollment succeeded; expected \(HResult.format(code)) (\(rule.rawValue))", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.code == HResult.format(code), "\(error)", sourceLocation: sourceLocation)
            guard let trace = error.traceID, let attempt = try await server.store.attempt(id: trace) else {
                Issue.record("no recorded attempt for \(error)", sourceLocation: sourceLocation)
                return nil
            }
            #expect(attempt.denials.first?.rule == rule, "denials: \(attempt.denials.map(\.rule))", sourceLocation: sourceLocation)
            #expect(attempt.denials.first?.reason.contains(mentions) == true, "reason: \(attempt.denials.first?.reason ?? "-")",
                    sourceLocation: sourceLocation)
            #expect(error.message.contains("[rule \(rule.rawValue)]"), sourceLocation: sourceLocation)
            // The administrator's view names the rule too.
            let shown = try await CLI.run(["attempts", "show", trace, "--data-dir", server.dir.path]).out
            #expect(shown.contains("[\(rule.rawValue)]"), sourceLocation: sourceLocation)
            return attempt
        }
    }

    static func run(authPolicy: AuthPolicy = .onPremise, _ body: @escaping @Sendable (Scenario) async throws -> Void) async throws {
        let server = try await TestServer.make(authPolicy: authPolicy)
        try await server.addUser("alice@winmdm.test")
        try await server.inProcess { t in try await body(Scenario(server: server, transport: t)) }
        await server.close()
    }
}

@Suite(.serialized) struct ScenarioTests {
    @Test("S01 device limit: delete a device or raise the limit") func S01_deviceLimit() async throws {
        try await Scenario.run { s in
            var ids: [EnrolledIdentity] = []
            for _ in 1...5 { if let id = try await s.succeeds(s.device()) { ids.append(id) } }
            try await s.fails(s.device(), code: 0x8018_0003, rule: .deviceLimit, mentions: "limit of 5")
            // Fix 1: Users > alice > Devices > select an unused device > Delete.
            try await s.admin("devices", "delete", ids[0].entDMID)
            try await s.succeeds(s.device())
            try await s.fails(s.device(), code: 0x8018_0003, rule: .deviceLimit, mentions: "alice@winmdm.test")
            // Fix 2: Device limit restrictions > Default > Properties > Edit > Device limit (maximum 15).
            try await s.admin("restrictions", "edit", "Default", "--type", "device-limit", "--limit", "15")
            try await s.succeeds(s.device())
        }
    }

    @Test("S02 Windows (MDM) blocked by the device type restriction") func S02_platformBlocked() async throws {
        try await Scenario.run { s in
            try await s.admin("restrictions", "edit", "Default", "--type", "platform", "--windows", "block")
            try await s.fails(s.device(), code: 0x8018_0014, rule: .platformBlocked, mentions: "blocks Windows (MDM)")
            try await s.admin("restrictions", "edit", "Default", "--windows", "allow")
            try await s.succeeds(s.device())
        }
    }

    @Test("S03 Windows Home not allowed") func S03_windowsHome() async throws {
        try await Scenario.run { s in
            try await s.fails(s.device(edition: 101), code: 0x8018_0003, rule: .windowsHome, mentions: "OSEdition 101")
            try await s.succeeds(s.device(edition: 48)) // upgraded to Pro
            try await s.admin("restrictions", "edit", "Default", "--home", "allow")
            try await s.succeeds(s.device(edition: 101))
        }
    }

    @Test("S04 Users may join devices is None") func S04_joinNotAllowed() async throws {
        try await Scenario.run { s in
            try await s.admin("device-settings", "users-may-join", "none")
            try await s.fails(s.device(type: .device), code: 0x8018_0003, rule: .joinNotAllowed, mentions: "is None")
            try await s.admin("device-settings", "users-may-join", "selected", "--group", try s.groupWith("Joiners", "alice@winmdm.test"))
            try await s.succeeds(s.device(type: .device))
        }
    }

    @Test("S05 device already enrolled by another user") func S05_enrolledByOtherUser() async throws {
        try await Scenario.run { s in
            try await s.admin("users", "add", "bob@winmdm.test", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD")
            let hw = DeviceProfile.randomHex(32)
            let bob = try #require(try await s.succeeds(s.device("bob@winmdm.test", hw: hw)))
            try await s.fails(s.device(hw: hw), code: 0x8018_0003, rule: .enrolledByOtherUser, mentions: "bob@winmdm.test")
            try await s.admin("devices", "retire", bob.entDMID)
            try await s.succeeds(s.device(hw: hw))
        }
    }

    @Test("S06 no license with the MDM plan") func S06_noLicense() async throws {
        try await Scenario.run { s in
            try await s.admin("users", "add", "dave@winmdm.test", "--password", "Correct horse 1")
            try await s.fails(s.device("dave@winmdm.test"), code: 0x8018_0018, rule: .noLicense, mentions: "holds no license")
            try await s.admin("licenses", "assign", "dave@winmdm.test", "WINMDM_STANDARD")
            try await s.succeeds(s.device("dave@winmdm.test"))
        }
    }

    @Test("S07 MDM terms of use not reachable") func S07_termsOfUse() async throws {
        try await Scenario.run(authPolicy: .federated) { s in
            try await s.admin("mobility", "urls", "--terms-of-use", "")
            try await s.termsOfUseFails(s.device(), mentions: "blank")
            try await s.admin("mobility", "restore-default-urls")
            try await s.succeeds(s.device())
            // Second cause: a basic-mobility license only.
            try await s.admin("licenses", "add-product", "O365_BASIC", "--plan", "basic-mobility")
            try await s.admin("users", "add", "erin@winmdm.test", "--password", "Correct horse 1", "--license", "O365_BASIC")
            try await s.termsOfUseFails(s.device("erin@winmdm.test"), mentions: "basic-mobility")
            try await s.admin("licenses", "assign", "erin@winmdm.test", "WINMDM_STANDARD")
            try await s.succeeds(s.device("erin@winmdm.test"))
        }
    }

    @Test("S08 bulk enrollment package account may not join") func S08_bulkEnrollment() async throws {
        try await Scenario.run { s in
            let made = try await #require(try s.json("bulk", "create", "Kiosks", "--out", s.server.dir.appendingPathComponent("k.xml").path) as? [String: String])
            let upn = try #require(made["upn"]), secret = try #require(made["secret"])
            let xml = try String(contentsOf: s.server.dir.appendingPathComponent("k.xml"), encoding: .utf8)
            #expect(xml.contains("<UPN UPN=\"\(upn)\">") && xml.contains("<Secret>\(secret)</Secret>"))
            #expect(xml.contains("<DiscoveryServiceFullURL>\(s.server.discoveryURL)</DiscoveryServiceFullURL>"))
            try await s.admin("device-settings", "users-may-join", "none")
            let pkg = s.device(upn, password: secret, type: .device)
            try await s.fails(pkg, code: 0x8018_0003, rule: .joinNotAllowed, mentions: "provisioning package")
            try await s.admin("device-settings", "users-may-join", "selected", "--user", "alice@winmdm.test")
            try await s.admin("device-settings", "add-members", "--user", upn)
            let id = try #require(try await s.succeeds(pkg))
            let e = try #require(try await s.server.store.enrollment(id: id.entDMID))
            #expect(e.kind == .bulk && id.store == "System")
        }
    }

    @Test("S09 UPN suffix not a verified domain") func S09_upnSuffixNotVerified() async throws {
        try await Scenario.run { s in
            try await s.admin("users", "add", "carol@contoso.local", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD")
            try await s.fails(s.device("carol@contoso.local"), code: 0x8018_0015, rule: .upnDomainUnverified, mentions: "contoso.local")
            try await s.admin("users", "set", "carol@contoso.local", "--upn", "carol@winmdm.test")
            try await s.succeeds(s.device("carol@winmdm.test"))
            // The other fix: add and verify the domain.
            try await s.admin("users", "add", "fred@contoso.com", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD")
            try await s.fails(s.device("fred@contoso.com"), code: 0x8018_0015, rule: .upnDomainUnverified, mentions: "not a domain of this tenant")
            try await s.admin("domains", "add", "contoso.com")
            try await s.fails(s.device("fred@contoso.com"), code: 0x8018_0015, rule: .upnDomainUnverified, mentions: "not verified")
            try await s.admin("domains", "verify", "contoso.com")
            try await s.succeeds(s.device("fred@contoso.com"))
        }
    }

    @Test("S10 MDM user scope excludes the user") func S10_mdmUserScope() async throws {
        try await Scenario.run { s in
            try await s.admin("mobility", "mdm-scope", "none")
            try await s.fails(s.device(), code: 0x8018_0015, rule: .mdmScope, mentions: "MDM user scope is None")
            try await s.admin("mobility", "mdm-scope", "some", "--group", try s.groupWith("Staff"))
            try await s.fails(s.device(), code: 0x8018_0015, rule: .mdmScope, mentions: "none of its groups")
            try await s.admin("groups", "add-member", "Staff", "alice@winmdm.test")
            try await s.succeeds(s.device())
        }
    }

    @Test("S11 MAM user scope wins for personal devices") func S11_mamScopeWinsForPersonalDevices() async throws {
        try await Scenario.run { s in
            try await s.admin("mobility", "mam-scope", "all")
            try await s.fails(s.device(), code: 0x8018_0015, rule: .mamScopePrecedence, mentions: "MAM wins")
            try await s.succeeds(s.device(type: .device)) // corporate: MDM wins
            try await s.admin("mobility", "mam-scope", "none")
            try await s.succeeds(s.device())
        }
    }

    @Test("S12 personally owned devices blocked") func S12_personalDevicesBlocked() async throws {
        try await Scenario.run { s in
            try await s.admin("restrictions", "edit", "Default", "--personal", "block")
            try await s.fails(s.device(), code: 0x8018_0014, rule: .personalBlocked, mentions: "personally owned")
            try await s.succeeds(s.device(type: .device)) // enrolled as corporate instead
            try await s.admin("restrictions", "edit", "Default", "--personal", "allow")
            try await s.succeeds(s.device())
        }
    }

    @Test("S13 Windows version outside the allowed range") func S13_osVersionOutOfRange() async throws {
        try await Scenario.run { s in
            try await s.admin("restrictions", "edit", "Default", "--min-version", "10.0.22631")
            try await s.fails(s.device(version: "10.0.19045.2006"), code: 0x8018_0014, rule: .osVersion, mentions: "below the minimum 10.0.22631")
            try await s.succeeds(s.device(version: "10.0.22631.4460")) // Windows updated
            try await s.admin("restrictions", "edit", "Default", "--min-version", "", "--max-version", "10.0.22631.9999")
            try await s.fails(s.device(version: "10.0.26100.2033"), code: 0x8018_0014, rule: .osVersion, mentions: "above the maximum")
            try await s.admin("restrictions", "edit", "Default", "--max-version", "")
            try await s.succeeds(s.device(version: "10.0.26100.2033"))
        }
    }

    @Test("S14 device registration quota reached") func S14_joinQuota() async throws {
        try await Scenario.run { s in
            try await s.admin("device-settings", "quota", "1")
            try await s.succeeds(s.device(type: .device))
            try await s.fails(s.device(type: .device), code: 0x8018_0013, rule: .joinQuota, mentions: "quota of 1")
            try await s.admin("device-settings", "quota", "50")
            try await s.succeeds(s.device(type: .device))
        }
    }

    @Test("S15 maintenance mode") func S15_maintenance() async throws {
        try await Scenario.run { s in
            try await s.admin("maintenance", "on")
            try await s.fails(s.device(), code: 0x8018_0017, rule: .maintenance, mentions: "maintenance mode")
            try await s.admin("maintenance", "off")
            try await s.succeeds(s.device())
        }
    }
}

extension Scenario {
    /// Creates a group with these members and returns its name.
    func groupWith(_ name: String, _ members: String...) async throws -> String {
        try await admin("groups", "create", name)
        if !members.isEmpty { try await admin(["groups", "add-member", name] + members) }
        return name
    }

    @discardableResult
    func admin(_ args: [String]) async throws -> String {
        let r = try await CLI.run(args + ["--data-dir", server.dir.path])
        #expect(r.status == 0, "winmdm \(args.joined(separator: " ")) failed: \(r.err)")
        return r.out
    }

    /// S07: the sign-in page shows the terms-of-use error and issues no token; the sign-in is recorded.
    func termsOfUseFails(_ p: DeviceProfile, mentions: String) async throws {
        do {
            _ = try await WindowsDevice(profile: p, transport: transport).enroll(discoveryURL: server.discoveryURL)
            Issue.record("enrollment succeeded; expected the terms-of-use error")
        } catch {
            #expect(error.phase == .auth && error.message.contains("terms of use"), "\(error)")
            let recorded = try await server.store.attempts(AttemptQuery(limit: 1, failedOnly: true, upn: p.upn)).first
            #expect(recorded?.phase == .auth && recorded?.denials.first?.rule == .termsOfUse)
            #expect(recorded?.denials.first?.reason.contains(mentions) == true, "\(recorded?.denials.first?.reason ?? "-")")
        }
    }
}
