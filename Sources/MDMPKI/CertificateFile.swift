import Foundation
import X509

/// What a PEM file of certificates says about their lifetimes, for `winmdm status`.
public enum CertificateFile {
    public struct Entry: Sendable, Equatable {
        public var subject: String
        public var notAfter: Date
    }

    /// Every certificate in the file, in order (a chain: the server's first).
    public static func read(_ path: String) throws -> [Entry] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [Entry] = []
        var rest = text[...]
        while let begin = rest.range(of: "-----BEGIN CERTIFICATE-----"), let end = rest.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<rest.endIndex) {
            let cert = try Certificate(pemEncoded: String(rest[begin.lowerBound..<end.upperBound]))
            out.append(Entry(subject: cert.subject.description, notAfter: cert.notValidAfter))
            rest = rest[end.upperBound...]
        }
        return out
    }
}
