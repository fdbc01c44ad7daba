/// A small, strict XML 1.0 parser with namespaces, for the documents Windows sends (SOAP, SyncML).
///
/// It reads well-formed documents of elements, attributes, character data, CDATA sections and comments, with the
/// five predefined entities and character references; anything else (a DTD, a processing instruction, an unknown
/// entity, an unbound prefix, a mismatched or missing end tag, markup after the root) is an error, never a guess.
/// It runs over bytes already checked to be UTF-8 (`XMLReader`), iterates instead of recursing, and stops at
/// `XMLReader.maxDepth` and `XMLReader.maxElements`.
struct StrictXMLParser {
    let b: [UInt8]
    var i = 0
    var elements = 0

    init(bytes: [UInt8]) { b = bytes }

    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// An element being read: its node, the qualified name its end tag must repeat, and the prefixes it declares.
    struct Open {
        var node: XMLNode
        var qname: [UInt8]
        var scope: [String: String]
    }

    func fail(_ what: String) -> WireError {
        WireError(.notXML, "The request body is not well-formed XML (\(what) at byte \(i)).")
    }

    mutating func document() throws(WireError) -> XMLNode {
        if starts("<?xml") {
            guard let end = find("?>") else { throw fail("an unterminated XML declaration") }
            i = end + 2
        }
        try misc()
        guard i < b.count, b[i] == 0x3C else { throw fail(i < b.count ? "text before the root element" : "no root element") }
        let root = try element()
        try misc()
        guard i == b.count else { throw fail("content after the root element") }
        return root
    }

    /// White space and comments.
    mutating func misc() throws(WireError) {
        while i < b.count {
            if isSpace(b[i]) { i += 1 } else if starts("<!--") { try comment() } else { return }
        }
    }

    mutating func comment() throws(WireError) {
        guard let end = find("-->", from: i + 4) else { throw fail("an unterminated comment") }
        i = end + 3
    }

    /// The element at `i` and everything in it, read with an explicit stack.
    mutating func element() throws(WireError) -> XMLNode {
        var stack: [Open] = []
        var scopes: [[String: String]] = [["xml": Self.xmlNamespace]]
        while true {
            // At `<` of a start tag.
            var open = try startTag(scopes.last!)
            if open.selfClosing {
                if stack.isEmpty { return open.element.node }
                stack[stack.count - 1].node.children.append(open.element.node)
            } else {
                guard stack.count + 1 < XMLReader.maxDepth else {
                    throw WireError(.notXML, "The request nests elements more than \(XMLReader.maxDepth) deep; it is not a message Windows sends.")
                }
                scopes.append(open.element.scope)
                open.element.scope = [:]
                stack.append(open.element)
            }
            // Content until the next start tag, or close elements as their end tags come.
            while true {
                try content(into: &stack[stack.count - 1].node)
                guard starts("</") else { break } // a child start tag
                i += 2
                let name = self.name()
                guard !name.isEmpty, name == stack[stack.count - 1].qname else { throw fail("an end tag that does not match its start tag") }
                skipSpace()
                guard i < b.count, b[i] == 0x3E else { throw fail("an unterminated end tag") }
                i += 1
                let done = stack.removeLast().node
                scopes.removeLast()
                if stack.isEmpty { return done }
                stack[stack.count - 1].node.children.append(done)
            }
        }
    }

