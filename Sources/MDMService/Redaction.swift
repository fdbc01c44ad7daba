import MDMWire

/// Request excerpts kept with failed attempts: secrets removed, size bounded.
///
/// Redaction works on the parsed tree, never on text patterns: the request is parsed, every secret element loses
/// its content, and the tree is written out again, so no spelling of an end tag (`</wsse:Password >`) and no
/// truncation can leave a secret behind. A request that cannot be parsed keeps only what comes before the first
/// place that might hold a secret. The size limit applies after redaction.
public enum Redaction {
    /// Bytes of excerpt kept per failed attempt.
    public static let limit = 8 * 1024
    static let marker = "[redacted]"

    public static func excerpt(_ body: [UInt8]) -> String? {
        guard !body.isEmpty else { return nil }
        var text: String
        if let tree = try? XMLReader.parse(body) {
            text = tree.xml(replacingTextOf: isSecret, with: marker)
        } else {
            text = unparsedPrefix(body)
        }
        if text.utf8.count > limit {
            let kept = text.utf8.count
            var cut = String(decoding: text.utf8.prefix(limit), as: UTF8.self)
            if cut.last == "\u{FFFD}" { cut.removeLast() }
            text = cut + "\n… (\(kept - limit) more bytes not kept)"
        }
        return text
    }

    /// WS-Security passwords and tokens (a PKCS#10 or PKCS#7 request is not a secret and stays readable), SyncML
    /// credentials.
    static func isSecret(_ node: XMLNode) -> Bool {
        switch node.name.lowercased() {
        case "password", "nonce": return true
        case "binarysecuritytoken":
            let type = node.attributes["ValueType"] ?? ""
            return !(type.hasSuffix("#PKCS10") || type.hasSuffix("#PKCS7"))
        case "cred": return true
        default: return false
        }
    }

    /// What may be kept of a body that is not well-formed XML: everything before the first element whose name
    /// could be a secret's, matched without regard to case, prefix or spacing.
    static func unparsedPrefix(_ body: [UInt8]) -> String {
        let text = String(decoding: body, as: UTF8.self)
        let lower = text.lowercased()
        var cut: String.Index?
        for needle in ["password", "securitytoken", "cred", "nonce"] {
            guard let r = lower.range(of: needle) else { continue }
            // Back to the `<` that opens the element the word sits in (or the word itself).
            let start = lower[..<r.lowerBound].lastIndex(of: "<") ?? r.lowerBound
            let offset = lower.distance(from: lower.startIndex, to: start)
            let inText = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) ?? text.endIndex
            if cut.map({ inText < $0 }) ?? true { cut = inText }
        }
        guard let cut else { return text }
        return String(text[..<cut]) + "\(marker) (the request is not well-formed XML; nothing after a possible credential is kept)"
    }
}
