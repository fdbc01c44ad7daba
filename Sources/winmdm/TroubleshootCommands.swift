import ArgumentParser
import Foundation
import MDMCore
import MDMService
import MDMTroubleshoot

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain any Windows enrollment error: a code, dialog text, an event, a log (works offline).",
        discussion: """
        Finds every code in any spelling (0x80180003, 80180003, 2149056522, -2145910774, the mistyped 0x80180002b),
        event ids, symbolic names, and dialog text even with typos. Pass the text, or - to read standard input:
          winmdm explain 80180003
          winmdm explain "This user is not authorised to enrol"
          dsregcmd /status | winmdm explain -
        """)

    @Argument(help: "Text to explain; - (or nothing) reads standard input.") var text: [String] = []
    @Flag(help: "Print JSON: {codes, causes, unrecognized, …}.") var json = false
    @Flag(help: "Show the Intune / Entra ID equivalent of each fix.") var intune = false
    @Flag(help: "List every cause considered, not only the five most likely.") var all = false

    func run() async throws {
        var input = text.joined(separator: " ")
        if input.isEmpty || input == "-" {
            if input.isEmpty, isatty(0) == 1 {
                throw ValidationError("Give the text to explain (a code, dialog text, an event or a log), or - to read it from standard input.")
            }
            input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("Nothing to explain: give a code (0x80180003), the text Windows showed, an event or a log, or - with text on standard input.")
        }
        let e = Explainer().explain(input)
        if json {
            struct Out: Encodable {
                var codes: [String]; var named: [WindowsCode]; var events: [Int]; var contexts: [Explanation.Context]
                var causes: [Explanation.Cause]; var question: String?; var unrecognized: [String]; var matches: [Explanation.Match]
            }
            try JSONOutput.print(Out(codes: e.codes, named: e.named, events: e.events, contexts: e.contexts, causes: e.causes,
                                     question: e.question, unrecognized: e.unrecognized, matches: e.matches))
            if e.causes.isEmpty { throw ExitCode(1) }
            return
        }
        // Codes with a name but no enrollment cause in the knowledge base.
        let explained = Set(e.matches.map(\.code))
        let others = e.named.filter { !explained.contains($0.code) }
        func printOthers(_ heading: String) {
            guard !others.isEmpty else { return }
            print(heading)
            for c in others { print("  \(c.code)\(c.name.map { " \($0)" } ?? "") — \(c.meaning)") }
        }
        guard !e.causes.isEmpty else {
            if others.isEmpty {
                let rest = e.unrecognized.joined(separator: ", ")
                print("Nothing recognised\(rest.isEmpty ? "" : ": " + (rest.hasSuffix(".") ? String(rest.dropLast()) : rest)).")
            } else {
                printOthers("No enrollment cause is known for what this text contains; the codes in it are:")
                if !e.unrecognized.isEmpty { print("Not recognised: \(e.unrecognized.joined(separator: ", "))") }
                print("A generic code comes from whatever failed underneath; the log lines just before it usually name that step.")
                throw ExitCode(1)
            }
            print("Paste the whole message, the code as shown (for example 0x80180003 or 80180003), or an event's text.")
            throw ExitCode(1)
        }
        for m in e.matches where m.via != "clue" {
            print("\(m.code)\(m.name.map { " \($0)" } ?? "") — \(m.title)")
            if let msg = m.messages.first { print("  Windows shows: \"\(msg)\"") }
        }
        if !e.contexts.isEmpty {
            print("Seen in: " + e.contexts.map { "\($0.title) (\($0.signals.joined(separator: ", ")))" }.joined(separator: "; "))
        }
        print("")
        print(e.causes.count == 1 ? "The cause:" : "Most likely first:")
        for (n, c) in e.causes.prefix(all ? e.causes.count : 5).enumerated() {
            print("  \(n + 1). \(c.title)\(c.scenario.map { " [\($0)]" } ?? "")  — \(c.certainty), \(Int((c.confidence * 100).rounded())) %")
            print("     why:   \(c.clues.joined(separator: "; "))")
            print("     check: \(c.confirm)")
            print("     fix:   \(c.fix)")
            if let d = c.doctor { print("     doctor: \(d)") }
            if intune { print("     Intune: \(c.intune)") }
        }
        if !all && e.causes.count > 5 { print("  … \(e.causes.count - 5) less likely causes (--all lists them)") }
        if let q = e.question { print(""); print(q) }
        print("")
        printOthers("Other codes in the text:")
        if !e.unrecognized.isEmpty { print("Not recognised: \(e.unrecognized.joined(separator: ", "))") }
    }
}

