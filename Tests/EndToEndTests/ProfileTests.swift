import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// Configuration profiles end to end: an administrator assigns settings to a group; emulated Windows devices enroll
/// and check in over HTTPS with their certificates; what each device was sent and answered is its status.
@Suite struct ProfileTests {
    static let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
    static let browserSync = "./Device/Vendor/MSFT/Policy/Config/Experience/DoNotSyncBrowserSettings"
    static let realtime = "./Device/Vendor/MSFT/Policy/Config/Defender/AllowRealtimeMonitoring"

    static func sent(_ log: ManagementSessionLog) -> [String] {
        log.executed.filter { $0.command.name != "Alert" && $0.command.name != "Get" }
            .map { "\($0.command.name) \($0.command.items.first?.target ?? "")" }
    }

    @Test("assigned to a group: delivered, refused with its code, changed, removed, conflicts resolved by age")
    func profileLifecycleOverTheRealProtocol() async throws {
        let server = try await TestServer.make()
        let alice = try await server.addUser("alice@winmdm.test")
        _ = try await server.addUser("bob@winmdm.test")
        _ = try await server.admin.createGroup("Finance")
        let finance = try await server.admin.addMember(group: "Finance", user: alice.upn)
        // The profile exists before any device: assigning it queues nothing, it raises one revision.
        let before = try await server.store.profilesRevision()
        _ = try await server.admin.createConfigurationProfile(name: "Lockdown", settings: [
            OMASetting(name: "No camera", locURI: Self.camera, format: "int", value: "0"),
            OMASetting(locURI: Self.browserSync, format: "int", value: "2"),
        ])
        _ = try await server.admin.assignProfile("Lockdown", to: finance.displayName)
        #expect(try await server.store.profilesRevision() == before + 2)
        #expect(try await server.store.rowCounts()["commands"] == 0)

        try await server.live { t in
            var aliceProfile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            aliceProfile.refusedNodes = [Self.browserSync: "405"]  // Pro lacks this policy, as Windows answers it
            let aliceDevice = WindowsDevice(profile: aliceProfile, transport: t)
            let bobDevice = WindowsDevice(profile: DeviceProfile(upn: "bob@winmdm.test", password: "Correct horse 1"), transport: t)
            let a = try await aliceDevice.enroll(discoveryURL: server.discoveryURL)
            let b = try await bobDevice.enroll(discoveryURL: server.discoveryURL)
            let aTLS = try server.mutualTLS(a), bTLS = try server.mutualTLS(b)

            // Alice is in Finance: her device gets both settings at its first session; one is refused with 405.
            let first = try await aliceDevice.manage(a, transport: aTLS)
            #expect(Self.sent(first).sorted() == ["Replace \(Self.browserSync)", "Replace \(Self.camera)"].sorted())
            var states = try await server.admin.deviceProfileStates(enrollmentID: a.entDMID)
            var lockdown = try #require(states.first)
            #expect(lockdown.state == .failed && lockdown.version == 1)
            #expect(lockdown.settings.first { $0.locURI == Self.camera }?.state == .succeeded)
            let refused = try #require(lockdown.settings.first { $0.locURI == Self.browserSync })
            #expect(refused.state == .failed && refused.status == "405")
            #expect(OMAStatus.meaning("405").contains("edition") && OMAStatus.hresult("405") == "0x87D10195")
            // Bob is not in the group: nothing for him.
            let bobFirst = try await bobDevice.manage(b, transport: bTLS)
            #expect(Self.sent(bobFirst).isEmpty)
            #expect(try await server.admin.deviceProfileStates(enrollmentID: b.entDMID).isEmpty)

            // Nothing changed: the next session sends nothing again (the refused one waits for a new version).
            #expect(Self.sent(try await aliceDevice.manage(a, transport: aTLS, sessionID: "2")).isEmpty)

            // Fix the profile: drop the refused setting (nothing to delete: the device never took it), change the
            // camera value and add one: only what changed travels.
            _ = try await server.admin.removeProfileSetting("Lockdown", locURI: Self.browserSync)
            _ = try await server.admin.setProfileSetting("Lockdown", OMASetting(locURI: Self.camera, format: "int", value: "1"))
            _ = try await server.admin.setProfileSetting("Lockdown", OMASetting(locURI: Self.realtime, format: "int", value: "1"))
            let third = try await aliceDevice.manage(a, transport: aTLS, sessionID: "3")
            #expect(Self.sent(third).sorted() == ["Replace \(Self.camera)", "Replace \(Self.realtime)"].sorted())
            lockdown = try #require(try await server.admin.deviceProfileStates(enrollmentID: a.entDMID).first)
            #expect(lockdown.state == .succeeded && lockdown.version == 4)
            #expect(lockdown.settings.map(\.locURI).sorted() == [Self.camera, Self.realtime])

            // A newer profile for everyone sets the camera the other way: it loses on Alice's device (Lockdown is
            // older) and wins on Bob's, where nothing else sets it.
            _ = try await server.admin.createConfigurationProfile(name: "Camera on", settings: [OMASetting(locURI: Self.camera, format: "int", value: "1")])
            _ = try await server.admin.setProfileSetting("Camera on", OMASetting(locURI: Self.camera, format: "int", value: "0"))
            _ = try await server.admin.assignProfile("Camera on", to: "all-users")
            let conflicts = try await server.admin.profileConflicts()
            #expect(conflicts.count == 1 && conflicts.first?.winnerName == "Lockdown" && conflicts.first?.loserName == "Camera on")
            #expect(Self.sent(try await aliceDevice.manage(a, transport: aTLS, sessionID: "4")).isEmpty)
            states = try await server.admin.deviceProfileStates(enrollmentID: a.entDMID)
            #expect(states.first { $0.profileName == "Camera on" }?.state == .conflict)
            #expect(Self.sent(try await bobDevice.manage(b, transport: bTLS, sessionID: "2")) == ["Replace \(Self.camera)"])
            #expect(try await server.admin.deviceProfileStates(enrollmentID: b.entDMID).first?.state == .succeeded)

            // Alice leaves Finance: Lockdown no longer applies. Its realtime node is deleted; the camera node now
            // belongs to "Camera on", which sends its own value instead of deleting it.
            _ = try await server.admin.removeMember(group: finance.displayName, user: alice.upn)
            let fifth = try await aliceDevice.manage(a, transport: aTLS, sessionID: "5")
            #expect(Self.sent(fifth).sorted() == ["Delete \(Self.realtime)", "Replace \(Self.camera)"].sorted())
            states = try await server.admin.deviceProfileStates(enrollmentID: a.entDMID)
            #expect(states.map(\.profileName) == ["Camera on"] && states.first?.state == .succeeded,
                    "the removal finished, so Lockdown's state is gone: \(states)")

            // Deleting the last profile deletes what it set.
            _ = try await server.admin.deleteConfigurationProfile("Camera on")
            #expect(Self.sent(try await bobDevice.manage(b, transport: bTLS, sessionID: "3")) == ["Delete \(Self.camera)"])
            #expect(try await server.admin.deviceProfileStates(enrollmentID: b.entDMID).isEmpty)
            try await aTLS.shutdown()
            try await bTLS.shutdown()
        }
        await server.close()
    }

    @Test("a CSP that keeps its value on Delete is reported, not hidden")
    func tattooedSettingIsReported() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("carol@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Firewall", settings: [
            OMASetting(locURI: "./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall", format: "bool", value: "true"),
        ])
        _ = try await server.admin.assignProfile("Firewall", to: "all-devices")
        try await server.live { t in
            let device = WindowsDevice(profile: DeviceProfile(upn: "carol@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            _ = try await device.manage(id, transport: tls)
            #expect(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first?.state == .succeeded)
            // The Firewall CSP accepts only Replace: a Delete is refused and the value stays on the device.
            var keeps = device
            keeps.profile.refusedNodes = ["./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall": "405"]
            _ = try await server.admin.unassignProfile("Firewall", from: "all-devices")
            _ = try await keeps.manage(id, transport: tls, sessionID: "2")
            let s = try #require(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first)
            #expect(s.state == .removed && !s.assigned && s.settings.first?.state == .remains && s.settings.first?.status == "405")
            try await tls.shutdown()
        }
        await server.close()
    }

    @Test func badSettingsAreRefusedWithWhatIsAccepted() async throws {
        let server = try await TestServer.make()
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.createConfigurationProfile(name: "x", settings: [OMASetting(locURI: "Policy/Camera", format: "int", value: "0")])
        }
        _ = try await server.admin.createConfigurationProfile(name: "Good")
        do {
            _ = try await server.admin.setProfileSetting("Good", OMASetting(locURI: Self.camera, format: "int", value: "off"))
            Issue.record("an int setting took 'off'")
        } catch let e as AdminError { #expect(e.message.contains("not an integer")) }
        do {
            _ = try await server.admin.setProfileSetting("Good", OMASetting(locURI: Self.camera, format: "integer", value: "0"))
            Issue.record("an unknown format was taken")
        } catch let e as AdminError { #expect(e.message.contains("int, xml") || e.message.contains("b64, bool, chr")) }
        do {
            _ = try await server.admin.assignProfile("Good", to: "No such group")
            Issue.record("assigned to a missing group")
        } catch let e as AdminError { #expect(!e.message.isEmpty) }
        // A refused change leaves no trace: still version 1, nothing assigned, no audit entry for it.
        let p = try await server.admin.configurationProfile("good")
        #expect(p.version == 1 && p.settings.isEmpty && p.assignments.isEmpty)
        await #expect(throws: AdminError.self) { _ = try await server.admin.createConfigurationProfile(name: "GOOD") }
        await server.close()
    }
}

/// The same through Graph: `deviceConfigurations` of type windows10CustomConfiguration, `assign`, `deviceStatuses`
/// and `deviceStatusOverview`, with a device applying it over HTTPS in between.
@Suite struct ProfileGraphTests {
    @Test func deviceConfigurationsAssignAndStatuses() async throws {
        try await API.run { api, server in
            _ = try await server.addUser("gina@winmdm.test")
            let group = try await server.admin.createGroup("Sales")
            _ = try await server.admin.addMember(group: "Sales", user: "gina@winmdm.test")
            let body: [String: Any] = [
                "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Kiosk", "description": "front desk",
                "omaSettings": [
                    ["@odata.type": "#microsoft.graph.omaSettingInteger", "displayName": "No camera", "omaUri": ProfileTests.camera, "value": 0],
                    ["@odata.type": "#microsoft.graph.omaSettingBoolean", "displayName": "x", "omaUri": "./Vendor/MSFT/Firewall/MdmStore/DomainProfile/EnableFirewall", "value": true],
                ],
            ]
            let created = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceConfigurations", body)
            #expect(created.status == 201, "\(created.raw)")
            let id = try #require(created.json["id"] as? String)
            let oma = try #require(created.json["omaSettings"] as? [[String: Any]])
            #expect(oma.first?["@odata.type"] as? String == "#microsoft.graph.omaSettingInteger" && oma.first?["value"] as? Int == 0)
            #expect(created.json["@odata.type"] as? String == "#microsoft.graph.windows10CustomConfiguration" && created.json["version"] as? Int == 1)
            // A value that does not fit its type is refused and nothing is created.
            var wrong = body
            wrong["displayName"] = "Wrong"
            wrong["omaSettings"] = [["@odata.type": "#microsoft.graph.omaSettingInteger", "omaUri": ProfileTests.camera, "value": "zero"]]
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/deviceConfigurations", wrong).status == 400)
            #expect(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations").value.count == 1)

            let assign = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)/assign",
                                            ["assignments": [["target": ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group.id]]]])
            #expect(assign.status == 200, "\(assign.raw)")
            let assignments = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)/assignments")
            #expect((assignments.value.first?["target"] as? [String: Any])?["groupId"] as? String == group.id)

            try await server.live { t in
                let device = WindowsDevice(profile: DeviceProfile(upn: "gina@winmdm.test", password: "Correct horse 1"), transport: t)
                let enrolled = try await device.enroll(discoveryURL: server.discoveryURL)
                let tls = try server.mutualTLS(enrolled)
                _ = try await device.manage(enrolled, transport: tls)
                try await tls.shutdown()
            }
            let statuses = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)/deviceStatuses")
            #expect(statuses.value.count == 1 && statuses.value.first?["status"] as? String == "compliant", "\(statuses.raw)")
            #expect(statuses.value.first?["userPrincipalName"] as? String == "gina@winmdm.test")
            let overview = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)/deviceStatusOverview")
            #expect(overview.json["successCount"] as? Int == 1 && overview.json["errorCount"] as? Int == 0 && overview.json["configurationVersion"] as? Int == 1)

            #expect(try await api.call(.patch, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)", ["displayName": "Kiosk 2"]).status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)").json["displayName"] as? String == "Kiosk 2")
            #expect(try await api.call(.delete, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)").status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceConfigurations/\(id)").status == 404)
        }
    }
}

