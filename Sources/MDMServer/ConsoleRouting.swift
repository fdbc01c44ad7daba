import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

/// The console's routing helpers, shared by every section: who is signed in, pages in the layout, GET views and POST
/// actions with the CSRF and role checks. Sections add their routes in extensions (`addHome`, `addDevicePages` …).
struct ConsoleRouting {
    let router: Router<MDMRequestContext>
    /// Every page and action behind sign-in: routes added here pass `ConsoleSessionMiddleware` first.
    let signedIn: RouterGroup<MDMRequestContext>
    let kit: ConsoleKit
    var c: ConsoleServices { kit.c }

    init(router: Router<MDMRequestContext>, c: ConsoleServices) {
        self.router = router
        self.kit = ConsoleKit(c: c)
        self.signedIn = router.group().add(middleware: ConsoleSessionMiddleware(kit: kit))
    }

    /// GET pages: signed in, any role.
    func view(_ path: RouterPath, _ body: @escaping @Sendable (Request, MDMRequestContext, ConsoleUser) async throws -> Response) {
        let kit = self.kit
        signedIn.get(path) { req, ctx in
            let who = try ctx.signedInUser()
            do { return try await body(req, ctx, who) } catch let e as AdminError {
                // Something named in the address that does not exist (a deleted user, a mistyped id), or a filter refused.
                let missing = e.code == .notFound
                let heading = missing ? "Not found" : "Not shown"
                return kit.page(who, MessagePage(heading: heading, text: e.consoleMessage, back: ConsoleKit.back(req)), title: heading,
                                section: ConsoleKit.section(req.uri.path), req: req, status: missing ? .notFound : .badRequest)
            } catch {
                ctx.logger.error("console page failed", metadata: ["path": .string(req.uri.path), "error": .string("\(error)")])
                return kit.page(who, MessagePage(heading: "Something failed", text: "The page could not be shown; the server log has the details."),
                                title: "Error", section: "", req: req, status: .internalServerError)
            }
        }
    }

    /// POST actions: signed in, CSRF token matching, role allowed; AdminError messages come back to the user.
    /// Forms are URL-encoded, or multipart where they upload a file (`maxBytes` then allows for the file).
    func action(_ path: RouterPath, roles: Set<APIRole> = [.admin], maxBytes: Int = 256 * 1024,
                _ body: @escaping @Sendable (Request, [(String, String)], ConsoleUser) async throws -> Response) {
        let kit = self.kit
        signedIn.post(path) { req, ctx in
            var req = req
            let who = try ctx.signedInUser()
            guard let buffer = try? await req.collectBody(upTo: maxBytes) else {
                return ConsolePages.html("<p>The form is too large (at most \(maxBytes / 1024) KiB).</p>", status: .contentTooLarge)
            }
            let form: [(String, String)]
            if let boundary = Multipart.boundary(req.headers[.contentType]) {
                guard let parts = Multipart.parse(Array(buffer: buffer), boundary: boundary) else {
                    return ConsolePages.html("<p>The upload is not a well-formed multipart form.</p>", status: .badRequest)
                }
                form = parts
            } else {
                form = FormDecoding.parseAll(String(buffer: buffer))
            }
            guard ConsoleSessions.csrfMatches(who.session, form.first { $0.0 == "csrf" }?.1) else {
                return kit.page(who, MessagePage(heading: "Refused", text: "The form's security token is missing or stale. Reload the page and try again.",
                                                 back: ConsoleKit.back(req)), title: "Refused", section: "", req: req, status: .forbidden)
            }
            guard roles.contains(who.role) else {
                return kit.page(who, MessagePage(heading: "Not allowed", text: "Your role (\(who.role.rawValue)) may not make this change.",
                                                 back: ConsoleKit.back(req)), title: "Not allowed", section: "", req: req, status: .forbidden)
            }
            do { return try await body(req, form, who) } catch let e as AdminError {
                // Nothing was changed: say why, keep the navigation, and lead back to the form.
                return kit.page(who, MessagePage(heading: "Not saved", text: e.consoleMessage, back: ConsoleKit.back(req)), title: "Not saved",
                                section: ConsoleKit.section(req.uri.path), req: req, status: e.code == .notFound ? .notFound : .badRequest)
            }
        }
    }

}

