import Foundation
import MDMCore
import MDMPKI
import MDMStorage
import MDMTesting
import MDMWire
import Testing
import X509

/// Full enrollments of the emulated Windows device, in-process and over real HTTPS, OnPremise and Federated.
@Suite struct EnrollmentTests {
    /// What a successful enrollment must leave behind, checked the way Windows' CSPs and winmdm's admin would.
    static func verify(_ id: EnrolledIdentity, _ profile: DeviceProfile, _ server: TestServer) async throws {
        let cert = try Certificate(derEncoded: id.certificateDER)
        #expect(X509Bridge.commonName(cert) == profile.deviceID)
        #expect(X509Bridge.hasClientAuth(cert))
        #expect(cert.publicKey == Certificate.PublicKey(id.privateKey.publicKey))
        #expect(server.pki.deviceCA.certificate.publicKey.isValidSignature(cert.signature, for: cert))
        #expect(id.rootThumbprint == server.pki.deviceCA.thumbprint)
        #expect(id.providerID == "winmdm")
        #expect(id.managementURL == server.publicURL + "/ManagementServer/MDM.svc")
        let store = profile.enrollmentType == .device ? "System" : "User"
        #expect(id.store == store)
        #expect(id.searchCriteria == "Subject=CN%3D\(profile.deviceID)&Stores=My%5C\(store)")

        let enrollments = try await server.store.enrollments(upn: profile.upn)
        let e = try #require(enrollments.first { $0.id == id.entDMID })
        #expect(e.state == .active && e.deviceID == profile.deviceID && e.hwDevID == profile.hwDevID)
        #expect(e.certificateThumbprint == id.certificateThumbprint)
        #expect(e.enrollmentType == profile.enrollmentType && e.osEdition == profile.osEdition)

        let attempts = try await server.store.attempts(AttemptQuery(limit: 10, upn: profile.upn))
        let enroll = try #require(attempts.first { $0.phase == .enroll })
        #expect(enroll.outcome == .succeeded && enroll.enrollmentID == e.id)
        #expect(enroll.facts.hwDevID == profile.hwDevID && enroll.facts.osVersion == profile.osVersion)
        #expect(enroll.facts.macAddresses.count == profile.macAddresses.count)
        #expect(enroll.notes.contains { $0.contains("1.3.14.3.2.29") })
        #expect(Set(attempts.map(\.phase)).isSuperset(of: [.policy, .enroll]))
    }

    @Test func onPremiseInProcess() async throws {
        let server = try await TestServer.make()
        try await server.addUser("alice@winmdm.test")
        let profile = DeviceProfile(upn: "alice@winmdm.test", password: "Correct horse 1")
        let id = try await server.inProcess { t in try await WindowsDevice(profile: profile, transport: t).enroll(discoveryURL: server.discoveryURL) }
        try await Self.verify(id, profile, server)
        let discovery = try await server.store.attempts(AttemptQuery(limit: 10)).filter { $0.phase == .discovery }
        #expect(discovery.first?.facts.requestVersion == "6.0" && discovery.first?.facts.upn == "alice@winmdm.test")
        await server.close()
    }

    @Test func federatedInProcess() async throws {
        let server = try await TestServer.make(authPolicy: .federated)
        try await server.addUser("fed@winmdm.test")
        let profile = DeviceProfile(upn: "fed@winmdm.test", password: "Correct horse 1")
        let id = try await server.inProcess { t in try await WindowsDevice(profile: profile, transport: t).enroll(discoveryURL: server.discoveryURL) }
        try await Self.verify(id, profile, server)
        let attempts = try await server.store.attempts(AttemptQuery(limit: 10, upn: "fed@winmdm.test"))
        #expect(attempts.contains { $0.phase == .auth && $0.outcome == .succeeded })
        #expect(attempts.first { $0.phase == .enroll }?.facts.credential == .federatedToken)
        await server.close()
    }

    @Test func deviceEnrollmentGoesToTheSystemStore() async throws {
        let server = try await TestServer.make()
        try await server.addUser("joiner@winmdm.test")
        let profile = DeviceProfile(upn: "joiner@winmdm.test", password: "Correct horse 1", enrollmentType: .device)
        let id = try await server.inProcess { t in try await WindowsDevice(profile: profile, transport: t).enroll(discoveryURL: server.discoveryURL) }
        try await Self.verify(id, profile, server)
        await server.close()
    }

    @Test func onPremiseAndFederatedOverHTTPS() async throws {
        let server = try await TestServer.make()
        try await server.addUser("https@winmdm.test")
        try await server.live { t in
            let a = DeviceProfile(upn: "https@winmdm.test", password: "Correct horse 1")
            let idA = try await WindowsDevice(profile: a, transport: t).enroll(discoveryURL: server.discoveryURL)
            try await Self.verify(idA, a, server)
            _ = try await server.admin.setAuthPolicy(.federated)
            let b = DeviceProfile(upn: "https@winmdm.test", password: "Correct horse 1", csrStyle: .strict)
            let idB = try await WindowsDevice(profile: b, transport: t).enroll(discoveryURL: server.discoveryURL)
            #expect(idB.entDMID != idA.entDMID)
            // Real sockets: the SOAP responses carry Content-Length and are never chunked.
            let probe = try await t.send(DeviceRequest(method: "GET", url: server.discoveryURL))
            #expect(probe.status == 200 && probe.body.isEmpty)
            let fault = try await t.send(DeviceRequest(method: "POST", url: server.services.configuration.enrollmentURL, body: Array("x".utf8)))
            #expect(fault.header("Content-Length") == String(fault.body.count))
            #expect(fault.header("Transfer-Encoding") == nil)
        }
        #expect(try await server.store.enrollments(upn: "https@winmdm.test").count == 2)
        await server.close()
    }

    @Test func reEnrollingTheSameHardwareTakesNoNewSlot() async throws {
        let server = try await TestServer.make()
        try await server.addUser("again@winmdm.test")
        let first = DeviceProfile(upn: "again@winmdm.test", password: "Correct horse 1")
        var profile = first
        profile.deviceID = DeviceProfile.randomHex(16) // a reinstall gets a new DeviceID, same hardware
        let second = profile
        try await server.inProcess { t in
            _ = try await WindowsDevice(profile: first, transport: t).enroll(discoveryURL: server.discoveryURL)
            _ = try await WindowsDevice(profile: second, transport: t).enroll(discoveryURL: server.discoveryURL)
        }
        let all = try await server.store.enrollments(upn: "again@winmdm.test")
        #expect(all.count == 2 && all.filter { $0.state == .active }.count == 1)
        #expect(all.first { $0.state == .active }?.deviceID == profile.deviceID)
        await server.close()
    }

    @Test func windows11At25H2RequestVersion9Enrolls() async throws {
        let server = try await TestServer.make()
        try await server.addUser("new@winmdm.test")
        let profile = DeviceProfile(upn: "new@winmdm.test", password: "Correct horse 1", osVersion: "10.0.26200.7171", requestVersion: "9.0")
        _ = try await server.inProcess { t in try await WindowsDevice(profile: profile, transport: t).enroll(discoveryURL: server.discoveryURL) }
        await server.close()
    }
}
