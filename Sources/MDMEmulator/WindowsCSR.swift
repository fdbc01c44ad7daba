import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1

/// Builds PKCS#10 requests the way Windows does, quirks included (PROTOCOL.md §5.2; sample 11).
public enum WindowsCSR {
    public enum Style: Sendable {
        /// As Windows sends it: PrintableString subject `<GUID>!<DeviceID>` plus a NUL, sha1WithRSA under the
        /// OIW OID 1.3.14.3.2.29, and the DeviceID extension 1.3.6.1.4.1.311.66.1.0.
        case windows
        /// A strict, modern request: UTF8String subject, sha256WithRSAEncryption.
        case strict
        /// Windows' shape with the signature corrupted after signing.
        case badSignature
    }

    public static func make(key: _RSA.Signing.PrivateKey, deviceID: String, style: Style = .windows) throws -> [UInt8] {
        let windows = style != .strict
        let subjectString = windows ? Array("\(UUID().uuidString.prefix(30))!\(deviceID)".utf8) + [0] : Array(deviceID.utf8)
        var info = DER.Serializer()
        try info.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(0)
            try c.appendConstructedNode(identifier: .sequence) { c in
                try c.appendConstructedNode(identifier: .set) { c in
                    try c.appendConstructedNode(identifier: .sequence) { c in
                        try c.serialize(ASN1ObjectIdentifier(arrayLiteral: 2, 5, 4, 3))
                        c.appendPrimitiveNode(identifier: windows ? .printableString : .utf8String) { $0.append(contentsOf: subjectString) }
                    }
                }
            }
            c.serializeRawBytes(Array(key.publicKey.derRepresentation))
            try c.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { c in
                guard windows else { return }
                try c.appendConstructedNode(identifier: .sequence) { c in
                    try c.serialize(ASN1ObjectIdentifier(arrayLiteral: 1, 2, 840, 113549, 1, 9, 14))
                    try c.appendConstructedNode(identifier: .set) { c in
                        try c.appendConstructedNode(identifier: .sequence) { c in
                            try c.appendConstructedNode(identifier: .sequence) { c in
                                try c.serialize(ASN1ObjectIdentifier(arrayLiteral: 1, 3, 6, 1, 4, 1, 311, 66, 1, 0))
                                try c.serialize(ASN1OctetString(contentBytes: (Array(deviceID.utf8) + [0])[...]))
                            }
                        }
                    }
                }
            }
        }
        let infoBytes = info.serializedBytes
        var sig: [UInt8] = windows
            ? Array(try key.signature(for: Insecure.SHA1.hash(data: infoBytes), padding: .insecurePKCS1v1_5).rawRepresentation)
            : Array(try key.signature(for: SHA256.hash(data: infoBytes), padding: .insecurePKCS1v1_5).rawRepresentation)
        if style == .badSignature { sig[sig.count / 2] ^= 0x5A }
        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { c in
            c.serializeRawBytes(infoBytes)
            try c.appendConstructedNode(identifier: .sequence) { c in
                if windows {
                    try c.serialize(ASN1ObjectIdentifier(arrayLiteral: 1, 3, 14, 3, 2, 29))
                } else {
                    try c.serialize(ASN1ObjectIdentifier(arrayLiteral: 1, 2, 840, 113549, 1, 1, 11))
                }
                try c.serialize(ASN1Null())
            }
            try c.serialize(ASN1BitString(bytes: sig[...]))
        }
        return out.serializedBytes
    }
}
