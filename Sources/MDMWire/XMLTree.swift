import Foundation

/// An element of a parsed document, keyed by namespace URI and local name (never by prefix).
public struct XMLNode: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// Attributes by local name (prefixes dropped; Windows never relies on two attributes sharing a local name).
    public var attributes: [String: String]
    public var children: [XMLNode]
    public var text: String

    public init(namespace: String, name: String, attributes: [String: String] = [:], children: [XMLNode] = [], text: String = "") {
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public func child(_ ns: String, _ name: String) -> XMLNode? {
        children.first { $0.name == name && $0.namespace == ns }
    }

    public func children(_ ns: String, _ name: String) -> [XMLNode] {
        children.filter { $0.name == name && $0.namespace == ns }
    }

    /// The first descendant with this name, depth first.
    public func descendant(_ ns: String, _ name: String) -> XMLNode? {
        for c in children {
            if c.name == name && c.namespace == ns { return c }
            if let d = c.descendant(ns, name) { return d }
        }
        return nil
    }

    public var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Reads untrusted XML into an `XMLNode` tree.
///
/// Checks run on the raw bytes first: the body must be UTF-8 (a UTF-8 byte-order mark is allowed, a UTF-16 one or
/// any other declared encoding is refused), hold no NUL byte, no DOCTYPE or entity declaration and no processing
/// instruction. The parser itself is winmdm's own (`StrictXMLParser`): Foundation's `XMLParser` trapped on invalid
/// UTF-8 in names and on a processing instruction without data, and leaked memory on every malformed document.
/// The tree may be at most `maxDepth` elements deep and hold at most `maxElements` elements, so nesting cannot
/// exhaust the stack and a small body cannot build a huge tree.
///
/// - Warning: DTDs are never processed: only the five predefined entities and character references are expanded.
public enum XMLReader {
    /// Windows' deepest messages (a SyncML Atomic inside a Sequence, WSTEP's token) stay well under 20 levels.
    public static let maxDepth = 64
    public static let maxElements = 50_000

    public static func parse(_ input: [UInt8]) throws(WireError) -> XMLNode {
        var bytes = input[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw WireError(.emptyBody, "The request body is empty.")
        }
        try checkEncoding(bytes)
        let raw = Array(bytes)
        if containsDeclaration(raw) {
            throw WireError(.dtdRefused, "The request contains a DOCTYPE or entity declaration, which is never processed.")
        }
        if containsProcessingInstruction(raw) {
            throw WireError(.notXML, "The request contains a processing instruction (<?…?>), which Windows never sends.")
        }
        var reader = StrictXMLParser(bytes: raw)
        return try reader.document()
    }

    /// UTF-8 only: a UTF-16/32 byte-order mark or zero bytes, invalid UTF-8, or an XML declaration naming another
    /// encoding is refused.
    static func checkEncoding(_ bytes: ArraySlice<UInt8>) throws(WireError) {
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) || bytes.contains(0) {
            throw WireError(.notXML, "The request body is not UTF-8 (it looks like UTF-16 or UTF-32); send UTF-8.")
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            throw WireError(.notXML, "The request body is not valid UTF-8.")
        }
        guard bytes.starts(with: Array("<?xml".utf8)) else { return }
        let head = bytes.prefix(256)
        guard let end = head.firstRange(of: Array("?>".utf8)) else { return }
        let decl = String(decoding: head[..<end.lowerBound], as: UTF8.self)
        guard let r = decl.range(of: "encoding") else { return }
        let rest = decl[r.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return }
        let name = rest.dropFirst().prefix { $0 != quote }.lowercased()
        guard name == "utf-8" || name == "utf8" else {
            throw WireError(.notXML, "The request declares the encoding '\(name)'; only UTF-8 is accepted.")
        }
    }

    /// `<?` anywhere but the XML declaration at the very start (`<?xml` and white space). Windows never sends one,
    /// and Foundation's XMLParser, which winmdm used before, crashed on one without data (`<?xm?>`, found by fuzzing).
    static func containsProcessingInstruction(_ b: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < b.count {
            if b[i] == 0x3C, b[i + 1] == 0x3F { // "<?"
                let isDeclaration = i == 0 && b.count > 6 && b[2...4].elementsEqual(Array("xml".utf8))
                    && [0x20, 0x09, 0x0A, 0x0D].contains(b[5])
                if !isDeclaration { return true }
            }
            i += 1
        }
        return false
    }

    /// `<!DOCTYPE` or `<!ENTITY` anywhere (case-insensitive); cheap scan over the raw bytes.
    static func containsDeclaration(_ b: [UInt8]) -> Bool {
        guard b.count >= 9 else { return false }
        let upper: (UInt8) -> UInt8 = { ($0 >= 0x61 && $0 <= 0x7A) ? $0 - 0x20 : $0 }
        let doctype = Array("DOCTYPE".utf8), entity = Array("ENTITY".utf8)
        var i = 0
        while i < b.count - 2 {
            if b[i] == 0x3C, b[i + 1] == 0x21 { // "<!"
                let rest = b[(i + 2)...]
                if rest.count >= 7, zip(rest.prefix(7), doctype).allSatisfy({ upper($0) == $1 }) { return true }
                if rest.count >= 6, zip(rest.prefix(6), entity).allSatisfy({ upper($0) == $1 }) { return true }
            }
            i += 1
        }
        return false
    }
}

extension XMLNode {
    /// The element written out as XML again, default namespaces declared where they change, with the text and
    /// children of every element `secret` selects replaced by `marker`. Prefixes are not kept (the tree has none).
    public func xml(replacingTextOf secret: (XMLNode) -> Bool, with marker: String) -> String {
        var out = ""
        write(into: &out, parentNamespace: nil, secret: secret, marker: marker)
        return out
    }

    private func write(into out: inout String, parentNamespace: String?, secret: (XMLNode) -> Bool, marker: String) {
        out += "<" + name
        if namespace != parentNamespace { out += " xmlns=\"\(xmlEscape(namespace))\"" }
        for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { out += " \(k)=\"\(xmlEscape(v))\"" }
        out += ">"
        if secret(self) {
            out += marker
        } else {
            out += xmlEscape(text)
            for c in children { c.write(into: &out, parentNamespace: namespace, secret: secret, marker: marker) }
        }
        out += "</\(name)>"
    }
}
