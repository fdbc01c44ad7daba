import _CryptoExtras
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import Testing

/// Certificate renewal over real HTTPS with mutual TLS (PROTOCOL.md §10): what is accepted, what is refused with
/// NotEligibleToRenew (0x80180016), and what is recorded.
@Suite struct RenewalTests {
    static func device(_ upn: String, _ t: any DeviceTransport) -> WindowsDevice {
        WindowsDevice(profile: DeviceProfile(upn: upn, password: "Correct horse 1"), transport: t)
    }

    @Test("every way Windows words a renewal is accepted, and a lost answer can be retried")
    func renewalStyles() async throws {
        let server = try await TestServer.make()
        try await server.addUser("styles@winmdm.test")
        try await server.live { t in
            let device = Self.device("styles@winmdm.test", t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            // MS-WSTEP: Issue with the MS-MDE token name; then manual renewal's doubly base64-encoded token.
            let first = try await device.renew(id, discoveryURL: server.discoveryURL, transport: tls, style: .wstepIssue)
            // The device never installed `first` (say the answer was lost): it renews again with the old certificate,
            // which is still accepted, and the unused certificate is replaced.
            let second = try await device.renew(id, discoveryURL: server.discoveryURL, transport: tls,
                                                style: RenewalStyle(base64Twice: true))
            try await tls.shutdown()
            var e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(e.certificateThumbprint == second.certificateThumbprint && e.previousCertificateThumbprint == id.certificateThumbprint)
            #expect(try await server.store.enrollment(certificateThumbprint: first.certificateThumbprint) == nil)
            #expect(e.renewalCount == 2)
            // Renewing the renewed certificate moves the fallback along.
            let tls2 = try server.mutualTLS(second)
            let third = try await device.renew(second, discoveryURL: server.discoveryURL, transport: tls2)
            try await tls2.shutdown()
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(e.certificateThumbprint == third.certificateThumbprint && e.previousCertificateThumbprint == second.certificateThumbprint)
            #expect(try await server.store.enrollment(certificateThumbprint: id.certificateThumbprint) == nil)
            // Recorded: policy and renewal, authenticated by the certificate, tied to the enrollment.
            let renewals = try await server.store.attempts(AttemptQuery(limit: 20)).filter { $0.phase == .renew }
            #expect(renewals.count == 3 && renewals.allSatisfy { $0.outcome == .succeeded && $0.enrollmentID == id.entDMID && $0.facts.credential == .certificate })
            let policies = try await server.store.attempts(AttemptQuery(limit: 20)).filter { $0.phase == .policy && $0.facts.credential == .certificate }
            #expect(policies.count == 3)
        }
        await server.close()
    }

    @Test("Federated enrollments renew the same way: the certificate, not the sign-in token, authenticates")
    func federatedRenewal() async throws {
        let server = try await TestServer.make(authPolicy: .federated)
        try await server.addUser("fed@winmdm.test")
        try await server.live { t in
            let device = Self.device("fed@winmdm.test", t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let tls = try server.mutualTLS(id)
            let renewed = try await device.renew(id, discoveryURL: server.discoveryURL, transport: tls)
            try await tls.shutdown()
            #expect(try await server.store.enrollment(id: id.entDMID)?.certificateThumbprint == renewed.certificateThumbprint)
        }
        await server.close()
    }

    @Test("a renewal that is not eligible gets NotEligibleToRenew and is recorded with its cause")
    func refusals() async throws {
        let clock = ManualClock(Date())
        let server = try await TestServer.make(clock: clock)
        try await server.addUser("a@winmdm.test")
        try await server.addUser("b@winmdm.test")
        try await server.live { t in
            let a = try await Self.device("a@winmdm.test", t).enroll(discoveryURL: server.discoveryURL)
            let b = try await Self.device("b@winmdm.test", t).enroll(discoveryURL: server.discoveryURL)
            let device = Self.device("a@winmdm.test", t)
            func refused(_ id: EnrolledIdentity, over tlsIdentity: EnrolledIdentity?, _ style: RenewalStyle = .robo) async throws -> DeviceFailure {
                let transport = try tlsIdentity.map { try server.mutualTLS($0) } ?? HTTPSTransport(trustRootsPEM: server.pki.tlsCAPath)
                defer { Task { try? await transport.shutdown() } }
                do {
                    _ = try await device.renew(id, discoveryURL: server.discoveryURL, transport: transport, style: style)
                } catch {
                    return error
                }
                Issue.record("the renewal was accepted")
                return DeviceFailure(hresult: 0, phase: .renew, message: "")
            }
            // Signed with a key that is not the certificate's.
            let forged = try await refused(a, over: a, RenewalStyle(signingKey: try _RSA.Signing.PrivateKey(keySize: .bits2048)))
            #expect(forged.hresult == 0x8018_0016 && forged.phase == .renew)
            // Device A's renewal over device B's TLS certificate.
            let swapped = try await refused(a, over: b)
            #expect(swapped.hresult == 0x8018_0016 && swapped.message.contains("not the certificate that signed"))
            // A certificate from another CA, for the same device.
            let other = try CertificateAuthority.create(commonName: "Other CA", organization: "x", now: clock.now())
            let csr = try CertificateRequest(der: WindowsCSR.make(key: a.privateKey, deviceID: a.deviceID))
            var foreign = a
            foreign.certificateDER = try other.issueDeviceCertificate(for: csr, commonName: a.deviceID, now: clock.now(), validity: 86400).der
            let foreignIssuer = try await refused(foreign, over: nil, RenewalStyle(asksPolicy: false))
            #expect(foreignIssuer.hresult == 0x8018_0016 && foreignIssuer.message.contains("not issued by this server"))
            // Without a TLS certificate the policy service wants a password: the robo request has none.
            let noTLS = try await refused(a, over: nil)
            #expect(noTLS.phase == .policy)

            // Two years on, the certificate has expired: it cannot be renewed, the device must enroll again.
            clock.advance(by: 2 * 365 * 86400)
            let expired = try await refused(a, over: a, RenewalStyle(asksPolicy: false))
            #expect(expired.hresult == 0x8018_0016 && expired.message.contains("enroll again"))
            clock.advance(by: -2 * 365 * 86400)

            // An unenrolled device's certificate is revoked.
            _ = try await server.admin.queueCommand(b.entDMID, .unenroll, providerID: "winmdm")
            let tlsB = try server.mutualTLS(b)
            _ = try await Self.device("b@winmdm.test", t).manage(b, transport: tlsB)
            try await tlsB.shutdown()
            #expect(try await server.store.enrollment(id: b.entDMID)?.state == .unenrolled)
            let revoked = try await refused(b, over: b, RenewalStyle(asksPolicy: false))
            #expect(revoked.hresult == 0x8018_0016 && revoked.message.contains("unenrolled"))

            // Recorded with the code, the device's enrollment where known, and what the administrator should read.
            let failed = try await server.store.attempts(AttemptQuery(limit: 50, failedOnly: true)).filter { $0.phase == .renew }
            #expect(failed.count == 5 && failed.allSatisfy { $0.fault?.code == "0x80180016" })
            #expect(failed.first { $0.fault?.reason.contains("enroll again") == true }?.enrollmentID == a.entDMID)
            #expect(try await server.store.enrollment(id: a.entDMID)?.certificateThumbprint == a.certificateThumbprint, "nothing was renewed")
        }
        await server.close()
    }
}
