import Foundation
import MDMCore
import MDMStorage
import MDMTesting
import Testing

/// The troubleshooter through the real CLI: explain, doctor, attempts show --fix, report failures.
@Suite(.serialized) struct TroubleshootTests {
    @Test func explainPrintsTheDocumentedJSON() async throws {
        let r = try await CLI.run(["explain", "--json", "Something went wrong. This user is not authorised to enrol. Error 0x80180003, also 0x8018ABCD"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(json["codes"] as? [String] == ["0x80180003", "0x8018ABCD"])
        #expect(json["unrecognized"] as? [String] == ["0x8018ABCD"])
        let causes = try #require(json["causes"] as? [[String: Any]])
        #expect(causes.first?["scenario"] as? String == "S01")
        for key in ["id", "title", "confirm", "fix"] { #expect(causes.first?[key] is String, "\(key)") }
        let stdin = try await CLI.run(["explain", "-"], stdin: "<EventID>76</EventID> Auto MDM Enroll: Failed (Unknown Win32 Error code: 0x80180002b)")
        #expect(stdin.status == 0 && stdin.out.contains("0x8018002B"))
        let none = try await CLI.run(["explain", "my coffee is cold"])
        #expect(none.status != 0 && none.out.contains("Nothing recognised"))
    }

    /// Each run is a new process with a new hash seed: the same text must give the same causes in the same order.
    @Test func explainIsTheSameInEveryProcess() async throws {
        let text = "The enrolment failed: something went wrong, the device could not be registered, the server is not reachable and the certificate is not trusted"
        var runs: [String] = []
        for _ in 0..<4 { runs.append(try await CLI.run(["explain", "--json", text]).out) }
        #expect(runs[0].contains("\"causes\""))
        #expect(Set(runs).count == 1, "\(runs)")
    }

    @Test func recordedFailureIsExplainedFromItsDenialsAndFixedInOneStep() async throws {
        try await Scenario.run { s in
            try await s.admin("users", "add", "nolic@winmdm.test", "--password", "Correct horse 1")
            let a = try #require(try await s.fails(s.device("nolic@winmdm.test"), code: 0x8018_0018, rule: .noLicense, mentions: "no license"))
            let shown = try await s.admin("attempts", "show", a.id)
            #expect(shown.contains("Why, and the fix:") && shown.contains("winmdm licenses assign nolic@winmdm.test WINMDM_STANDARD"))
            #expect(shown.contains("If this device tried again now:"))
            let fixed = try await s.admin("attempts", "show", a.id, "--fix", "--yes")
            #expect(fixed.contains("Applied: Assign the WINMDM_STANDARD license"))
            let audit = try await #require(try s.json("audit", "list") as? [[String: Any]])
            #expect(audit.first?["action"] as? String == "user.assignLicense")
            try await s.succeeds(s.device("nolic@winmdm.test"))
            let after = try await s.admin("attempts", "show", a.id)
            #expect(after.contains("allowed: no rule says no."))
        }
    }

    @Test func doctorDryRunsThePolicyAndFixes() async throws {
        try await Scenario.run { s in
            try await s.admin("restrictions", "edit", "Default", "--min-version", "10.0.22000")
            try await s.admin("maintenance", "on")
            let d = try await #require(try s.json("doctor", "--user", "alice@winmdm.test", "--os-edition", "101", "--os-version", "10.0.19045.2006") as? [String: Any])
            let rules = (d["items"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
            #expect(rules == ["maintenance", "windows-home", "os-version"])
            #expect(d["allowed"] as? Bool == false)
            // A script can tell "would be refused" (exit 1) from "allowed" (exit 0).
            let refused = try await CLI.run(["doctor", "--user", "alice@winmdm.test", "--os-edition", "101", "--data-dir", s.server.dir.path])
            #expect(refused.status == 1 && refused.out.contains("[maintenance]"), "\(refused.status) \(refused.err)")
            let out = try await s.admin("doctor", "--user", "alice@winmdm.test", "--os-edition", "101", "--os-version", "10.0.19045.2006", "--fix", "--yes")
            #expect(out.contains("Applied: End maintenance."))
            let again = try await #require(try s.json("doctor", "--user", "alice@winmdm.test", "--os-edition", "101", "--os-version", "10.0.19045.2006") as? [String: Any])
            #expect(again["allowed"] as? Bool == true)
            try await s.succeeds(s.device(edition: 101, version: "10.0.19045.2006"))
            // A device limit reached: --yes takes the narrowest fix (retire the least recently seen device), never the
            // tenant-wide one (raising the Default limit for everyone) as well.
            try await s.admin("restrictions", "edit", "Default", "--type", "device-limit", "--limit", "1")
            let full = try await s.admin("doctor", "--user", "alice@winmdm.test", "--fix", "--yes")
            #expect(full.contains("[device-limit]") && full.contains("Applied: Retire") && !full.contains("Applied: Raise the device limit"), "\(full)")
            #expect(try await s.server.admin.restriction(.deviceLimit, "Default").limit == 1)
        }
    }

    @Test func failureReportAnswersTheSeedsQuestions() async throws {
        try await Scenario.run { s in
            try await s.admin("users", "add", "bob@winmdm.test", "--password", "Correct horse 1")
            try await s.succeeds(s.device())
            try await s.fails(s.device("bob@winmdm.test"), code: 0x8018_0018, rule: .noLicense, mentions: "no license")
            try await s.fails(s.device("bob@winmdm.test", edition: 101), code: 0x8018_0018, rule: .noLicense, mentions: "no license")
            let r = try await #require(try s.json("report", "failures", "--since", "1h") as? [String: Any])
            #expect(r["failedAttempts"] as? Int == 2)
            #expect(r["affectedUsers"] as? Int == 1 && r["usersWithAttempts"] as? Int == 2)
            let codes = try #require(r["codes"] as? [[String: Any]])
            #expect(codes.first?["code"] as? String == "0x80180018" && codes.first?["count"] as? Int == 2 && codes.first?["rule"] as? String == "no-license")
            let users = try #require(r["users"] as? [[String: Any]])
            #expect(users.first?["upn"] as? String == "bob@winmdm.test" && users.first?["everWorked"] as? Bool == false)
            #expect((r["windowsEditions"] as? [String: Int])?["Home (101)"] == 1)
            #expect((r["enrollmentMethods"] as? [String: Int])?["user"] == 2)
            let text = try await s.admin("report", "failures")
            #expect(text.contains("some users (1 of 2 who tried)"))
            #expect(try await CLI.run(["report", "failures", "--since", "soon", "--data-dir", s.server.dir.path]).err.contains("not a duration"))
        }
    }
}
