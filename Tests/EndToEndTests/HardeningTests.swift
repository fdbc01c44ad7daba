import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMServer
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import NIOCore
import NIOPosix
import Testing

/// What a stranger, a reader or a device can send to the parts that face the internet: each input that used to crash,
/// wear down or mislead the server is answered, recorded, and the server keeps serving.
@Suite struct HardeningTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile")

    static func fixture(_ name: String) -> [UInt8] {
        Array(try! Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    struct Hostile: Sendable, CustomTestStringConvertible {
        var name: String
        var path: String
        var body: @Sendable () -> [UInt8]
        var testDescription: String { name }
    }

    /// Each used to kill the process (Foundation's XMLParser trap on invalid UTF-8 in names; stack overflow on nesting)
    /// or to slip past the DOCTYPE check (UTF-16).
    static let crashers: [Hostile] = [
        Hostile(name: "invalid UTF-8 in an element name", path: Paths.discovery) { Array("<a".utf8) + [0xF4] + Array("b/>".utf8) },
        Hostile(name: "invalid UTF-8 in a real enrollment request", path: Paths.enrollment) { fixture("enroll-invalid-utf8-name.xml") },
        Hostile(name: "UTF-16 body with a DOCTYPE", path: Paths.discovery) { fixture("discovery-utf16-doctype.xml") },
        Hostile(name: "declared ISO-8859-1", path: Paths.policy) {
            Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>".utf8)
        },
        Hostile(name: "47,000 nested elements", path: Paths.enrollment) {
            Array((String(repeating: "<a>", count: 47_000) + String(repeating: "</a>", count: 47_000)).utf8)
        },
        Hostile(name: "60,000 nested elements in Discovery (fits 256 KiB unclosed)", path: Paths.discovery) {
            Array(String(repeating: "<a>", count: 60_000).utf8)
        },
        Hostile(name: "NUL bytes", path: Paths.discovery) { Array("<a>\u{0}</a>".utf8) },
        // Found by the soap fuzzer: XMLParser reads a NULL for a processing instruction without data.
        Hostile(name: "processing instruction without data", path: Paths.discovery) { fixture("pi-without-data.xml") },
        Hostile(name: "processing instruction after the declaration", path: Paths.policy) {
            Array("<?xml version=\"1.0\"?><?pi?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>".utf8)
        },
    ]

    @Test(arguments: crashers)
    func hostileBodiesGetAFaultAndTheServerServes(_ c: Hostile) async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        let base = server.publicURL
        try await server.inProcess { t in
            let r = try await RawClient(transport: t, base: base).post(c.path, c.body())
            #expect(r.status == 200 || r.status == 413)
            let fault = try #require(SOAPFault.decode(SOAPEnvelope(bytes: r.body)), "no SOAP fault in: \(r.text.prefix(200))")
            #expect(fault.subcode == "MessageFormat")
            let attempt = try #require(try await server.store.attempt(id: fault.traceID))
            #expect(attempt.outcome == .failed)
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
        }
        await server.close()
    }

    @Test func deeplyNestedSyncMLIsRefusedNotRecursedInto() async throws {
        let atomic = String(repeating: "<Atomic><CmdID>1</CmdID>", count: 7_000) + String(repeating: "</Atomic>", count: 7_000)
        let body = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>\(atomic)<Final/></SyncBody></SyncML>"
        #expect(throws: WireError.self) { try SyncMLMessage(bytes: Array(body.utf8)) }
        // Nesting Windows really sends (a Sequence holding an Atomic) still reads.
        let fine = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody><Sequence><CmdID>1</CmdID><Atomic><CmdID>2</CmdID><Get><CmdID>3</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get></Atomic></Sequence><Final/></SyncBody></SyncML>"
        let m = try SyncMLMessage(bytes: Array(fine.utf8))
        #expect(m.commands.first?.children.first?.children.first?.items.first?.target == "./DevDetail/SwV")
    }

    // MARK: Paging

    @Test(arguments: ["-1", "9223372036854775807", "18446744073709551616", "1e9", "abc", "0x10"])
    func skipTokensThatOverflowAre400(_ token: String) async throws {
        try await API.run { api, server in
            let reader = try await server.admin.createToken(name: "reader", role: .reader)
            let r = try await api.call(.get, "/graph/v1.0/users?$skiptoken=\(token)", token: .some(reader.secret))
            #expect(r.status == 400 && r.error == "Request_BadRequest", "\(r.raw)")
            #expect(try await api.call(.get, "/graph/v1.0/groups?$top=1&$skiptoken=0").status == 200)
            #expect(try await api.call(.get, "/graph/beta/winmdm/report/failures?since=1e308d").status == 400)
        }
    }

    // MARK: Who exists

    @Test func unknownUserAndWrongPasswordLookTheSameToTheDevice() async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        let base = server.publicURL
        try await server.inProcess { t in
            var seen: [String] = []
            for (upn, password) in [("alice@winmdm.test", "not it at all"), ("nobody@winmdm.test", "not it at all")] {
                let device = WindowsDevice(profile: DeviceProfile(upn: upn, password: password), transport: t)
                let r = try await RawClient(transport: t, base: base).post(Paths.policy, Array(device.policyRequestXML(to: base + Paths.policy).utf8))
                let fault = try #require(SOAPFault.decode(SOAPEnvelope(bytes: r.body)))
                #expect(fault.subcode == "Authentication")
                seen.append(fault.reason)
                let attempt = try #require(try await server.store.attempt(id: fault.traceID))
                #expect(attempt.fault?.reason.contains(upn == "nobody@winmdm.test" ? "No user" : "wrong") == true)
            }
            #expect(seen[0] == seen[1] && seen[0] == AuthenticationMessage.generic)
        }
        await server.close()
    }

    // MARK: Lockout

    /// Smart lockout over real HTTPS behind a trusted proxy: an attacker at one address locks the account for
    /// unfamiliar addresses (the right password too), the user's familiar address still signs in, the admin sees the
    /// lockout in the attempts and the audit log and clears it.
    @Test func guessingLocksTheAccountButNotTheUsersFamiliarAddress() async throws {
        let server = try await TestServer.make()
        var services = server.services
        services.trustedProxies = ["127.0.0.1"]
        let proxied = TestServer(dir: server.dir, store: server.store, admin: server.admin, pki: server.pki, services: services, port: server.port)
        try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.setLockoutSettings(accountThreshold: 5, sourceThreshold: 50, duration: 600)
        let base = server.publicURL
        try await proxied.live { t in
            func policy(_ password: String, from address: String) async throws -> SOAPFault? {
                let device = WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: password), transport: t)
                let r = try await RawClient(transport: t, base: base).post(Paths.policy, Array(device.policyRequestXML(to: base + Paths.policy).utf8),
                    headers: [("Content-Type", "application/soap+xml; charset=utf-8"), ("X-Forwarded-For", address)])
                return SOAPFault.decode(try SOAPEnvelope(bytes: r.body))
            }
            #expect(try await policy("Correct horse 1", from: "198.51.100.7") == nil, "the user's own address becomes familiar")
            for _ in 0..<5 { #expect(try await policy("guess", from: "203.0.113.9")?.subcode == "Authentication") }
            let locked = try #require(try await policy("Correct horse 1", from: "203.0.113.9"), "the right password from the attacker's side is refused")
            #expect(locked.reason == AuthenticationMessage.generic)
            let attempt = try #require(try await server.store.attempt(id: locked.traceID))
            #expect(attempt.fault?.reason.contains("Locked out") == true)
            #expect(try await policy("Correct horse 1", from: "198.51.100.7") == nil, "the familiar address is not locked out")
            #expect(try await policy("Correct horse 1", from: "192.0.2.44") != nil, "other unfamiliar addresses are")
            let lockouts = try await server.admin.lockouts()
            #expect(lockouts.contains { $0.key == SignInThrottle.account("alice@winmdm.test") && $0.isLocked(at: Date()) })
            #expect(try await server.admin.auditEntries(limit: 20).contains { $0.action == "sign-in lockout" && $0.target.contains("alice@winmdm.test") })
            _ = try await server.admin.clearLockouts("alice@winmdm.test")
            #expect(try await policy("Correct horse 1", from: "192.0.2.44") == nil, "cleared by the admin")
            #expect(try await server.admin.auditEntries(limit: 20).contains { $0.action == "lockout.clear" })
        }
        await server.close()
    }

    @Test func oneAddressGuessingManyNamesLocksTheAddress() async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        _ = try await server.admin.setLockoutSettings(accountThreshold: 100, sourceThreshold: 4, duration: 600)
        let base = server.publicURL
        try await server.inProcess { t in
            for i in 0..<4 {
                let d = WindowsDevice(profile: DeviceProfile(upn: "user\(i)@winmdm.test", password: "guess"), transport: t)
                _ = try await RawClient(transport: t, base: base).post(Paths.policy, Array(d.policyRequestXML(to: base + Paths.policy).utf8))
            }
            do {
                _ = try await WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
                Issue.record("the guessing address still signs in")
            } catch let f as DeviceFailure {
                #expect(f.hresult == 0x8018_0002 && f.message == AuthenticationMessage.generic)
            }
        }
        await server.close()
    }

    @Test func theKDFBudgetServesSourcesInTurnAndTurnsAFloodAway() async throws {
        let budget = KDFBudget(limit: 1, perSource: 3, maxWaiting: 8)
        let order = OrderLog()
        let gate = DispatchSemaphore(value: 0)
        func waitFor(_ n: Int) async throws {
            for _ in 0..<500 where await budget.waitingChecks != n { try await Task.sleep(for: .milliseconds(10)) }
        }
        let first = Task { try await budget.run(source: "flood") { gate.wait(); order.add("flood-0") } }
        for i in 1...3 {
            try await waitFor(i - 1)
            let t = Task { try await budget.run(source: "flood") { order.add("flood-\(i)") } }
            _ = t
        }
        try await waitFor(3)
        await #expect(throws: KDFBudget.Busy.self, "a fourth waiting check from the flooding source") {
            try await budget.run(source: "flood") { order.add("refused") }
        }
        let user = Task { try await budget.run(source: "user") { order.add("user") } }
        try await waitFor(4)
        gate.signal()
        try await first.value
        try await user.value
        try await waitFor(0)
        for _ in 0..<100 where order.entries.count < 5 { try await Task.sleep(for: .milliseconds(10)) }
        // The user waited behind one check of the flood, not behind all of them.
        #expect(order.entries.prefix(3).contains("user"), "\(order.entries)")
        #expect(order.entries.count == 5 && !order.entries.contains("refused"))
    }

    // MARK: Disk

    @Test func repeatedIdenticalFailuresAreCountedNotStoredEachTime() async throws {
        let server = try await TestServer.make()
        let base = server.publicURL
        let traces = try await server.live { t in
            var ids: Set<String> = []
            for _ in 0..<40 {
                let r = try await RawClient(transport: t, base: base).post(Paths.enrollment, Array("not xml".utf8))
                if let f = SOAPFault.decode(try SOAPEnvelope(bytes: r.body)) { ids.insert(f.traceID) }
            }
            return ids
        }
        let rows = try await server.store.attempts(AttemptQuery(limit: 100, failedOnly: true))
        #expect(rows.count == 1)
        #expect(rows.first?.repeats == 39)
        #expect(traces == [rows.first!.id], "every repeat's TraceId opens the one record")
        await server.close()
    }

    // MARK: Redaction

    static let passwordBypasses: [(String, String)] = [
        ("end tag with a space", "<wsse:Password wsse:Type=\"x\">S3cret-Pa55</wsse:Password >"),
        ("password at the excerpt limit", "<wsse:Password>" + String(repeating: "p", count: Redaction.limit) + "S3cret-Pa55</wsse:Password>"),
        ("request cut inside the password", "<wsse:Password>S3cret-Pa55"),
    ]

    @Test func redactionHoldsAgainstTheThreeBypasses() async throws {
        let sample = BadInputTests.sample11
        for (name, password) in Self.passwordBypasses {
            let body = sample.replacingOccurrences(of: #"<wsse:Password[^>]*>[^<]*</wsse:Password>"#, with: password, options: .regularExpression)
            let excerpt = try #require(Redaction.excerpt(Array(body.utf8)), "\(name)")
            #expect(!excerpt.contains("S3cret-Pa55"), "\(name): \(excerpt.suffix(300))")
            #expect(!excerpt.contains("ppppppppppppppppppppppp"), "\(name): the password's prefix was kept")
        }
        // A PKCS#10 request is not a secret: the admin can still read it.
        let kept = try #require(Redaction.excerpt(Array(sample.utf8)))
        #expect(kept.contains("#PKCS10") && kept.contains("[redacted]"))
        // Through the server: the stored record holds none of it.
        let server = try await TestServer.make()
        let base = server.publicURL
        try await server.inProcess { t in
            for (_, password) in Self.passwordBypasses {
                let body = sample.replacingOccurrences(of: #"<wsse:Password[^>]*>[^<]*</wsse:Password>"#, with: password, options: .regularExpression)
                let r = try await RawClient(transport: t, base: base).post(Paths.enrollment, Array(body.utf8))
                let fault = try #require(SOAPFault.decode(SOAPEnvelope(bytes: r.body)))
                let a = try #require(try await server.store.attempt(id: fault.traceID))
                #expect(a.requestExcerpt?.contains("S3cret-Pa55") == false)
            }
        }
        await server.close()
    }

    // MARK: Connections and TLS

    @Test func bareAndSlowConnectionsAreClosedAndCappedPerAddress() async throws {
        let server = try await TestServer.make()
        server.limits.firstRequestTimeout = .milliseconds(400)
        server.limits.maxConnectionsPerAddress = 4
        try await server.live { t in
            // A bare TCP connection that never speaks is closed by the server.
            let bare = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: server.port).get()
            // Closed after the 400 ms first-request timeout; waited for up to 10 s, as a loaded machine may be slow to run it.
            for _ in 0..<100 where bare.isActive { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!bare.isActive, "the bare connection is still open 10 s after a 400 ms first-request timeout")
            // Holding connections: the fifth from one address is refused, /health still answers once they go.
            var held: [any Channel] = []
            for _ in 0..<6 { held.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: server.port).get()) }
            try await Task.sleep(for: .milliseconds(150))
            #expect(held.filter(\.isActive).count <= 4)
            for c in held { try? await c.close() }
            try await Task.sleep(for: .milliseconds(100))
            let health = try await t.send(DeviceRequest(method: "GET", url: server.publicURL + "/health"))
            #expect(health.status == 200)
            #expect(health.header("Strict-Transport-Security")?.contains("max-age=") == true)
            #expect(health.header("X-Content-Type-Options") == "nosniff")
        }
        await server.close()
    }

    @Test func tls12OffersOnlyForwardSecretAEADSuites() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            Issue.record("openssl is not installed (apt-get install openssl)")
            return
        }
        let server = try await TestServer.make()
        try await server.live { _ in
            func handshake(_ cipher: String) async throws -> Bool {
                try await CLI.offPool {
                    let p = try Spawned(["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_2", "-cipher", cipher,
                                         "-servername", "localhost"], input: true, errors: true)
                    p.send([])
                    _ = p.readAll(until: Date() + 60)
                    return p.status(wait: true) == 0
                }
            }
            let good = try await handshake("ECDHE-RSA-AES128-GCM-SHA256")
            let staticCBC = try await handshake("AES128-SHA"), cbc = try await handshake("ECDHE-RSA-AES128-SHA")
            let staticGCM = try await handshake("AES256-GCM-SHA384")
            #expect(good, "forward-secret AEAD refused")
            #expect(!staticCBC, "static RSA with CBC")
            #expect(!cbc, "CBC-SHA1")
            #expect(!staticGCM, "static RSA key exchange")
        }
        await server.close()
    }

    // MARK: Management

    @Test func anOversizedSyncMLMessageIsRecorded() async throws {
        let server = try await TestServer.make()
        try await server.live { t in
            let r = try await t.send(DeviceRequest(method: "POST", url: server.services.configuration.managementURL,
                headers: [("Content-Type", SyncMLNS.contentType)], body: Array(repeating: 0x61, count: ManagementService.maxMessageBytes + 10)))
            #expect(r.status == 413)
        }
        let recorded = try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true))
        #expect(recorded.first?.phase == .manage && recorded.first?.httpStatus == 413)
        await server.close()
    }
}

