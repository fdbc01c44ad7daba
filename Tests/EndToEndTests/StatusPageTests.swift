import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// The Enrollment Status Page end to end: an emulated Windows device enrolls during setup, winmdm drives its page
/// through the DMClient and EnrollmentStatusTracking nodes, and the page finishes, fails or times out as Windows'
/// would.
@Suite struct StatusPageTests {
    static let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
    static let scep = "./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/WiFiCert/Install/ServerURL"
    static let firstSync = "./Device/Vendor/MSFT/DMClient/Provider/winmdm/FirstSyncStatus/"

    static func targets(_ log: ManagementSessionLog) -> [String] {
        log.executed.flatMap { $0.command.items.compactMap(\.target) }
    }

    static func value(_ log: ManagementSessionLog, _ uri: String) -> String? {
        log.executed.last { $0.command.items.first?.target == uri }?.command.items.first?.data
    }

    @Test("blocks on its profiles, then finishes; Settings-app enrollments and other groups get no page")
    func pageBlocksThenFinishes() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.addUser("bob@winmdm.test")
        _ = try await server.admin.createGroup("Kiosks")
        _ = try await server.admin.addMember(group: "Kiosks", user: "alice@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Lockdown", settings: [OMASetting(locURI: Self.camera, format: "int", value: "0")])
        _ = try await server.admin.assignProfile("Lockdown", to: "Kiosks")
        _ = try await server.admin.createConfigurationProfile(name: "Other", settings: [
            OMASetting(locURI: "./Device/Vendor/MSFT/Policy/Config/Defender/AllowRealtimeMonitoring", format: "int", value: "1")])
        _ = try await server.admin.assignProfile("Other", to: "Kiosks")
        let page = try await server.admin.createStatusPage(name: "Kiosk setup", change: StatusPageChange(
            allowLogCollectionOnInstallFailure: true, customErrorMessage: "Call IT on x1234", installProgressTimeoutInMinutes: 30,
            blockingProfiles: ["Lockdown"]), groups: ["Kiosks"])
        #expect(page.priority == 1 && page.statusPage?.blockingProfileIDs?.count == 1)
        // The Default exists on every installation and shows nothing until edited.
        let pages = try await server.admin.restrictions(.enrollmentStatusPage)
        #expect(pages.map(\.isDefault) == [false, true] && pages.last?.statusPage?.showInstallationProgress == false)

