/// The credential a Policy or RST request carries in `wsse:Security` (PROTOCOL.md §3).
public enum SecurityCredential: Sendable, Equatable {
    /// OnPremise: UsernameToken with the password as typed.
    case usernameToken(username: String, password: String)
    /// Federated / programmatic / Entra: an opaque or JWT token, base64 as sent.
    case binaryToken(valueType: String, value: String)
}

/// The WS-Addressing header fields every request carries (PROTOCOL.md §1.4).
public struct SOAPHeader: Sendable, Equatable {
    public var action: String
    /// Echoed byte-for-byte as RelatesTo.
    public var messageID: String
    public var to: String?
    public var credential: SecurityCredential?
}

/// A SOAP 1.2 envelope split into header and the first body element.
public struct SOAPEnvelope: Sendable {
    public var header: SOAPHeader
    public var body: XMLNode

    public init(bytes: [UInt8]) throws(WireError) {
        let root = try XMLReader.parse(bytes)
        try self.init(root: root)
    }

    public init(root: XMLNode) throws(WireError) {
        guard root.name == "Envelope", root.namespace == NS.soap else {
            throw WireError(.notSOAP, "The document is not a SOAP 1.2 envelope (root element \(root.name) in namespace '\(root.namespace)').")
        }
        guard let bodyNode = root.child(NS.soap, "Body"), let first = bodyNode.children.first else {
            throw WireError(.notSOAP, "The SOAP envelope has no Body content.")
        }
        let h = root.child(NS.soap, "Header")
        let action = h?.child(NS.addressing, "Action")?.trimmedText ?? ""
        // RelatesTo must echo MessageID exactly; only surrounding whitespace from pretty printing is dropped.
        let messageID = h?.child(NS.addressing, "MessageID")?.trimmedText ?? ""
        let to = h?.child(NS.addressing, "To")?.trimmedText
        header = SOAPHeader(action: action, messageID: messageID, to: to,
                            credential: h?.child(NS.wssSecext, "Security").flatMap(Self.credential))
        body = first
    }

    static func credential(_ security: XMLNode) -> SecurityCredential? {
        if let token = security.child(NS.wssSecext, "UsernameToken") {
            let user = token.child(NS.wssSecext, "Username")?.trimmedText ?? ""
            // Passwords are taken as typed: no trimming.
            let pass = token.child(NS.wssSecext, "Password")?.text ?? ""
            return .usernameToken(username: user, password: pass)
        }
        if let bst = security.child(NS.wssSecext, "BinarySecurityToken") {
            return .binaryToken(valueType: bst.attributes["ValueType"] ?? "", value: bst.trimmedText)
        }
        return nil
    }
}
