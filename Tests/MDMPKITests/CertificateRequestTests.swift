import _CryptoExtras
import Foundation
import MDMPKI
import MDMTesting
import Testing
import X509

/// The base64 PKCS#10 inside sample 11 (a real Windows 10 19043 request).
enum Sample11 {
    static let base64 = "MIICzjCCAboCAQAwSzFJMEcGA1UEAxNANTYyQTdGOUEtNkNEOC00MEIwLTlFN0UtMERCREQ4IUI1Qjk1NEU4MUZCQ0I5NEVCNzlCRDA4QkU2MjVGNEVFADCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMvnEuvyyF83tC62/ieHRcvwpOQIY3Kb25QeKF+rdipV+D2v7DkSYTKeM/2fThvr/5ul9c68UF9OOjQoaTrX5n83lzfeWMFeU2BHrl7KyxMzlLQtoD0+CNpfn9VKJRpPy0T34QfUpf1n65rzdSxsLAST/aCN4Yx/cAiy0Q2QC4DmumjemVY19gAMFkhSET+axgwij+XS9IQvkxyiZu56uKuRmOGnvhhQO5xfLmI+40FUEB8xwvYYVxxPsqIJ/s26hVtVzHpV32G5fGvfMqcK1oJFm8r2uGhEtnFoJg9SKKhseDbFRJd2yMBC+XlUhF6AQEnmXa+eZQ/drpE1QV7CTJkCAwEAAaBCMEAGCSqGSIb3DQEJDjEzMDEwLwYKKwYBBAGCN0IBAAQhQjVCOTU0RTgxRkJDQjk0RUI3OUJEMDhCRTYyNUY0RUUAMAkGBSsOAwIdBQADggEBABhELIKSCCrNS9BP9cd7EVLjevQooRvbxAC+SnDV9kUJTqascPJR+U5zZVc8eac7jmvCHoE69CYDvdKe9au/Zftq1vRAxFpj8PKpv0ZmaIFiwkjb2VTXKKqCzAGaiQg9ysLbQ8j+3l2CPMYDN0JPTl+nC8GxUSRMfCisyIEcQS3TtYC8p9PnfZJzUEr0SPIV1FBYAO9+FcGpSZXSm4CN6byZORYE0FgEaPoLHQkI2h1PXkYzalJh6Grv/Lc0+6QpbfWVnjjaCm8CATQHuFcL5FuhvlsggRfAtgTYCk69p705y8EINxUJYQRX4npQbPNekZLfbZnRp7hThYvB61iDrkU="
    static var der: [UInt8] { [UInt8](Data(base64Encoded: base64)!) }
}

@Suite struct CertificateRequestTests {
    @Test func acceptsTheRealWindowsRequestAndVerifiesItsSignature() throws {
        let csr = try CertificateRequest(der: Sample11.der)
        #expect(csr.signatureAlgorithm == .sha1WithRSA)
        #expect(csr.publicKey.keySizeInBits == 2048)
        #expect(csr.subjectText == "CN=562A7F9A-6CD8-40B0-9E7E-0DBDD8!B5B954E81FBCB94EB79BD08BE625F4EE")
        #expect(csr.deviceIDExtension == "B5B954E81FBCB94EB79BD08BE625F4EE")
        #expect(csr.quirks.contains { $0.contains("1.3.14.3.2.29") })
        #expect(csr.quirks.contains { $0.contains("PrintableString") })
    }

    @Test func strictParserWouldHaveRefusedIt() {
        // The reason the lenient path exists (STACK.md trap 2): keep this true or drop the workaround.
        #expect(throws: (any Error).self) { try CertificateSigningRequest(derEncoded: Sample11.der) }
    }

    @Test func refusesATamperedRequest() {
        var der = Sample11.der
        der[200] ^= 0x01 // inside the public key: the signature no longer matches
        #expect(throws: PKIError(.badSignature, "")) { try CertificateRequest(der: der) }
    }

    @Test func refusesABadSignatureFromTheEmulator() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let der = try WindowsCSR.make(key: key, deviceID: "0123456789ABCDEF0123456789ABCDEF", style: .badSignature)
        #expect(throws: PKIError(.badSignature, "")) { try CertificateRequest(der: der) }
    }

    @Test func refusesRSA1024() throws {
        let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        let der = try WindowsCSR.make(key: key, deviceID: "0123456789ABCDEF0123456789ABCDEF")
        do {
            _ = try CertificateRequest(der: der)
            Issue.record("RSA-1024 accepted")
        } catch {
            #expect(error.code == .weakKey)
            #expect(error.reason.contains("RSA-1024"))
        }
    }

    @Test func acceptsAStrictModernRequest() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let csr = try CertificateRequest(der: WindowsCSR.make(key: key, deviceID: "ABCDEF", style: .strict))
        #expect(csr.signatureAlgorithm == .sha256WithRSA)
        #expect(csr.quirks.isEmpty)
        #expect(csr.publicKey.derRepresentation == key.publicKey.derRepresentation)
    }

    @Test(arguments: [[UInt8](), [0x30, 0x03, 0x02, 0x01, 0x00], Array("MIIB".utf8)])
    func refusesGarbage(_ der: [UInt8]) {
        #expect(throws: PKIError(.malformedRequest, "")) { try CertificateRequest(der: der) }
    }
}