/// The check-in schedule: in the provisioning document of new enrollments, through a profile for enrolled devices,
/// and as the time a queued command can be expected to reach a device.
@Suite struct CheckInScheduleTests {
    @Test func scheduleReachesNewAndEnrolledDevices() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("sam@winmdm.test")
        #expect(try await server.admin.settings().checkInSchedule == .intune)
        #expect(CheckInSchedule.intune.summary == "every 3 minutes for 15 minutes, every 15 minutes for 2 hours, then every 8 hours")
        try await server.live { t in
            let device = WindowsDevice(profile: DeviceProfile(upn: "sam@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            // The provisioning document carries Intune's schedule.
            let doc = id.provisioningDocument
            for (parm, value) in [("NumberOfFirstRetries", "5"), ("IntervalForFirstSetOfRetries", "3"), ("NumberOfSecondRetries", "8"),
                                  ("IntervalForSecondSetOfRetries", "15"), ("IntervalForRemainingScheduledRetries", "480")] {
                #expect(doc.contains("name=\"\(parm)\" value=\"\(value)\""), "\(parm) should be \(value)")
            }
            let tls = try server.mutualTLS(id)
            _ = try await device.manage(id, transport: tls)
            // A new schedule goes to the enrolled device as Poll replaces.
            let s = CheckInSchedule(firstInterval: 2, firstCount: 10, secondInterval: 10, secondCount: 6, remainingInterval: 240)
            _ = try await server.admin.setCheckInSchedule(s, providerID: server.services.configuration.providerID)
            let log = try await device.manage(id, transport: tls, sessionID: "2")
            let sent = Dictionary(log.executed.filter { $0.command.name == "Replace" }.compactMap { c in
                c.command.items.first.map { ($0.target ?? "", $0.data ?? "") } }, uniquingKeysWith: { a, _ in a })
            let base = "./Vendor/MSFT/DMClient/Provider/\(server.services.configuration.providerID)/Poll/"
            #expect(sent[base + "IntervalForRemainingScheduledRetries"] == "240" && sent[base + "NumberOfFirstRetries"] == "10", "\(sent)")
            let states = try await server.admin.deviceProfileStates(enrollmentID: id.entDMID)
            #expect(states.first { $0.profileName == AdminService.scheduleProfileName }?.state == .succeeded)
            try await tls.shutdown()
        }
        // Refused: a steady interval under 15 minutes, and nothing changes.
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.setCheckInSchedule(CheckInSchedule(firstInterval: 3, firstCount: 5, secondInterval: 15, secondCount: 8, remainingInterval: 5),
                                                          providerID: "winmdm")
        }
        #expect(try await server.admin.settings().checkInSchedule.remainingInterval == 240)
        await server.close()
    }

