import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// Autopilot devices and ownership end to end: the CSV import with Intune's row errors, the profile each device
/// resolves to (V03, V04), the offline profile file, and an emulated Autopilot device that enrolls, is matched by the
/// serial number it reports, becomes corporate and gets its profile's name.
@Suite struct AutopilotTests {
    static let header = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"

    static func csv(_ rows: [String]) -> [UInt8] { Array(([header] + rows).joined(separator: "\r\n").utf8) }

    @Test("import: each row gets Intune's result; a bad header or a quotation mark refuses the file with line and column")
    func importRows() async throws {
        let server = try await TestServer.make()
        let h1 = DeviceProfile.hardwareHash(), h2 = DeviceProfile.hardwareHash()
        let rows = try await server.admin.importAutopilotDevices(csv: Self.csv([
            "PF1ABC,,\(h1),SALES,", "PF2ABC,,\(String(h2.dropLast(2)))x,,", "pf1abc,,\(DeviceProfile.hardwareHash()),,",
            "PF3ABC,,\(h2),,ann@contoso.com", "PF4ABC,,\(DeviceProfile.hardwareHash()),,", "PF5ABC,,\(DeviceProfile.hardwareHash()),,"]))
        #expect(rows.map(\.status) == [.complete, .error, .error, .error, .complete, .complete])
        #expect(rows[1].errorName == "InvalidZtdHardwareHash" && rows[1].message?.contains("padded base64") == true)
        #expect(rows[2].errorName == "ZtdDeviceDuplicated" && rows[2].line == 4)
        #expect(rows[3].errorName == "InvalidAssignedUserDomain", "only the domain of the assigned user is checked")
        // Importing again: already registered (806); a released device belongs to the other organization (808).
        try await server.admin.deleteAutopilotDevice("PF5ABC", releasedTo: "Fabrikam")
        let again = try await server.admin.importAutopilotDevices(csv: Self.csv(["PF1ABC,,\(h1),,", "PF5ABC,,\(DeviceProfile.hardwareHash()),,"]))
        #expect(again.map(\.errorCode) == [806, 808])
        #expect(again.map(\.errorName) == ["ZtdDeviceAlreadyAssigned", "ZtdDeviceAssignedToOtherTenant"])
        #expect(try await server.admin.autopilotDevices().map(\.serialNumber) == ["PF1ABC", "PF4ABC"])

        for (file, line, column) in [("Serial,Windows Product ID,Hardware Hash\nX,,\(h1)", 1, 1),
                                     ("\(Self.header)\nPF9,,\"\(h1)\",,", 2, 6),
                                     ("\(Self.header)\nPF9,,\(h1),,,extra", 2, 0)] {
            await #expect(throws: AdminError.self) { try await server.admin.importAutopilotDevices(csv: Array(file.utf8)) }
            do { _ = try await server.admin.importAutopilotDevices(csv: Array(file.utf8)) } catch let e as AdminError {
                #expect(e.message.contains("Line \(line), column"), "\(e.message)")
                if column > 0 { #expect(e.message.contains("column \(column):"), "\(e.message)") }
            }
        }
        let tooMany = (0...AutopilotCSV.maxRows).map { "S\($0),,\(h1)," }
        await #expect(throws: AdminError.self) { try await server.admin.importAutopilotDevices(csv: Self.csv(tooMany.map { $0 + "," })) }
        #expect(try await server.admin.autopilotDevices().count == 2, "a refused file leaves nothing behind")
    }

    @Test("V03: two profiles target a device, the oldest wins and the lint says so; V04: a user on a hybrid device is refused")
    func lintConflictsAndHybridUser() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.admin.importAutopilotDevices(csv: Self.csv(["PF1ABC,,\(DeviceProfile.hardwareHash()),SALES,",
                                                                        "PF2ABC,,\(DeviceProfile.hardwareHash()),HYB,"]))
        _ = try await server.admin.createGroup("AP Sales", autopilotGroupTag: "SALES")
        _ = try await server.admin.createGroup("AP Sales too", autopilotGroupTag: "sales")
        _ = try await server.admin.createGroup("AP Hybrid", autopilotGroupTag: "HYB")
        // Cause (V03): the device's tag puts it in two groups with different profiles.
        _ = try await server.admin.createAutopilotProfile(name: "Entra first", joinType: .entra, template: "CON-%SERIAL%", groups: ["AP Sales"])
        clock.advance(by: 60)
        _ = try await server.admin.createAutopilotProfile(name: "Hybrid later", joinType: .hybrid, template: nil, groups: ["AP Sales too", "AP Hybrid"])
        var findings = try await server.admin.autopilotLint()
        let conflict = try #require(findings.first { $0.kind == .profileConflict })
        #expect(conflict.device.serialNumber == "PF1ABC" && conflict.code == "0x801C03EA")
        #expect(conflict.profiles.map(\.displayName) == ["Entra first", "Hybrid later"])
        #expect(conflict.message.contains("\"Entra first\" wins because it was created first"))
        // Fix: one profile per device.
        _ = try await server.admin.assignAutopilotProfile("Hybrid later", groups: ["AP Sales too"], remove: true)
        #expect(try await server.admin.autopilotLint().isEmpty)

        // Cause (V04): assigning a user to a device whose profile is hybrid join is refused with 0x80070774.
        await #expect(throws: AdminError.self) { try await server.admin.updateAutopilotDevice("PF2ABC", assignedUser: .some("alice@winmdm.test")) }
        do { _ = try await server.admin.updateAutopilotDevice("PF2ABC", assignedUser: .some("alice@winmdm.test")) } catch let e as AdminError {
            #expect(e.message.contains("0x80070774"))
        }
        #expect(try await server.admin.autopilotDevice("PF2ABC").assignedUser == nil, "a refused change leaves no trace")
        // Accepted only with an override, and then the lint lists it with its fix.
        _ = try await server.admin.updateAutopilotDevice("PF2ABC", assignedUser: .some("alice@winmdm.test"), override: true)
        findings = try await server.admin.autopilotLint()
        #expect(findings.map(\.kind) == [.hybridAssignedUser] && findings.first?.fix == "winmdm autopilot set PF2ABC --no-user")
        _ = try await server.admin.updateAutopilotDevice("PF2ABC", assignedUser: .some(nil))
        #expect(try await server.admin.autopilotLint().isEmpty)
    }