        try await server.live { t in
            let device = WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            var e = try await server.admin.enrollment(id.entDMID)
            #expect(e.statusPage?.state == .inProgress && e.statusPage?.configurationName == "Kiosk setup")

            // First session: the page's settings come before the profiles, and winmdm holds device preparation.
            var screen = StatusPageScreen()
            let first = try await device.manage(id, transport: tls)
            screen.observe(first, at: clock.now())
            let sent = Self.targets(first)
            let skip = try #require(sent.firstIndex(of: Self.firstSync + "SkipDeviceStatusPage"))
            #expect(skip < (sent.firstIndex(of: Self.camera) ?? -1))
            #expect(Self.value(first, Self.firstSync + "TimeOutUntilSyncFailure") == "30")
            #expect(Self.value(first, Self.firstSync + "CustomErrorText") == "Call IT on x1234")
            #expect(Self.value(first, Self.firstSync + "BlockInStatusPage") == "2", "blocking, Try again allowed")
            #expect(Self.value(first, StatusPage.providerNode + "/InstallationState") == "1")
            #expect(screen.phase == .deviceSetup && screen.expectedPolicies == [Self.camera], "only the blocking profile is listed")
            #expect(Self.value(first, Self.firstSync + "ServerHasFinishedProvisioning") == nil)

            // The blocking profile succeeded: the next session releases the page, device phase then account phase.
            clock.advance(by: 180)
            let second = try await device.manage(id, transport: tls, sessionID: "2")
            screen.observe(second, at: clock.now())
            #expect(Self.value(second, StatusPage.providerNode + "/InstallationState") == "3")
            #expect(Self.value(second, Self.firstSync + "ServerHasFinishedProvisioning") == "true")
            #expect(Self.value(second, StatusPage.userFinishedNode("winmdm")) == "true")
            #expect(screen.phase == .finished)
            e = try await server.admin.enrollment(id.entDMID)
            #expect(e.statusPage?.state == .succeeded && e.statusPage?.userPhaseFinished == true)
            // Done is done: later sessions send nothing for the page.
            clock.advance(by: 180)
            let third = try await device.manage(id, transport: tls, sessionID: "3")
            #expect(!Self.targets(third).contains { $0.contains("FirstSyncStatus") })

            // Enrolled from Settings (NotInOobe true): no page. Bob is not in Kiosks: the Default, which is not shown.
            var later = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            later.notInOOBE = true
            let fromSettings = try await WindowsDevice(profile: later, transport: t).enroll(discoveryURL: server.discoveryURL)
            #expect(try await server.admin.enrollment(fromSettings.entDMID).statusPage == nil)
            let bob = try await WindowsDevice(profile: DeviceProfile(upn: "bob@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
            #expect(try await server.admin.enrollment(bob.entDMID).statusPage == nil)
            try await tls.shutdown()
        }
        await server.close()
    }

    @Test("X08: the page times out on a profile that never completes; the attempt names it; the fix lets the next device finish")
    func x08TimeoutRecordedAndFixed() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.addUser("carol@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Wi-Fi certificate", settings: [
            OMASetting(locURI: Self.scep, format: "chr", value: "https://scep.winmdm.test/certsrv/mscep/mscep.dll")])
        _ = try await server.admin.assignProfile("Wi-Fi certificate", to: "all-users")
        // The Default page, shown to everyone, waiting for every assigned profile.
        _ = try await server.admin.editStatusPage("Default", change: StatusPageChange(showInstallationProgress: true, installProgressTimeoutInMinutes: 60))

        try await server.live { t in
            // Cause: the certificate never arrives (Windows accepts the request and keeps retrying).
            var profile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            profile.unfinishedNodes = [Self.scep]
            let device = WindowsDevice(profile: profile, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            var screen = StatusPageScreen()
            screen.observe(try await device.manage(id, transport: tls), at: clock.now())
            #expect(screen.expectedPolicies == [Self.scep])
            let state = try #require(try await server.admin.deviceProfileStates(enrollmentID: id.entDMID).first)
            #expect(state.state == .pending && state.settings.first?.status == "202", "202: accepted, not finished")
            clock.advance(by: 20 * 60)
            screen.observe(try await device.manage(id, transport: tls, sessionID: "2"), at: clock.now())
            #expect(screen.phase == .deviceSetup)
            #expect(try await server.admin.enrollment(id.entDMID).statusPage?.state == .inProgress)

            // The device sees the page's error when its timer runs out.
            clock.advance(by: 41 * 60)
            screen.tick(clock.now())
            #expect(screen.phase == .failed(message: StatusPageSettings.windowsErrorText, buttons: ["Try again"]), "the Default hides Try again, and blocking offers at least that")
            // Its next check-in records the timeout as an attempt, with the profile that held it up.
            _ = try await device.manage(id, transport: tls, sessionID: "3")
            let e = try await server.admin.enrollment(id.entDMID)
            let progress = try #require(e.statusPage)
            #expect(progress.state == .timedOut && progress.heldBy?.profileName == "Wi-Fi certificate")
            let attempts = try await server.admin.attempts(AttemptQuery(failedOnly: true))
            let attempt = try #require(attempts.first { $0.id == progress.attemptID })
            #expect(attempt.phase == .manage && attempt.code == "0x800705B4" && attempt.enrollmentID == id.entDMID)
            #expect(attempt.denials.first?.rule == .statusPageTimeout)
            #expect(attempt.heldBy?.locURI == Self.scep && attempt.heldBy?.status == "202")
            let reason = try #require(attempt.denials.first?.reason)
            #expect(reason.contains("60 minutes") && reason.contains("Wi-Fi certificate") && reason.contains("202"), "\(reason)")
            // Later sessions do not record it again.
            _ = try await device.manage(id, transport: tls, sessionID: "4")
            #expect(try await server.admin.attempts(AttemptQuery(failedOnly: true)).filter { $0.enrollmentID == id.entDMID }.count == 1)

            // The troubleshooter names the rule and the one-step fix: stop waiting for that profile.
            let troubleshoot = TroubleshootService(store: server.store, admin: server.admin, publicURL: server.publicURL)
            let (recorded, _) = try await troubleshoot.diagnose(attempt)
            let item = try #require(recorded.first)
            #expect(item.rule == "esp-timeout" && item.code == "0x800705B4")
            #expect(item.fix == "winmdm esp edit Default --remove-blocking \"Wi-Fi certificate\"", "\(item.fix)")
            #expect(item.title != nil, "the knowledge base knows the ESP timeout")
            let fixes = try await troubleshoot.recordedFixes(attempt)
            #expect(fixes.count == 1 && fixes.first?.command == item.fix)
            try await fixes[0].apply()
            #expect(try await server.admin.restriction(.enrollmentStatusPage, "Default").statusPage?.blockingProfileIDs == [],
                    "from all assigned profiles to all but that one (none here)")

            // Fixed: the next device, with the same never-arriving certificate, finishes its page.
            var next = DeviceProfile(upn: "carol@winmdm.test", password: "Correct horse 1")
            next.unfinishedNodes = [Self.scep]
            let carol = WindowsDevice(profile: next, transport: t)
            let cid = try await carol.enroll(discoveryURL: server.discoveryURL)
            let ctls = try server.mutualTLS(cid)
            var cscreen = StatusPageScreen()
            cscreen.observe(try await carol.manage(cid, transport: ctls), at: clock.now())
            clock.advance(by: 180)
            cscreen.observe(try await carol.manage(cid, transport: ctls, sessionID: "2"), at: clock.now())
            #expect(cscreen.phase == .finished)
            #expect(try await server.admin.enrollment(cid.entDMID).statusPage?.state == .succeeded)
            try await tls.shutdown()
            try await ctls.shutdown()
        }
        await server.close()
    }