/// Console sessions end on sign-out, a new password, a role change and disabling; a second factor when set up.
@Suite struct ConsoleSessionTests {
    /// The session middleware stands in front of every page and action: without a session each is sent to sign-in,
    /// and an action signed out changes nothing.
    @Test func signedOutPagesAndActionsLeadToSignInAndChangeNothing() async throws {
        try await ConsoleTests.run { web, server in
            for path in ["/console/home", "/console/users", "/console/users/alice@winmdm.test", "/console/devices/windows",
                         "/console/troubleshooting", "/console/audit"] {
                let page = try await web.get(path)
                #expect(page.status == 303 && page.location == "/console/login", "\(path): \(page.status)")
            }
            let before = try await server.admin.users().count
            for (path, form) in [("/console/users/new", [("upn", "mallory@winmdm.test"), ("password", "Correct horse 1")]),
                                 ("/console/tenant/maintenance", [("maintenance", "on")]),
                                 ("/console/groups/new", [("name", "Signed out")])] {
                let page = try await web.post(path, form)
                #expect(page.status == 303 && page.location == "/console/login", "\(path): \(page.status)")
            }
            #expect(try await server.admin.users().count == before)
            #expect(try await server.admin.groups().isEmpty)
            #expect(try await server.admin.settings().maintenance == false)
        }
    }

