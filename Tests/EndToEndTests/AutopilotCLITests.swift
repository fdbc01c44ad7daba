import Foundation
import MDMTesting
import Testing

/// The Autopilot and corporate-identifier commands, run as an administrator runs them: import with row results and
/// file refusals, the V03 and V04 lints from cause to fix, the offline profile file, identifiers, and doctor.
@Suite(.serialized) struct AutopilotCLITests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-apcli-\(UUID().uuidString)").path
    var common: [String] { ["--data-dir", dir] }

    func file(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("autopilot import/devices/lint/set/export-json and identifiers import/list/delete through the CLI")
    func autopilotCommands() async throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(try await CLI.run(["init"] + common).status == 0)
        let header = "Device Serial Number,Windows Product ID,Hardware Hash,Group Tag,Assigned User"
        let csv = try file("devices.csv", [header, "PF1ABC,,\(DeviceProfile.hardwareHash()),SALES,", "PF2ABC,,\(DeviceProfile.hardwareHash()),HYB,",
                                           "PF3ABC,,abc,,", "pf1abc,,\(DeviceProfile.hardwareHash()),,"].joined(separator: "\r\n"))
        // Import: every row gets Intune's result; a row error makes the command exit 1.
        let imported = try await CLI.run(["autopilot", "import", csv] + common)
        #expect(imported.status == 1, "\(imported.out)\(imported.err)")
        #expect(imported.out.contains("InvalidZtdHardwareHash") && imported.out.contains("ZtdDeviceDuplicated"), "\(imported.out)")
        #expect(imported.out.contains("2 of 4 devices imported."))
        let again = try await CLI.run(["autopilot", "import", csv, "--json"] + common)
        #expect(again.out.contains("ZtdDeviceAlreadyAssigned") && again.out.contains("806"))
        // A quoted file is refused whole, with the line and column.
        let quoted = try file("quoted.csv", "\(header)\nPF9,,\"\(DeviceProfile.hardwareHash())\",,")
        let refused = try await CLI.run(["autopilot", "import", quoted] + common)
        #expect(refused.status != 0 && (refused.err + refused.out).contains("Line 2, column 6"), "\(refused.err)")
        #expect(!(try await CLI.run(["autopilot", "devices"] + common).out.contains("PF9")), "a refused file leaves nothing behind")

        // V03 cause: the tag SALES puts PF1ABC in two groups, each with a profile.
        for (group, tag) in [("AP Sales", "SALES"), ("AP Sales 2", "SALES"), ("AP Hybrid", "HYB")] {
            #expect(try await CLI.run(["groups", "create", group, "--autopilot-tag", tag] + common).status == 0)
        }
        #expect(try await CLI.run(["autopilot", "create", "--name", "Sales", "--template", "SAL-%SERIAL%", "--group", "AP Sales"] + common).status == 0)
        #expect(try await CLI.run(["autopilot", "create", "--name", "Hybrid", "--join", "hybrid", "--group", "AP Sales 2", "--group", "AP Hybrid"] + common).status == 0)
        let devices = try await CLI.run(["autopilot", "devices"] + common)
        #expect(devices.out.contains("Sales (conflict: 2 profiles)"), "\(devices.out)")
        var lint = try await CLI.run(["autopilot", "lint"] + common)
        #expect(lint.status == 1 && lint.out.contains("PF1ABC [0x801C03EA]") && lint.out.contains("\"Sales\" wins because it was created first"), "\(lint.out)")
        // Fix: one profile for the device's groups.
        #expect(try await CLI.run(["autopilot", "unassign", "Hybrid", "--group", "AP Sales 2"] + common).status == 0)
        lint = try await CLI.run(["autopilot", "lint"] + common)
        #expect(lint.status == 0 && lint.out.contains("No Autopilot profile problems."), "\(lint.out)")

        // V04 cause: a user assigned to a device whose profile is hybrid join is refused, with the code.
        try await CLI.run(["users", "add", "ann@winmdm.test", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD"] + common)
        let v04 = try await CLI.run(["autopilot", "set", "PF2ABC", "--user", "ann@winmdm.test"] + common)
        #expect(v04.status != 0 && v04.err.contains("0x80070774"), "\(v04.err)")
        #expect(try await CLI.run(["autopilot", "devices", "--json"] + common).out.contains("ann@winmdm.test") == false, "a refused change leaves no trace")
        #expect(try await CLI.run(["autopilot", "set", "PF2ABC", "--user", "ann@winmdm.test", "--override"] + common).status == 0)
        lint = try await CLI.run(["autopilot", "lint"] + common)
        #expect(lint.status == 1 && lint.out.contains("PF2ABC [0x80070774]") && lint.out.contains("winmdm autopilot set PF2ABC --no-user"))
        // doctor names the problem for the user it concerns.
        let doctor = try await CLI.run(["doctor", "--user", "ann@winmdm.test"] + common)
        #expect(doctor.out.contains("Autopilot PF2ABC [hybrid-assigned-user]") && doctor.out.contains("0x80070774"), "\(doctor.out)")
        #expect(try await CLI.run(["autopilot", "set", "PF2ABC", "--no-user"] + common).status == 0)
        #expect(try await CLI.run(["autopilot", "lint"] + common).status == 0)

        // The offline file.
        let out = dir + "/AutopilotConfigurationFile.json"
        #expect(try await CLI.run(["autopilot", "export-json", "Sales", "--output", out] + common).status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        #expect(json["CloudAssignedDeviceName"] as? String == "SAL-%SERIAL%" && json["CloudAssignedForcedEnrollment"] as? Int == 1)
        #expect(try await CLI.run(["autopilot", "export-json", "Nope"] + common).status != 0)

        // Release and re-import: 808.
        #expect(try await CLI.run(["autopilot", "remove", "PF2ABC", "--released-to", "Fabrikam"] + common).status == 0)
        let released = try await CLI.run(["autopilot", "import", try file("again.csv", "\(header)\nPF2ABC,,\(DeviceProfile.hardwareHash()),,")] + common)
        #expect(released.out.contains("808 - ZtdDeviceAssignedToOtherTenant"), "\(released.out)")

        // Corporate identifiers: no header, quoted values, periods stripped; a header line is refused.
        let ids = try file("ids.csv", "Lenovo,ThinkPad T14,SN.1234.56\n\"Dell, Inc.\",Latitude 7440,ABC\n")
        let imp = try await CLI.run(["identifiers", "import", ids] + common)
        #expect(imp.status == 0 && imp.out.contains("Imported 2 new identifiers"), "\(imp.out)\(imp.err)")
        let headed = try await CLI.run(["identifiers", "import", try file("h.csv", "Manufacturer,Model,Serial Number\nHP,X,1\n")] + common)
        #expect(headed.status != 0 && headed.err.contains("header"), "\(headed.err)")
        let list = try await CLI.run(["identifiers", "list"] + common)
        #expect(list.out.contains("Lenovo,ThinkPad T14,SN123456") && list.out.contains("Dell, Inc.,Latitude 7440,ABC") && list.out.contains("Not contacted"))
        #expect(try await CLI.run(["identifiers", "delete", "Lenovo,ThinkPad T14,SN123456"] + common).status == 0)
        #expect(!(try await CLI.run(["identifiers", "list"] + common).out.contains("Lenovo")))
    }
}
