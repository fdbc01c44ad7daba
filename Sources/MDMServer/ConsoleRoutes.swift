import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

/// What the web console needs.
public struct ConsoleServices: Sendable {
    public var admin: AdminService
    /// Diagnoses, fixes and explanations; the console reads attempts through it, never the store.
    public var troubleshooting: TroubleshootService
    public var sessions: ConsoleSessions
    public var authenticator: Authenticator
    public var renderer: ConsoleRenderer
    public var publicURL: String
    public var clock: any MDMCore.Clock
    /// The DMClient provider id, for commands that name it (remote unenroll, poll interval).
    public var providerID = "winmdm"
    let recorder: AttemptRecorder

    public init(admin: AdminService, store: any MDMStore, sessions: ConsoleSessions, authenticator: Authenticator,
                publicURL: String, clock: any MDMCore.Clock = SystemClock()) {
        self.admin = admin
        self.troubleshooting = TroubleshootService(store: store, admin: admin, publicURL: publicURL)
        self.recorder = AttemptRecorder(store: store)
        self.sessions = sessions
        self.authenticator = authenticator
        self.renderer = ConsoleRenderer()
        self.publicURL = publicURL
        self.clock = clock
    }
}

extension ConsoleServices {
    /// A refused console sign-in, recorded as an attempt (coalesced like every repeated failure).
    func recordConsoleFailure(_ outcome: AuthOutcome, upn: String, _ meta: RequestMetadata) async {
        var a = EnrollmentAttempt(time: clock.now(), phase: .console, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent,
                                  facts: EnrollmentFacts(upn: upn, credential: .password), outcome: .failed, httpStatus: 401)
        switch outcome {
        case .refused(_, _, let reason): a.fault = .authentication(reason)
        case .busy(_, let reason): a.fault = .init(subcode: .enrollmentServer, reason: reason); a.httpStatus = 503
        case .authenticated: return
        }
        await recorder.record(a)
    }
}

/// A signed-in console user, re-read from the directory on every request.
struct ConsoleUser: Sendable {
    var session: ConsoleSessions.Session
    var user: User
    var role: APIRole
}

enum ConsolePages {
    /// A profile or compliance assignment as people read it: All users, All devices, a group's name; "not …" when excluded.
    static func assignment(_ a: ProfileAssignment, _ groups: [Group]) -> String {
        let name = a.target == ProfileAssignment.allUsers ? "All users" : a.target == ProfileAssignment.allDevices ? "All devices"
            : groups.first { $0.id == a.target }?.displayName ?? a.target
        return a.exclude ? "not \(name)" : name
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var h = HTTPFields()
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        h[HTTPField.Name("X-Frame-Options")!] = "DENY"
        h[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        let bytes = Array(text.utf8)
        h[.contentLength] = String(bytes.count)
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var h = HTTPFields()
        h[.location] = location
        h[.contentLength] = "0"
        if let cookie { h[.setCookie] = cookie }
        return Response(status: .seeOther, headers: h)
    }

    static func cookie(_ value: String, secure: Bool, maxAge: Int) -> String {
        "\(ConsoleSessions.cookieName)=\(value); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)\(secure ? "; Secure" : "")"
    }

    static func sessionCookie(_ req: Request) -> String? {
        guard let header = req.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == ConsoleSessions.cookieName { return String(kv[1]) }
        }
        return nil
    }

    /// Rows on one page of a console listing.
    static let pageSize = 100

    static func esc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }
}

public func addConsoleRoutes(_ router: Router<MDMRequestContext>, _ c: ConsoleServices) {
    // The helpers every section uses (ConsoleRouting.swift): who is signed in, the session and CSRF checks, the role
    // checks and the layout, in one place.
    let k = ConsoleRouting(router: router, c: c)
    // One file per navigation section (ConsoleRoutes+<Section>.swift).
    k.addSignIn()
    k.addHome()
    k.addUsers()
    k.addDirectory()
    k.addEnrollmentPolicies()
    k.addWindows()
    k.addDevicePages()
    k.addTenant()
    k.addTroubleshooting()
    k.addAudit()
}

extension ConsolePages {
    /// The UPN or address a lockout key names (what `clearLockouts` takes).
    static func lockoutName(_ key: String) -> String {
        let body = key.split(separator: ":", maxSplits: 1).last.map(String.init) ?? key
        return body.split(separator: "|").first.map(String.init) ?? body
    }
}