    @Test("a blocking profile the device refuses fails the page at once, with its status code and meaning")
    func refusedBlockingProfileFailsThePage() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.addUser("dan@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Lockdown", settings: [OMASetting(locURI: Self.camera, format: "int", value: "0")])
        _ = try await server.admin.assignProfile("Lockdown", to: "all-users")
        _ = try await server.admin.editStatusPage("Default", change: StatusPageChange(showInstallationProgress: true, allowDeviceResetOnInstallFailure: true,
                                                                                      customErrorMessage: "Call IT on x1234"))
        try await server.live { t in
            var profile = DeviceProfile(upn: "dan@winmdm.test", password: "Correct horse 1")
            profile.refusedNodes = [Self.camera: "500"]
            let device = WindowsDevice(profile: profile, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            var screen = StatusPageScreen()
            screen.observe(try await device.manage(id, transport: tls), at: clock.now())
            clock.advance(by: 60)
            let second = try await device.manage(id, transport: tls, sessionID: "2")
            screen.observe(second, at: clock.now())
            // Failing now: a one-minute timeout with the page's text; never "server finished", which means success.
            #expect(Self.value(second, Self.firstSync + "TimeOutUntilSyncFailure") == "1")
            #expect(Self.value(second, Self.firstSync + "ServerHasFinishedProvisioning") == nil)
            clock.advance(by: 61)
            screen.tick(clock.now())
            #expect(screen.phase == .failed(message: "Call IT on x1234", buttons: ["Reset device"]))
            let e = try await server.admin.enrollment(id.entDMID)
            #expect(e.statusPage?.state == .failed)
            let attempt = try #require(try await server.admin.attempts(AttemptQuery(failedOnly: true)).first { $0.id == e.statusPage?.attemptID })
            #expect(attempt.denials.first?.rule == .statusPageProfileFailed && attempt.code == "0x87D101F4")
            #expect(attempt.denials.first?.reason.contains("Lockdown") == true && attempt.heldBy?.status == "500")
            try await tls.shutdown()
        }
        await server.close()
    }