extension EnrollmentKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Would this user be able to enroll this device now? Every rule that says no, and the fix for each.")
    @OptionGroup var common: CommonOptions
    @Option(help: "The user.") var user: String
    @Option(help: "The device's HWDevID (to check whether another user enrolled it).") var hwdevid: String?
    @Option(help: "OSEdition the device reports (48 Pro, 101 Home …).") var osEdition: Int?
    @Option(help: "Windows version, e.g. 10.0.19045.2006.") var osVersion: String?
    @Option(help: "user, device or bulk.") var enrollmentType: EnrollmentKind = .user
    @Flag(help: "Apply the fixes winmdm can make (asks first; see --yes).") var fix = false
    @Flag(help: "Do not ask before applying fixes.") var yes = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await Runtime.withAdmin(common) { admin, rt in
            let t = TroubleshootService(store: rt.store, admin: admin, publicURL: rt.config.publicURL)
            let d = try await t.doctor(upn: user, hwDevID: hwdevid, osEdition: osEdition, osVersion: osVersion, kind: enrollmentType)
            // Exit 1 when a rule would refuse, so a script can tell "would be refused" from "allowed".
            if json && !fix {
                try JSONOutput.print(d)
                if !d.allowed { throw ExitCode(1) }
                return
            }
            DiagnosisText.show(d, heading: "If \(d.upn) enrolled this device now (\(enrollmentType.rawValue) enrollment):")
            for n in d.autopilot {
                print("Autopilot \(n.serialNumber) [\(n.kind)]: \(n.message) (Windows setup shows \(n.code))")
                print("     fix:   \(n.fix)")
            }
            if d.otherAutopilotProblems > 0 {
                print("Autopilot: \(d.otherAutopilotProblems) problem\(d.otherAutopilotProblems == 1 ? "" : "s") on other devices; winmdm autopilot lint lists \(d.otherAutopilotProblems == 1 ? "it" : "them").")
            }
            // The user's enrolled devices that break a compliance policy, and why.
            for e in try await admin.enrollments(upn: d.upn) where e.state == .active {
                let c = try await admin.deviceCompliance(e)
                guard !c.isEmpty else { continue }
                print("Compliance of \(e.deviceName ?? e.deviceID): \(DeviceCompliance.overall(c).rawValue)")
                for p in c where p.state != .compliant {
                    print("  \(p.policyName): \(p.state.rawValue)\(p.graceEndsAt.map { " (grace until \($0.short))" } ?? "")")
                    for r in p.reasons { print("    \(r)") }
                }
            }
            if fix {
                try await FixRunner.run(t, d, yes: yes)
                let now = try await t.doctor(upn: user, hwDevID: hwdevid, osEdition: osEdition, osVersion: osVersion, kind: enrollmentType)
                if !now.allowed { throw ExitCode(1) }
            } else if !d.allowed {
                throw ExitCode(1)
            }
        }
    }
}

enum DiagnosisText {
    static func show(_ d: Diagnosis, heading: String) {
        print(heading)
        guard !d.allowed else { return print("  allowed: no rule says no.") }
        for (n, i) in d.items.enumerated() {
            print("  \(n + 1). [\(i.rule)] \(i.reason)\(n == 0 ? " (the device is told \(i.code))" : "")")
            if let c = i.confirm { print("     check: \(c)") }
            print("     fix:   \(i.fix)")
            if let a = i.action { print("     --fix would: \(a)") }
        }
    }
}

enum FixRunner {
    /// Applies each available fix after confirmation; every change goes through AdminService and is audited.
    static func run(_ t: TroubleshootService, _ d: Diagnosis, yes: Bool) async throws {
        let fixes = try await t.fixes(for: d)
        guard !fixes.isEmpty else {
            return print(d.allowed ? "Nothing to fix." : "No fix can be applied automatically; follow the fix lines above.")
        }
        try await apply(fixes, yes: yes)
    }