    @Test("export-json writes the offline profile file with this installation's tenant, in ASCII")
    func offlineProfileFile() async throws {
        let server = try await TestServer.make()
        let p = try await server.admin.createAutopilotProfile(name: "Existing devices", joinType: .entra, template: "CON-%RAND:4%", groups: [],
                                                              oobe: AutopilotOOBE(userType: .standard, keyboardSelectionPageSkipped: true))
        let bytes = try await server.admin.autopilotConfigurationFile("Existing devices")
        #expect(bytes.allSatisfy { $0 < 0x80 })
        let o = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let settings = try await server.admin.settings()
        #expect(o["CloudAssignedTenantId"] as? String == settings.tenantID)
        #expect(o["CloudAssignedTenantDomain"] as? String == "winmdm.test")
        #expect(o["ZtdCorrelationId"] as? String == p.id)
        #expect(o["CloudAssignedDomainJoinMethod"] as? Int == 0 && o["CloudAssignedForcedEnrollment"] as? Int == 1)
        #expect(o["CloudAssignedOobeConfig"] as? Int == 8 + 256 + 2 + 4 + 16 + 1024)
        #expect(o["CloudAssignedDeviceName"] as? String == "CON-%RAND:4%")
        let server2 = try #require(o["CloudAssignedAadServerData"] as? String)
        #expect(server2.contains("\"CloudAssignedTenantDomain\":\"winmdm.test\""))
        _ = try await server.admin.createAutopilotProfile(name: "Kiosk", joinType: .entra, template: nil, groups: [],
                                                          oobe: AutopilotOOBE(deviceUsageType: .shared))
        await #expect(throws: AdminError.self) { try await server.admin.autopilotConfigurationFile("Kiosk") }
    }

