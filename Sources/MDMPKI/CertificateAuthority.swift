import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// A certificate issued by one of winmdm's authorities.
public struct IssuedCertificate: Sendable, Equatable {
    public let der: [UInt8]
    public let serialHex: String
    /// Upper-case SHA-1 hex of the DER (the provisioning document's characteristic name).
    public let thumbprint: String
    public let commonName: String
    public let notBefore: Date
    public let notAfter: Date

    public var base64: String { Data(der).base64EncodedString() }
    public var pem: String { PEM.encode(der, label: "CERTIFICATE") }
}

/// An RSA certificate authority: the device identity CA, or the TLS CA that signs the server certificate.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    public let certificateDER: [UInt8]
    let key: _RSA.Signing.PrivateKey
    let keyIdentifier: ArraySlice<UInt8>

    public var thumbprint: String { Thumbprint.sha1(certificateDER) }
    public var base64: String { Data(certificateDER).base64EncodedString() }
    public var certificatePEM: String { PEM.encode(certificateDER, label: "CERTIFICATE") }
    public var privateKeyPEM: String { key.pkcs8PEMRepresentation }

    public init(certificatePEM: String, privateKeyPEM: String) throws(PKIError) {
        do {
            let cert = try Certificate(pemEncoded: certificatePEM)
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            guard Certificate.PublicKey(key.publicKey) == cert.publicKey else {
                throw PKIError(.storage, "The CA private key does not belong to the CA certificate.")
            }
            try self.init(certificate: cert, key: key)
        } catch let e as PKIError {
            throw e
        } catch {
            throw PKIError(.storage, "The CA certificate or key cannot be read: \(error).")
        }
    }

    init(certificate: Certificate, key: _RSA.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.key = key
        var s = DER.Serializer()
        try s.serialize(certificate)
        certificateDER = s.serializedBytes
        keyIdentifier = SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
    }

    /// A new self-signed root, valid for `years`.
    public static func create(commonName: String, organization: String, now: Date, years: Int = 10,
                              keyBits: Int = 2048) throws(PKIError) -> CertificateAuthority {
        do {
            let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: keyBits))
            let pub = Certificate.PublicKey(key.publicKey)
            let name = try DistinguishedName {
                OrganizationName(organization)
                CommonName(commonName)
            }
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: pub,
                notValidBefore: now - 3600, notValidAfter: now + Double(years) * 365 * 86400,
                issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: pub)
                },
                issuerPrivateKey: .init(key))
            return try CertificateAuthority(certificate: cert, key: key)
        } catch {
            throw PKIError(.issuance, "Creating the certificate authority '\(commonName)' failed: \(error).")
        }
    }

    /// The device identity certificate (PROTOCOL.md §5.3): CN = the device id, clientAuth,
    /// digitalSignature + keyEncipherment, NotBefore a few minutes back, a random serial.
    public func issueDeviceCertificate(for request: CertificateRequest, commonName: String, now: Date,
                                       validity: TimeInterval) throws(PKIError) -> IssuedCertificate {
        let pub = Certificate.PublicKey(request.publicKey)
        do {
            let exts = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectKeyIdentifier(hash: pub)
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier)
            }
            return try issue(publicKey: pub, subject: DistinguishedName { CommonName(commonName) },
                             commonName: commonName, now: now, validity: validity, extensions: exts)
        } catch let e as PKIError {
            throw e
        } catch {
            throw PKIError(.issuance, "Issuing the device certificate failed: \(error).")
        }
    }

    /// A TLS server certificate for the host names and IP addresses given.
    public func issueServerCertificate(publicKey: _RSA.Signing.PublicKey, hostNames: [String], ipAddresses: [[UInt8]],
                                       now: Date, validity: TimeInterval) throws(PKIError) -> IssuedCertificate {
        let pub = Certificate.PublicKey(publicKey)
        let names = hostNames.map { GeneralName.dnsName($0) } + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        do {
            let exts = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: pub)
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier)
            }
            let cn = hostNames.first ?? "localhost"
            return try issue(publicKey: pub, subject: DistinguishedName { CommonName(cn) }, commonName: cn,
                             now: now, validity: validity, extensions: exts)
        } catch let e as PKIError {
            throw e
        } catch {
            throw PKIError(.issuance, "Issuing the TLS server certificate failed: \(error).")
        }
    }

    func issue(publicKey: Certificate.PublicKey, subject: DistinguishedName, commonName: String, now: Date,
               validity: TimeInterval, extensions: Certificate.Extensions) throws -> IssuedCertificate {
        // Positive 16-byte serial: random, top bit cleared so DER needs no sign byte.
        var serial = (0..<16).map { _ in UInt8.random(in: 0...255) }
        serial[0] &= 0x7F
        if serial[0] == 0 { serial[0] = 0x01 }
        let notBefore = now - 300
        let notAfter = min(now + validity, certificate.notValidAfter)
        let cert = try Certificate(
            version: .v3, serialNumber: .init(bytes: serial), publicKey: publicKey,
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
            signatureAlgorithm: .sha256WithRSAEncryption, extensions: extensions, issuerPrivateKey: .init(key))
        var s = DER.Serializer()
        try s.serialize(cert)
        let der = s.serializedBytes
        return IssuedCertificate(der: der, serialHex: Hex.upper(serial), thumbprint: Thumbprint.sha1(der),
                                 commonName: commonName, notBefore: notBefore, notAfter: notAfter)
    }
}

public enum Thumbprint {
    /// Upper-case hex SHA-1 over the DER, 40 characters (PROTOCOL.md P11).
    public static func sha1(_ der: [UInt8]) -> String { Hex.upper(Array(Insecure.SHA1.hash(data: der))) }
}

public enum Hex {
    public static func upper(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum PEM {
    public static func encode(_ der: [UInt8], label: String) -> String {
        let b64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
    }

    /// The DER inside the first PEM block.
    public static func decode(_ pem: String) -> [UInt8]? {
        let lines = pem.split(whereSeparator: \.isNewline).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN") }),
              let end = lines[start...].firstIndex(where: { $0.hasPrefix("-----END") }) else { return nil }
        return Data(base64Encoded: lines[(start + 1)..<end].joined()).map { [UInt8]($0) }
    }
}
