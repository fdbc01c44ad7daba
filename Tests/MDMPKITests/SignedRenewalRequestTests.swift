import _CryptoExtras
import Foundation
import MDMPKI
import MDMTesting
import Testing
@_spi(CMS) import X509

/// The PKCS#7 inside sample 31 ([MS-WSTEP] §4.1.5.1): a real renewal envelope, signed by the old certificate.
enum Sample31 {
    static func token() throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/samples/31-renewal-request-wstep-pkcs7-spec.xml")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let start = text.range(of: "#PKCS7\""), let open = text[start.upperBound...].range(of: ">"),
              let close = text[open.upperBound...].range(of: "<") else { throw CancellationError() }
        let base64 = text[open.upperBound..<close.lowerBound].filter { !$0.isWhitespace }
        return [UInt8](Data(base64Encoded: String(base64))!)
    }
}

@Suite struct SignedRenewalRequestTests {
    @Test func readsAndVerifiesTheSpecRenewalEnvelope() throws {
        let request = try SignedRenewalRequest(der: try Sample31.token())
        #expect(request.digestAlgorithm == .sha1)
        #expect(request.signer.issuer.description.contains("FB_EntSubCA"))
        // The encapsulated content is the new PKCS#10, with a valid self-signature of its own.
        let csr = try CertificateRequest(der: request.certificateRequestDER)
        #expect(csr.subjectText.contains("abby"))
        // The new request carries a new key, not the one being renewed.
        #expect(Certificate.PublicKey(csr.publicKey) != request.signer.publicKey)
    }

    @Test func refusesTheEnvelopeWhenTheRequestInsideWasChanged() throws {
        var der = try Sample31.token()
        let request = try SignedRenewalRequest(der: der)
        // Flip one byte of the encapsulated request: the signed message digest no longer matches.
        let csr = request.certificateRequestDER
        let at = try #require(der.firstRange(of: csr)).lowerBound + 40
        der[at] ^= 0x01
        #expect(throws: PKIError(.badSignature, "")) { try SignedRenewalRequest(der: der) }
    }

    @Test func acceptsATokenBase64EncodedTwiceAsManualRenewalSends() throws {
        let der = try Sample31.token()
        let twice = Array(Data(der).base64EncodedString().utf8)
        let request = try SignedRenewalRequest(der: twice)
        #expect(request.signer == (try SignedRenewalRequest(der: der)).signer)
    }

    @Test func refusesGarbageAndOtherContentTypes() {
        #expect(throws: PKIError(.malformedRequest, "")) { try SignedRenewalRequest(der: [0x30, 0x03, 0x02, 0x01, 0x01]) }
        #expect(throws: PKIError(.malformedRequest, "")) { try SignedRenewalRequest(der: Array("not a token".utf8)) }
        // A bare PKCS#10 is not a renewal envelope.
        #expect(throws: PKIError(.malformedRequest, "")) { try SignedRenewalRequest(der: Sample11.der) }
    }

    /// A device certificate from winmdm's own CA, renewed the way a device would: with and without signed
    /// attributes, and signed by a different key (which must fail).
    @Test func verifiesEnvelopesSignedByAWinmdmDeviceCertificate() throws {
        let now = Date()
        let ca = try CertificateAuthority.create(commonName: "winmdm test device CA", organization: "winmdm", now: now)
        let oldKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let oldCSR = try CertificateRequest(der: WindowsCSR.make(key: oldKey, deviceID: "0123456789ABCDEF0123456789ABCDEF"))
        let issued = try ca.issueDeviceCertificate(for: oldCSR, commonName: "device-1", now: now, validity: 86_400 * 365)
        let oldCert = try Certificate(derEncoded: issued.der)

        let newKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let newCSR = try WindowsCSR.make(key: newKey, deviceID: "0123456789ABCDEF0123456789ABCDEF")

        for signingTime in [nil, now] as [Date?] {
            let token = try CMS.sign(newCSR, signatureAlgorithm: .sha256WithRSAEncryption, certificate: oldCert,
                                     privateKey: Certificate.PrivateKey(oldKey), signingTime: signingTime, detached: false)
            let request = try SignedRenewalRequest(der: token)
            #expect(request.certificateRequestDER == newCSR)
            #expect(request.signer == oldCert)
            #expect(request.digestAlgorithm == .sha256)
        }

        // Signed by a key that is not the certificate's: refused.
        let forged = try CMS.sign(newCSR, signatureAlgorithm: .sha256WithRSAEncryption, certificate: oldCert,
                                  privateKey: Certificate.PrivateKey(newKey), signingTime: now, detached: false)
        #expect(throws: PKIError(.badSignature, "")) { try SignedRenewalRequest(der: forged) }
    }
}