@Suite struct CertificateAuthorityTests {
    static let ca = try! CertificateAuthority.create(commonName: "Test Device CA", organization: "winmdm tests", now: Date())

    @Test func issuesTheDeviceCertificateProfile() throws {
        let now = Date()
        let csr = try CertificateRequest(der: Sample11.der)
        let issued = try Self.ca.issueDeviceCertificate(for: csr, commonName: "B5B954E81FBCB94EB79BD08BE625F4EE",
                                                        now: now, validity: 365 * 86400)
        let cert = try Certificate(derEncoded: issued.der)
        #expect(X509Bridge.commonName(cert) == "B5B954E81FBCB94EB79BD08BE625F4EE")
        #expect(X509Bridge.hasClientAuth(cert))
        let ku = try #require(try cert.extensions.keyUsage)
        #expect(ku.digitalSignature && ku.keyEncipherment && !ku.keyCertSign)
        #expect(try cert.extensions.basicConstraints == .notCertificateAuthority)
        #expect(abs(cert.notValidBefore.timeIntervalSince(now - 300)) < 2)
        #expect(abs(cert.notValidAfter.timeIntervalSince(now + 365 * 86400)) < 2)
        #expect(cert.publicKey == Certificate.PublicKey(csr.publicKey))
        #expect(cert.issuer == Self.ca.certificate.subject)
        #expect(Self.ca.certificate.publicKey.isValidSignature(cert.signature, for: cert))
        #expect(issued.thumbprint.count == 40 && issued.thumbprint == issued.thumbprint.uppercased())
    }

    @Test func serialsAreUnique() throws {
        let csr = try CertificateRequest(der: Sample11.der)
        let serials = try (0..<20).map { _ in
            try Self.ca.issueDeviceCertificate(for: csr, commonName: "X", now: Date(), validity: 86400).serialHex
        }
        #expect(Set(serials).count == 20)
    }

    @Test func thumbprintsMatchTheSampleDocument() throws {
        // Sample 14 names each certificate by its upper-case SHA-1; recompute them from the DER it carries.
        let root = "MIIDbzCCAlegAwIBAgIUIjFgJccztQjE1sZqQEN+pmfBfcQwDQYJKoZIhvcNAQELBQAwPzEUMBIGA1UECgwLRXhhbXBsZSBNRE0xJzAlBgNVBAMMHkV4YW1wbGUgTURNIERldmljZSBJZGVudGl0eSBDQTAeFw0yNjExMjcxMTMwMjNaFw0zNjExMjQxMTMwMjNaMD8xFDASBgNVBAoMC0V4YW1wbGUgTURNMScwJQYDVQQDDB5FeGFtcGxlIE1ETSBEZXZpY2UgSWRlbnRpdHkgQ0EwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCqXjPVvoZTJQ+dAiyZYjq8+7vY/MycVL89KN90ir8dYOm5CNH5qmVnS2oBvFgQYn/WskWZi1vvgY1yE9ooHwB8dTAJJ0C5WazVZLiJSflscYojiMOHQTllPCm3DxdM68wlUvYQEST3ajRcYVMjvqveBJu2wEMsAddFAJJb4STsEipSgbf1VSk1UpuVz4s8NqOH4g+yTlB0jsVl2Fkm91RE4Kg+B5bIHyOVVMb5vB5A4Jq0TzDSMiI5TH5hDqa8mxBJriL6sOBYCW1hsEbYyxQfrZ5oagmv6KQ11+r7ED+GtX+u8D4hCDu1YzYbM2UXr87kDbP2IDj9+ZoJuRyu5iWfAgMBAAGjYzBhMB0GA1UdDgQWBBS/IAqx6VXLdPVsYg+ZW9WbeIwo0jAfBgNVHSMEGDAWgBS/IAqx6VXLdPVsYg+ZW9WbeIwo0jAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjANBgkqhkiG9w0BAQsFAAOCAQEANki+23LJNVEYDrTh/eLNYAceR6mZV6XH3zM/lJp9K/bHUaEU/8pUDs3cZTuQxwfRB8Ad9aNH8u5oGYivi6Pdm6pWkmb0Np8CR7X9SK5ZjHzodZ5ej+rHapVzILn64HYiKBghPYgfi4vQdGs+4xgMo9xATIBAzxD3IWcg7MiOnVPBYKqNgi1jRJIXGnbgDET4xUp+EcIa8Oqhw9wVMdoiwKRvQ8/XH5kvQAYrmFQFC4j4WvR1D2uKhJ7/RzLo2gKOC2wWPEPeeE/IX8RW0vM3ozWryaglk2CfmqUot5RqPxosPubg298hpx7XKMJ5m/llOnu86kJ/I40wVDuKUMSy5g=="
        #expect(Thumbprint.sha1([UInt8](Data(base64Encoded: root)!)) == "F2949D436073E5F98FFE9A746EC12164EB63680E")
    }

