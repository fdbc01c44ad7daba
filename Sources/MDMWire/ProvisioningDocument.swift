import Foundation

/// The wap-provisioningdoc delivered in the RSTRC (PROTOCOL.md §5.5; sample 14 user context, 15 device context).
public struct ProvisioningDocument: Sendable {
    public struct Poll: Sendable {
        public var firstRetries = 8, firstInterval = 15
        public var secondRetries = 5, secondInterval = 3
        public var remainingRetries = 0, remainingInterval = 1560
        public init() {}
    }

    public var rootThumbprint: String
    public var rootCertificateBase64: String
    public var clientThumbprint: String
    public var clientCertificateBase64: String
    /// `User` for EnrollmentType Full, `System` for Device.
    public var store: String
    /// The issued certificate's subject CN; SSLCLIENTCERTSEARCHCRITERIA must match it exactly.
    public var subjectCommonName: String
    public var providerID: String
    public var serverName: String
    public var managementURL: String
    public var entDMID: String
    public var deviceName: String?
    public var upn: String?
    public var poll = Poll()
    /// Renewal settings; only sent when the server implements renewal (PROTOCOL.md P14).
    public var renewal: (period: Int, retryInterval: Int)?

    public init(rootThumbprint: String, rootCertificateBase64: String, clientThumbprint: String,
                clientCertificateBase64: String, store: String, subjectCommonName: String, providerID: String,
                serverName: String, managementURL: String, entDMID: String, deviceName: String?, upn: String?) {
        self.rootThumbprint = rootThumbprint
        self.rootCertificateBase64 = rootCertificateBase64
        self.clientThumbprint = clientThumbprint
        self.clientCertificateBase64 = clientCertificateBase64
        self.store = store
        self.subjectCommonName = subjectCommonName
        self.providerID = providerID
        self.serverName = serverName
        self.managementURL = managementURL
        self.entDMID = entDMID
        self.deviceName = deviceName
        self.upn = upn
    }

    /// `Subject=CN%3D<cn>&Stores=My%5CUser`: URL-escaped, `&` escaped once by the XML writer (PROTOCOL.md P12).
    public var searchCriteria: String {
        "Subject=" + Self.percentEscape("CN=" + subjectCommonName) + "&Stores=" + Self.percentEscape("My\\" + store)
    }

    static func percentEscape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || "-_.!~*'()".contains(c)) { out.append(c) }
            else { out += String(format: "%%%02X", b) }
        }
        return out
    }

    public func encode() -> String {
        func parm(_ name: String, _ value: String?, _ type: String? = nil) -> String {
            guard let value else { return "<parm name=\"\(name)\" />" }
            let dt = type.map { " datatype=\"\($0)\"" } ?? ""
            return "<parm name=\"\(name)\" value=\"\(xmlEscape(value))\"\(dt) />"
        }
        let renew = renewal.map {
            "<characteristic type=\"WSTEP\"><characteristic type=\"Renew\">" +
            parm("ROBOSupport", "true", "boolean") + parm("RenewPeriod", String($0.period), "integer") +
            parm("RetryInterval", String($0.retryInterval), "integer") + "</characteristic></characteristic>"
        } ?? ""
        let upnParm = upn.map { parm("UPN", $0, "string") } ?? ""
        let nameParm = deviceName.map { parm("EntDeviceName", $0, "string") } ?? ""
        return """
        <wap-provisioningdoc version="1.1">\
        <characteristic type="CertificateStore">\
        <characteristic type="Root"><characteristic type="System">\
        <characteristic type="\(rootThumbprint)">\(parm("EncodedCertificate", rootCertificateBase64))</characteristic>\
        </characteristic></characteristic>\
        <characteristic type="My">\
        <characteristic type="\(store)">\
        <characteristic type="\(clientThumbprint)">\(parm("EncodedCertificate", clientCertificateBase64))</characteristic>\
        <characteristic type="PrivateKeyContainer" />\
        </characteristic>\
        \(renew)\
        </characteristic>\
        </characteristic>\
        <characteristic type="APPLICATION">\
        \(parm("APPID", "w7"))\
        \(parm("PROVIDER-ID", providerID))\
        \(parm("NAME", serverName))\
        \(parm("ADDR", managementURL))\
        \(parm("CONNRETRYFREQ", "6"))\
        \(parm("INITIALBACKOFFTIME", "30000"))\
        \(parm("MAXBACKOFFTIME", "120000"))\
        \(parm("BACKCOMPATRETRYDISABLED", nil))\
        \(parm("DEFAULTENCODING", "application/vnd.syncml.dm+xml"))\
        \(parm("SSLCLIENTCERTSEARCHCRITERIA", searchCriteria))\
        <characteristic type="APPAUTH">\
        \(parm("AAUTHLEVEL", "CLIENT"))\(parm("AAUTHTYPE", "DIGEST"))\
        \(parm("AAUTHSECRET", "unused-client-auth-is-mutual-tls"))\(parm("AAUTHDATA", "bm9uY2U="))\
        </characteristic>\
        <characteristic type="APPAUTH">\
        \(parm("AAUTHLEVEL", "APPSRV"))\(parm("AAUTHTYPE", "DIGEST"))\(parm("AAUTHNAME", subjectCommonName))\
        \(parm("AAUTHSECRET", "unused-client-auth-is-mutual-tls"))\(parm("AAUTHDATA", "bm9uY2U="))\
        </characteristic>\
        </characteristic>\
        <characteristic type="DMClient"><characteristic type="Provider">\
        <characteristic type="\(xmlEscape(providerID))">\
        \(parm("EntDMID", entDMID, "string"))\
        \(nameParm)\
        \(upnParm)\
        <characteristic type="Poll">\
        \(parm("NumberOfFirstRetries", String(poll.firstRetries), "integer"))\
        \(parm("IntervalForFirstSetOfRetries", String(poll.firstInterval), "integer"))\
        \(parm("NumberOfSecondRetries", String(poll.secondRetries), "integer"))\
        \(parm("IntervalForSecondSetOfRetries", String(poll.secondInterval), "integer"))\
        \(parm("NumberOfRemainingScheduledRetries", String(poll.remainingRetries), "integer"))\
        \(parm("IntervalForRemainingScheduledRetries", String(poll.remainingInterval), "integer"))\
        \(parm("PollOnLogin", "true", "boolean"))\
        </characteristic>\
        </characteristic>\
        </characteristic></characteristic>\
        </wap-provisioningdoc>
        """
    }
}