    @Test func nextCheckInFollowsTheSets() {
        let s = CheckInSchedule.intune
        let enrolled = Date(timeIntervalSince1970: 1_800_000_000)
        // Just enrolled: 3 minutes; in the second set: 15; later: 8 hours; overdue: the next 8-hour slot after now.
        #expect(s.nextCheckIn(enrolledAt: enrolled, lastSeen: enrolled + 60, now: enrolled + 60) == enrolled + 60 + 180)
        #expect(s.nextCheckIn(enrolledAt: enrolled, lastSeen: enrolled + 1800, now: enrolled + 1800) == enrolled + 1800 + 900)
        #expect(s.nextCheckIn(enrolledAt: enrolled, lastSeen: enrolled + 86400, now: enrolled + 86400) == enrolled + 86400 + 28800)
        let late = s.nextCheckIn(enrolledAt: enrolled, lastSeen: enrolled + 86400, now: enrolled + 86400 * 3)
        #expect(late > enrolled + 86400 * 3 && late <= enrolled + 86400 * 3 + 28800)
    }
}

/// Templates: validated fields become settings; a Home device records them as not applicable instead of failing;
/// DeviceLock goes as one Atomic, so one refused member rolls the others back.
@Suite struct ProfileTemplateTests {
    @Test func templatesApplyByEditionAndAtomically() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("pro@winmdm.test")
        _ = try await server.addUser("home@winmdm.test")
        // Home is refused at enrollment by a new installation: allow it for this test, as an admin would.
        _ = try await server.admin.editRestriction(.platform, "Default", platform: PlatformChange(homeAllowed: true))
        // Refused fields say what is accepted; nothing is created.
        do {
            _ = try await server.admin.createConfigurationProfile(name: "Bad ring", template: "update-ring", values: ["qualityDeferralDays": "45"])
            Issue.record("a 45-day deferral was taken")
        } catch let e as AdminError { #expect(e.message.contains("0–30")) }
        do {
            _ = try await server.admin.createConfigurationProfile(name: "Bad ring", template: "update-ring", values: ["deferral": "3"])
            Issue.record("an unknown field was taken")
        } catch let e as AdminError { #expect(e.message.contains("qualityDeferralDays")) }
        #expect(try await server.admin.configurationProfiles().isEmpty)

        let ring = try await server.admin.createConfigurationProfile(name: "Ring 1", template: "update-ring", values: ["qualityDeferralDays": "3"])
        #expect(ring.settings.count == 7 && ring.settings.first?.value == "3")
        _ = try await server.admin.assignProfile("Ring 1", to: "all-users")
        let lock = try await server.admin.createConfigurationProfile(name: "Passwords", template: "password", values: ["minLength": "12"])
        _ = try await server.admin.assignProfile("Passwords", to: "all-users")

        try await server.live { t in
            var proProfile = DeviceProfile(upn: "pro@winmdm.test", password: "Correct horse 1", osVersion: "10.0.22631.4460")
            proProfile.refusedNodes = ["./Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength": "500"]
            let pro = WindowsDevice(profile: proProfile, transport: t)
            let home = WindowsDevice(profile: DeviceProfile(upn: "home@winmdm.test", password: "Correct horse 1", osEdition: 101), transport: t)
            let p = try await pro.enroll(discoveryURL: server.discoveryURL)
            let h = try await home.enroll(discoveryURL: server.discoveryURL)
            let pTLS = try server.mutualTLS(p), hTLS = try server.mutualTLS(h)

            // Home: nothing of either profile exists there; nothing is sent, both show not applicable.
            let homeLog = try await home.manage(h, transport: hTLS)
            #expect(ProfileTests.sent(homeLog).isEmpty)
            let homeStates = try await server.admin.deviceProfileStates(enrollmentID: h.entDMID)
            #expect(homeStates.count == 2 && homeStates.allSatisfy { $0.state == .notApplicable }, "\(homeStates.map(\.state))")

            // Pro: the ring as 7 Replaces; the password policy as one Atomic, which the refused length fails whole.
            let proLog = try await pro.manage(p, transport: pTLS)
            #expect(proLog.executed.filter { $0.command.name == "Replace" && $0.command.items.first?.target?.contains("/Update/") == true }.count == 7)
            let atomic = try #require(proLog.executed.first { $0.command.name == "Atomic" })
            #expect(atomic.status == "507" && atomic.command.children.count == lock.settings.count)
            let states = try await server.admin.deviceProfileStates(enrollmentID: p.entDMID)
            #expect(states.first { $0.profileName == "Ring 1" }?.state == .succeeded)
            let pw = try #require(states.first { $0.profileName == "Passwords" })
            #expect(pw.state == .failed)
            #expect(pw.settings.first { $0.locURI.hasSuffix("MinDevicePasswordLength") }?.status == "500")
            #expect(pw.settings.first { $0.locURI.hasSuffix("DevicePasswordEnabled") }?.status == "216", "rolled back with the rest")
            try await pTLS.shutdown()
            try await hTLS.shutdown()
        }
        await server.close()
    }
}

/// Compliance end to end: a policy makes a device report its values; an old Windows makes it noncompliant with the
/// reason; after the update (and the next scheduled read) it is compliant again; a grace period delays the verdict.
@Suite struct ComplianceTests {
    @Test func deviceTurnsNoncompliantAndBack() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.addUser("cleo@winmdm.test")
        do {
            _ = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Empty", createdAt: clock.now()))
            Issue.record("a policy without rules was taken")
        } catch let e as AdminError { #expect(e.message.contains("--os-min")) }
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Eleven", osMinimumVersion: "11", createdAt: clock.now()))
        }
        _ = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Current Windows", osMinimumVersion: "10.0.26100", createdAt: clock.now()))
        _ = try await server.admin.assignCompliancePolicy("Current Windows", to: "all-users")
        _ = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Encrypted", storageRequireEncryption: true, graceHours: 24,
                                                                           createdAt: clock.now()))
        _ = try await server.admin.assignCompliancePolicy("Encrypted", to: "all-users")

        try await server.live { t in
            var profile = DeviceProfile(upn: "cleo@winmdm.test", password: "Correct horse 1", osVersion: "10.0.22631.4460")
            profile.nodes = [CompliancePolicy.encryptionNode: "0"]
            var device = WindowsDevice(profile: profile, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            var e = try #require(try await server.store.enrollment(id: id.entDMID))
            // Before any session: encryption is not reported yet; the version is known from the enrollment request.
            let before = try await server.admin.deviceCompliance(e)
            #expect(before.first { $0.policyName == "Encrypted" }?.state == .unknown && before.first { $0.policyName == "Current Windows" }?.state == .nonCompliant)

            // First session: one Get per node the policies read, answered.
            let first = try await device.manage(id, transport: tls)
            let gets = first.executed.filter { $0.command.name == "Get" }.map { $0.command.items.map { $0.target ?? "" } }
            #expect(gets.contains([CompliancePolicy.versionNode]) && gets.contains([CompliancePolicy.encryptionNode]) && gets.allSatisfy { $0.count == 1 })
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            var c = try await server.admin.deviceCompliance(e)
            #expect(c.first { $0.policyName == "Current Windows" }?.state == .nonCompliant)
            #expect(c.first { $0.policyName == "Current Windows" }?.reasons.first?.contains("older than the minimum 10.0.26100") == true)
            #expect(c.first { $0.policyName == "Encrypted" }?.state == .inGracePeriod)
            #expect(DeviceCompliance.overall(c) == .nonCompliant)

            // An idle session before the next read asks nothing.
            #expect(try await device.manage(id, transport: tls, sessionID: "2").executed.filter { $0.command.name == "Get" }.isEmpty)

            // The device updates Windows and encrypts; 25 hours later its scheduled read finds both fixed.
            device.profile.osVersion = "10.0.26100.2033"
            device.profile.nodes = [CompliancePolicy.encryptionNode: "1"]
            clock.advance(by: 25 * 3600)
            _ = try await device.manage(id, transport: tls, sessionID: "3")
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            c = try await server.admin.deviceCompliance(e)
            #expect(DeviceCompliance.overall(c) == .compliant, "\(c)")
            #expect(e.noncompliantSince == nil)

            // Encryption switched off again and left so past the grace period: noncompliant.
            device.profile.nodes = [CompliancePolicy.encryptionNode: "0"]
            clock.advance(by: 9 * 3600)
            _ = try await device.manage(id, transport: tls, sessionID: "4")
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(try await server.admin.deviceCompliance(e).first { $0.policyName == "Encrypted" }?.state == .inGracePeriod)
            let later = try await server.admin.deviceCompliance(e, now: clock.now() + 25 * 3600)
            #expect(later.first { $0.policyName == "Encrypted" }?.state == .nonCompliant)
            try await tls.shutdown()
        }
        await server.close()
    }
}

