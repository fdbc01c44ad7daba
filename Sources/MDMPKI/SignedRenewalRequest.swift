import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// The PKCS#7 (CMS SignedData) a Windows device sends to renew its MDM client certificate: a new PKCS#10 request
/// as the encapsulated content, signed with the key of the certificate being renewed (PROTOCOL.md §10.2, sample 31).
///
/// swift-certificates' CMS verifier cannot be used here: Windows names the signature algorithm `rsaEncryption` with a
/// separate SHA-1 digest algorithm, which its verifier refuses. The structure is walked with swift-asn1 instead, and
/// the signature is checked by hand: message digest of the content against the signed attributes, then the RSA
/// signature over the DER of those attributes (or over the content when there are none).
///
/// This reads and verifies the envelope only. Whether the signer may renew (issued by winmdm's device CA, still
/// valid, belongs to an active enrollment) is the caller's decision.
public struct SignedRenewalRequest: Sendable {
    /// The new PKCS#10 request, as DER. Read it with `CertificateRequest(der:)`.
    public let certificateRequestDER: [UInt8]
    /// The certificate whose key signed the envelope: the one being renewed.
    public let signer: Certificate
    /// When the signer certificate stops being valid (said to a device whose certificate expired).
    public var signerNotValidAfter: Date { signer.notValidAfter }
    /// The signer certificate's DER, exactly as the envelope carries it (its SHA-1 is the thumbprint).
    public let signerDER: [UInt8]
    public let digestAlgorithm: DigestAlgorithm