    @Test("an imported device enrolls through Autopilot, is matched by serial number, becomes corporate and is named by its profile")
    func importAssignEnrollRename() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.importAutopilotDevices(csv: Self.csv(["5CG1234XYZ99,,\(DeviceProfile.hardwareHash()),SALES,"]))
        _ = try await server.admin.createGroup("AP Sales", autopilotGroupTag: "SALES")
        _ = try await server.admin.createAutopilotProfile(name: "Sales", joinType: .entra, template: "SAL-%SERIAL%", groups: ["AP Sales"])
        try await server.live { t in
            var profile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1", enrollmentType: .device)
            profile.autopilot = true
            profile.hardware(serial: "5CG1234XYZ99", manufacturer: "HP", model: "EliteBook 840")
            let device = WindowsDevice(profile: profile, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            var e = try await server.admin.enrollment(id.entDMID)
            #expect(e.ownership == .corporate && e.ownershipRecord?.source == .autopilot)
            let tls = try server.mutualTLS(id)
            // First session: winmdm asks for the serial number; the answer matches the registration.
            let first = try await device.manage(id, transport: tls)
            #expect(first.executed.contains { $0.command.items.first?.target == ManagementService.serialNode })
            e = try await server.admin.enrollment(id.entDMID)
            let ap = try await server.admin.autopilotDevice("5CG1234XYZ99")
            #expect(e.autopilotDeviceID == ap.id && ap.enrollmentState == .enrolled && ap.hwDevID == profile.hwDevID)
            #expect(ap.manufacturer == "HP" && ap.model == "EliteBook 840")
            // Next session: the profile's template names it (the serial keeps its last characters within 15).
            let second = try await device.manage(id, transport: tls, sessionID: "2")
            let rename = try #require(second.executed.first { $0.command.items.first?.target == "./Device/Vendor/MSFT/Accounts/Domain/ComputerName" })
            #expect(rename.command.items.first?.data == "SAL-CG1234XYZ99" && rename.status == "200")
            // Re-enrolling the same hardware is recognised from the request alone.
            #expect(try await server.store.autopilotDevice(hwDevID: profile.hwDevID)?.serialNumber == "5CG1234XYZ99")
            try await tls.shutdown()
        }
    }