@Suite struct ComplianceGraphTests {
    @Test func windows10CompliancePolicyAndManagedDeviceState() async throws {
        try await API.run { api, server in
            _ = try await server.addUser("ivo@winmdm.test")
            let created = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceCompliancePolicies", [
                "@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Win 11 24H2", "osMinimumVersion": "10.0.26100",
                "scheduledActionsForRule": [["ruleName": "PasswordRequired", "scheduledActionConfigurations": [["actionType": "block", "gracePeriodHours": 0]]]],
            ])
            #expect(created.status == 201, "\(created.raw)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["osMinimumVersion"] as? String == "10.0.26100")
            let bad = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceCompliancePolicies", [
                "@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Bad", "osMinimumVersion": "eleven"])
            #expect(bad.status == 400)
            let assigned = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceCompliancePolicies/\(id)/assign",
                                              ["assignments": [["target": ["@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"]]]])
            #expect(assigned.status == 200 && assigned.value.count == 1, "\(assigned.raw)")
            let enrolled = try await server.inProcess { t in
                try await WindowsDevice(profile: DeviceProfile(upn: "ivo@winmdm.test", password: "Correct horse 1", osVersion: "10.0.22631.4460"),
                                        transport: t).enroll(discoveryURL: server.discoveryURL)
            }
            let device = try await api.call(.get, "/graph/v1.0/deviceManagement/managedDevices/\(enrolled.entDMID)")
            #expect(device.json["complianceState"] as? String == "noncompliant", "\(device.raw)")
            let statuses = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceCompliancePolicies/\(id)/deviceStatuses")
            #expect(statuses.value.first?["status"] as? String == "nonCompliant", "\(statuses.raw)")
            #expect(try await api.call(.delete, "/graph/v1.0/deviceManagement/deviceCompliancePolicies/\(id)").status == 204)
            let after = try await api.call(.get, "/graph/v1.0/deviceManagement/managedDevices/\(enrolled.entDMID)")
            #expect(after.json["complianceState"] as? String == "compliant", "no policy assigned counts as compliant")
        }
    }
}