    @Test func caRoundTripsThroughPEM() throws {
        let loaded = try CertificateAuthority(certificatePEM: Self.ca.certificatePEM, privateKeyPEM: Self.ca.privateKeyPEM)
        #expect(loaded.thumbprint == Self.ca.thumbprint)
        let other = try CertificateAuthority.create(commonName: "Other", organization: "x", now: Date())
        #expect(throws: PKIError(.storage, "")) {
            try CertificateAuthority(certificatePEM: Self.ca.certificatePEM, privateKeyPEM: other.privateKeyPEM)
        }
    }

    @Test func pkiFilesAreCreatedOnceWithPrivateKeyModes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-pki-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try PKIFiles.loadOrCreate(directory: dir, hostNames: ["mdm.example.com", "localhost"],
                                              ipAddresses: [[127, 0, 0, 1]], organization: "t", now: Date())
        #expect(first.created.count == 6)
        for key in ["device-ca-key.pem", "tls-ca-key.pem", "tls-key.pem"] {
            let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(key).path)
            #expect((attrs[.posixPermissions] as? Int) == 0o600, "\(key) mode")
        }
        let second = try PKIFiles.loadOrCreate(directory: dir, hostNames: ["mdm.example.com"], ipAddresses: [],
                                               organization: "t", now: Date())
        #expect(second.created.isEmpty)
        #expect(second.deviceCA.thumbprint == first.deviceCA.thumbprint)
        // A new public host name re-issues the server certificate, keeping the CAs.
        let third = try PKIFiles.loadOrCreate(directory: dir, hostNames: ["other.example.com"], ipAddresses: [],
                                              organization: "t", now: Date())
        #expect(third.created.count == 2 && third.tlsCA.thumbprint == first.tlsCA.thumbprint)
    }
}

/// Review V3: the device-certificate checks live in MDMPKI; each refusal has its own case.
@Suite struct DeviceCertificateVerifierTests {
    @Test func acceptsOnlyValidClientCertificatesOfItsOwnDeviceCA() throws {
        let now = Date()
        let csr = try CertificateRequest(der: Sample11.der)
        let verifier = DeviceCertificateVerifier(deviceCA: CertificateAuthorityTests.ca)
        let issued = try CertificateAuthorityTests.ca.issueDeviceCertificate(for: csr, commonName: "DEVICE", now: now, validity: 86400)
        let ok = try verifier.verify(der: issued.der, now: now)
        #expect(ok.thumbprint == issued.thumbprint && abs(ok.notValidAfter.timeIntervalSince(now + 86400)) < 2)

        func refusal(_ der: [UInt8]?, at time: Date) -> DeviceCertificateVerifier.Refusal? {
            do { _ = try verifier.verify(der: der, now: time); return nil } catch { return error }
        }
        #expect(refusal(nil, at: now) == .noCertificate)
        #expect(refusal([0x30, 0x03, 0x02, 0x01, 0x01], at: now) == .unreadable)
        #expect(refusal(issued.der, at: now + 2 * 86400) == .expired)
        #expect(refusal(issued.der, at: now - 3600) == .expired)
        // Another CA with the same name: the subject matches, the signature does not.
        let impostor = try CertificateAuthority.create(commonName: "Test Device CA", organization: "winmdm tests", now: now)
        let forged = try impostor.issueDeviceCertificate(for: csr, commonName: "DEVICE", now: now, validity: 86400)
        #expect(refusal(forged.der, at: now) == .foreignIssuer)
        // A server certificate from the same CA is not for client authentication.
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let server = try CertificateAuthorityTests.ca.issueServerCertificate(publicKey: key.publicKey, hostNames: ["mdm.test"], ipAddresses: [],
                                                                              now: now, validity: 86400)
        #expect(refusal(server.der, at: now) == .notClientAuth)
    }
}