    @Test("X04: an Autopilot device running Windows Home is refused with 0x80180022's meaning recorded")
    func autopilotHome() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.editHome()
        try await server.live { t in
            var profile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1", osEdition: 101, enrollmentType: .device)
            profile.autopilot = true
            let device = WindowsDevice(profile: profile, transport: t)
            await #expect(throws: DeviceFailure.self) { _ = try await device.enroll(discoveryURL: server.discoveryURL) }
            let a = try #require(try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true)).first)
            #expect(a.denials.first?.rule == .autopilotHome && a.denials.first?.reason.contains("0x80180022") == true)
            // Without Autopilot, Home is allowed here (the restriction allows it): only Autopilot refuses it.
            var plain = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1", osEdition: 101, enrollmentType: .device)
            plain.autopilot = false
            _ = try await WindowsDevice(profile: plain, transport: t).enroll(discoveryURL: server.discoveryURL)
        }
    }

    @Test("ownership: without identifiers a Settings enrollment is personal and blocked; with them a matching device is corporate")
    func corporateIdentifiers() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.editRestriction(.platform, "Default", platform: PlatformChange(personalDeviceEnrollmentBlocked: true))
        try await server.live { t in
            // Cause: personal devices blocked, a work account added from Settings.
            var p1 = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            p1.hardware(serial: "SN.1234.56", manufacturer: "Lenovo", model: "ThinkPad T14")
            do { _ = try await WindowsDevice(profile: p1, transport: t).enroll(discoveryURL: server.discoveryURL); Issue.record("enrolled") }
            catch let f as DeviceFailure { #expect(f.hresult == 0x8018_0014) }
            let refused = try #require(try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true)).first)
            #expect(refused.denials.first?.rule == .personalBlocked && refused.fault?.errorType == .deviceNotSupported)
            #expect(refused.fault?.reason.contains("Device Identifier not preregistered") == true)
            // Fix: upload the corporate identifier (periods are stripped from the serial).
            let (added, _) = try await server.admin.importDeviceIdentifiers(csv: Array("Lenovo,ThinkPad T14,SN.1234.56\n\"Dell, Inc.\",Latitude 7440,ABC\n".utf8))
            let serials = try await server.admin.deviceIdentifiers().map(\.serialNumber)
            #expect(added == 2 && serials.contains("SN123456") && serials.contains("ABC"))
            let device = WindowsDevice(profile: p1, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            #expect(try await server.admin.enrollment(id.entDMID).ownershipRecord?.isPending == true)
            let tls = try server.mutualTLS(id)
            _ = try await device.manage(id, transport: tls)
            try await tls.shutdown()
            let e = try await server.admin.enrollment(id.entDMID)
            #expect(e.ownership == .corporate && e.ownershipRecord?.source == .identifier)
            // An admin can change it, with a reason that stays visible.
            let changed = try await server.admin.setOwnership(id.entDMID, .personal, reason: "Bought by the employee")
            #expect(changed.ownership == .personal && changed.ownershipRecord?.reason == "Bought by the employee")
            #expect(try await server.admin.auditEntries(limit: 1).first?.action == "device.ownership")
        }
    }

    @Test("identifiers uploaded, personal blocked: a device that matches none is refused at its first check-in, unenrolled, and the refusal recorded; uploading it fixes it")
    func personalRefusedAtFirstCheckIn() async throws {
        let server = try await TestServer.make()
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.editRestriction(.platform, "Default", platform: PlatformChange(personalDeviceEnrollmentBlocked: true))
        _ = try await server.admin.importDeviceIdentifiers(csv: Array("HP,EliteBook 840,OTHER1\n".utf8))
        try await server.live { t in
            // Cause: identifiers exist and this device is not among them.
            var p = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
            p.hardware(serial: "LAP-0042", manufacturer: "Lenovo", model: "ThinkPad X1")
            let device = WindowsDevice(profile: p, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            #expect(try await server.admin.enrollment(id.entDMID).ownershipRecord?.isPending == true, "the request alone cannot tell")
            let tls = try server.mutualTLS(id)
            _ = try await device.manage(id, transport: tls)
            // What the admin sees: the refusal under the personal-device rule, with Intune's wording.
            let refused = try #require(try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true)).first)
            #expect(refused.phase == .manage && refused.enrollmentID == id.entDMID && refused.denials.first?.rule == .personalBlocked)
            #expect(refused.fault?.reason.contains("Device Identifier not preregistered") == true && refused.code == "0x80180014")
            #expect(refused.denials.first?.reason.contains("matches none of them") == true)
            // What the device sees: it is told to unenroll at its next session, and the enrollment ends.
            let next = try await device.manage(id, transport: tls, sessionID: "2")
            #expect(next.executed.contains { $0.command.name == "Exec" && $0.command.items.first?.target?.hasSuffix("/Unenroll") == true })
            #expect(try await server.admin.enrollment(id.entDMID).state == .unenrolled)
            try await tls.shutdown()
            // Fix: upload the device's identifier; the same hardware enrolls again and stays, as corporate.
            _ = try await server.admin.importDeviceIdentifiers(csv: Array("Lenovo,ThinkPad X1,LAP-0042\n".utf8))
            let again = WindowsDevice(profile: p, transport: t)
            let id2 = try await again.enroll(discoveryURL: server.discoveryURL)
            let tls2 = try server.mutualTLS(id2)
            _ = try await again.manage(id2, transport: tls2)
            let e = try await server.admin.enrollment(id2.entDMID)
            #expect(e.state == .active && e.ownership == .corporate && e.ownershipRecord?.source == .identifier)
            #expect(try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true)).count == 1, "no second refusal")
            try await tls2.shutdown()
        }
    }

    @Test("V03 on a first enrollment: matched by serial in the first session, the conflict is recorded on an attempt; the offline file's correlator names its profile")
    func conflictRecordedAtFirstSession() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        _ = try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.importAutopilotDevices(csv: Self.csv(["CONFLICT1,,\(DeviceProfile.hardwareHash()),SALES,"]))
        _ = try await server.admin.createGroup("AP Sales", autopilotGroupTag: "SALES")
        _ = try await server.admin.createGroup("AP Sales EU", autopilotGroupTag: "SALES")
        let first = try await server.admin.createAutopilotProfile(name: "Sales", joinType: .entra, template: "SAL-%RAND:4%", groups: ["AP Sales"])
        clock.advance(by: 60)
        _ = try await server.admin.createAutopilotProfile(name: "Sales EU", joinType: .entra, template: "EU-%RAND:4%", groups: ["AP Sales EU"])
        try await server.live { t in
            var p = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1", enrollmentType: .device)
            p.autopilot = true
            p.autopilotCorrelator = first.id
            p.hardware(serial: "CONFLICT1")
            let device = WindowsDevice(profile: p, transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let enrolled = try #require(try await server.store.attempts(AttemptQuery(limit: 5)).first { $0.enrollmentID == id.entDMID && $0.phase == .enroll })
            #expect(enrolled.notes.contains { $0.hasPrefix("autopilot-offline-profile:") && $0.contains("\"Sales\"") }, "\(enrolled.notes)")
            let tls = try server.mutualTLS(id)
            _ = try await device.manage(id, transport: tls)
            try await tls.shutdown()
            let conflict = try #require(try await server.store.attempts(AttemptQuery(limit: 5)).first { $0.phase == .manage && $0.enrollmentID == id.entDMID })
            let note = try #require(conflict.notes.first { $0.hasPrefix("autopilot-conflict: ") })
            #expect(note.contains("\"Sales\" wins because it was created first") && note.contains("0x801C03EA"))
        }
        // An unknown correlator is noted as such.
        try await server.live { t in
            var p = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1", enrollmentType: .device)
            p.autopilotCorrelator = "00000000-0000-0000-0000-000000000001"
            _ = try await WindowsDevice(profile: p, transport: t).enroll(discoveryURL: server.discoveryURL)
            let a = try #require(try await server.store.attempts(AttemptQuery(limit: 1)).first)
            #expect(a.notes.contains { $0.contains("names no Autopilot profile here") })
        }
    }
}

extension TestServer {
    /// Lets Home editions enroll (so only the Autopilot rule can refuse one).
    func editHome() async throws -> Restriction {
        try await admin.editRestriction(.platform, "Default", platform: PlatformChange(homeAllowed: true))
    }
}

@Suite struct AutopilotGraphTests {
    @Test("Graph: import with per-row state, list with the winning profile and conflicts, assign user refused on hybrid, identifiers")
    func graphImportAndList() async throws {
        try await API.run { api, server in
            let hash = DeviceProfile.hardwareHash()
            let imported = try await api.call(.post, "/graph/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities/import", [
                "importedWindowsAutopilotDeviceIdentities": [
                    ["@odata.type": "#microsoft.graph.importedWindowsAutopilotDeviceIdentity", "serialNumber": "PF3ABCDE", "groupTag": "HYB",
                     "productKey": "", "hardwareIdentifier": hash],
                    ["serialNumber": "PF3ABCDF", "hardwareIdentifier": String(hash.dropLast(1))]]])
            #expect(imported.status == 200)
            let states = imported.value.compactMap { $0["state"] as? [String: Any] }
            #expect(states.map { $0["deviceImportStatus"] as? String } == ["complete", "error"])
            #expect(states.last?["deviceErrorName"] as? String == "InvalidZtdHardwareHash")
            _ = try await server.admin.createGroup("AP Hybrid", autopilotGroupTag: "HYB")
            let hybrid = try await server.admin.createAutopilotProfile(name: "Hybrid", joinType: .hybrid, template: nil, groups: ["AP Hybrid"])
            let list = try await api.call(.get, "/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities")
            let d = try #require(list.value.first)
            #expect(d["serialNumber"] as? String == "PF3ABCDE" && d["intendedDeploymentProfileId"] as? String == hybrid.id)
            #expect(d["deploymentProfileAssignmentStatus"] as? String == "assignedInSync")
            let id = try #require(d["id"] as? String)
            let refused = try await api.call(.post, "/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities/\(id)/assignUserToDevice",
                                             ["userPrincipalName": "ann@winmdm.test"])
            #expect(refused.status == 400 && "\(refused.json)".contains("0x80070774"))
            let ids = try await api.call(.post, "/graph/beta/deviceManagement/importedDeviceIdentities/importDeviceIdentityList", [
                "overwriteImportedDeviceIdentities": false,
                "importedDeviceIdentities": [["importedDeviceIdentityType": "manufacturerModelSerial", "importedDeviceIdentifier": "Microsoft,Surface Laptop 5,0123.456"]]])
            #expect(ids.status == 200)
            let listed = try await api.call(.get, "/graph/beta/deviceManagement/importedDeviceIdentities")
            #expect(listed.value.first?["importedDeviceIdentifier"] as? String == "Microsoft,Surface Laptop 5,0123456")
            #expect(try await api.call(.delete, "/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities/\(id)").status == 204)
            #expect(try await server.admin.autopilotDevices().isEmpty)
        }
    }
}

/// The console's Autopilot pages: the upload with a result per row, and the lint's warnings on devices and profiles.
@Suite struct AutopilotConsoleTests {
    @Test("upload the CSV in the console: a result per row (ANSI kept), a refused file shown with its line, V03/V04 warnings on devices and profiles")
    func uploadAndWarnings() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await web.signIn(first.upn, first.password)
            let empty = try await web.get("/console/devices/windows/autopilot/devices")
            #expect(empty.status == 200 && empty.html.contains("No Autopilot devices"))
            let csrf = try #require(ConsoleClient.csrf(empty.html))
            // An ANSI file (Windows-1252 é in the group tag) with one good row, one bad hash and one duplicate.
            var csv = Array("\(AutopilotTests.header)\r\nPF1ABC,,\(DeviceProfile.hardwareHash()),CAF".utf8) + [0xE9]
            csv += Array(",\r\nPF2ABC,,abc,,\r\nPF1ABC,,\(DeviceProfile.hardwareHash()),,\r\nPF3ABC,,\(DeviceProfile.hardwareHash()),HYB,\r\n".utf8)
            let done = try await web.upload("/console/devices/windows/autopilot/devices", [("csrf", csrf)], file: ("csv", "devices.csv", csv))
            #expect(done.status == 200 && done.html.contains("2 of 4 devices imported."), "\(done.html)")
            #expect(done.html.contains("InvalidZtdHardwareHash") && done.html.contains("ZtdDeviceDuplicated"))
            #expect(try await server.admin.autopilotDevice("PF1ABC").groupTag == "CAFé", "the ANSI byte reaches the importer unchanged")
            // A quoted file is refused whole, with the line and column, and nothing is imported.
            let quoted = Array("\(AutopilotTests.header)\nPF9,,\"x\",,".utf8)
            let refused = try await web.upload("/console/devices/windows/autopilot/devices", [("csrf", csrf)], file: ("csv", "q.csv", quoted))
            #expect(refused.status == 200 && refused.html.contains("The file was not imported: Line 2, column 6"), "\(refused.html)")
            #expect(try await server.admin.autopilotDevices().count == 2)
            // Without the CSRF token the upload is refused.
            #expect(try await web.upload("/console/devices/windows/autopilot/devices", [], file: ("csv", "d.csv", csv)).status == 403)

            // V03 and V04 causes, then their warnings on the device page and on both profiles.
            _ = try await server.admin.createGroup("AP Cafe", autopilotGroupTag: "CAFé")
            _ = try await server.admin.createGroup("AP Hybrid", autopilotGroupTag: "HYB")
            _ = try await server.admin.createAutopilotProfile(name: "Entra first", joinType: .entra, template: "CAF-%SERIAL%", groups: ["AP Cafe"])
            _ = try await server.admin.createAutopilotProfile(name: "Hybrid second", joinType: .hybrid, template: nil, groups: ["AP Cafe", "AP Hybrid"])
            _ = try await server.admin.updateAutopilotDevice("PF3ABC", assignedUser: .some("ann@winmdm.test"), override: true)
            let devices = try await web.get("/console/devices/windows/autopilot/devices")
            #expect(devices.html.contains("0x801C03EA") && devices.html.contains("&quot;Entra first&quot; wins because it was created first"), "\(devices.html)")
            #expect(devices.html.contains("0x80070774"))
            let profiles = try await web.get("/console/devices/windows/autopilot")
            let rows = profiles.html.components(separatedBy: "<tr>")
            #expect(rows.filter { $0.contains("PF1ABC: 0x801C03EA") }.count == 2, "both profiles carry the conflict")
            #expect(rows.contains { $0.contains("PF3ABC: 0x80070774") })
            // Fix: the warnings go away.
            _ = try await server.admin.assignAutopilotProfile("Hybrid second", groups: ["AP Cafe"], remove: true)
            _ = try await server.admin.updateAutopilotDevice("PF3ABC", assignedUser: .some(nil))
            #expect(!(try await web.get("/console/devices/windows/autopilot").html.contains("role=\"alert\"")))
        }
    }
}