    @Test func statusPageSettingsAreValidated() async throws {
        let server = try await TestServer.make()
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.createStatusPage(name: "Too long", change: StatusPageChange(installProgressTimeoutInMinutes: 2000))
        }
        await #expect(throws: AdminError.self) {
            _ = try await server.admin.createStatusPage(name: "Ghost", change: StatusPageChange(blockingProfiles: ["No such profile"]))
        }
        #expect(try await server.admin.restrictions(.enrollmentStatusPage).count == 1, "a refused change leaves nothing")
        // Windows' bits: Reset 0x1, Try again 0x2, Continue anyway 0x4; not blocking is 0.
        #expect(StatusPageSettings(allowDeviceResetOnInstallFailure: true, allowDeviceUseOnInstallFailure: true).blockInStatusPage == 0x7)
        #expect(StatusPageSettings(blockDeviceUseUntilComplete: false).blockInStatusPage == 0)
        #expect(StatusPageSettings(blockDeviceSetupRetryByUser: true).blockInStatusPage == 0x2, "blocking offers at least Try again")
        await server.close()
    }
}

@Suite struct StatusPageGraphTests {
    @Test func windows10EnrollmentCompletionPageConfiguration() async throws {
        try await API.run { api, server in
            _ = try await server.admin.createConfigurationProfile(name: "Lockdown", settings: [
                OMASetting(locURI: StatusPageTests.camera, format: "int", value: "0")])
            let profileID = try await server.admin.configurationProfile("Lockdown").id
            _ = try await server.admin.createGroup("Kiosks")
            let created = try await api.call(.post, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": "ESP - Kiosks",
                "showInstallationProgress": true, "blockDeviceSetupRetryByUser": false, "allowDeviceResetOnInstallFailure": true,
                "allowLogCollectionOnInstallFailure": true, "customErrorMessage": "Call IT on x1234", "installProgressTimeoutInMinutes": 90,
                "allowDeviceUseOnInstallFailure": false, "blockingDeviceConfigurationIds": [profileID],
            ])
            #expect(created.status == 201, "\(created.raw)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["installProgressTimeoutInMinutes"] as? Int == 90 && created.json["priority"] as? Int == 1)
            #expect(created.json["blockingDeviceConfigurationIds"] as? [String] == [profileID])
            let apps = try await api.call(.post, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": "Apps",
                "selectedMobileAppIds": ["7b7d5b5a-0000-0000-0000-000000000000"]])
            #expect(apps.status == 400, "winmdm has no apps")
            let bad = try await api.call(.post, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": "Forever",
                "installProgressTimeoutInMinutes": 0])
            #expect(bad.status == 400)
            let patched = try await api.call(.patch, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations/\(id)", [
                "@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "installProgressTimeoutInMinutes": 45,
                "blockingDeviceConfigurationIds": NSNull()])
            #expect(patched.status == 204, "\(patched.raw)")
            let group = try await server.admin.group("Kiosks")
            let assigned = try await api.call(.post, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations/\(id)/assign", [
                "enrollmentConfigurationAssignments": [["target": ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group.id]]]])
            #expect(assigned.status == 204)
            let got = try await api.call(.get, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations/\(id)")
            #expect(got.json["installProgressTimeoutInMinutes"] as? Int == 45 && got.json["blockingDeviceConfigurationIds"] is NSNull, "\(got.raw)")
            let list = try await api.call(.get, "/graph/beta/deviceManagement/deviceEnrollmentConfigurations")
            let types = list.value.compactMap { $0["@odata.type"] as? String }
            #expect(types.filter { $0 == "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration" }.count == 2, "the Default and ESP - Kiosks")
        }
    }
}