@Suite struct ManagedLocalAdminTests {
    static let node = "./Device/Vendor/MSFT/Accounts/Users/itadmin/"

    @Test("each device gets its own password, sent only on the wire, sealed at rest, shown to an admin with an audit entry")
    func localAdministratorThroughTheAccountsCSP() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.addUser("bob@winmdm.test")
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.createConfigurationProfile(name: "Bad", template: "local-admin", values: ["account": "it/admin"])
        }
        let p = try await server.admin.createConfigurationProfile(name: "Local admin", template: "local-admin", values: ["account": "itadmin"])
        #expect(p.settings.map(\.verb) == ["Add", "Add"] && p.settings.first?.value == ManagedLocalAccount.passwordPlaceholder)
        _ = try await server.admin.assignProfile("Local admin", to: "all-devices")

        let (ids, sent) = try await server.live { t in
            var ids: [String] = [], sent: [String] = []
            for upn in ["alice@winmdm.test", "bob@winmdm.test"] {
                let device = WindowsDevice(profile: DeviceProfile(upn: upn, password: "Correct horse 1"), transport: t)
                let id = try await device.enroll(discoveryURL: server.discoveryURL)
                let tls = try server.mutualTLS(id)
                let log = try await device.manage(id, transport: tls)
                let add = try #require(log.executed.first { $0.command.items.first?.target == Self.node + "Password" })
                #expect(add.command.name == "Add" && add.status == "200")
                #expect(log.executed.contains { $0.command.items.first?.target == Self.node + "LocalUserGroup" && $0.command.items.first?.data == "2" })
                sent.append(add.command.items.first?.data ?? "")
                ids.append(id.entDMID)
                #expect(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first?.state == .succeeded)
                try await tls.shutdown()
            }
            return (ids, sent)
        }
        #expect(sent.allSatisfy { $0.count == 20 && $0 != ManagedLocalAccount.passwordPlaceholder })
        #expect(sent[0] != sent[1], "one password per device")

        // At rest: the command keeps the placeholder, the enrollment a sealed value; the database file has neither password.
        let commands = try await server.admin.deviceCommands(ids[0])
        #expect(commands.contains { $0.items.first?.data == ManagedLocalAccount.passwordPlaceholder })
        if ProcessInfo.processInfo.environment["WINMDM_TEST_DATABASE"] != "postgres" {
            var bytes = Data()
            for f in ["winmdm.sqlite", "winmdm.sqlite-wal"] { bytes += (try? Data(contentsOf: server.dir.appendingPathComponent(f))) ?? Data() }
            #expect(!bytes.isEmpty)
            for s in sent { #expect(bytes.range(of: Data(s.utf8)) == nil, "the password is not stored in clear") }
        }

        // Shown to an administrator, audited; the CLI opens it with the key in the data directory.
        let shown = try await server.admin.revealLocalAdminPassword(ids[0], secrets: try server.secrets)
        #expect(shown.account == "itadmin" && shown.password == sent[0])
        #expect(try await server.admin.auditEntries(limit: 5).contains { $0.action == "device.localAdmin.reveal" && $0.target == ids[0] })
        let cli = try await CLI.run(["devices", "local-admin", ids[1], "--data-dir", server.dir.path])
        #expect(cli.status == 0 && cli.out.contains(sent[1]) && cli.out.contains("itadmin"), "\(cli.out)\(cli.err)")
        // A wrong key opens nothing.
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.revealLocalAdminPassword(ids[0], secrets: try SecretBox(key: Array(repeating: 1, count: 32)))
        }
        await server.close()
    }
}