    public enum DigestAlgorithm: String, Sendable {
        case sha1, sha256, sha384, sha512
    }

    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    static let messageDigestOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]

    /// Reads the BinarySecurityToken's bytes. Manual renewals may base64 the DER a second time; that is undone here.
    public init(der input: [UInt8]) throws(PKIError) {
        var der = input
        if der.first != 0x30, let text = String(bytes: der, encoding: .ascii),
           let inner = Data(base64Encoded: text, options: .ignoreUnknownCharacters) {
            der = Array(inner)
        }
        let root: ASN1Node
        do { root = try DER.parse(der) } catch {
            throw PKIError(.malformedRequest, "The renewal token is not DER-encoded PKCS#7.")
        }
        let contentInfo = try Self.children(root, "ContentInfo")
        guard contentInfo.count == 2, (try? ASN1ObjectIdentifier(derEncoded: contentInfo[0])) == Self.signedDataOID else {
            throw PKIError(.malformedRequest, "The renewal token is PKCS#7 but not SignedData.")
        }
        let wrapper = try Self.children(contentInfo[1], "SignedData wrapper")
        guard let signedDataNode = wrapper.first else {
            throw PKIError(.malformedRequest, "The renewal token's SignedData is empty.")
        }
        let signedData = try Self.children(signedDataNode, "SignedData")
        guard signedData.count >= 4 else {
            throw PKIError(.malformedRequest, "The renewal token's SignedData is incomplete.")
        }

        // encapContentInfo: the new certificate request.
        let encap = try Self.children(signedData[2], "EncapsulatedContentInfo")
        guard encap.count == 2, let explicit = try Self.children(encap[1], "eContent").first,
              case .primitive(let content) = explicit.content, explicit.identifier == .octetString else {
            throw PKIError(.malformedRequest, "The renewal token carries no certificate request.")
        }
        certificateRequestDER = Array(content)

        // certificates [0] IMPLICIT and signerInfos (the last element).
        var certificates: [(cert: Certificate, der: [UInt8])] = []
        for node in signedData[3...] where node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
            for certNode in try Self.children(node, "certificates") {
                let der = Array(certNode.encodedBytes)
                if let cert = try? Certificate(derEncoded: der) { certificates.append((cert, der)) }
            }
        }
        let signerInfos = try Self.children(signedData[signedData.count - 1], "SignerInfos")
        guard signerInfos.count == 1 else {
            throw PKIError(.malformedRequest, "The renewal token must have exactly one signer; it has \(signerInfos.count).")
        }
        let info = try Self.children(signerInfos[0], "SignerInfo")
        guard info.count >= 5 else {
            throw PKIError(.malformedRequest, "The renewal token's signer information is incomplete.")
        }

        // Who signed: IssuerAndSerialNumber, or a [0] subjectKeyIdentifier.
        let sid = info[1]
        let found: (cert: Certificate, der: [UInt8])?
        if sid.identifier == .sequence {
            let parts = try Self.children(sid, "IssuerAndSerialNumber")
            guard parts.count == 2, let issuer = try? DistinguishedName(derEncoded: parts[0]),
                  let serial = try? ArraySlice<UInt8>(derEncoded: parts[1]) else {
                throw PKIError(.malformedRequest, "The renewal token's signer identifier cannot be read.")
            }
            let serialNumber = Certificate.SerialNumber(bytes: serial)
            found = certificates.first { $0.cert.issuer == issuer && $0.cert.serialNumber == serialNumber }
        } else if case .primitive(let ski) = sid.content {
            found = certificates.first {
                guard let ext = try? $0.cert.extensions.subjectKeyIdentifier else { return false }
                return ext.keyIdentifier.elementsEqual(ski)
            }
        } else {
            found = nil
        }
        guard let (signer, signerDER) = found else {
            throw PKIError(.malformedRequest, "The renewal token does not include the certificate that signed it.")
        }
        self.signer = signer
        self.signerDER = signerDER

        // Digest algorithm, optional signed attributes, signature algorithm (RSA only), signature.
        let digestAlgorithm = try Self.digestAlgorithm(info[2])
        self.digestAlgorithm = digestAlgorithm
        var index = 3
        var signedAttributes: ASN1Node?
        if info[index].identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
            signedAttributes = info[index]
            index += 1
        }
        guard info.count > index + 1 else {
            throw PKIError(.malformedRequest, "The renewal token's signature is missing.")
        }
        let sigAlg = try Self.children(info[index], "signatureAlgorithm")
        guard let sigOID = sigAlg.first.flatMap({ try? ASN1ObjectIdentifier(derEncoded: $0) }),
              Self.rsaSignatureOIDs.contains(sigOID.description) else {
            throw PKIError(.unsupportedSignature, "The renewal token is not signed with RSA; winmdm issues RSA device certificates only.")
        }
        guard case .primitive(let signatureBytes) = info[index + 1].content else {
            throw PKIError(.malformedRequest, "The renewal token's signature cannot be read.")
        }
        guard let key = _RSA.Signing.PublicKey(signer.publicKey) else {
            throw PKIError(.unsupportedKey, "The certificate that signed the renewal token does not hold an RSA key.")
        }

        let signedBytes: [UInt8]
        if let attributes = signedAttributes {
            guard let expected = Self.messageDigest(in: attributes) else {
                throw PKIError(.malformedRequest, "The renewal token's signed attributes have no message digest.")
            }
            guard Self.hash(certificateRequestDER, digestAlgorithm) == expected else {
                throw PKIError(.badSignature, "The renewal token's certificate request does not match the digest its signer signed.")
            }
            // The signature covers the attributes encoded as a SET OF, not with their [0] IMPLICIT tag.
            var bytes = Array(attributes.encodedBytes)
            bytes[0] = 0x31
            signedBytes = bytes
        } else {
            signedBytes = certificateRequestDER
        }
        let valid = PKCS1v15.isValid(signature: Array(signatureBytes), over: signedBytes, digest: digestAlgorithm, key: key)
        guard valid else {
            throw PKIError(.badSignature, "The renewal token's signature does not verify against the certificate it names.")
        }
    }

    /// rsaEncryption (as Windows sends) and the sha*WithRSAEncryption family.
    static let rsaSignatureOIDs: Set<String> = [
        "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.5", "1.2.840.113549.1.1.11",
        "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13", "1.3.14.3.2.29",
    ]

    static func digestAlgorithm(_ node: ASN1Node) throws(PKIError) -> DigestAlgorithm {
        let parts = try children(node, "digestAlgorithm")
        guard let oid = parts.first.flatMap({ try? ASN1ObjectIdentifier(derEncoded: $0) }) else {
            throw PKIError(.malformedRequest, "The renewal token's digest algorithm cannot be read.")
        }
        switch oid.description {
        case "1.3.14.3.2.26": return .sha1
        case "2.16.840.1.101.3.4.2.1": return .sha256
        case "2.16.840.1.101.3.4.2.2": return .sha384
        case "2.16.840.1.101.3.4.2.3": return .sha512
        default: throw PKIError(.unsupportedSignature, "The renewal token uses digest algorithm \(oid), which winmdm does not accept.")
        }
    }

    static func hash(_ bytes: [UInt8], _ algorithm: DigestAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: Array(Insecure.SHA1.hash(data: bytes))
        case .sha256: Array(SHA256.hash(data: bytes))
        case .sha384: Array(SHA384.hash(data: bytes))
        case .sha512: Array(SHA512.hash(data: bytes))
        }
    }

    static func messageDigest(in attributes: ASN1Node) -> [UInt8]? {
        guard case .constructed(let list) = attributes.content else { return nil }
        for attribute in list {
            guard case .constructed(let parts) = attribute.content else { continue }
            let kids = Array(parts)
            guard kids.count == 2, (try? ASN1ObjectIdentifier(derEncoded: kids[0])) == messageDigestOID,
                  case .constructed(let values) = kids[1].content,
                  let value = values.first(where: { _ in true }), case .primitive(let digest) = value.content else { continue }
            return Array(digest)
        }
        return nil
    }

    static func children(_ node: ASN1Node, _ what: String) throws(PKIError) -> [ASN1Node] {
        guard case .constructed(let kids) = node.content else {
            throw PKIError(.malformedRequest, "The renewal token's \(what) is not a constructed value.")
        }
        return Array(kids)
    }
}

/// RSA PKCS#1 v1.5 verification with the digest chosen at run time (CSRs and renewal envelopes).
enum PKCS1v15 {
    static func isValid(signature: [UInt8], over bytes: [UInt8], digest: SignedRenewalRequest.DigestAlgorithm,
                        key: _RSA.Signing.PublicKey) -> Bool {
        let signature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        switch digest {
        case .sha1: return key.isValidSignature(signature, for: Insecure.SHA1.hash(data: bytes), padding: .insecurePKCS1v1_5)
        case .sha256: return key.isValidSignature(signature, for: SHA256.hash(data: bytes), padding: .insecurePKCS1v1_5)
        case .sha384: return key.isValidSignature(signature, for: SHA384.hash(data: bytes), padding: .insecurePKCS1v1_5)
        case .sha512: return key.isValidSignature(signature, for: SHA512.hash(data: bytes), padding: .insecurePKCS1v1_5)
        }
    }
}