    @Test func sessionsEndOnSignOutPasswordRoleAndDisable() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            // A second administrator, so the first may be demoted and disabled (the last one may not be).
            _ = try await server.addUser("backup@winmdm.test")
            _ = try await server.admin.setAdminRole("backup@winmdm.test", .admin)
            func signedIn() async throws -> Bool { try await web.get("/console/users").status == 200 }
            let changes: [(String, @Sendable () async throws -> Void)] = [
                ("new password", { _ = try await server.admin.updateUser(first.upn, password: "Another horse 2") }),
                ("role change", { _ = try await server.admin.setAdminRole(first.upn, .helpdesk) }),
                ("disabled", { _ = try await server.admin.updateUser(first.upn, enabled: false) }),
            ]
            var password = first.password
            for (name, change) in changes {
                _ = try await web.signIn(first.upn, password)
                #expect(try await signedIn(), "\(name): could not sign in")
                let stolen = web.cookie
                try await change()
                #expect(try await !signedIn(), "\(name): the session survived")
                web.cookie = stolen
                #expect(try await !signedIn(), "\(name): a copy of the cookie survived")
                if name == "new password" { password = "Another horse 2" }
            }
            _ = try await server.admin.updateUser(first.upn, enabled: true)
            _ = try await server.admin.setAdminRole(first.upn, .admin)
            _ = try await web.signIn(first.upn, password)
            let page = try await web.get("/console/users")
            let stolen = web.cookie
            _ = try await web.post("/console/logout", [("csrf", ConsoleClient.csrf(page.html)!)])
            web.cookie = stolen
            #expect(try await !signedIn(), "a cookie kept from before sign-out still works")
        }
    }

    @Test func anAuthenticatorAppIsAskedForAndEachCodeWorksOnce() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            let (_, secret) = try await server.admin.enableTOTP(first.upn)
            #expect(try await web.signIn(first.upn, first.password).status == 401, "password alone")
            let code = try #require(TOTP.code(secret: secret, step: Int(Date().timeIntervalSince1970 / 30)))
            let ok = try await web.post("/console/login", [("username", first.upn), ("password", first.password), ("code", code)])
            #expect(ok.status == 303)
            web.cookie = nil
            let again = try await web.post("/console/login", [("username", first.upn), ("password", first.password), ("code", code)])
            #expect(again.status == 401, "a code works once")
            let failures = try await server.store.attempts(AttemptQuery(limit: 10, failedOnly: true))
            #expect(failures.contains { $0.phase == .console && $0.fault?.reason.contains("authentication code") == true })
            // Guessing codes with the right password locks the sign-in too, right code included.
            _ = try await server.admin.setLockoutSettings(accountThreshold: 3)
            for guess in ["000000", "111111", "222222"] {
                _ = try await web.post("/console/login", [("username", first.upn), ("password", first.password), ("code", guess)])
            }
            let next = try #require(TOTP.code(secret: secret, step: Int(Date().timeIntervalSince1970 / 30) + 1))
            let locked = try await web.post("/console/login", [("username", first.upn), ("password", first.password), ("code", next)])
            #expect(locked.status == 401, "code guessing was not locked out")
        }
    }

    @Test func anUnknownUsersPageIsNotFoundAndLockoutsShowWithAClearButton() async throws {
        try await ConsoleTests.run { web, server in
            let first = try #require(try await server.admin.createInitialAdministrator())
            _ = try await server.admin.setLockoutSettings(accountThreshold: 3)
            for _ in 0..<3 { _ = try await web.signIn("bob@winmdm.test", "guess") }
            _ = try await web.signIn(first.upn, first.password)
            let missing = try await web.get("/console/users/nobody@winmdm.test")
            #expect(missing.status == 404 && missing.html.contains("No user nobody@winmdm.test"))
            let page = try await web.get("/console/troubleshooting")
            #expect(page.html.contains("Sign-in lockouts") && page.html.contains("bob@winmdm.test (from unfamiliar addresses)"))
            let cleared = try await web.post("/console/troubleshooting/lockouts/clear", [("csrf", ConsoleClient.csrf(page.html)!), ("who", "bob@winmdm.test")])
            #expect(cleared.status == 303)
            #expect(try await server.admin.lockouts().allSatisfy { !$0.key.contains("bob@") })
            #expect(try await server.admin.auditEntries(limit: 5).contains { $0.action == "lockout.clear" && $0.actor == "console:\(first.upn)" })
        }
    }

    @Test func knownAnswersFromRFC6238() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890": 94287082 at 59 s → 6 digits 287082.
        let secret = TOTP.base32(Array("12345678901234567890".utf8))
        #expect(TOTP.code(secret: secret, step: 59 / 30) == "287082")
        #expect(TOTP.code(secret: secret, step: 1111111109 / 30) == "081804")
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var entries: [String] { lock.lock(); defer { lock.unlock() }; return list }
}

