import Foundation
import MDMCore
import MDMStorage
import MDMWire

/// The Federated sign-in page the Windows Web Authentication Broker opens (PROTOCOL.md §3.2; sample 06).
///
/// GET shows a form; POST checks the password and answers with a page that posts `wresult` (a short-lived
/// signed token) back to `appru`, which Windows then sends as the BinarySecurityToken.
///
/// - Warning: `appru` must use the `ms-app:` scheme: the token is only ever posted back to the Windows broker,
///   never to a web address someone slipped into the link.
public struct SignInService: Sendable {
    let authenticator: Authenticator
    let tokens: FederatedTokens
    let store: any MDMStore
    let recorder: AttemptRecorder
    let clock: any MDMCore.Clock

    public init(authenticator: Authenticator, tokens: FederatedTokens, store: any MDMStore, clock: any MDMCore.Clock) {
        self.authenticator = authenticator
        self.tokens = tokens
        self.store = store
        self.recorder = AttemptRecorder(store: store)
        self.clock = clock
    }

    static func validAppru(_ appru: String?) -> Bool {
        guard let a = appru, a.lowercased().hasPrefix("ms-app://"), a.count < 2048 else { return false }
        return !a.contains("<") && !a.contains("\"")
    }

    public func page(query: [String: String], _ meta: RequestMetadata) -> ServiceResponse {
        let appru = query["appru"]
        guard Self.validAppru(appru) else {
            return .html(Self.layout(body: "<h1>Sign-in link not valid</h1><p>This page is opened by Windows during work account setup. The link is missing its return address (appru), or it is not a Windows one.</p>"), status: 400)
        }
        return .html(form(appru: appru!, upn: query["login_hint"] ?? "", error: nil, action: meta.path))
    }

    public func submit(form: [String: String], _ meta: RequestMetadata) async -> ServiceResponse {
        let appru = form["appru"]
        guard Self.validAppru(appru) else {
            return .html(Self.layout(body: "<h1>Sign-in link not valid</h1><p>The return address (appru) is missing or not a Windows one.</p>"), status: 400)
        }
        let upn = UPN.normalize(form["username"] ?? "")
        let password = form["password"] ?? ""
        var attempt = EnrollmentAttempt(time: clock.now(), phase: .auth, remoteAddress: meta.remoteAddress,
                                        userAgent: meta.userAgent, facts: EnrollmentFacts(upn: upn, credential: .password))
        let outcome: AuthOutcome
        do { outcome = try await authenticator.checkPassword(upn: upn, password: password, source: meta.remoteAddress) } catch {
            outcome = .refused(.password, upn: upn, reason: "The directory could not be read.")
        }
        switch outcome {
        case .refused(_, _, let reason):
            attempt.outcome = .failed
            attempt.fault = .authentication(reason)
            await recorder.record(attempt)
            return .html(self.form(appru: appru!, upn: upn, error: AuthenticationMessage.generic, action: meta.path), status: 200)
        case .busy(_, let reason):
            attempt.outcome = .failed
            attempt.fault = .init(subcode: .enrollmentServer, reason: reason)
            await recorder.record(attempt)
            return .html(self.form(appru: appru!, upn: upn, error: AuthenticationMessage.busy, action: meta.path), status: 503)
        case .authenticated(let user, _):
            // Before any token: the MDM terms of use must be offerable to this user (S07).
            if let settings = try? await store.tenantSettings(),
               let denial = EnrollmentPolicy.termsOfUseDenial(user: user, settings: settings) {
                attempt.outcome = .failed
                attempt.fault = denial.fault
                attempt.denials = [denial]
                attempt.id = await recorder.record(attempt)
                return .html(Self.layout(body: """
                <h1>Can't show the terms of use</h1>
                <p class="err" role="alert">The MDM terms of use of your organization could not be reached, so this device cannot be set up for work. Give your IT administrator this reference: \(xmlEscape(attempt.id))</p>
                """))
            }
            await recorder.record(attempt)
            let token = tokens.issue(upn: user.upn, now: clock.now())
            return .html(Self.postBack(appru: appru!, token: token))
        }
    }

    func form(appru: String, upn: String, error: String?, action: String) -> String {
        let err = error.map { "<p class=\"err\" role=\"alert\">\(xmlEscape($0))</p>" } ?? ""
        return Self.layout(body: """
        <h1>Sign in to set up your work device</h1>
        \(err)
        <form method="post" action="\(xmlEscape(action))">
        <input type="hidden" name="appru" value="\(xmlEscape(appru))">
        <label>Work account<br><input name="username" type="email" autocomplete="username" value="\(xmlEscape(upn))" required></label>
        <label>Password<br><input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Sign in</button>
        </form>
        """)
    }

    /// The page that hands the token to the broker (form field `wresult`, posted to `appru`).
    static func postBack(appru: String, token: String) -> String {
        layout(body: """
        <p>Signed in. Returning to Windows…</p>
        <form method="post" action="\(xmlEscape(appru))">
        <input type="hidden" name="wresult" value="\(xmlEscape(token))">
        <noscript><button type="submit">Continue</button></noscript>
        </form>
        <script>document.forms[0].submit();</script>
        """)
    }

    static func layout(body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
        <title>winmdm sign-in</title>
        <style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
        label{display:block;margin:.8rem 0}input{width:100%;padding:.4rem}button{padding:.5rem 1.2rem}.err{color:#a00}</style>
        </head><body>
        \(body)
        </body></html>
        """
    }
}