/// The provisioning document answering a renewal (PROTOCOL.md §10.2; sample 29): only the new client certificate,
/// and PROVIDER-ID so Windows binds it to the existing DM account. The device deletes the old certificate itself.
public struct RenewalProvisioningDocument: Sendable {
    public var clientThumbprint: String
    public var clientCertificateBase64: String
    /// `User` or `System`, as at enrollment.
    public var store: String
    public var providerID: String

    public init(clientThumbprint: String, clientCertificateBase64: String, store: String, providerID: String) {
        self.clientThumbprint = clientThumbprint
        self.clientCertificateBase64 = clientCertificateBase64
        self.store = store
        self.providerID = providerID
    }

    public func encode() -> String {
        """
        <wap-provisioningdoc version="1.1">\
        <characteristic type="CertificateStore">\
        <characteristic type="My">\
        <characteristic type="\(xmlEscape(store))">\
        <characteristic type="\(xmlEscape(clientThumbprint))">\
        <parm name="EncodedCertificate" value="\(xmlEscape(clientCertificateBase64))" />\
        <characteristic type="PrivateKeyContainer" />\
        </characteristic>\
        </characteristic>\
        </characteristic>\
        </characteristic>\
        <characteristic type="APPLICATION">\
        <parm name="PROVIDER-ID" value="\(xmlEscape(providerID))" />\
        </characteristic>\
        </wap-provisioningdoc>
        """
    }
}

/// A read-only view of a provisioning document, for the emulator and for tests.
public struct ProvisioningDocumentView: Sendable {
    public let root: XMLNode

    public init(xml: String) throws(WireError) {
        root = try XMLReader.parse(Array(xml.utf8))
        guard root.name == "wap-provisioningdoc" else {
            throw WireError(.wrongOperation, "Not a wap-provisioningdoc: \(root.name).")
        }
    }

    public func characteristic(_ path: String...) -> XMLNode? {
        var node: XMLNode? = root
        for type in path {
            node = node?.children.first { $0.name == "characteristic" && $0.attributes["type"] == type }
        }
        return node
    }

    public func parm(_ name: String, in node: XMLNode?) -> String? {
        node?.children.first { $0.name == "parm" && $0.attributes["name"] == name }?.attributes["value"]
    }

    /// The certificates under `CertificateStore/<store>/<sub>`: (thumbprint, base64 DER).
    public func certificates(_ store: String, _ sub: String) -> [(thumbprint: String, base64: String)] {
        (characteristic("CertificateStore", store, sub)?.children ?? []).compactMap { c in
            guard let t = c.attributes["type"], t != "PrivateKeyContainer", let v = parm("EncodedCertificate", in: c) else { return nil }
            return (t, v)
        }
    }
}