/// `winmdm serve` makes the data directory owner-only whatever created it, and will not run with an exposed CA key.
@Suite struct DataDirectoryTests {
    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int ?? -1) & 0o777
    }

    @Test func serveForcesOwnerOnlyModesAndRefusesAWorldReadableCAKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-modes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try FreePort.find()
        let args = ["--data-dir", dir.path, "--listen", "127.0.0.1:\(port)", "--public-url", "https://localhost:\(port)"]
        let server = try await CLI.Server(args)
        #expect(server.banner.contains("listening on"), "\(server.banner)")
        // A crash must not freeze the server while the runtime symbolicates: serve re-executed itself with a fast
        // backtracer setting.
        let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(server.process.pid)/environ"))) ?? Data()
        let variables = String(decoding: environ, as: UTF8.self).split(separator: "\0")
        #expect(variables.contains { $0.hasPrefix("SWIFT_BACKTRACE=") && $0.contains("symbolicate=off") }, "\(variables.filter { $0.hasPrefix("SWIFT") })")
        _ = server.stop()
        #expect(Self.mode(dir.path) == 0o700)
        #expect(Self.mode(dir.appendingPathComponent("pki").path) == 0o700)
        for name in ["winmdm.sqlite", "admin-token", "federation-key", "pki/device-ca-key.pem", "pki/tls-ca.pem"] {
            #expect(Self.mode(dir.appendingPathComponent(name).path) == 0o600, "\(name)")
        }
        let key = dir.appendingPathComponent("pki/device-ca-key.pem").path
        chmod(key, 0o644)
        let refused = try await CLI.run(["serve"] + args)
        #expect(refused.status != 0)
        #expect(refused.err.contains("device-ca-key.pem") && refused.err.contains("chmod 600"), "\(refused.err)")
    }
}

