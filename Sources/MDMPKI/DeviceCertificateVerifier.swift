import Foundation
import X509

/// What every device certificate must be, whatever it is presented for (an OMA-DM session, a renewal's signature, a
/// TLS handshake before a policy request): issued and signed by this server's device CA, within its validity, and for
/// client authentication. Which enrollment it belongs to, and whether that enrollment is still active, is the
/// caller's question; the thumbprint is what the caller looks it up by.
public struct DeviceCertificateVerifier: Sendable {
    public enum Refusal: Error, Equatable, Sendable {
        case noCertificate, unreadable, foreignIssuer, expired, notClientAuth
    }

    /// A certificate that passed: its thumbprint (upper-case SHA-1 of the DER) and the end of its validity.
    public struct Verified: Sendable, Equatable {
        public let thumbprint: String
        public let notValidAfter: Date
    }

    let deviceCA: CertificateAuthority

    public init(deviceCA: CertificateAuthority) { self.deviceCA = deviceCA }

    /// Reads and checks a certificate as presented (DER); nil or empty is `noCertificate`.
    public func verify(der: [UInt8]?, now: Date) throws(Refusal) -> Verified {
        guard let der, !der.isEmpty else { throw .noCertificate }
        guard let cert = try? Certificate(derEncoded: der) else { throw .unreadable }
        try verify(cert, now: now)
        return Verified(thumbprint: Thumbprint.sha1(der), notValidAfter: cert.notValidAfter)
    }

    /// Checks a certificate already read (the signer of a renewal's PKCS#7 envelope).
    public func verify(_ cert: Certificate, now: Date) throws(Refusal) {
        guard cert.issuer == deviceCA.certificate.subject, deviceCA.certificate.publicKey.isValidSignature(cert.signature, for: cert) else {
            throw .foreignIssuer
        }
        guard cert.notValidBefore <= now, now <= cert.notValidAfter else { throw .expired }
        guard X509Bridge.hasClientAuth(cert) else { throw .notClientAuth }
    }
}