@Suite struct RawBlockTests {
    static let scan = "./Device/Vendor/MSFT/Defender/QuickScan"
    static let exec = "<Exec><Item><Target><LocURI>\(scan)</LocURI></Target></Item></Exec>"
    static let atomic = """
        <Atomic><Replace><Item><Target><LocURI>\(ProfileTests.camera)</LocURI></Target><Meta><Format>int</Format></Meta><Data>0</Data></Item></Replace>
        <Replace><Item><Target><LocURI>\(ProfileTests.realtime)</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>1</Data></Item></Replace></Atomic>
        """

    @Test("a raw SyncML block is checked, sent as written, gets its status, and is left in place when it stops applying")
    func rawBlocksOverTheRealProtocol() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("eve@winmdm.test")
        _ = try await server.addUser("fay@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Blocks")
        for (bad, says) in [("<Get><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>", "not Get"),
                            ("<Exec></Exec>", "no Item"), ("<Exec><Item><Target><LocURI>x</LocURI></Target></Item></Exec>", "not an OMA-URI"),
                            (Self.exec + Self.exec, "holds 2"), ("<Exec><Item>", "not well-formed"),
                            ("<!DOCTYPE x [<!ENTITY e \"boom\">]><Exec><Item><Data>&e;</Data></Item></Exec>", "not well-formed")] {
            do {
                _ = try await server.admin.setProfileBlock("Blocks", xml: bad)
                Issue.record("accepted \(bad)")
            } catch let e as AdminError {
                #expect(e.message.contains(says), "\(bad): \(e.message)")
            }
        }
        #expect(try await server.admin.configurationProfile("Blocks").version == 1, "refused blocks change nothing")
        _ = try await server.admin.setProfileBlock("Blocks", xml: Self.exec, name: "Quick scan")
        let p = try await server.admin.setProfileBlock("Blocks", xml: Self.atomic)
        #expect(p.settings.map(\.locURI) == [Self.scan, ProfileTests.camera] && p.settings.allSatisfy { $0.format == "syncml" })
        _ = try await server.admin.assignProfile("Blocks", to: "all-users")