enum GraphDateText {
    /// Times as the console shows them: minutes, and always the zone (UTC: every instance and admin the same).
    static func short(_ d: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d) + " UTC"
    }
}

/// Failures per day for the last seven days, as an inline SVG bar chart (no script needed).
enum FailureChart {
    static let colors = ["#0f3b63", "#c75000", "#2e7d32", "#8e24aa", "#8a8886"]

    /// Failures per day over `days` days, stacked by cause (the four commonest and the rest), as an inline SVG with a
    /// y axis, a date under every bar that fits and a legend; repeats count. No script needed.
    static func svg(_ attempts: [EnrollmentAttempt], now: Date, days: Int = 7) -> String {
        let day: TimeInterval = 86400
        func cause(_ a: EnrollmentAttempt) -> String {
            a.denials.first?.rule.rawValue ?? (a.fault?.subcode == .authentication ? "sign-in" : a.fault.map { $0.subcode.rawValue.lowercased() } ?? a.phase.rawValue)
        }
        var totals: [String: Int] = [:]
        for a in attempts { totals[cause(a), default: 0] += 1 + (a.repeats ?? 0) }
        let top = totals.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(4).map(\.key)
        let series = top + (totals.count > top.count ? ["other"] : [])
        var counts = Array(repeating: [String: Int](), count: days)
        for a in attempts {
            let i = days - 1 - Int(now.timeIntervalSince(a.time) / day)
            guard (0..<days).contains(i) else { continue }
            let c = cause(a)
            counts[i][top.contains(c) ? c : "other", default: 0] += 1 + (a.repeats ?? 0)
        }
        let maxDay = max(counts.map { $0.values.reduce(0, +) }.max() ?? 0, 1)
        let left = 40, width = 600, height = 160, plotW = width - left - 10, slot = plotW / days
        let barW = max(slot * 6 / 10, 2)
        var out = "<svg role=\"img\" aria-label=\"Enrollment failures per day, last \(days) days, by cause\" width=\"\(width)\" height=\"\(height + 30)\" viewBox=\"0 0 \(width) \(height + 30)\" style=\"max-width:100%\">"
        // Y axis: 0, half and the top, with light grid lines.
        for tick in Set([0, maxDay / 2, maxDay]).sorted() {
            let y = height - tick * (height - 20) / maxDay
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 10)\" y2=\"\(y)\" stroke=\"#ddd\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" font-size=\"11\" text-anchor=\"end\">\(tick)</text>"
        }
        let labelEvery = max(1, days / 10)
        for (i, c) in counts.enumerated() {
            let x = left + i * slot + (slot - barW) / 2
            var y = height
            for (k, name) in series.enumerated() {
                let n = c[name] ?? 0
                guard n > 0 else { continue }
                let h = max(n * (height - 20) / maxDay, 1)
                y -= h
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(barW)\" height=\"\(h)\" fill=\"\(colors[k % colors.count])\"><title>\(xmlEscapeHTML(name)): \(n)</title></rect>"
            }
            let total = c.values.reduce(0, +)
            if total > 0 { out += "<text x=\"\(x + barW / 2)\" y=\"\(max(y - 3, 10))\" font-size=\"10\" text-anchor=\"middle\">\(total)</text>" }
            if i % labelEvery == 0 || i == days - 1 {
                let label = GraphDateText.short(now - Double(days - 1 - i) * day).prefix(10).suffix(5)
                out += "<text x=\"\(x + barW / 2)\" y=\"\(height + 16)\" font-size=\"10\" text-anchor=\"middle\">\(label)</text>"
            }
        }
        out += "</svg>"
        let legend = series.isEmpty ? "No failures in this range."
            : series.enumerated().map { k, name in
                "<span style=\"white-space:nowrap\"><span style=\"display:inline-block;width:.8em;height:.8em;background:\(colors[k % colors.count])\"></span> \(xmlEscapeHTML(name)) (\(name == "other" ? totals.filter { !top.contains($0.key) }.values.reduce(0, +) : totals[name] ?? 0))</span>"
            }.joined(separator: " ")
        return out + "<p class=\"muted\">\(legend) · dates in UTC</p>"
    }

    static func xmlEscapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
