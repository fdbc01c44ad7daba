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
    let secure = c.publicURL.hasPrefix("https:")

    // The helpers every section uses (ConsoleRouting.swift); sections in their own files extend ConsoleRouting.
    let k = ConsoleRouting(router: router, c: c)
    let kit = k.kit
    @Sendable func current(_ req: Request) async -> ConsoleUser? { await kit.current(req) }
    @Sendable func page(_ who: ConsoleUser, _ template: String, _ title: String, _ section: String, _ model: [String: Any],
                        req: Request, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        kit.page(who, template, title, section, model, req: req, error: error, status: status)
    }
    func view(_ path: RouterPath, _ body: @escaping @Sendable (Request, MDMRequestContext, ConsoleUser) async throws -> Response) {
        k.view(path, body)
    }
    func action(_ path: RouterPath, roles: Set<APIRole> = [.admin], maxBytes: Int = 256 * 1024,
                _ body: @escaping @Sendable (Request, [(String, String)], ConsoleUser) async throws -> Response) {
        k.action(path, roles: roles, maxBytes: maxBytes, body)
    }
    @Sendable func value(_ form: [(String, String)], _ key: String) -> String? { ConsoleKit.value(form, key) }
    @Sendable func lines(_ s: String?) -> [String] { ConsoleKit.lines(s) }
    k.addHome()
    k.addDevicePages()
    k.addAudit()
    k.addDirectory()

    // MARK: Sign-in

    router.get("/console") { req, _ in
        ConsolePages.redirect(await current(req) == nil ? "/console/login" : "/console/home")
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
            try? await c.authenticator.lockout.failed(upn: upn, source: meta.remoteAddress ?? "unknown", familiar: true, settings: settings)
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

    // MARK: Users > All users > user > Devices, licenses

    view("/console/users") { req, _, who in
        let s = try await c.admin.settings()
        // One page of users by UPN and their device counts in one grouped query: the page costs the same at any size.
        let rows = try await c.admin.users(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1)
        let shown = Array(rows.prefix(ConsolePages.pageSize))
        let counts = try await c.admin.activeEnrollmentCounts(upns: shown.map(\.upn))
        let users = shown.map { u -> [String: Any] in
            ["upn": u.upn, "name": u.displayName, "package": u.isPackageAccount, "devices": counts[u.upn] ?? 0, "enabled": u.enabled ? "enabled" : "blocked",
             "licenses": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", ")]
        }
        var model: [String: Any] = ["users": users, "products": s.licenseProducts.map { ["sku": $0.skuPartNumber, "name": $0.displayName] }]
        if rows.count > shown.count, let last = shown.last { model["next"] = "/console/users?after=" + ConsolePages.esc(last.upn) }
        return page(who, "users", "All users", "users", model, req: req)
    }
    view("/console/users/:upn") { req, ctx, who in
        let u = try await c.admin.user(ctx.parameters.get("upn") ?? "")
        let s = try await c.admin.settings()
        let groups = try await c.admin.groups(ofUser: u.id)
        let limit = s.applicableRestriction(.deviceLimit, groupIDs: Set(groups.map(\.id)))
        let devices = try await c.admin.activeEnrollments(upn: u.upn).map { e -> [String: Any] in
            ["id": e.id, "name": e.deviceName ?? e.deviceID, "kind": e.kind.rawValue, "state": e.state.rawValue,
             "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "),
             "enrolled": GraphDateText.short(e.enrolledAt)]
        }
        return page(who, "user", u.upn, "users", [
            "upn": u.upn, "name": u.displayName, "groups": groups.map(\.displayName).joined(separator: ", ").isEmpty ? "none" : groups.map(\.displayName).joined(separator: ", "),
            "limit": limit.limit ?? 5, "limitName": limit.isDefault ? "Default" : limit.displayName, "devices": devices,
            "licenses": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", ").isEmpty ? "No licenses." : u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber }.joined(separator: ", "),
            "held": u.assignedLicenses.compactMap { s.product($0)?.skuPartNumber },
            "products": s.licenseProducts.map { ["sku": $0.skuPartNumber, "name": $0.displayName] },
        ], req: req)
    }
    action("/console/users/:upn/devices/delete", roles: [.admin, .helpdesk]) { req, form, who in
        let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
        let ids = form.filter { $0.0 == "device" }.map(\.1)
        guard !ids.isEmpty else { return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Select the devices to delete first.")) }
        var found: [Enrollment] = []
        for id in ids {
            let e = try await c.admin.enrollment(id)
            guard e.upn == UPN.normalize(upn) else { throw AdminError("Enrollment \(id) does not belong to \(upn).") }
            found.append(e)
        }
        // First a page that names the devices and says what deleting does; then the confirmed form deletes them.
        guard value(form, "confirmed") == "yes" else {
            return page(who, "confirmMany", "Delete \(found.count) device\(found.count == 1 ? "" : "s")?", "users", [
                "upn": upn, "devices": found.map { ["id": $0.id, "name": $0.deviceName ?? $0.deviceID] }, "count": found.count,
            ], req: req)
        }
        for e in found { _ = try await c.admin.acting(as: "console:\(who.user.upn)").deleteDevice(e.id) }
        return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("Deleted \(found.count == 1 ? "1 device" : "\(found.count) devices")."))
    }
    action("/console/users/:upn/properties") { req, form, who in
        let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
        let newUPN = value(form, "newUPN").flatMap { $0.isEmpty ? nil : UPN.normalize($0) }
        let u = try await c.admin.acting(as: "console:\(who.user.upn)").updateUser(
            upn, displayName: value(form, "displayName").flatMap { $0.isEmpty ? nil : $0 }, newUPN: newUPN)
        // The same warnings the CLI gives (an unverified domain: the user cannot enroll until it is verified).
        let warnings = u.isPackageAccount ? [] : AdminService.enrollmentWarnings(u, try await c.admin.settings())
        return ConsolePages.redirect("/console/users/\(u.upn)?msg=" + ConsolePages.esc((["Saved \(u.upn)."] + warnings.map { "Warning: " + $0 }).joined(separator: " ")))
    }
    action("/console/users/:upn/licenses") { req, form, who in
        let upn = req.uri.path.split(separator: "/").dropFirst(2).first.map { String($0).removingPercentEncoding ?? String($0) } ?? ""
        _ = try await c.admin.acting(as: "console:\(who.user.upn)").assignLicense(upn, sku: value(form, "sku") ?? "")
        return ConsolePages.redirect("/console/users/\(upn)?msg=" + ConsolePages.esc("License assigned."))
    }

    // MARK: Devices > Enrollment restrictions

    view("/console/devices/enrollment-restrictions") { req, _, who in
        func groups(_ r: Restriction) async throws -> String {
            r.isDefault ? "All users and all devices" : try await c.admin.groupNames(r.assignedGroups).joined(separator: ", ")
        }
        var limits: [[String: Any]] = [], platforms: [[String: Any]] = []
        for r in try await c.admin.restrictions(.deviceLimit) {
            limits.append(["id": r.id, "name": r.isDefault ? "Default" : r.displayName, "priority": r.isDefault ? "Default" : String(r.priority),
                           "limit": r.limit ?? 5, "groups": try await groups(r)])
        }
        for r in try await c.admin.restrictions(.platform) {
            let w = r.windows ?? PlatformRestriction()
            platforms.append(["id": r.id, "name": r.isDefault ? "Default" : r.displayName, "priority": r.isDefault ? "Default" : String(r.priority),
                              "windows": w.platformBlocked ? "Block" : "Allow", "personal": w.personalDeviceEnrollmentBlocked ? "Block" : "Allow",
                              "home": w.homeAllowed ? "Allow" : "Block", "versions": "\(w.osMinimumVersion ?? "any") – \(w.osMaximumVersion ?? "any")",
                              "groups": try await groups(r)])
        }
        return page(who, "restrictions", "Enrollment restrictions", "restrictions", ["limits": limits, "platforms": platforms], req: req)
    }
    view("/console/devices/enrollment-restrictions/:id") { req, ctx, who in
        let id = ctx.parameters.get("id") ?? ""
        let all = try await c.admin.restrictions(.deviceLimit) + (try await c.admin.restrictions(.platform))
        guard let r = all.first(where: { $0.id == id }) else { throw AdminError.notFound("No restriction \(id).") }
        let w = r.windows ?? PlatformRestriction()
        return page(who, "restriction", r.isDefault ? "Default" : r.displayName, "restrictions", [
            "id": r.id, "name": r.isDefault ? "Default" : r.displayName, "type": r.type == .deviceLimit ? "Device limit" : "Device type",
            "priorityText": r.isDefault ? "evaluated last" : "priority \(r.priority)",
            "groups": r.isDefault ? "all users and all devices" : try await c.admin.groupNames(r.assignedGroups).joined(separator: ", "),
            "isLimit": r.type == .deviceLimit, "isPlatform": r.type == .platform, "limit": r.limit ?? 5,
            "windowsBlocked": w.platformBlocked, "personalBlocked": w.personalDeviceEnrollmentBlocked, "homeAllowed": w.homeAllowed,
            "min": w.osMinimumVersion ?? "", "max": w.osMaximumVersion ?? "", "isDefault": r.isDefault, "priority": r.priority,
            "groupLines": try await c.admin.groupNames(r.assignedGroups).joined(separator: "\n"),
        ], req: req)
    }
    action("/console/devices/enrollment-restrictions/create") { _, form, who in
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        guard let type = RestrictionType(rawValue: value(form, "type") ?? "") else { throw AdminError("Choose a device limit or device type restriction.") }
        let r = try await admin.createRestriction(type, name: value(form, "name") ?? "",
                                                  limit: type == .deviceLimit ? Int(value(form, "limit") ?? "") ?? 0 : nil,
                                                  groups: lines(value(form, "groups")))
        return ConsolePages.redirect("/console/devices/enrollment-restrictions/\(r.id)?msg=" + ConsolePages.esc("Created \(r.displayName) with priority \(r.priority)."))
    }
    action("/console/devices/enrollment-restrictions/:id/delete") { req, _, who in
        let parts = req.uri.path.split(separator: "/")
        let id = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
        let all = try await c.admin.restrictions(.deviceLimit) + (try await c.admin.restrictions(.platform))
        guard let r = all.first(where: { $0.id == id }) else { throw AdminError.notFound("No restriction \(id).") }
        try await c.admin.acting(as: "console:\(who.user.upn)").deleteRestriction(r.type, r.id)
        return ConsolePages.redirect("/console/devices/enrollment-restrictions?msg=" + ConsolePages.esc("Deleted \(r.displayName)."))
    }
    action("/console/devices/enrollment-restrictions/:id") { req, form, who in
        let id = String(req.uri.path.split(separator: "/").last ?? "")
        let all = try await c.admin.restrictions(.deviceLimit) + (try await c.admin.restrictions(.platform))
        guard let r = all.first(where: { $0.id == id }) else { throw AdminError.notFound("No restriction \(id).") }
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        if r.type == .deviceLimit {
            guard let limit = Int(value(form, "limit") ?? "") else { throw AdminError("The device limit must be a number from 1 to 15.") }
            _ = try await admin.editRestriction(.deviceLimit, r.id, limit: limit)
        } else {
            _ = try await admin.editRestriction(.platform, r.id, platform: PlatformChange(
                platformBlocked: value(form, "windows").map { $0 == "block" }, personalDeviceEnrollmentBlocked: value(form, "personal").map { $0 == "block" },
                osMinimumVersion: value(form, "min") ?? "", osMaximumVersion: value(form, "max") ?? "", homeAllowed: value(form, "home").map { $0 == "allow" }))
        }
        if !r.isDefault {
            let wanted = try await Set(lines(value(form, "groups")).asyncMap { try await c.admin.group($0).id })
            let current = Set(r.assignedGroups)
            let remove = current.subtracting(wanted), add = wanted.subtracting(current)
            if !remove.isEmpty { _ = try await admin.assignRestriction(r.type, r.id, groups: Array(remove), remove: true) }
            if !add.isEmpty { _ = try await admin.assignRestriction(r.type, r.id, groups: Array(add)) }
            if let p = value(form, "priority").flatMap(Int.init), p != r.priority { _ = try await admin.setPriority(r.type, r.id, priority: p) }
        }
        return ConsolePages.redirect("/console/devices/enrollment-restrictions?msg=" + ConsolePages.esc("Saved \(r.isDefault ? "Default" : r.displayName)."))
    }

    // MARK: Devices > Device settings

    view("/console/devices/device-settings") { req, _, who in
        let s = try await c.admin.settings()
        let users = try await c.admin.users().filter { s.joinPolicy.users.contains($0.id) }.map(\.upn)
        return page(who, "deviceSettings", "Device settings", "deviceSettings", [
            "all": s.joinPolicy.kind == .all, "selected": s.joinPolicy.kind == .selected, "none": s.joinPolicy.kind == .none,
            "users": users.joined(separator: "\n"), "groups": try await c.admin.groupNames(s.joinPolicy.groups).joined(separator: "\n"),
            "quota": s.joinQuota,
        ], req: req)
    }
    action("/console/devices/device-settings") { _, form, who in
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        guard let kind = JoinPolicy.Kind(rawValue: value(form, "join") ?? "") else { throw AdminError("Choose All, Selected or None.") }
        _ = try await admin.setJoinPolicy(kind, users: kind == .selected ? lines(value(form, "users")) : [],
                                          groups: kind == .selected ? lines(value(form, "groups")) : [])
        if let q = value(form, "quota") {
            guard let n = Int(q) else { throw AdminError("The maximum number of devices per user must be a number.") }
            _ = try await admin.setJoinQuota(n)
        }
        return ConsolePages.redirect("/console/devices/device-settings?msg=" + ConsolePages.esc("Device settings saved."))
    }

    // MARK: Mobility (MDM and MAM)

    view("/console/mobility") { req, _, who in
        let s = try await c.admin.settings()
        func options(_ sc: UserScope) -> [[String: Any]] {
            [("none", "None"), ("some", "Some"), ("all", "All")].map { ["value": $0.0, "label": $0.1, "on": sc.kind.rawValue == $0.0] }
        }
        return page(who, "mobility", "Mobility (MDM and MAM)", "mobility", [
            "mdm": options(s.mobility.mdmScope), "mam": options(s.mobility.mamScope),
            "mdmGroups": try await c.admin.groupNames(s.mobility.mdmScope.groups).joined(separator: "\n"),
            "mamGroups": try await c.admin.groupNames(s.mobility.mamScope.groups).joined(separator: "\n"),
            "tou": s.mobility.termsOfUseURL, "discovery": s.mobility.discoveryURL, "compliance": s.mobility.complianceURL,
        ], req: req)
    }
    action("/console/mobility") { _, form, who in
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        for (field, which, groupsField) in [("mdm", AdminService.ScopeTarget.mdm, "mdmGroups"), ("mam", .mam, "mamGroups")] {
            if let k = value(form, field).flatMap(UserScope.Kind.init(rawValue:)) {
                _ = try await admin.setScope(which, k, groups: k == .some ? lines(value(form, groupsField)) : [])
            }
        }
        _ = try await admin.setMobilityURLs(termsOfUse: value(form, "tou"), discovery: value(form, "discovery"), compliance: value(form, "compliance"))
        return ConsolePages.redirect("/console/mobility?msg=" + ConsolePages.esc("Mobility settings saved."))
    }
    action("/console/mobility/restore-default-urls") { _, _, who in
        _ = try await c.admin.acting(as: "console:\(who.user.upn)").restoreDefaultMobilityURLs(publicURL: c.publicURL)
        return ConsolePages.redirect("/console/mobility?msg=" + ConsolePages.esc("Default MDM URLs restored."))
    }

    // MARK: Devices > Windows > Windows devices, Autopilot

    view("/console/devices/windows") { req, _, who in
        let q = (req.uri.queryParameters.get("q").map { $0.removingPercentEncoding ?? $0 } ?? "").trimmingCharacters(in: .whitespaces)
        let sort = req.uri.queryParameters.get("sort") ?? "enrolled"
        let settings = try await c.admin.settings(), schedule = settings.checkInSchedule, now = Date()
        var shown: [Enrollment]
        var model: [String: Any] = [:]
        if q.isEmpty && sort == "enrolled" {
            // One page of active devices, oldest enrollment first, keyed by the last one shown.
            let rows = try await c.admin.enrollments(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1, activeOnly: true)
            shown = Array(rows.prefix(ConsolePages.pageSize))
            if rows.count > shown.count, let last = shown.last { model["next"] = "/console/devices/windows?after=" + ConsolePages.esc(last.id) }
        } else {
            // A search or another order reads the active devices once and shows the first matches.
            let needle = q.lowercased()
            var all = try await c.admin.allEnrollments().filter { $0.state == .active }
            if !needle.isEmpty {
                all = all.filter { e in
                    [e.deviceName ?? "", e.upn, e.deviceID, e.id, e.osVersion ?? ""].contains { $0.lowercased().contains(needle) }
                }
            }
            switch sort {
            case "name": all.sort { ($0.deviceName ?? $0.deviceID).lowercased() < ($1.deviceName ?? $1.deviceID).lowercased() }
            case "user": all.sort { ($0.upn, $0.deviceName ?? "") < ($1.upn, $1.deviceName ?? "") }
            case "seen": all.sort { ($0.lastSeenAt ?? .distantPast) > ($1.lastSeenAt ?? .distantPast) }
            case "expires": all.sort { $0.certificateNotAfter < $1.certificateNotAfter }
            default: all.sort { $0.enrolledAt < $1.enrolledAt }
            }
            shown = Array(all.prefix(ConsolePages.pageSize))
            model["summary"] = "\(all.count) device\(all.count == 1 ? "" : "s")\(needle.isEmpty ? "" : " match") \(all.count > shown.count ? "; the first \(shown.count) are shown, search to narrow" : "")."
        }
        var compliance: [String: [DeviceCompliance]] = [:]
        if !settings.compliancePolicies.isEmpty {
            for e in shown { compliance[e.id] = try await c.admin.deviceCompliance(e, policies: settings.compliancePolicies, now: now) }
        }
        let devices = shown.map { e -> [String: Any] in
            let states = compliance[e.id] ?? []
            return ["id": e.id, "compliance": states.isEmpty ? "no policy" : DeviceCompliance.overall(states).rawValue,
             "reasons": states.filter { $0.state != .compliant }.flatMap { p in p.reasons.map { "\(p.policyName): \($0)" } }, "name": e.deviceName ?? e.deviceID, "upn": e.upn, "primaryUser": e.primaryUser ?? "", "hasUser": e.primaryUser != nil,
             "ownership": e.ownership.rawValue.capitalized,
             "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "), "state": e.state.rawValue, "expires": GraphDateText.short(e.certificateNotAfter),
             "renewed": e.certificateRenewedAt.map { "renewed " + GraphDateText.short($0) } ?? "",
             "seen": e.lastSeenAt.map { GraphDateText.short($0) } ?? "never",
             "nextCheckIn": GraphDateText.short(schedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: now))]
        }
        model["devices"] = devices
        model["schedule"] = schedule.summary
        if !q.isEmpty { model["q"] = q }
        model["sorts"] = [("enrolled", "Enrolled (oldest first)"), ("name", "Device name"), ("user", "Primary user"), ("seen", "Last check-in"),
                          ("expires", "Certificate expiry")].map { ["value": $0.0, "label": $0.1, "selected": $0.0 == sort] }
        return page(who, "windowsDevices", "Windows devices", "windows", model, req: req)
    }
    action("/console/devices/windows/:id", roles: [.admin, .helpdesk]) { req, form, who in
        let id = String(req.uri.path.split(separator: "/").last ?? "")
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        switch value(form, "action") {
        case "unassign": _ = try await admin.unassignUser(id)
        case "retire", "delete":
            // Only from the confirmation page, which said what will happen.
            let what = value(form, "action")!
            guard value(form, "confirmed") == "yes" else { return ConsolePages.redirect("/console/devices/windows/\(id)/confirm?action=\(what)") }
            let e = what == "retire" ? try await admin.retireDevice(id) : try await admin.deleteDevice(id)
            return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc("\(what == "retire" ? "Retired" : "Deleted") \(e.deviceName ?? e.deviceID) of \(e.upn)."))
        case "sync", "reboot":
            let restart = value(form, "action") == "reboot"
            let q = try await admin.queueCommand(id, restart ? .reboot : .inventory, providerID: c.providerID)
            let e = try await admin.enrollment(id)
            let next = try await admin.settings().checkInSchedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: Date())
            let what = restart ? "Restart queued" : "Sync queued: the device reports its inventory"
            let push = q.note.map { " " + $0 } ?? " (no push: sooner only if the device restarts, a user signs in, or someone presses Sync on it)."
            return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc(
                "\(what) for its next check-in, expected by \(GraphDateText.short(next)).\(push)"))
        default: throw AdminError("Choose Sync, Restart, Unassign user, Retire or Delete.")
        }
        return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc("Done."))
    }
    view("/console/devices/windows/configuration") { req, _, who in
        let groups = try await c.admin.groups()
        func target(_ a: ProfileAssignment) -> String { ConsolePages.assignment(a, groups) }
        var profiles: [[String: Any]] = []
        for p in try await c.admin.configurationProfiles() {
            // Counts from the states alone; a device is read only for the failures shown (at most 20).
            let (_, rows) = try await c.admin.profileStates(p.id)
            func count(_ s: DeviceProfileState.State) -> Int { rows.filter { $0.state == s }.count }
            var failures: [[String: Any]] = []
            for st in rows where failures.count < 20 {
                for f in st.settings where f.state == .failed && failures.count < 20 {
                    let name = try await c.admin.enrollment(id: st.enrollmentID)?.deviceName
                    failures.append(["device": name ?? st.enrollmentID, "uri": f.locURI, "status": f.status ?? "-",
                                     "hresult": f.status.flatMap(OMAStatus.hresult).map { "(\($0))" } ?? "", "meaning": OMAStatus.meaning(f.status ?? "")])
                }
            }
            profiles.append(["name": p.name, "description": p.description, "version": p.version,
                             "settings": p.settings.map { ["uri": $0.locURI, "value": $0.value] },
                             "assigned": p.assignments.isEmpty ? "not assigned" : p.assignments.map(target).joined(separator: ", "),
                             "succeeded": count(.succeeded), "pending": count(.pending) + count(.removing), "failed": count(.failed),
                             "conflict": count(.conflict), "notApplicable": count(.notApplicable), "failures": failures])
        }
        let conflicts = try await c.admin.profileConflicts().map {
            ["uri": $0.locURI, "winner": $0.winnerName, "winningValue": $0.winningValue, "loser": $0.loserName, "losingValue": $0.losingValue, "reason": $0.reason]
        }
        return page(who, "configuration", "Configuration profiles", "configuration",
                    ["profiles": profiles, "conflicts": conflicts, "hasConflicts": !conflicts.isEmpty,
                     "schedule": try await c.admin.settings().checkInSchedule.summary], req: req)
    }
    view("/console/devices/windows/compliance") { req, _, who in
        let groups = try await c.admin.groups()
        func target(_ a: ProfileAssignment) -> String { ConsolePages.assignment(a, groups) }
        let policies = try await c.admin.compliancePolicies().map { p -> [String: Any] in
            ["name": p.name, "description": p.description, "rules": p.rulesSummary,
             "assigned": p.assignments.isEmpty ? "not assigned" : p.assignments.map(target).joined(separator: ", "), "created": GraphDateText.short(p.createdAt)]
        }
        return page(who, "compliance", "Compliance policies", "compliance", ["policies": policies], req: req)
    }
    view("/console/devices/windows/esp") { req, _, who in
        var pages: [[String: Any]] = []
        for r in try await c.admin.restrictions(.enrollmentStatusPage) {
            let s = r.statusPage ?? .intuneDefault
            pages.append(["priority": r.isDefault ? "Default" : String(r.priority), "name": r.isDefault ? "All users and all devices" : r.displayName,
                          "groups": r.isDefault ? "everyone" : try await c.admin.groupNames(r.assignedGroups).joined(separator: ", "),
                          "shown": s.showInstallationProgress ? "yes" : "no", "blocking": try await c.admin.blockingProfileNames(s),
                          "timeout": s.installProgressTimeoutInMinutes, "buttons": s.failureButtons.joined(separator: ", "),
                          "message": s.customErrorMessage.isEmpty ? StatusPageSettings.windowsErrorText : s.customErrorMessage])
        }
        let t = c.troubleshooting
        var failures: [[String: Any]] = []
        for a in try await c.admin.attempts(AttemptQuery(limit: 200, failedOnly: true)) where failures.count < 20 {
            guard let d = a.denials.first, d.rule == .statusPageTimeout || d.rule == .statusPageProfileFailed else { continue }
            failures.append(["time": GraphDateText.short(a.time), "upn": a.facts.upn ?? "", "device": a.facts.deviceName ?? a.enrollmentID ?? "",
                             "code": a.code ?? "", "reason": d.reason, "fix": try await t.recordedFixes(a).first?.command ?? ""])
        }
        return page(who, "statusPage", "Enrollment Status Page", "esp", ["pages": pages, "failures": failures], req: req)
    }
    /// The Autopilot lint as console warnings: what is wrong, the code Windows setup shows, and the fix.
    @Sendable func warning(_ f: AdminService.AutopilotFinding) -> String { "\(f.code): \(f.message) Fix: \(f.fix)" }
    @Sendable func autopilotPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
        let findings = try await c.admin.autopilotLint()
        var wins: [String: Int] = [:]
        for d in try await c.admin.autopilotDevices() { if let w = try await c.admin.autopilotResolution(d).winner { wins[w.id, default: 0] += 1 } }
        var profiles: [[String: Any]] = []
        for p in try await c.admin.autopilotProfiles() {
            profiles.append(["name": p.displayName, "join": p.joinType == .entra ? "Microsoft Entra joined" : "Hybrid joined",
                             "template": p.deviceNameTemplate ?? "", "groups": try await c.admin.groupNames(p.assignedGroups).joined(separator: ", "),
                             "devices": wins[p.id] ?? 0, "created": GraphDateText.short(p.createdAt),
                             "warnings": findings.filter { $0.profiles.contains { $0.id == p.id } }.map { "\($0.device.serialNumber): " + warning($0) }])
        }
        return page(who, "autopilot", "Autopilot deployment profiles", "autopilot", extra.merging(["profiles": profiles]) { a, _ in a }, req: req)
    }
    @Sendable func autopilotDevicesPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
        let findings = try await c.admin.autopilotLint()
        var devices: [[String: Any]] = []
        for d in try await c.admin.autopilotDevices() {
            let r = try await c.admin.autopilotResolution(d)
            devices.append(["serial": d.serialNumber, "model": [d.manufacturer, d.model].compactMap { $0 }.joined(separator: " "),
                            "tag": d.groupTag, "user": d.assignedUser ?? "", "profile": r.winner?.displayName ?? "none",
                            "state": ["notContacted": "Not contacted", "enrolled": "Enrolled", "failed": "Failed"][d.enrollmentState.rawValue] ?? "",
                            "imported": GraphDateText.short(d.importedAt), "warnings": findings.filter { $0.device.id == d.id }.map(warning)])
        }
        return page(who, "autopilotDevices", "Autopilot devices", "autopilotDevices", extra.merging(["devices": devices]) { a, _ in a }, req: req)
    }
    view("/console/devices/windows/autopilot/devices") { req, _, who in try await autopilotDevicesPage(req, who) }
    // 500 devices with their hardware hashes (about 4 KB each) fit in 4 MiB.
    action("/console/devices/windows/autopilot/devices", maxBytes: 4 << 20) { req, form, who in
        var extra: [String: Any] = [:]
        let file = value(form, "csv") ?? ""
        if file.isEmpty {
            extra["uploadError"] = "choose the CSV file to import."
        } else {
            do {
                let rows = try await c.admin.acting(as: "console:\(who.user.upn)").importAutopilotDevices(csv: Multipart.bytes(file))
                extra["results"] = rows.map { r -> [String: Any] in
                    ["line": r.line, "serial": r.serialNumber, "status": r.status == .complete ? "Imported" : "Error",
                     "error": r.errorName.map { n in r.errorCode == 0 ? n : "\(r.errorCode) \(n)" } ?? "", "message": r.message ?? ""]
                }
                let ok = rows.filter { $0.status == .complete }.count
                extra["summary"] = "\(ok) of \(rows.count) device\(rows.count == 1 ? "" : "s") imported."
            } catch let e as AdminError {
                // The whole file was refused (header, quoting, size): nothing was imported.
                extra["uploadError"] = e.message.replacingOccurrences(of: "The file was not imported. ", with: "")
            }
        }
        return try await autopilotDevicesPage(req, who, extra: extra)
    }
    view("/console/devices/windows/autopilot") { req, _, who in try await autopilotPage(req, who, extra: ["serial": "PF3X9K2L7Q8R"]) }
    action("/console/devices/windows/autopilot") { req, form, who in
        let template = value(form, "template") ?? "", serial = value(form, "serial") ?? "PF3X9K2L7Q8R"
        var extra: [String: Any] = ["template": template, "serial": serial, "name": value(form, "name") ?? ""]
        do throws(TemplateProblems) {
            let t = try DeviceNameTemplate(template)
            extra["preview"] = t.expand(serial: serial)
        } catch {
            extra["problems"] = error.problems
            extra["hasProblems"] = true
        }
        if value(form, "action") == "create", extra["hasProblems"] == nil {
            let join = AutopilotJoinType(rawValue: value(form, "join") ?? "entra") ?? .entra
            _ = try await c.admin.acting(as: "console:\(who.user.upn)").createAutopilotProfile(
                name: value(form, "name") ?? "", joinType: join, template: template.isEmpty ? nil : template, groups: [])
            return ConsolePages.redirect("/console/devices/windows/autopilot?msg=" + ConsolePages.esc("Profile created."))
        }
        return try await autopilotPage(req, who, extra: extra)
    }

    // MARK: Tenant administration: maintenance and domains

    view("/console/tenant") { req, _, who in
        let s = try await c.admin.settings()
        return page(who, "tenant", "Tenant administration", "tenant", [
            "maintenance": s.maintenance ? "on" : "off", "on": s.maintenance,
            "domains": s.domains.map { ["name": $0.name, "verified": $0.isVerified, "status": $0.isVerified ? "Verified" : "Unverified"] },
        ], req: req)
    }
    action("/console/tenant/maintenance") { _, form, who in
        let on = value(form, "maintenance") == "on"
        _ = try await c.admin.acting(as: "console:\(who.user.upn)").setMaintenance(on)
        return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc(on ? "Maintenance started." : "Maintenance ended."))
    }
    action("/console/tenant/domains") { _, form, who in
        let d = try await c.admin.acting(as: "console:\(who.user.upn)").addDomain(value(form, "domain") ?? "")
        return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc("Added \(d.name); verify it to let its users enroll."))
    }
    action("/console/tenant/domains/verify") { _, form, who in
        let d = try await c.admin.acting(as: "console:\(who.user.upn)").verifyDomain(value(form, "domain") ?? "")
        return ConsolePages.redirect("/console/tenant?msg=" + ConsolePages.esc("\(d.name) is verified."))
    }

    // MARK: Troubleshooting + support

    @Sendable func troubleshootingPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
        let days = min(max(Int(req.uri.queryParameters.get("days") ?? "") ?? 7, 1), 90)
        let now = c.clock.now(), since = now - Double(days) * 86400
        let attempts = try await c.troubleshooting.failures(since: since, limit: 5000)
        let fixed = try await c.admin.fixedAttempts(since: since)
        // One row per cause and user, newest first; sign-in noise (wrong passwords, unknown users) in its own list, so
        // a burst of it never hides the failures an admin can fix.
        let groups = FailureGroups.byCauseAndUser(attempts)
        func row(_ g: FailureGroups) -> [String: Any] {
            let a = g.example
            let d = a.denials.first
            var m = g.model
            m["upn"] = a.facts.upn ?? a.remoteAddress ?? "-"
            m["fix"] = d.flatMap { c.troubleshooting.fixText(rule: $0.rule, hresult: $0.fault.hresult) } ?? ""
            if let f = fixed[a.id] {
                m["resolved"] = "Resolved by \(f.actor.replacingOccurrences(of: "console:", with: "")) at \(GraphDateText.short(f.time))"
            } else {
                m["fixable"] = d != nil && (a.phase == .enroll || a.phase == .auth || a.phase == .policy)
            }
            return m
        }
        let real = groups.filter { !$0.isNoise }, noise = groups.filter(\.isNoise)
        let pageSize = 50, pageNo = max(Int(req.uri.queryParameters.get("page") ?? "") ?? 1, 1)
        let shown = real.dropFirst((pageNo - 1) * pageSize).prefix(pageSize)
        var model = extra
        model["failures"] = shown.map(row)
        model["noise"] = noise.prefix(50).map(row)
        model["noiseCount"] = noise.reduce(0) { $0 + $1.count }
        model["hasNoise"] = !noise.isEmpty
        model["summary"] = "\(real.count) cause\(real.count == 1 ? "" : "s") in the last \(days) day\(days == 1 ? "" : "s")\(real.count > pageSize ? ", page \(pageNo) of \((real.count + pageSize - 1) / pageSize)" : "")."
        if pageNo > 1 { model["prev"] = "/console/troubleshooting?days=\(days)&page=\(pageNo - 1)" }
        if real.count > pageNo * pageSize { model["next"] = "/console/troubleshooting?days=\(days)&page=\(pageNo + 1)" }
        model["ranges"] = [1, 7, 30, 90].map { ["days": $0, "label": $0 == 1 ? "24 hours" : "\($0) days", "on": $0 == days] }
        model["lockouts"] = try await c.admin.lockouts().prefix(50).map { l -> [String: Any] in
            ["subject": l.subject, "who": ConsolePages.lockoutName(l.key), "failures": l.failures, "lockouts": l.lockouts,
             "state": l.isLocked(at: now) ? "locked until \(GraphDateText.short(l.lockedUntil!))" : "counting",
             "last": l.lastFailure.map(GraphDateText.short) ?? "-"]
        }
        model["chart"] = FailureChart.svg(attempts, now: now, days: max(days, 2))
        return page(who, "troubleshooting", "Troubleshooting + support", "troubleshooting", model, req: req)
    }
    view("/console/troubleshooting") { req, _, who in try await troubleshootingPage(req, who) }
    action("/console/troubleshooting/explain", roles: Set(APIRole.allCases)) { req, form, who in
        let text = value(form, "text") ?? ""
        let e = c.troubleshooting.explain(text)
        // The same explanation as `winmdm explain` and Graph's explain: causes most likely first, with how sure and why.
        let found = e.matches.filter { $0.via != "clue" }.map { m -> [String: Any] in ["title": m.title, "code": m.code] }
        let causes = e.causes.prefix(8).map { c -> [String: Any] in
            var o: [String: Any] = ["title": c.title, "confirm": c.confirm, "fix": c.fix, "code": c.code, "certainty": c.certainty,
                                    "percent": Int((c.confidence * 100).rounded()), "why": c.clues.joined(separator: "; ")]
            if let d = c.doctor { o["doctor"] = d }
            return o
        }
        var extra: [String: Any] = ["text": text, "found": found, "causes": causes, "unrecognized": e.unrecognized,
                                    "contexts": e.contexts.map { "\($0.title) (\($0.signals.joined(separator: ", ")))" }]
        if !causes.isEmpty { extra["explained"] = true }
        if let q = e.question { extra["question"] = q }
        return try await troubleshootingPage(req, who, extra: extra)
    }
    action("/console/troubleshooting/lockouts/clear", roles: [.admin, .helpdesk]) { _, form, who in
        let gone = try await c.admin.acting(as: "console:\(who.user.upn)").clearLockouts(value(form, "who") ?? "")
        return ConsolePages.redirect("/console/troubleshooting?msg=" + ConsolePages.esc("Cleared: " + gone.map(\.subject).joined(separator: "; ")))
    }
    // Fix: first a page with what each available fix would change, narrowest first; then the chosen one.
    view("/console/troubleshooting/fix") { req, _, who in
        let attempt = try await c.admin.attempt(id: req.uri.queryParameters.get("attempt") ?? "")
        let t = c.troubleshooting
        let (recorded, now) = try await t.diagnose(attempt)
        let fixes: [FixAction] = if let now { try await t.fixes(for: now) } else { try await t.recordedFixes(attempt) }
        return page(who, "fix", "Fix", "troubleshooting", [
            "attempt": attempt.id, "upn": attempt.facts.upn ?? "-", "time": GraphDateText.short(attempt.time), "code": attempt.code ?? "",
            "reasons": recorded.map { "[\($0.rule)] \($0.reason)" }, "allowed": now?.allowed == true,
            "fixes": fixes.map { ["id": $0.id, "description": $0.description, "scope": $0.scope.label, "command": $0.command,
                                  "narrow": $0.scope != .tenant] },
            "hasFixes": !fixes.isEmpty,
        ], req: req)
    }
    action("/console/troubleshooting/fix") { _, form, who in
        let admin = c.admin.acting(as: "console:\(who.user.upn)")
        let attempt = try await admin.attempt(id: value(form, "attempt") ?? "")
        let t = c.troubleshooting.acting(as: "console:\(who.user.upn)")
        let now = try await t.diagnose(attempt).now
        let fixes: [FixAction] = if let now { try await t.fixes(for: now) } else { try await t.recordedFixes(attempt) }
        guard let chosen = fixes.first(where: { $0.id == value(form, "fix") }) else {
            throw AdminError("That fix no longer applies (someone changed the settings meanwhile); open the failure again to see what would fix it now.")
        }
        try await chosen.apply()
        try await admin.recordFix(attemptID: attempt.id, applied: chosen.description)
        return ConsolePages.redirect("/console/troubleshooting?msg=" + ConsolePages.esc("Applied: \(chosen.description) The failure is marked resolved."))
    }
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
