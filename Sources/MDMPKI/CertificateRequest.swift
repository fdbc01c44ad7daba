import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1

/// A PKCS#10 request read leniently, as Windows really sends it, with its signature verified.
///
/// Windows encodes the subject as a PrintableString holding `!` and a NUL and signs with sha1WithRSA under the OIW
/// OID 1.3.14.3.2.29 (PROTOCOL.md §5.2, P9; sample 11). swift-certificates' strict parser refuses that subject, so
/// the structure is walked by hand with swift-asn1; the signature is still verified over the exact request bytes.
public struct CertificateRequest: Sendable {
    public let publicKey: _RSA.Signing.PublicKey
    /// The SubjectPublicKeyInfo DER, as sent.
    public let subjectPublicKeyInfo: [UInt8]
    /// The subject as text, for display only; never trusted (Windows puts an arbitrary string there).
    public let subjectText: String
    public let signatureAlgorithm: SignatureAlgorithm
    /// Microsoft's DeviceID extension (1.3.6.1.4.1.311.66.1.0), raw ASCII without the trailing NUL.
    public let deviceIDExtension: String?
    /// Oddities that are tolerated but worth recording.
    public let quirks: [String]

    public enum SignatureAlgorithm: String, Sendable {
        case sha1WithRSA = "sha1WithRSA"
        case sha256WithRSA = "sha256WithRSA"
        case sha384WithRSA = "sha384WithRSA"
        case sha512WithRSA = "sha512WithRSA"
    }

    public static let minimumKeyBits = 2048

    public init(der: [UInt8]) throws(PKIError) {
        let root: ASN1Node
        do { root = try DER.parse(der) } catch {
            throw PKIError(.malformedRequest, "The certificate request is not valid DER.")
        }
        guard case .constructed(let top) = root.content else {
            throw PKIError(.malformedRequest, "The certificate request is not a SEQUENCE.")
        }
        let parts = Array(top)
        guard parts.count == 3, case .constructed(let infoChildren) = parts[0].content else {
            throw PKIError(.malformedRequest, "The certificate request does not have info, algorithm and signature.")
        }
        let info = Array(infoChildren)
        guard info.count >= 3 else {
            throw PKIError(.malformedRequest, "The certificate request info is incomplete.")
        }
        var quirks: [String] = []
        subjectText = Self.subjectText(info[1], quirks: &quirks)
        subjectPublicKeyInfo = Array(info[2].encodedBytes)

        // Key: RSA only, at least 2048 bits.
        let key: _RSA.Signing.PublicKey
        do { key = try _RSA.Signing.PublicKey(unsafeDERRepresentation: subjectPublicKeyInfo) } catch {
            throw PKIError(.unsupportedKey, "The certificate request's public key is not an RSA key winmdm can read.")
        }
        guard key.keySizeInBits >= Self.minimumKeyBits else {
            throw PKIError(.weakKey, "The certificate request uses an RSA-\(key.keySizeInBits) key; at least RSA-\(Self.minimumKeyBits) is required.")
        }
        publicKey = key

        // Signature algorithm.
        guard case .constructed(let algChildren) = parts[1].content, let oidNode = algChildren.first(where: { _ in true }),
              let oid = try? ASN1ObjectIdentifier(derEncoded: oidNode) else {
            throw PKIError(.malformedRequest, "The certificate request's signature algorithm cannot be read.")
        }
        switch oid.description {
        case "1.3.14.3.2.29":
            signatureAlgorithm = .sha1WithRSA
            quirks.append("CSR signed with sha1WithRSA under the OIW OID 1.3.14.3.2.29 (as Windows does)")
        case "1.2.840.113549.1.1.5":
            signatureAlgorithm = .sha1WithRSA
            quirks.append("CSR signed with SHA-1")
        case "1.2.840.113549.1.1.11": signatureAlgorithm = .sha256WithRSA
        case "1.2.840.113549.1.1.12": signatureAlgorithm = .sha384WithRSA
        case "1.2.840.113549.1.1.13": signatureAlgorithm = .sha512WithRSA
        default:
            throw PKIError(.unsupportedSignature, "The certificate request is signed with algorithm \(oid), which winmdm does not accept.")
        }
        guard let bits = try? ASN1BitString(derEncoded: parts[2]) else {
            throw PKIError(.malformedRequest, "The certificate request's signature cannot be read.")
        }
        let signed = parts[0].encodedBytes
        let digest: SignedRenewalRequest.DigestAlgorithm = switch signatureAlgorithm {
        case .sha1WithRSA: .sha1
        case .sha256WithRSA: .sha256
        case .sha384WithRSA: .sha384
        case .sha512WithRSA: .sha512
        }
        let valid = PKCS1v15.isValid(signature: Array(bits.bytes), over: Array(signed), digest: digest, key: key)
        guard valid else {
            throw PKIError(.badSignature, "The certificate request's signature does not verify against its own public key.")
        }
        deviceIDExtension = info.count > 3 ? Self.deviceIDExtension(in: info[3]) : nil
        self.quirks = quirks
    }

    /// Renders `CN=value, …` from the raw bytes of each attribute value, whatever string type it claims.
    static func subjectText(_ name: ASN1Node, quirks: inout [String]) -> String {
        var parts: [String] = []
        func walk(_ node: ASN1Node) {
            switch node.content {
            case .constructed(let children):
                let kids = Array(children)
                if kids.count == 2, let oid = try? ASN1ObjectIdentifier(derEncoded: kids[0]),
                   case .primitive(let value) = kids[1].content {
                    let label = oid == [2, 5, 4, 3] ? "CN" : oid.description
                    let bytes = Array(value)
                    if kids[1].identifier == .printableString,
                       bytes.contains(where: { !Self.printable.contains($0) }) {
                        quirks.append("CSR subject PrintableString holds characters PrintableString does not allow")
                    }
                    let text = String(decoding: bytes.filter { $0 != 0 }, as: UTF8.self)
                    parts.append("\(label)=\(text)")
                } else {
                    kids.forEach(walk)
                }
            case .primitive: break
            }
        }
        walk(name)
        return parts.joined(separator: ", ")
    }

    static let printable: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?".utf8))

    /// Looks through the attributes for extension 1.3.6.1.4.1.311.66.1.0 and returns its raw ASCII value.
    static func deviceIDExtension(in attributes: ASN1Node) -> String? {
        let target: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 66, 1, 0]
        var found: String?
        func walk(_ node: ASN1Node) {
            guard found == nil, case .constructed(let children) = node.content else { return }
            let kids = Array(children)
            if let first = kids.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first), oid == target,
               let last = kids.last, case .primitive(let value) = last.content {
                found = String(decoding: Array(value).filter { $0 != 0 }, as: UTF8.self)
                return
            }
            kids.forEach(walk)
        }
        walk(attributes)
        return found
    }
}

public struct PKIError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case malformedRequest = "malformed-request"
        case unsupportedKey = "unsupported-key"
        case weakKey = "weak-key"
        case unsupportedSignature = "unsupported-signature"
        case badSignature = "bad-signature"
        case issuance = "issuance"
        case storage = "storage"
    }

    public var code: Code
    public var reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }
}
