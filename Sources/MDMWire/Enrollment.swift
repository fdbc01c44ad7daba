import Foundation

/// A RequestSecurityToken (MS-WSTEP; PROTOCOL.md §5.1; samples 11, 12).
public struct RequestSecurityToken: Sendable, Equatable {
    public var header: SOAPHeader
    public var tokenType: String
    public var requestType: String
    /// The ValueType of the body token: PKCS#10 for Issue, PKCS#7 for renewal.
    public var tokenValueType: String
    /// The decoded DER of the body token.
    public var token: [UInt8]
    /// Context items in the order sent; names repeat (six `MAC` items in sample 11).
    public var contextItems: [(name: String, value: String)]

    public init(_ env: SOAPEnvelope) throws(WireError) {
        let b = env.body
        guard b.name == "RequestSecurityToken", b.namespace == NS.wsTrust else {
            throw WireError(.wrongOperation, "Expected a RequestSecurityToken, got \(b.name).")
        }
        header = env.header
        tokenType = b.child(NS.wsTrust, "TokenType")?.trimmedText ?? ""
        requestType = b.child(NS.wsTrust, "RequestType")?.trimmedText ?? ""
        guard let bst = b.child(NS.wssSecext, "BinarySecurityToken") else {
            throw WireError(.missingElement, "The request carries no BinarySecurityToken with the certificate request.")
        }
        tokenValueType = bst.attributes["ValueType"] ?? ""
        let compact = bst.text.filter { !$0.isWhitespace }
        guard !compact.isEmpty, let der = Data(base64Encoded: compact) else {
            throw WireError(.badValue, "The BinarySecurityToken is not valid base64.")
        }
        token = [UInt8](der)
        contextItems = b.child(NS.authorization, "AdditionalContext")?.children(NS.authorization, "ContextItem").map {
            (name: $0.attributes["Name"] ?? "", value: $0.child(NS.authorization, "Value")?.trimmedText ?? "")
        } ?? []
    }

    /// The first value of a context item; names are case-sensitive.
    public func context(_ name: String) -> String? { contextItems.first { $0.name == name }?.value }
    public func contextAll(_ name: String) -> [String] { contextItems.filter { $0.name == name }.map(\.value) }

    public var isRenewal: Bool { requestType == TokenValueType.renew }

    public static func == (a: Self, b: Self) -> Bool {
        a.header == b.header && a.tokenType == b.tokenType && a.requestType == b.requestType && a.token == b.token
            && a.contextItems.map { [$0.name, $0.value] } == b.contextItems.map { [$0.name, $0.value] }
    }
}

/// RequestSecurityTokenResponseCollection carrying the provisioning document (PROTOCOL.md §5.4; sample 13).
public struct RequestSecurityTokenResponse: Sendable {
    public var relatesTo: String
    public var created: Date
    public var expires: Date
    public var provisioningDocument: String

    public init(relatesTo: String, created: Date, expires: Date, provisioningDocument: String) {
        self.relatesTo = relatesTo
        self.created = created
        self.expires = expires
        self.provisioningDocument = provisioningDocument
    }

    public func encode() -> String {
        let b64 = Data(provisioningDocument.utf8).base64EncodedString()
        return """
        <s:Envelope xmlns:s="\(NS.soap)" xmlns:a="\(NS.addressing)" xmlns:u="\(NS.wssUtility)">\
        <s:Header>\
        <a:Action s:mustUnderstand="1">\(Action.requestSecurityTokenResponse)</a:Action>\
        <a:RelatesTo>\(xmlEscape(relatesTo))</a:RelatesTo>\
        <o:Security xmlns:o="\(NS.wssSecext)" s:mustUnderstand="1">\
        <u:Timestamp u:Id="_0">\
        <u:Created>\(WireTime.format(created))</u:Created>\
        <u:Expires>\(WireTime.format(expires))</u:Expires>\
        </u:Timestamp>\
        </o:Security>\
        </s:Header>\
        <s:Body>\
        <RequestSecurityTokenResponseCollection xmlns="\(NS.wsTrust)">\
        <RequestSecurityTokenResponse>\
        <TokenType>\(TokenValueType.deviceEnrollmentToken)</TokenType>\
        <DispositionMessage xmlns="\(NS.enrollment)"></DispositionMessage>\
        <RequestedSecurityToken>\
        <BinarySecurityToken xmlns="\(NS.wssSecext)" ValueType="\(TokenValueType.provisionDoc)" EncodingType="\(TokenValueType.base64Encoding)">\(b64)</BinarySecurityToken>\
        </RequestedSecurityToken>\
        <RequestID xmlns="\(NS.enrollment)">0</RequestID>\
        </RequestSecurityTokenResponse>\
        </RequestSecurityTokenResponseCollection>\
        </s:Body>\
        </s:Envelope>
        """
    }

    /// Reads the provisioning document back out of an RSTRC (the emulator's side).
    public static func provisioningDocument(from env: SOAPEnvelope) throws(WireError) -> String {
        guard env.body.name == "RequestSecurityTokenResponseCollection",
              let bst = env.body.descendant(NS.wssSecext, "BinarySecurityToken") else {
            throw WireError(.wrongOperation, "Expected a RequestSecurityTokenResponseCollection, got \(env.body.name).")
        }
        guard let data = Data(base64Encoded: bst.trimmedText) else {
            throw WireError(.badValue, "The provisioning document is not valid base64.")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// `yyyy-MM-ddTHH:mm:ss.fffZ`, UTC (PROTOCOL.md P5).
public enum WireTime {
    public static func format(_ date: Date) -> String {
        let ms = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let secs = ms / 1000, frac = ms % 1000
        var tm = tm()
        var t = time_t(secs)
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(frac), 3))Z"
    }
}
