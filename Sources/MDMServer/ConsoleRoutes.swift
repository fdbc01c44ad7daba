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

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}
