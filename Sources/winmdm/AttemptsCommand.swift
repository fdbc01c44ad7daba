import ArgumentParser
import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTroubleshoot

struct Attempts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show recorded enrollment attempts (every discovery, sign-in, policy and enrollment request).",
        subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List attempts, newest first.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Only failed attempts.") var failed = false
        @Option(help: "Only this user's attempts.") var user: String?
        @Option(help: "How many (default 50).") var limit: Int = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard limit > 0 else { throw ValidationError("--limit must be a positive number.") }
            try await Runtime.withAdmin(common) { admin, _ in
                let list = try await admin.attempts(AttemptQuery(limit: limit, failedOnly: failed, upn: user))
                if json { return try JSONOutput.print(list) }
                guard !list.isEmpty else { return print("No attempts recorded\(failed ? " that failed" : "").") }
                print(Table.render(["TIME", "ID", "PHASE", "RESULT", "CODE", "USER", "DEVICE", "REASON"], list.map { a in
                    [a.time.short, a.id, a.phase.rawValue, a.outcome.rawValue + (a.repeats.map { " ×\($0 + 1)" } ?? ""), a.code ?? "-", a.facts.upn ?? "-",
                     a.facts.deviceName ?? a.facts.deviceID.map { String($0.prefix(12)) } ?? "-",
                     AttemptText.reason(a)]
                }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show everything recorded about one attempt (the TraceId a device logged), why it failed and how to fix it.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Attempt id.") var id: String
        @Flag(help: "Apply the fix for what still denies this enrollment (asks first; see --yes).") var fix = false
        @Flag(help: "Do not ask before applying fixes.") var yes = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                let a = try await admin.attempt(id: id)
                let t = TroubleshootService(store: rt.store, admin: admin, publicURL: rt.config.publicURL)
                let (recorded, now) = try await t.diagnose(a)
                if json && !fix {
                    struct Out: Encodable { var attempt: EnrollmentAttempt; var explanation: [DiagnosisItem]; var now: Diagnosis? }
                    return try JSONOutput.print(Out(attempt: a, explanation: recorded, now: now))
                }
                print(AttemptReport.render(a))
                if !recorded.isEmpty {
                    print("Why, and the fix:")
                    for (n, i) in recorded.enumerated() {
                        print("  \(n + 1). [\(i.rule)] \(i.title ?? i.reason)")
                        if let c = i.confirm { print("     check: \(c)") }
                        print("     fix:   \(i.fix)")
                        if let tune = i.intune { print("     Intune: \(tune)") }
                    }
                } else if a.outcome == .failed, let code = a.fault?.code {
                    let e = Explainer().explain(code)
                    if let m = e.matches.first {
                        print("Known causes of \(code) (\(m.title)):")
                        for c in e.causes.prefix(3) { print("  - \(c.title): \(c.fix)") }
                    }
                }
                if let now {
                    print("")
                    DiagnosisText.show(now, heading: "If this device tried again now:")
                    if fix { try await FixRunner.run(t, now, yes: yes) }
                } else if fix {
                    let fixes = try await t.recordedFixes(a)
                    if fixes.isEmpty { print("Nothing winmdm can change fixes this attempt; see the reason above.") }
                    else { try await FixRunner.apply(fixes, yes: yes) }
                }
            }
        }
    }
}

enum AttemptReport {
    static func render(_ a: EnrollmentAttempt) -> String {
        var out: [String] = []
        func row(_ k: String, _ v: String?) { if let v, !v.isEmpty { out.append(k.padding(toLength: 18, withPad: " ", startingAt: 0) + v) } }
        row("Attempt", a.id)
        row("Time", a.time.short)
        row("Phase", a.phase.rawValue)
        row("Result", a.outcome == .succeeded ? "succeeded" : "failed")
        if let f = a.fault, f.deviceCode != nil {
            // After enrollment: nothing was sent, the device showed the code on its setup screen.
            row("Device saw", "\(f.code) on the Enrollment Status Page")
            row("Reason", f.reason)
        } else if let f = a.fault {
            row("Device saw", "\(f.code) (\(f.subcode.rawValue)\(f.errorType.map { " / \($0.rawValue)" } ?? ""), HTTP \(a.httpStatus))")
            row("Reason sent", f.reason)
        }
        if let h = a.heldBy {
            row("Held up by", "profile \"\(h.profileName)\"\(h.locURI.map { ", setting \($0)" } ?? "")\(h.status.map { ", status \($0)" } ?? ""): \(h.meaning)")
        }
        row("Remote address", a.remoteAddress)
        row("User agent", a.userAgent)
        row("User", a.facts.upn)
        row("Credential", a.facts.credential.rawValue)
        row("Enrollment type", a.facts.enrollmentType?.rawValue)
        row("Device name", a.facts.deviceName)
        row("DeviceID", a.facts.deviceID)
        row("HWDevID", a.facts.hwDevID)
        row("OS", [a.facts.osVersion, a.facts.osEdition.map { "\(WindowsEdition.name($0)) (OSEdition \($0))" }].compactMap { $0 }.joined(separator: ", "))
        row("Request version", a.facts.requestVersion)
        row("Enrollment", a.enrollmentID)
        if !a.denials.isEmpty {
            out.append("Denials (the first is what the device saw):")
            for (i, d) in a.denials.enumerated() { out.append("  \(i + 1). [\(d.rule.rawValue)] \(d.reason) → \(d.fault.code)") }
        }
        if !a.notes.isEmpty {
            out.append("Notes:")
            out += a.notes.map { "  - \($0)" }
        }
        if let x = a.requestExcerpt {
            out.append("Request (secrets redacted):")
            out.append(x.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        }
        return out.joined(separator: "\n")
    }
}

/// The REASON column, the same shape for every attempt: a failure says which rule (when one decided) and why, in a
/// sentence cut at a word; a success says what it did, and how many notes `attempts show` has, never a note cut off.
enum AttemptText {
    static func reason(_ a: EnrollmentAttempt) -> String {
        let notes = a.notes.isEmpty ? "" : " (\(a.notes.count) note\(a.notes.count == 1 ? "" : "s"): attempts show)"
        guard a.outcome == .failed else {
            return (a.phase == .enroll && a.enrollmentID != nil ? "enrolled" : a.phase == .renew ? "renewed" : "") + notes
        }
        let sentence = a.denials.first.map { "[\($0.rule.rawValue)] \($0.reason)" } ?? a.fault?.reason ?? a.notes.first ?? ""
        return cut(sentence, 90)
    }

    static func cut(_ s: String, _ n: Int) -> String {
        guard s.count > n else { return s }
        let head = s.prefix(n)
        return (head.lastIndex(of: " ").map { String(head[..<$0]) } ?? String(head)) + " …"
    }
}