        try await server.live { t in
            let eve = WindowsDevice(profile: DeviceProfile(upn: "eve@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await eve.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            let log = try await eve.manage(id, transport: tls)
            #expect(log.executed.contains { $0.command.name == "Exec" && $0.command.items.first?.target == Self.scan && $0.status == "200" })
            let atomic = try #require(log.executed.first { $0.command.name == "Atomic" })
            #expect(atomic.command.children.map { $0.items.first?.format } == ["int", "int"], "Meta Format read with or without its namespace")
            var state = try #require(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first)
            #expect(state.state == .succeeded && state.settings.count == 2)

            // A member the device refuses fails the whole Atomic: the block shows the container's 507.
            var refusing = DeviceProfile(upn: "fay@winmdm.test", password: "Correct horse 1")
            refusing.refusedNodes = [ProfileTests.realtime: "405"]
            let fay = WindowsDevice(profile: refusing, transport: t)
            let fid = try await fay.enroll(discoveryURL: server.discoveryURL)
            let ftls = try server.mutualTLS(fid)
            _ = try await fay.manage(fid, transport: ftls)
            let failed = try #require(try await server.admin.deviceProfileStates(enrollmentID: fid.entDMID).first?.settings.first { $0.locURI == ProfileTests.camera })
            #expect(failed.state == .failed && failed.status == "507", "\(failed)")

            // Unassigned: nothing is deleted (no generic undo for a block); the device state says what stays.
            _ = try await server.admin.unassignProfile("Blocks", from: "all-users")
            let after = try await eve.manage(id, transport: tls, sessionID: "2")
            #expect(!after.executed.contains { $0.command.name == "Delete" })
            state = try #require(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first)
            #expect(state.settings.allSatisfy { $0.state == .remains } && !state.assigned, "\(state.settings.map(\.state))")
            try await tls.shutdown()
            try await ftls.shutdown()
        }
        await server.close()
    }
}

/// WNS push, against a fake of Microsoft's token service and notification hosts.
actor FakeWNS: HTTPPoster {
    var requests: [(url: String, headers: [(String, String)], body: String)] = []
    var pushStatuses: [Int] = []

    func failNextPush(_ status: Int) { pushStatuses.append(status) }

    func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        requests.append((url, headers, String(decoding: body, as: UTF8.self)))
        if url == WNSPusher.tokenURL {
            return (200, Array("{\"token_type\":\"bearer\",\"access_token\":\"token-\(requests.count)\",\"expires_in\":86400}".utf8))
        }
        return (pushStatuses.isEmpty ? 200 : pushStatuses.removeFirst(), [])
    }
}

