import Foundation
import MDMTroubleshoot
import Testing

/// explain on real reports (the bundled set, `Resources/cases/real-reports.txt`): every code found, the right cause
/// first for at least 90 % of them, context and clues shown, and the same answer every time.
@Suite struct ExplainRealReportsTests {
    static let explainer = Explainer()

    @Test func theSetIsWellFormed() throws {
        let reports = RealReports.bundled
        #expect(reports.count >= 150)
        #expect(Set(reports.map(\.id)).count == reports.count)
        let kb = KnowledgeBase.bundled
        for r in reports {
            #expect(r.source.hasPrefix("https://"), "\(r.id) has no source address")
            if let cause = r.cause {
                let parts = cause.split(separator: "#")
                let entry = kb.entry(id: String(parts[0]))
                #expect(entry != nil && parts.count == 2 && Int(parts[1]).map { $0 >= 1 && $0 <= entry!.causes.count } == true,
                        "\(r.id): \(cause) is not a cause of the knowledge base")
            }
        }
        // A fifth (or close to it) is kept aside and never tuned against.
        let held = reports.filter { $0.part == .held }.count
        #expect(Double(held) >= Double(reports.count) * 0.15, "held aside: \(held) of \(reports.count)")
    }

    @Test func rightCauseFirstOnNinetyPercentAndEveryCodeFound() {
        let reports = RealReports.bundled
        let tuned = ExplainAccuracy.measure(reports.filter { $0.part == .tune }, explainer: Self.explainer)
        let held = ExplainAccuracy.measure(reports.filter { $0.part == .held }, explainer: Self.explainer)
        let all = ExplainAccuracy.measure(reports, explainer: Self.explainer)
        print("real reports, tuned part: \(tuned.summary)")
        print("real reports, held aside: \(held.summary)")
        print("real reports, all: \(all.summary)")
        for m in tuned.misses { print("  missed: \(m)") }
        #expect(tuned.top1Share >= 0.9, "\(tuned.summary)")
        // The held-aside part is never tuned against, so the whole set is below the tuned part; this floor only
        // catches a change that makes explain worse on reports it was not tuned for (README gives both figures).
        #expect(all.top1Share >= 0.85, "\(all.summary)")
        #expect(all.codesFound == all.codesExpected, "\(all.misses.filter { !$0.missingCodes.isEmpty })")
    }

    @Test func aCauseGivenAsCertainIsAlmostAlwaysRight() {
        // "high" must mean something: on every report with a known cause (held-aside ones included), first causes
        // given as certain are right at least 95 % of the time.
        let all = ExplainAccuracy.measure(RealReports.bundled, explainer: Self.explainer)
        #expect(all.certain >= 50 && all.certainShare >= 0.95, "\(all.summary)")
    }

    @Test func theSettingAndTheCluesDecideBetweenCausesOfOneCode() throws {
        // One code, three settings: the rest of the text picks the cause, and says why.
        let hybrid = Self.explainer.explain("Hybrid Azure AD join Autopilot profile: joining the on-prem AD fails with 80004005 on public Wi-Fi")
        #expect(hybrid.causes.first?.id == "hybrid-efail#1")
        #expect(hybrid.contexts.map(\.id).contains("hybrid-join"))
        #expect(hybrid.causes.first?.clues.contains("setting: hybrid-join") == true)
        let esp = Self.explainer.explain("Enrollment Status Page, device setup: Apps failed with 0x80004005, a Win32 app")
        #expect(esp.causes.first?.id == "hybrid-efail#2")
        let home = Self.explainer.explain("Something went wrong 0x80180003, the laptop runs Windows 11 Home")
        #expect(home.causes.first?.id == "menroll-authorization#2")
        #expect(home.causes.first?.clues.contains("clue: windows home") == true)
        let limit = Self.explainer.explain("Something went wrong 0x80180003; the user already has too many devices")
        #expect(limit.causes.first?.id == "menroll-authorization#1")
    }

    @Test func proseIsRankedAndDeclinedBelowTheThreshold() {
        #expect(Self.explainer.explain("There was an error with your license.").causes.first?.id == "menroll-user-license#1")
        #expect(Self.explainer.explain("Home edition laptop won't join").causes.first?.id == "menroll-authorization#2")
        #expect(Self.explainer.explain("device limit reached").causes.first?.id == "menroll-authorization#1")
        #expect(Self.explainer.explain("wrong password when enrolling").causes.first?.id == "menroll-authentication#1")
        #expect(Self.explainer.explain("stuck on identifying apps").causes.first?.id == "esp-identifying#1")
        // Typos and British spelling.
        #expect(Self.explainer.explain("the devcie limit was reachd for this user, cant enrol").causes.first?.id == "menroll-authorization#1")
        // The day-one review's phrasings (item 4), short ones included: one content word answers only when it is all
        // the text says.
        #expect(Self.explainer.explain("license error").causes.first?.id == "menroll-user-license#1")
        #expect(Self.explainer.explain("incorrect password").causes.first?.id == "menroll-authentication#1")
        #expect(Self.explainer.explain("certificate expired").causes.first?.id == "menroll-not-eligible-to-renew#1")
        #expect(Self.explainer.explain("We couldn't find the server").causes.first?.id == "net-name-not-resolved#1")
        #expect(Self.explainer.explain("error").causes.isEmpty)
        #expect(Self.explainer.explain("the printer shows a license sticker and my coffee is cold").causes.first?.id != "menroll-user-license#1")
        // Nothing that looks like a cause: no cause, not a guess.
        let none = Self.explainer.explain("my coffee is cold and the printer is out of paper")
        #expect(none.causes.isEmpty && !none.unrecognized.isEmpty)
    }

    @Test func closeCausesComeWithTheQuestionThatTellsThemApart() throws {
        let e = Self.explainer.explain("0x80180014")
        #expect(e.causes.count >= 2)
        let q = try #require(e.question)
        #expect(q.contains(e.causes[0].title) && q.contains(e.causes[1].title))
        #expect(e.causes[0].certainty != "high")
        // Server-side causes point at doctor, for the user the text names.
        let d = Self.explainer.explain("alice@contoso.com gets 80180003 on her fifth laptop, too many devices")
        #expect(d.causes.first?.doctor == "winmdm doctor --user alice@contoso.com")
        // Surer when the code and the clues agree than on the code alone.
        #expect(d.causes.first!.confidence > e.causes.first!.confidence)
    }

    @Test func theSameReportRanksTheSameEveryTime() {
        for r in RealReports.bundled.prefix(20) {
            let a = Self.explainer.explain(r.text), b = Explainer().explain(r.text)
            #expect(a.causes.map(\.id) == b.causes.map(\.id), "\(r.id)")
        }
    }
}
