import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

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
/// - Warning: Documents with a DOCTYPE or entity declaration are refused before the parser sees them: on Linux
///   `XMLParser` silently drops entity references and never reports DTD declarations (STACK.md trap 1).
public enum XMLReader {
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> XMLNode {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw WireError(.emptyBody, "The request body is empty.")
        }
        if containsDeclaration(bytes) {
            throw WireError(.dtdRefused, "The request contains a DOCTYPE or entity declaration, which is never processed.")
        }
        let delegate = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        let ok = parser.parse()
        guard ok, delegate.failure == nil, let root = delegate.root else {
            let detail = parser.parserError.map { " (\($0.localizedDescription))" } ?? ""
            throw WireError(.notXML, "The request body is not well-formed XML\(detail).")
        }
        return root
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

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLNode] = []
    var root: XMLNode?
    var failure: Error?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        var attrs: [String: String] = [:]
        for (k, v) in attributeDict {
            if k == "xmlns" || k.hasPrefix("xmlns:") { continue }
            let local = k.split(separator: ":").last.map(String.init) ?? k
            attrs[local] = v
        }
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLNode(namespace: namespaceURI ?? "", name: local, attributes: attrs))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { failure = parseError }
}
