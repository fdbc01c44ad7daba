import Foundation
import MDMCore
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// Hostile and broken requests: each gets the right SOAP fault, is recorded as an attempt, and the server goes on
/// serving (a normal enrollment succeeds afterwards in the same session).
@Suite struct BadInputTests {
    static let sample11: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samples/11-enroll-request-onpremise.xml")
        return try! String(contentsOf: url, encoding: .utf8)
    }()

    static func sample(_ prefix: String) -> String {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/samples")
        let name = try! FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix(prefix + "-") }!
        return try! String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var path: String
        var body: [UInt8]
        var subcode: String
        var hresult: UInt32
        var status: Int = 200
        var testDescription: String { name }
    }

    static let dtd = #"<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&xxe;</s:Body></s:Envelope>"#
    static let entities = #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#

    static let cases: [Case] = [
        Case(name: "empty body", path: "/EnrollmentServer/Enrollment.svc", body: [], subcode: "MessageFormat", hresult: 0x8018_0001),
        Case(name: "not XML", path: "/EnrollmentServer/Policy.svc", body: Array("hello, server".utf8), subcode: "MessageFormat", hresult: 0x8018_0001),
        Case(name: "XML that is not SOAP", path: "/EnrollmentServer/Discovery.svc", body: Array("<Discover/>".utf8), subcode: "MessageFormat", hresult: 0x8018_0001),
        Case(name: "DTD with external entity", path: "/EnrollmentServer/Enrollment.svc", body: Array(dtd.utf8), subcode: "MessageFormat", hresult: 0x8018_0001),
        Case(name: "entity declarations", path: "/EnrollmentServer/Discovery.svc", body: Array(entities.utf8), subcode: "MessageFormat", hresult: 0x8018_0001),
        Case(name: "10 MB body", path: "/EnrollmentServer/Enrollment.svc", body: Array(repeating: UInt8(ascii: "a"), count: 10_000_000),
             subcode: "MessageFormat", hresult: 0x8019_019D, status: 413),
        Case(name: "missing security header", path: "/EnrollmentServer/Enrollment.svc",
             body: Array(sample11.replacingOccurrences(of: #"<wsse:Security s:mustUnderstand="1">[\s\S]*</wsse:Security>"#, with: "", options: .regularExpression).utf8),
             subcode: "Authentication", hresult: 0x8018_0002),
        Case(name: "unknown user in a real capture", path: "/EnrollmentServer/Enrollment.svc", body: Array(sample11.utf8),
             subcode: "Authentication", hresult: 0x8018_0002),
        Case(name: "Entra token", path: "/EnrollmentServer/Policy.svc",
             body: Array(sample11.replacingOccurrences(of: #"<wsse:UsernameToken[\s\S]*</wsse:UsernameToken>"#,
                with: "<wsse:BinarySecurityToken ValueType=\"urn:ietf:params:oauth:token-type:jwt\">ZXlK</wsse:BinarySecurityToken>", options: .regularExpression)
                .replacingOccurrences(of: "RST/wstep", with: "IPolicy/GetPolicies")
                .replacingOccurrences(of: #"<wst:RequestSecurityToken>[\s\S]*</wst:RequestSecurityToken>"#,
                    with: "<GetPolicies xmlns=\"\(NS.enrollmentPolicy)\"/>", options: .regularExpression).utf8),
             subcode: "Authentication", hresult: 0x8018_0002),
        // Renewal: the documented ROBO request still holds the doc's placeholder where the PKCS#7 goes.
        Case(name: "renewal with a placeholder token (sample 28)", path: "/EnrollmentServer/Enrollment.svc", body: Array(sample("28").utf8),
             subcode: "MessageFormat", hresult: 0x8018_0001),
        // A real, correctly signed PKCS#7 whose signer another CA issued (MS-WSTEP's example).
        Case(name: "renewal signed by a foreign certificate (sample 31)", path: "/EnrollmentServer/Enrollment.svc", body: Array(sample("31").utf8),
             subcode: "Authorization", hresult: 0x8018_0016),
        Case(name: "renewal whose token is not PKCS#7", path: "/EnrollmentServer/Enrollment.svc",
             body: Array(sample("28").replacingOccurrences(of: "BinarySecurityTokenInsertedHere", with: "MIIBAgMEBQYHCAkK").utf8),
             subcode: "Authorization", hresult: 0x8018_0016),
    ]

    @Test(arguments: cases)
    func refusedRecordedAndStillServing(_ c: Case) async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        let base = server.publicURL
        try await server.inProcess { t in
            let r = try await RawClient(transport: t, base: base).post(c.path, c.body)
            #expect(r.status == c.status)
            #expect(r.header("Content-Length") == String(r.body.count))
            let fault = try #require(SOAPFault.decode(SOAPEnvelope(bytes: r.body)), "no SOAP fault in: \(r.text.prefix(200))")
            #expect(fault.subcode == c.subcode)
            #expect(!fault.reason.isEmpty && !fault.reason.contains("\n"))
            // The TraceId opens the recorded attempt.
            let attempt = try #require(try await server.store.attempt(id: fault.traceID))
            #expect(attempt.outcome == .failed)
            #expect(attempt.fault?.subcode.rawValue == c.subcode)
            #expect(attempt.httpStatus == c.status)
            if let excerpt = attempt.requestExcerpt { #expect(!excerpt.contains(">demo<"), "password kept in the record") }
            // What the emulated device reports for this answer.
            let device = WindowsDevice(profile: DeviceProfile(upn: "x@winmdm.test", password: "x"), transport: t)
            do {
                _ = try await device.soap(.enroll, base + c.path, String(decoding: c.body, as: UTF8.self))
                Issue.record("no failure")
            } catch let error as DeviceFailure { #expect(error.hresult == c.hresult, "\(error)") }
            // Still serving.
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
        }
        await server.close()
    }

    @Test func relatesToEchoesTheRequestMessageID() async throws {
        let server = try await TestServer.make()
        let base = server.publicURL
        try await server.inProcess { t in
            let r = try await RawClient(transport: t, base: base).post("/EnrollmentServer/Enrollment.svc", Array(Self.sample11.utf8))
            let env = try XMLReader.parse(r.body)
            #expect(env.descendant(NS.addressing, "RelatesTo")?.text == "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749")
            #expect(env.descendant(NS.addressing, "Action")?.text == Action.requestSecurityTokenResponse)
        }
        await server.close()
    }

    struct DeviceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var password = "Correct horse 1"
        var upn = "alice@winmdm.test"
        var style = WindowsCSR.Style.windows
        var keyBits = 2048
        var hresult: UInt32
        var phase: EnrollmentPhase
        var testDescription: String { name }
    }

    @Test(arguments: [
        DeviceCase(name: "CSR whose signature does not verify", style: .badSignature, hresult: 0x8018_0004, phase: .enroll),
        DeviceCase(name: "RSA-1024 key", keyBits: 1024, hresult: 0x8018_0004, phase: .enroll),
        DeviceCase(name: "wrong password", password: "not the password", hresult: 0x8018_0002, phase: .policy),
        DeviceCase(name: "unknown user", upn: "nobody@winmdm.test", hresult: 0x8018_0002, phase: .policy),
    ])
    func deviceSideFailures(_ c: DeviceCase) async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        try await server.inProcess { t in
            let profile = DeviceProfile(upn: c.upn, password: c.password, csrStyle: c.style, keyBits: c.keyBits)
            do {
                _ = try await WindowsDevice(profile: profile, transport: t).enroll(discoveryURL: server.discoveryURL)
                Issue.record("enrollment succeeded")
            } catch let error as DeviceFailure {
                #expect(error.hresult == c.hresult && error.phase == c.phase, "\(error)")
                let trace = try #require(error.traceID)
                let attempt = try #require(try await server.store.attempt(id: trace))
                #expect(attempt.outcome == .failed && attempt.phase == c.phase && attempt.facts.upn == c.upn)
                // A refused credential tells the device nothing about who exists; the record keeps the real reason.
                if c.hresult == 0x8018_0002 {
                    #expect(error.message == AuthenticationMessage.generic)
                    #expect(attempt.fault?.reason.contains(c.upn == "alice@winmdm.test" ? "wrong" : "No user") == true)
                } else {
                    #expect(attempt.fault?.reason == error.message)
                }
            }
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
        }
        #expect(try await server.store.enrollments(upn: "alice@winmdm.test").count == 1)
        await server.close()
    }

    @Test func oversizedBodyOverRealHTTPSIsRefusedEarly() async throws {
        let server = try await TestServer.make()
        try await server.live { t in
            let r = try await t.send(DeviceRequest(method: "POST", url: server.services.configuration.enrollmentURL,
                headers: [("Content-Type", "application/soap+xml")], body: Array(repeating: 0x61, count: 10_000_000)))
            #expect(r.status == 413)
            let probe = try await t.send(DeviceRequest(method: "GET", url: server.discoveryURL))
            #expect(probe.status == 200)
        }
        let recorded = try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true))
        #expect(recorded.first?.httpStatus == 413)
        await server.close()
    }
}