@Suite struct PushTests {
    static let channel = "https://db5p.notify.windows.com/?token=AwYAAAB0example"

    @Test("Sync and Restart push through WNS once the device reported its channel; the channel host is pinned")
    func syncAndRestartPushThroughWNS() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("gus@winmdm.test")
        let secrets = try server.secrets
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.setPush(packageFamilyName: "not a pfn", packageSID: "S-1-15-2-1", clientSecret: "x", secrets: secrets, providerID: "winmdm")
        }
        _ = try await server.admin.setPush(packageFamilyName: "Contoso.MDMPush_8wekyb3d8bbwe", packageSID: "S-1-15-2-1234-5678",
                                           clientSecret: "s3cret value", secrets: secrets, providerID: "winmdm")
        let doc = String(decoding: try JSONEncoder().encode(try await server.admin.settings()), as: UTF8.self)
        #expect(!doc.contains("s3cret"), "the client secret is sealed")

        let id = try await server.live { t in
            var profile = DeviceProfile(upn: "gus@winmdm.test", password: "Correct horse 1")
            profile.nodes = [PushSettings.channelNode("winmdm"): Self.channel, PushSettings.statusNode("winmdm"): "0"]
            let device = WindowsDevice(profile: profile, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            let first = try await device.manage(id, transport: tls)
            #expect(first.executed.contains { $0.command.items.first?.target == PushSettings.pfnNode("winmdm") && $0.command.items.first?.data == "Contoso.MDMPush_8wekyb3d8bbwe" })
            _ = try await device.manage(id, transport: tls, sessionID: "2")
            try await tls.shutdown()
            return id.entDMID
        }
        #expect(try await server.admin.enrollment(id).inventory?[PushSettings.channelNode("winmdm")] == Self.channel)

        let wns = FakeWNS()
        var admin = server.admin
        admin.pusher = WNSPusher(http: wns, secrets: { secrets }, providerID: "winmdm")
        let restart = try await admin.queueCommand(id, .reboot, providerID: "winmdm")
        #expect(restart.note?.hasPrefix("Push sent") == true, "\(restart.note ?? "")")
        var seen = await wns.requests
        #expect(seen.count == 2 && seen[0].url == WNSPusher.tokenURL && seen[1].url == Self.channel)
        #expect(seen[0].body.contains("client_id=ms%2Dapp%3A%2F%2FS%2D1%2D15%2D2%2D1234%2D5678") && seen[0].body.contains("client_secret=s3cret%20value")
                && seen[0].body.contains("scope=notify.windows.com"), "\(seen[0].body)")
        #expect(seen[1].headers.contains { $0 == ("Authorization", "Bearer token-1") } && seen[1].headers.contains { $0 == ("X-WNS-Type", "wns/raw") })
        // The token is reused; a refused one is fetched again once. Sync reads the channel again, one Get per node.
        await wns.failNextPush(401)
        let sync = try await admin.queueCommand(id, .inventory, providerID: "winmdm")
        #expect(sync.note?.hasPrefix("Push sent") == true, "\(sync.note ?? "")")
        seen = await wns.requests
        #expect(seen.map(\.url) == [WNSPusher.tokenURL, Self.channel, Self.channel, WNSPusher.tokenURL, Self.channel])
        #expect(try await server.store.queuedCommands(enrollmentID: id).filter { $0.kind == "inventory" }.count == 9)
        await wns.failNextPush(410)
        #expect(try await admin.queueCommand(id, .reboot, providerID: "winmdm").note?.contains("expired") == true)

        // A channel that is not Microsoft's is never posted to (the device must not get the token sent elsewhere).
        _ = try await server.store.modifyEnrollment(id: id) { $0.inventory?[PushSettings.channelNode("winmdm")] = "https://collector.example/wns" }
        let before = await wns.requests.count
        #expect(try await admin.queueCommand(id, .reboot, providerID: "winmdm").note?.contains("not a WNS address") == true)
        #expect(await wns.requests.count == before)
        try await server.admin.clearPush()
        #expect(try await admin.queueCommand(id, .reboot, providerID: "winmdm").note?.hasPrefix("No push configured") == true)
        await server.close()
    }
}