    static func apply(_ fixes: [FixAction], yes: Bool) async throws {
        // A server running this for a remote CLI cannot ask: the question would arrive after the answer was needed.
        if !yes && CommandIO.remote != nil {
            throw CommandFailure(usage: "--fix asks before each change, which it cannot do over --server; add --yes to apply the first fix for each rule, or leave out --fix to see them.")
        }
        // Several fixes can answer one rule, narrowest first: the first one applied for a rule settles it, and --yes
        // takes only that first one (it never raises a tenant-wide limit when retiring one stale device was offered).
        var settled: Set<RuleID> = []
        for f in fixes where !settled.contains(f.rule) {
            if !yes {
                print("\(f.description) [\(f.scope.label)]\n  ($ \(f.command)) Apply? [y/N] ", terminator: "")
                guard let answer = CommandIO.readLine(), ["y", "yes"].contains(answer.lowercased()) else { print("  skipped."); continue }
            }
            try await f.apply()
            settled.insert(f.rule)
            print("Applied: \(f.description)")
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reports from recorded attempts.", subcommands: [Failures.self])

    struct Failures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrollment failures: which codes, where, since when, who and how many, which Windows, which method, which licenses.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Window, like 24h, 7d, 90m (default 24h).") var since: String = "24h"
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard let seconds = TimeSpan.parse(since) else { throw ValidationError("--since '\(since)' is not a duration like 90m, 24h or 7d.") }
            try await Runtime.withAdmin(common) { _, rt in
                let r = try await FailureReport.build(store: rt.store, since: Date() - seconds)
                if json { return try JSONOutput.print(r) }
                print("Enrollment failures since \(r.since.short): \(r.failedAttempts) failed, \(r.succeededAttempts) succeeded.")
                guard r.failedAttempts > 0 else { return }
                print("Started: \(r.firstFailure?.short ?? "-")   last: \(r.lastFailure?.short ?? "-")")
                print("Who: \(r.scope); devices affected: \(r.affectedDevices) (\(r.devicesEverWorked) of them enrolled at some point)")
                print("Where: " + r.phases.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                print("Method: " + r.enrollmentMethods.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                print("Windows: " + r.windowsVersions.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                print("Editions: " + r.windowsEditions.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                print("")
                print(Table.render(["COUNT", "CODE", "RULE", "FIRST", "LAST", "EXAMPLE"], r.codes.map {
                    [String($0.count), $0.code, $0.rule ?? "-", $0.firstSeen.short, $0.lastSeen.short, String($0.reason.prefix(70))]
                }))
                print("")
                print(Table.render(["USER", "FAILURES", "CODES", "EVER WORKED", "LICENSES"], r.users.map {
                    [$0.upn, String($0.failures), $0.codes.joined(separator: ","), $0.everWorked ? "yes" : "no",
                     $0.licenses.joined(separator: ",").nonEmpty ?? "none"]
                }))
            }
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure performance.", subcommands: [ExplainBench.self, ExplainAccuracyBench.self, EnrollBench.self, CheckInBench.self])

    struct ExplainBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "explain",
            abstract: "Throughput of explain over a large synthetic event log (goal: 200 MB/s; build with -c release).",
            discussion: "Printed beside it: one plain pass over the same bytes (the memory bandwidth this machine gives a byte loop right now), so a noisy run reads as a ratio.")
        @Option(help: "Size of the log in megabytes.") var megabytes: Int = 64
        @Option(help: "Read this file instead of generating one.") var file: String?

        func run() async throws {
            let text: String
            if let file { text = try String(contentsOfFile: file, encoding: .utf8) } else { text = SyntheticLog.make(megabytes: megabytes) }
            let explainer = Explainer()
            _ = explainer.explain(String(text.prefix(100_000)))
            let start = DispatchTime.now().uptimeNanoseconds
            let e = explainer.explain(text)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let mb = Double(text.utf8.count) / 1_048_576
            // The limit in the same run: one pass over the bytes that looks at each of them (a byte loop counting
            // the characters that can start a code), about the least any scan of the log must do.
            var copy = text
            let (pass, hits) = copy.withUTF8 { b -> (Double, Int) in
                let t0 = DispatchTime.now().uptimeNanoseconds
                var n = 0
                for byte in b where byte == 48 || byte == 120 { n &+= 1 }
                return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, n)
            }
            print(String(format: "explain: %.1f MB in %.2f s = %.1f MB/s; found %d codes, %d events", mb, seconds, mb / seconds, e.codes.count, e.events.count))
            print(String(format: "limit in the same run: one byte loop over the same text %.0f MB/s (%d hits); explain at %.0f %% of it", mb / pass, hits, 100 * (mb / seconds) / (mb / pass)))
        }
    }
}

extension Bench {
    struct ExplainAccuracyBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "explain-accuracy",
            abstract: "How often explain names the right cause first on the bundled set of real reports (goal: 90 %).",
            discussion: """
              The set (Sources/MDMTroubleshoot/Resources/cases/real-reports.txt) holds reports from public forums, blogs and
              issue trackers, each with its source, its codes and the cause that resolved it. The held part is never tuned
              against; both parts are printed.
              """)
        @Flag(help: "List the tuned part's reports whose first cause is wrong or whose codes were not all found.") var misses = false
        @Flag(help: "Also list the held-aside part's misses (look only after tuning: they must not steer it).") var heldMisses = false
        @Option(help: "Read this report file instead of the bundled set.") var file: String?

        func run() async throws {
            let reports = try file.map { try RealReports.parse(String(contentsOfFile: $0, encoding: .utf8), file: $0) } ?? RealReports.bundled
            let explainer = Explainer()
            for (name, part) in [("tuned", RealReport.Part.tune), ("held aside", RealReport.Part.held)] {
                let a = ExplainAccuracy.measure(reports.filter { $0.part == part }, explainer: explainer)
                print("\(name): \(a.summary)")
                if part == .tune ? misses : heldMisses { for m in a.misses { print("  \(m)") } }
            }
            let all = ExplainAccuracy.measure(reports, explainer: explainer)
            print("all: \(all.summary)")
        }
    }
}

/// A log shaped like exported event logs and MDM diagnostics: GUIDs, timestamps, paths, and a few codes.
enum SyntheticLog {
    static func make(megabytes: Int) -> String {
        let lines = [
            "2026-11-27T10:15:02.123Z Information DeviceManagement-Enterprise-Diagnostics-Provider 813 MDM PolicyManager: Set policy int, Policy: (AllowTelemetry), Area: (System), EnrollmentID requesting merge: (748132EC-A575-4329-B01B-6171A9CF8478), Current User: (Device), Int: (0x1), Enrollment Type: (0x6), Scope: (0x0).",
            "<Event><System><Provider Name=\"Microsoft-Windows-User Device Registration\"/><EventID>304</EventID><TimeCreated SystemTime=\"2026-11-27T10:15:03.5123456Z\"/></System><EventData><Data Name=\"ServerRequestId\">b2c9ef0e-5d1a-4e0f-9a3b-19f1c3a8d7e2</Data></EventData></Event>",
            "[2026-11-27 10:15:04] OmaDmClient: Session 0x1A started, server https://mdm.example.com/ManagementServer/MDM.svc, msgid 3, cmdid 14, status 200 after 1795000000 ms",
            "{\"time\":\"2026-11-27T10:15:05Z\",\"level\":\"info\",\"component\":\"EnrollmentClient\",\"message\":\"ContextItem DeviceName=DESKTOP-28FGAI6 OSEdition=48 build 22631.4460\"}",
        ]
        let rare = [
            "2026-11-27T10:16:00Z Error DeviceManagement-Enterprise-Diagnostics-Provider 76 Auto MDM Enroll: Failed (Unknown Win32 Error code: 0x8018002b)",
            "MENROLL: enrollment failed hr=0x80180003 (This user is not authorized to enroll.)",
            "dsregcmd: Client ErrorCode : 0x801c03f2",
        ]
        var out = ""
        out.reserveCapacity(megabytes << 20)
        var i = 0
        while out.utf8.count < megabytes << 20 {
            out += lines[i % lines.count]
            out += "\n"
            if i % 5000 == 4999 { out += rare[(i / 5000) % rare.count] + "\n" }
            i += 1
        }
        return out
    }
}
