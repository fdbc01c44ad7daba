import Foundation
import MDMConsole
import MDMCore
import Testing

/// The console's page models, built from domain values without HTTP: what each page says follows from what it is given.
@Suite struct PageModelTests {
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    static func device(_ name: String, upn: String, enrolled: TimeInterval, seen: TimeInterval? = nil) -> Enrollment {
        Enrollment(upn: upn, deviceID: name + "-ID", hwDevID: String(repeating: "A", count: 64), deviceName: name, enrollmentType: .full,
                   osEdition: 48, osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "AB",
                   certificateNotAfter: now + 86400 * 300, enrolledAt: now - enrolled, lastSeenAt: seen.map { now - $0 })
    }

    static func failure(_ upn: String, rule: RuleID?, ago: TimeInterval, repeats: Int? = nil) -> EnrollmentAttempt {
        var a = EnrollmentAttempt(time: now - ago, phase: rule == nil ? .policy : .enroll, facts: EnrollmentFacts(upn: upn), outcome: .failed)
        if let rule {
            a.denials = [Denial(rule: rule, reason: "\(rule.rawValue) said no", fault: .authorization("no"))]
        } else {
            a.fault = .authentication("The password for \(upn) is wrong.")
        }
        a.repeats = repeats
        return a
    }

    @Test func homeSaysWhatToDoFirstOnlyWhileThereIsNothing() {
        let empty = HomePage.build(users: 1, devices: 0, queuedCommands: 0, failures: [], autopilotDevices: 0, profiles: 0,
                                   publicURL: "https://mdm.contoso.com", domain: "contoso.com")
        #expect(empty.steps.map(\.title) == ["Add the users who will enroll", "Point Windows at this server", "Enroll a first device"])
        #expect(empty.steps.last?.link == "ms-device-enrollment:?mode=mdm&username=ann@contoso.com&servername=https://mdm.contoso.com/EnrollmentServer/Discovery.svc")
        #expect(empty.steps[1].detail.contains("EnterpriseEnrollment.contoso.com (a CNAME to mdm.contoso.com)"))
        let busy = HomePage.build(users: 40, devices: 12, queuedCommands: 3, failures: [Self.failure("a@contoso.com", rule: .deviceLimit, ago: 60, repeats: 2)],
                                  autopilotDevices: 0, profiles: 1, publicURL: "https://mdm.contoso.com", domain: "contoso.com")
        #expect(busy.steps.isEmpty && busy.failures == 3 && busy.context["hasSteps"] as? Bool == false)
    }

    @Test func failuresGroupByCauseWithNoiseLast() {
        let attempts = (0..<30).map { Self.failure("user\($0 % 3)@contoso.com", rule: nil, ago: Double($0) * 60) }
            + [Self.failure("ann@contoso.com", rule: .deviceLimit, ago: 30)]
        let groups = FailureGroup.build(attempts)
        #expect(groups.count == 2)
        #expect(groups.first?.rule == "device-limit" && groups.first?.isNoise == false, "the cause an admin can fix comes first")
        #expect(groups.last?.count == 30 && groups.last?.isNoise == true && groups.last?.users.count == 3)
        // One row per cause and user on the troubleshooting page.
        #expect(FailureGroup.byCauseAndUser(attempts).count == 4)
    }

    @Test func windowsDevicesSearchAndSort() {
        let devices = [Self.device("ZETA", upn: "b@contoso.com", enrolled: 100), Self.device("alpha", upn: "a@contoso.com", enrolled: 50, seen: 10),
                       Self.device("Beta", upn: "a@contoso.com", enrolled: 300, seen: 5)]
        let byName = WindowsDevicesPage.matching(devices, query: "", sort: .name, shown: 100)
        #expect(byName.devices.map(\.deviceName) == ["alpha", "Beta", "ZETA"] && byName.summary == "3 devices." )
        let search = WindowsDevicesPage.matching(devices, query: "A@CONTOSO", sort: .seen, shown: 1)
        #expect(search.devices.map(\.deviceName) == ["Beta"])
        #expect(search.summary == "2 devices match; the first 1 are shown, search to narrow.")
    }

    @Test func reviewListsOnlyWhatChanges() {
        let changes = ReviewPage.changes([("Device limit", "5"), ("Minimum version", ""), ("Assigned groups", "Staff")],
                                         [("Device limit", "7"), ("Minimum version", "10.0.19045"), ("Assigned groups", "Staff")])
        #expect(changes == [.init(field: "Device limit", before: "5", after: "7"), .init(field: "Minimum version", before: "(none)", after: "10.0.19045")])
        let page = ReviewPage(heading: "Review + save: Default", changes: changes, action: "/x",
                              fields: [(name: "csrf", value: "t"), (name: "limit", value: "7"), (name: "reviewed", value: "no")], back: "/y")
        #expect(page.fields.map(\.name) == ["limit"], "the token and the review flag are the form's own, not carried")
    }

    @Test func troubleshootingPagesFiftyCausesAtATime() {
        let rows = (0..<120).map { n in
            TroubleshootingPage.Row(group: FailureGroup.build([Self.failure("u\(n)@contoso.com", rule: .noLicense, ago: Double(n))])[0], fix: "assign a license", resolved: nil)
        }
        let second = TroubleshootingPage(days: 7, page: 2, rows: rows, noise: [], lockouts: [], chart: "").context
        #expect((second["failures"] as? [[String: Any]])?.count == 50)
        #expect(second["prev"] as? String == "/console/troubleshooting?days=7&page=1" && second["next"] as? String == "/console/troubleshooting?days=7&page=3")
        #expect(second["summary"] as? String == "120 causes in the last 7 days, page 2 of 3.")
        #expect(TroubleshootingPage.days("365") == 90 && TroubleshootingPage.days("x") == 7 && TroubleshootingPage.days("0") == 1)
    }

    @Test func renderedValuesAreEscaped() {
        let hostile = Self.device("<script>alert(1)</script>", upn: "a@contoso.com", enrolled: 10)
        let page = DevicePage(enrollment: hostile, schedule: .intune, now: Self.now, commands: [], attempts: [], profiles: [], compliance: [])
        let html = ConsoleRenderer().render(page: DevicePage.template, title: page.title, model: page.context, user: "admin@contoso.com",
                                            role: "admin", csrf: "t", section: "windows")
        #expect(!html.contains("<script>alert(1)</script>") && html.contains("&lt;script&gt;"))
    }
}