extension DataDirectoryTests {
    @Test func connectionLimitsInTheConfigurationFileAreChecked() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"idleTimeout": "forever"}"#.utf8).write(to: dir.appendingPathComponent("winmdm.json"))
        let r = try await CLI.run(["serve", "--data-dir", dir.path, "--listen", "127.0.0.1:0"])
        #expect(r.status != 0 && r.err.contains("idleTimeout 'forever'") && r.err.contains("1s to 1h"), "\(r.err)")
        try Data(#"{"maxConnectionsPerAddress": 0}"#.utf8).write(to: dir.appendingPathComponent("winmdm.json"))
        let zero = try await CLI.run(["serve", "--data-dir", dir.path, "--listen", "127.0.0.1:0"])
        #expect(zero.status != 0 && zero.err.contains("maxConnectionsPerAddress 0"), "\(zero.err)")
    }
}

/// Two integrity bugs a new administrator hit (issue #11): each is reproduced through the real CLI and the protocol.
@Suite struct IntegrityTests {
    @Test func aRenamedUsersDevicesStayTheirsAndCountTowardTheLimit() async throws {
        let server = try await TestServer.make()
        try await server.addUser("old@winmdm.test")
        _ = try await server.admin.addDomain("example.com")
        _ = try await server.admin.verifyDomain("example.com")
        _ = try await server.admin.editRestriction(.deviceLimit, "Default", limit: 2)
        try await server.inProcess { t in
            for _ in 0..<2 {
                _ = try await WindowsDevice(profile: DeviceProfile(upn: "old@winmdm.test", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
            }
        }
        let rename = try await CLI.run(["users", "set", "old@winmdm.test", "--upn", "new@example.com", "--data-dir", server.dir.path])
        #expect(rename.status == 0, "\(rename.err)")
        let devices = try await CLI.run(["devices", "list", "--user", "new@example.com", "--data-dir", server.dir.path])
        #expect(devices.out.components(separatedBy: "\n").filter { $0.contains("new@example.com") }.count == 2, "\(devices.out)")
        try await server.inProcess { t in
            do {
                _ = try await WindowsDevice(profile: DeviceProfile(upn: "new@example.com", password: "Correct horse 1"), transport: t)
                    .enroll(discoveryURL: server.discoveryURL)
                Issue.record("a third device enrolled past the limit of 2 after the rename")
            } catch let f as DeviceFailure {
                #expect(f.hresult == 0x8018_0003, "\(f)")
            }
        }
        #expect(try await server.store.enrollments(upn: "new@example.com").filter { $0.state == .active }.count == 2)
        await server.close()
    }

    @Test func aRefusedRestrictionCreateLeavesNoTrace() async throws {
        let server = try await TestServer.make()
        let auditBefore = try await server.admin.auditEntries(limit: 1000).count
        let r = try await CLI.run(["restrictions", "create", "device-limit", "--name", "Contractors", "--limit", "2", "--group", "Nope",
                             "--data-dir", server.dir.path])
        #expect(r.status != 0 && r.err.contains("Nope"), "\(r.err)")
        #expect(!(try await server.admin.settings().restrictions.contains { $0.displayName == "Contractors" }))
        #expect(try await server.admin.auditEntries(limit: 1000).count == auditBefore, "the refused change was audited")
        // With the group, the same command works and assigns it in the same change.
        _ = try await server.admin.createGroup("Nope")
        let ok = try await CLI.run(["restrictions", "create", "device-limit", "--name", "Contractors", "--limit", "2", "--group", "Nope",
                              "--data-dir", server.dir.path])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(try await server.admin.settings().restrictions.first { $0.displayName == "Contractors" }?.assignedGroups.count == 1)
        await server.close()
    }
}