    /// Character data, CDATA and comments up to the next tag (left at its `<`).
    mutating func content(into node: inout XMLNode) throws(WireError) {
        var text: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("a missing end tag") }
            let c = b[i]
            if c == 0x3C {
                if starts("<!--") { try comment(); continue }
                if starts("<![CDATA[") {
                    guard let end = find("]]>", from: i + 9) else { throw fail("an unterminated CDATA section") }
                    text += b[(i + 9)..<end]
                    i = end + 3
                    continue
                }
                if starts("<!") || starts("<?") { throw fail("a declaration or processing instruction inside an element") }
                break
            }
            if c == 0x26 { try reference(into: &text); continue }
            if c == 0x0D { // line ends are read as \n (XML 1.0 §2.11)
                text.append(0x0A)
                i += (i + 1 < b.count && b[i + 1] == 0x0A) ? 2 : 1
                continue
            }
            if c == 0x5D, starts("]]>") { throw fail("']]>' in character data") }
            text.append(c)
            i += 1
        }
        if !text.isEmpty { node.text += String(decoding: text, as: UTF8.self) }
    }

    struct StartTag {
        var element: Open
        var selfClosing: Bool
    }

    /// `<name attr="v" …>` or `…/>`, with its namespace resolved in `outer` plus what the tag declares.
    mutating func startTag(_ outer: [String: String]) throws(WireError) -> StartTag {
        elements += 1
        guard elements <= XMLReader.maxElements else {
            throw WireError(.notXML, "The request has more than \(XMLReader.maxElements) elements; it is not a message Windows sends.")
        }
        i += 1
        let qname = name()
        guard !qname.isEmpty else { throw fail("a tag without a name") }
        var raw: [(name: [UInt8], value: String)] = []
        var selfClosing = false
        while true {
            let spaced = skipSpace()
            guard i < b.count else { throw fail("an unterminated start tag") }
            if b[i] == 0x3E { i += 1; break }
            if b[i] == 0x2F {
                guard i + 1 < b.count, b[i + 1] == 0x3E else { throw fail("a stray '/' in a tag") }
                i += 2
                selfClosing = true
                break
            }
            guard spaced else { throw fail("attributes not separated by white space") }
            let an = name()
            guard !an.isEmpty else { throw fail("an attribute without a name") }
            skipSpace()
            guard i < b.count, b[i] == 0x3D else { throw fail("an attribute without '='") }
            i += 1
            skipSpace()
            let value = try attributeValue()
            guard !raw.contains(where: { $0.name == an }) else { throw fail("a repeated attribute") }
            raw.append((an, value))
        }
        var scope: [String: String] = [:]
        var attributes: [String: String] = [:]
        for (n, v) in raw {
            if n == Array("xmlns".utf8) { scope[""] = v; continue }
            if n.starts(with: Array("xmlns:".utf8)) {
                let prefix = String(decoding: n.dropFirst(6), as: UTF8.self)
                guard !prefix.isEmpty, !v.isEmpty || prefix == "xml" else { throw fail("an empty namespace for a prefix") }
                scope[prefix] = v
                continue
            }
            let local = n.split(separator: 0x3A, omittingEmptySubsequences: false).last.map { String(decoding: $0, as: UTF8.self) } ?? ""
            attributes[local] = v
        }
        var visible = outer
        for (k, v) in scope { visible[k] = v }
        let parts = qname.split(separator: 0x3A, maxSplits: 1, omittingEmptySubsequences: false)
        let prefix = parts.count == 2 ? String(decoding: parts[0], as: UTF8.self) : ""
        let local = String(decoding: parts.count == 2 ? parts[1] : parts[0], as: UTF8.self)
        guard !local.isEmpty, !local.contains(":") else { throw fail("a malformed qualified name") }
        guard let ns = visible[prefix] ?? (prefix.isEmpty ? "" : nil) else { throw fail("the unbound prefix '\(prefix)'") }
        for (n, _) in raw where !n.starts(with: Array("xmlns".utf8)) {
            let p = n.split(separator: 0x3A, maxSplits: 1, omittingEmptySubsequences: false)
            if p.count == 2, visible[String(decoding: p[0], as: UTF8.self)] == nil { throw fail("an attribute with an unbound prefix") }
        }
        return StartTag(element: Open(node: XMLNode(namespace: ns, name: local, attributes: attributes), qname: qname, scope: visible),
                        selfClosing: selfClosing)
    }

    /// A quoted attribute value, references expanded, white space normalised (XML 1.0 §3.3.3).
    mutating func attributeValue() throws(WireError) -> String {
        guard i < b.count, b[i] == 0x22 || b[i] == 0x27 else { throw fail("an unquoted attribute value") }
        let quote = b[i]
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("an unterminated attribute value") }
            let c = b[i]
            if c == quote { i += 1; break }
            if c == 0x3C { throw fail("'<' in an attribute value") }
            if c == 0x26 { try reference(into: &out); continue }
            if c == 0x0D, i + 1 < b.count, b[i + 1] == 0x0A { i += 1; continue }
            out.append(c == 0x09 || c == 0x0A || c == 0x0D ? 0x20 : c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `&lt;` `&gt;` `&amp;` `&apos;` `&quot;` `&#N;` `&#xH;`; anything else is an error (no DTD, so no other entity).
    mutating func reference(into out: inout [UInt8]) throws(WireError) {
        guard let semi = b[i..<min(b.count, i + 12)].firstIndex(of: 0x3B) else { throw fail("an unterminated reference") }
        let body = b[(i + 1)..<semi]
        i = semi + 1
        switch String(decoding: body, as: UTF8.self) {
        case "lt": out.append(0x3C)
        case "gt": out.append(0x3E)
        case "amp": out.append(0x26)
        case "apos": out.append(0x27)
        case "quot": out.append(0x22)
        case let s where s.hasPrefix("#"):
            let digits = s.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let value, !digits.isEmpty, Self.isXMLChar(value), let scalar = Unicode.Scalar(value) else {
                throw fail("a character reference to a character XML cannot carry")
            }
            out += Array(String(Character(scalar)).utf8)
        default:
            throw fail("an undeclared entity")
        }
    }

    static func isXMLChar(_ v: UInt32) -> Bool {
        v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || (0x10000...0x10FFFF).contains(v)
    }

    /// A name: letters, digits, `_ : - .` and anything beyond ASCII, not starting with a digit, `-` or `.`.
    mutating func name() -> [UInt8] {
        let start = i
        while i < b.count {
            let c = b[i]
            let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A || c >= 0x80
                || (i > start && ((c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E))
            guard ok else { break }
            i += 1
        }
        return Array(b[start..<i])
    }

    @discardableResult
    mutating func skipSpace() -> Bool {
        let start = i
        while i < b.count, isSpace(b[i]) { i += 1 }
        return i > start
    }

    func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    func starts(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        return s.withUTF8Buffer { p in (0..<n).allSatisfy { b[i + $0] == p[$0] } }
    }

    func find(_ s: StaticString, from: Int? = nil) -> Int? {
        let n = s.utf8CodeUnitCount
        var k = from ?? i
        return s.withUTF8Buffer { p in
            while k + n <= b.count {
                if b[k] == p[0], (1..<n).allSatisfy({ b[k + $0] == p[$0] }) { return k }
                k += 1
            }
            return nil
        }
    }
}