/// The console's session check, in front of every route behind sign-in: a request without a valid, current session
/// of a user who still holds an admin role is sent to the sign-in page; otherwise the handler finds who it is in
/// the request context.
struct ConsoleSessionMiddleware: RouterMiddleware {
    typealias Context = MDMRequestContext
    let kit: ConsoleKit

    func handle(_ request: Request, context: MDMRequestContext,
                next: (Request, MDMRequestContext) async throws -> Response) async throws -> Response {
        guard let who = await kit.current(request) else { return ConsolePages.redirect("/console/login") }
        var context = context
        context.consoleUser = who
        return try await next(request, context)
    }
}

extension MDMRequestContext {
    /// The signed-in console user `ConsoleSessionMiddleware` found; only routes behind it call this.
    func signedInUser() throws -> ConsoleUser {
        guard let consoleUser else { throw HTTPError(.internalServerError, message: "A console route was added outside the session middleware.") }
        return consoleUser
    }
}

/// What a console route's handler may capture: the services and the page helpers (Sendable, unlike the router).
struct ConsoleKit: Sendable {
    let c: ConsoleServices

    func current(_ req: Request) async -> ConsoleUser? {
        guard let raw = ConsolePages.sessionCookie(req), let s = c.sessions.verify(raw, now: c.clock.now()),
              let u = try? await c.admin.user(s.userID), ConsoleSessions.isCurrent(s, for: u), let role = u.adminRole else { return nil }
        return ConsoleUser(session: s, user: u, role: role)
    }

    func page(_ who: ConsoleUser, _ template: String, _ title: String, _ section: String, _ model: [String: Any],
              req: Request, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var m = model
        m["csrf"] = who.session.csrf
        // Actions a role cannot use are not shown to it (templates wrap them in isAdmin / canAct).
        m["isAdmin"] = who.role == .admin
        m["canAct"] = who.role == .admin || who.role == .helpdesk
        let flash = req.uri.queryParameters.get("msg").map { $0.removingPercentEncoding ?? $0 }
        return ConsolePages.html(c.renderer.render(page: template, title: title, model: m, user: who.user.upn, role: who.role.rawValue,
                                                   csrf: who.session.csrf, flash: flash, error: error, section: section), status: status)
    }

    /// A typed page (MDMConsole's page models) in the layout.
    func page<P: PageModel>(_ who: ConsoleUser, _ model: P, title: String, section: String, req: Request,
                            status: HTTPResponse.Status = .ok) -> Response {
        page(who, P.template, title, section, model.context, req: req, status: status)
    }

    /// The navigation entry a console path belongs to (the longest prefix wins).
    static func section(_ path: String) -> String {
        let sections: [(String, String)] = [
            ("/console/home", "home"), ("/console/users", "users"), ("/console/groups", "groups"),
            ("/console/devices/enrollment-restrictions", "restrictions"), ("/console/devices/device-settings", "deviceSettings"),
            ("/console/devices/windows/autopilot/devices", "autopilotDevices"), ("/console/devices/windows/autopilot", "autopilot"),
            ("/console/devices/windows/configuration", "configuration"), ("/console/devices/windows/esp", "esp"),
            ("/console/devices/windows/compliance", "compliance"), ("/console/devices/windows", "windows"), ("/console/mobility", "mobility"),
            ("/console/tenant", "tenant"), ("/console/troubleshooting", "troubleshooting"), ("/console/audit", "audit"),
        ]
        return sections.filter { path.hasPrefix($0.0) }.max { $0.0.count < $1.0.count }?.1 ?? ""
    }

    /// Where "Back" leads after a refused form: the page the form was on (this console only), else the console home.
    static func back(_ req: Request) -> String {
        guard let referer = req.headers[.referer], let url = URLComponents(string: referer), url.path.hasPrefix("/console/") else {
            return "/console/home"
        }
        return url.path + (url.query.map { "?" + $0 } ?? "")
    }

    static func value(_ form: [(String, String)], _ key: String) -> String? { form.first { $0.0 == key }?.1 }
    static func lines(_ s: String?) -> [String] {
        (s ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

}
