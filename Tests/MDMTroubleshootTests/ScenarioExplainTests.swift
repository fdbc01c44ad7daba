import MDMTroubleshoot
import Testing

/// Every row of SCENARIOS.md is explained by `explain` given its code or its message text.
@Suite struct ScenarioExplainTests {
    static let rows: [(id: String, input: String)] = [
        ("S01", "80180003"), ("S02", "Your organization does not support this version of Windows. (0x80180014)"),
        ("S03", "This user is not authorized to enroll 80180003"), ("S04", "801c0003 This user is not allowed to enroll"),
        ("S05", "The device is already enrolled. 8018000a"), ("S06", "This account is not allowed on this phone."),
        ("S07", "Looks like the MDM Terms of Use endpoint is not correctly configured."),
        ("S08", "A setup failure has occurred during bulk enrollment."), ("S09", "Auto MDM Enroll: Failed (Unknown Win32 Error code: 0x8018002b)"),
        ("S10", "0x80180015"), ("S11", "0x80180015"), ("S12", "0x80180014"), ("S13", "0x80180014"), ("S14", "0x80180013"),
        ("S15", "The service is in maintenance. 0x80180017"),
        ("V01", "An error occurred while creating Autopilot profile."), ("V02", "device limit maximum 15"),
        ("V03", "Registering your device for mobile management (Failed: 3, 0x801C03EA)."), ("V04", "Error Code 80070774"),
        ("X01", "Something went wrong (80180026)"), ("X02", "The software cannot be installed, 0x80cf4017."),
        ("X03", "Something went wrong. OOBEIDPS."), ("X04", "Autopilot 0x80180022"),
        ("X05", "Registering your device for mobile management (Failed:3, 0x801C03EA)"),
        ("X06", "Securing your hardware (Failed: 0x800705b4)"),
        ("X07", "{\"EventId\":30132,\"Message\":\"Failed to get the ODJ Blob\"} 80070774"),
        ("X08", "ESP times out before the sign-in screen"), ("X09", "Event 76 Auto MDM Enroll: Failed 0x80180002b"),
    ]

    @Test(arguments: rows.map(\.id))
    func explained(_ id: String) {
        let input = Self.rows.first { $0.id == id }!.input
        let e = Explainer().explain(input)
        let scenarios = Set(e.causes.compactMap(\.scenario) + e.matches.flatMap { m in KnowledgeBase.bundled.entry(id: m.entry)?.scenarios ?? [] })
        #expect(scenarios.contains(id), "\(id): \(input) → \(e.matches.map(\.entry))")
    }
}

/// A device that is enrolled but refused as not compliant: explain points at winmdm's compliance state, not at enrollment.
@Suite struct ComplianceExplainTests {
    @Test func notCompliantAfterEnrollmentPointsAtComplianceStatus() {
        let e = Explainer().explain("Conditional access says my device is not compliant although it is enrolled in winmdm, AADSTS53000")
        let first = e.causes.first
        #expect(first?.title.hasPrefix("The device is enrolled but is not compliant") == true, "\(e.causes.map(\.title))")
        #expect(first?.confirm.contains("winmdm compliance status") == true)
        // Blocked while enrolling is still the enrollment cause.
        let during = Explainer().explain("You can't get here from there during enrollment in OOBE, conditional access requires a compliant device, AADSTS53000")
        #expect(during.causes.first?.title.hasPrefix("A Conditional Access policy requires a compliant") == true, "\(during.causes.map(\.title))")
    }
}