/// Device groups: what is assigned to a group of devices reaches those devices, whoever uses them, and a page
/// assigned to the device wins over one assigned to its user, as in Intune.
@Suite struct DeviceGroupTests {
    @Test func profilesAndPagesFollowDeviceGroups() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.createGroup("Kiosk devices")
        _ = try await server.admin.createGroup("Staff")
        _ = try await server.admin.addMember(group: "Staff", user: "alice@winmdm.test")
        _ = try await server.admin.createConfigurationProfile(name: "Kiosk lockdown", settings: [OMASetting(locURI: StatusPageTests.camera, format: "int", value: "0")])
        _ = try await server.admin.assignProfile("Kiosk lockdown", to: "Kiosk devices")
        _ = try await server.admin.createStatusPage(name: "Staff page", change: StatusPageChange(blockOnAllProfiles: true), groups: ["Staff"])
        _ = try await server.admin.createStatusPage(name: "Kiosk page", change: StatusPageChange(installProgressTimeoutInMinutes: 30), groups: ["Kiosk devices"])
        // The Staff page has priority 1: the Kiosk page still wins on kiosks, because device targeting comes first.
        #expect(try await server.admin.restriction(.enrollmentStatusPage, "Staff page").priority == 1)
        await #expect(throws: AdminError.self) { _ = try await server.admin.addDevice(group: "Kiosk devices", device: "no-such-device") }

        try await server.live { t in
            // A kiosk registered by its hardware id before it enrolls.
            var kioskProfile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            kioskProfile.hwDevID = String(repeating: "AB", count: 32)
            _ = try await server.admin.addDevice(group: "Kiosk devices", device: kioskProfile.hwDevID.lowercased())
            let kiosk = WindowsDevice(profile: kioskProfile, transport: t)
            let laptop = WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
            let k = try await kiosk.enroll(discoveryURL: server.discoveryURL)
            let l = try await laptop.enroll(discoveryURL: server.discoveryURL)
            #expect(try await server.admin.enrollment(k.entDMID).statusPage?.configurationName == "Kiosk page")
            #expect(try await server.admin.enrollment(l.entDMID).statusPage?.configurationName == "Staff page")
            let kTLS = try server.mutualTLS(k), lTLS = try server.mutualTLS(l)
            let kLog = try await kiosk.manage(k, transport: kTLS)
            let lLog = try await laptop.manage(l, transport: lTLS)
            #expect(kLog.executed.contains { $0.command.items.first?.target == StatusPageTests.camera })
            #expect(!lLog.executed.contains { $0.command.items.first?.target == StatusPageTests.camera }, "same user, not in the device group")
            // Without a user the kiosk keeps what its group gives it.
            _ = try await server.admin.unassignUser(k.entDMID)
            _ = try await server.admin.setProfileSetting("Kiosk lockdown", OMASetting(locURI: StatusPageTests.camera, format: "int", value: "1"))
            let again = try await kiosk.manage(k, transport: kTLS, sessionID: "2")
            #expect(again.executed.contains { $0.command.name == "Replace" && $0.command.items.first?.data == "1" })
            // Out of the group: the setting is deleted from the kiosk.
            _ = try await server.admin.removeDevice(group: "Kiosk devices", device: k.entDMID)
            let out = try await kiosk.manage(k, transport: kTLS, sessionID: "3")
            #expect(out.executed.contains { $0.command.name == "Delete" && $0.command.items.first?.target == StatusPageTests.camera })
            try await kTLS.shutdown()
            try await lTLS.shutdown()
        }
        await server.close()
    }
}
