import Foundation
import SwiftASN1
import X509

/// Small helpers over swift-certificates used by the server and the emulator.
public enum X509Bridge {
    public static func certificate(pem: String) throws -> Certificate { try Certificate(pemEncoded: pem) }
    public static func certificate(der: [UInt8]) throws -> Certificate { try Certificate(derEncoded: der) }

    public static func dnsNames(_ cert: Certificate) -> Set<String> {
        guard let san = try? cert.extensions.subjectAlternativeNames else { return [] }
        var out: Set<String> = []
        for name in san { if case .dnsName(let n) = name { out.insert(n.lowercased()) } }
        return out
    }

    public static func commonName(_ cert: Certificate) -> String? {
        for rdn in cert.subject {
            for attr in rdn where attr.type == .RDNAttributeType.commonName {
                return attr.value.description
            }
        }
        return nil
    }

    public static func hasClientAuth(_ cert: Certificate) -> Bool {
        (try? cert.extensions.extendedKeyUsage)??.contains(.clientAuth) ?? false
    }
}
