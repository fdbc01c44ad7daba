import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Sign-in and sign-out: the password, the second factor when the user set one up, and the session cookie.
extension ConsoleRouting {
    func addSignIn() {
        let kit = self.kit, c = self.c
        let secure = c.publicURL.hasPrefix("https:")
        router.get("/console") { req, _ in
            ConsolePages.redirect(await kit.current(req) == nil ? "/console/login" : "/console/home")
        }
        router.get("/console/login") { _, _ in
            ConsolePages.html(c.renderer.render(page: "login", title: "Sign in", model: [:], user: nil, role: nil, csrf: nil, section: ""))
        }
        router.post("/console/login") { req, ctx in
            var req = req
            let form = FormDecoding.parse(String(buffer: (try? await req.collectBody(upTo: 16 * 1024)) ?? ByteBuffer()))
            let upn = UPN.normalize(form["username"] ?? "")
            let meta = metadata(req, ctx)
            var outcome = (try? await c.authenticator.checkPassword(upn: upn, password: form["password"] ?? "", source: meta.remoteAddress))
                ?? .refused(.password, upn: upn, reason: "The directory could not be read.")
            // The second factor, for users who set up an authenticator app: a wrong code counts as a failed sign-in.
            if case .authenticated(let user, _) = outcome, user.totpSecret != nil,
               !((try? await c.admin.verifyTOTP(userID: user.id, code: form["code"] ?? "", now: c.clock.now())) ?? false) {
                let settings = (try? await c.admin.settings())?.lockout ?? .standard
                // The password was right, so the address is familiar now: the code failures count on that pair and lock it.
                _ = try? await c.authenticator.lockout.failed(upn: upn, source: meta.remoteAddress ?? "unknown", familiar: true, settings: settings)
                outcome = .refused(.password, upn: upn, reason: "The password was right but the authentication code was missing or wrong.")
            }
            if case .authenticated(let user, _) = outcome, user.adminRole == nil {
                outcome = .refused(.password, upn: upn, reason: "\(upn) has no console role (winmdm users set \(upn) --admin-role …).")
            }
            guard case .authenticated(let user, _) = outcome else {
                await c.recordConsoleFailure(outcome, upn: upn, meta)
                let busy: Bool = if case .busy = outcome { true } else { false }
                return ConsolePages.html(c.renderer.render(page: "login", title: "Sign in", model: ["username": upn], user: nil, role: nil, csrf: nil,
                                                           error: busy ? AuthenticationMessage.busy : "The user name, password or authentication code is wrong, or this user may not use the console.", section: ""),
                                         status: busy ? .serviceUnavailable : .unauthorized)
            }
            let (cookie, _) = c.sessions.issue(for: user, now: c.clock.now())
            return ConsolePages.redirect("/console/home", cookie: ConsolePages.cookie(cookie, secure: secure, maxAge: Int(c.sessions.lifetime)))
        }
        action("/console/logout", roles: Set(APIRole.allCases)) { _, _, who in
            try await c.admin.endConsoleSessions(who.user.id)
            return ConsolePages.redirect("/console/login", cookie: ConsolePages.cookie("", secure: secure, maxAge: 0))
        }
    }
}
