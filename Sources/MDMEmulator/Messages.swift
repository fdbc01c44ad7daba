import Foundation
import MDMWire

/// The requests Windows sends, in the shape of the real captures (samples 02, 07, 11).
enum Messages {
    static let envelopeOpen = """
    <s:Envelope xmlns:s="\(NS.soap)" xmlns:a="\(NS.addressing)" xmlns:u="\(NS.wssUtility)" xmlns:wsse="\(NS.wssSecext)" xmlns:wst="\(NS.wsTrust)" xmlns:ac="\(NS.authorization)">
    """

    static func header(action: String, messageID: String, to: String, security: String?) -> String {
        """
        <s:Header>
        <a:Action s:mustUnderstand="1">\(action)</a:Action>
        <a:MessageID>\(messageID)</a:MessageID>
        <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
        <a:To s:mustUnderstand="1">\(xmlEscape(to))</a:To>
        \(security.map { "<wsse:Security s:mustUnderstand=\"1\">\($0)</wsse:Security>" } ?? "")
        </s:Header>
        """
    }

    static func discover(profile: DeviceProfile, to: String) -> String {
        """
        <s:Envelope xmlns:a="\(NS.addressing)" xmlns:s="\(NS.soap)">
        \(header(action: Action.discover, messageID: "urn:uuid:" + UUID().uuidString.lowercased(), to: to, security: nil))
        <s:Body>
        <Discover xmlns="\(NS.discovery)">
        <request xmlns:i="\(NS.xsi)">
        <EmailAddress>\(xmlEscape(profile.upn))</EmailAddress>
        <RequestVersion>\(xmlEscape(profile.requestVersion))</RequestVersion>
        <DeviceType>CIMClient_Windows</DeviceType>
        <ApplicationVersion>\(xmlEscape(profile.osVersion))</ApplicationVersion>
        <OSEdition>\(profile.osEdition)</OSEdition>
        <AuthPolicies><AuthPolicy>OnPremise</AuthPolicy><AuthPolicy>Federated</AuthPolicy></AuthPolicies>
        </request>
        </Discover>
        </s:Body>
        </s:Envelope>
        """
    }

    static func usernameToken(_ user: String, _ password: String) -> String {
        """
        <wsse:UsernameToken u:Id="uuid-\(UUID().uuidString.lowercased())-4">\
        <wsse:Username>\(xmlEscape(user))</wsse:Username>\
        <wsse:Password wsse:Type="\(TokenValueType.passwordText)">\(xmlEscape(password))</wsse:Password>\
        </wsse:UsernameToken>
        """
    }

    static func userToken(_ base64: String) -> String {
        "<wsse:BinarySecurityToken ValueType=\"\(TokenValueType.userToken)\" EncodingType=\"\(TokenValueType.base64Encoding)\">\(base64)</wsse:BinarySecurityToken>"
    }

    static func getPolicies(to: String, security: String) -> String {
        """
        \(envelopeOpen)
        \(header(action: Action.getPolicies, messageID: "urn:uuid:" + UUID().uuidString.uppercased(), to: to, security: security))
        <s:Body xmlns:xsi="\(NS.xsi)" xmlns:xsd="\(NS.xsd)">
        <GetPolicies xmlns="\(NS.enrollmentPolicy)">
        <client><lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client>
        <requestFilter xsi:nil="true"/>
        </GetPolicies>
        </s:Body>
        </s:Envelope>
        """
    }

    static func requestSecurityToken(profile p: DeviceProfile, to: String, security: String, csrBase64: String) -> String {
        var items: [(String, String)] = [
            ("UXInitiated", "true"), ("HWDevID", p.hwDevID), ("Locale", "en-US"), ("TargetedUserLoggedIn", "true"),
            ("OSEdition", String(p.osEdition)), ("DeviceName", p.deviceName),
        ]
        items += p.macAddresses.map { ("MAC", $0) }
        items += [
            ("DeviceID", p.deviceID), ("EnrollmentType", p.enrollmentType.rawValue), ("DeviceType", "CIMClient_Windows"),
            ("OSVersion", p.osVersion), ("ApplicationVersion", p.osVersion), ("NotInOobe", p.notInOOBE ? "true" : "false"),
        ]
        // Windows Autopilot's scenario hint, and the offline profile file's correlation id.
        if p.autopilot { items.append(("ZeroTouchProvisioning", "true")) }
        if let c = p.autopilotCorrelator { items.append(("OfflineAutoPilotEnrollmentCorrelator", c)) }
        let context = items.map {
            "<ac:ContextItem Name=\"\(xmlEscape($0.0))\"><ac:Value>\(xmlEscape($0.1))</ac:Value></ac:ContextItem>"
        }.joined(separator: "\n")
        return """
        \(envelopeOpen)
        \(header(action: Action.requestSecurityToken, messageID: "urn:uuid:" + UUID().uuidString.lowercased(), to: to, security: security))
        <s:Body>
        <wst:RequestSecurityToken>
        <wst:TokenType>\(TokenValueType.deviceEnrollmentToken)</wst:TokenType>
        <wst:RequestType>\(TokenValueType.issue)</wst:RequestType>
        <wsse:BinarySecurityToken ValueType="\(TokenValueType.pkcs10)" EncodingType="\(TokenValueType.base64Encoding)">\(csrBase64)</wsse:BinarySecurityToken>
        <ac:AdditionalContext xmlns="\(NS.authorization)">
        \(context)
        </ac:AdditionalContext>
        </wst:RequestSecurityToken>
        </s:Body>
        </s:Envelope>
        """
    }

    /// The automatic (ROBO) renewal request of sample 28: minimal context, the PKCS#7 in the body.
    static func renewalRequest(profile p: DeviceProfile, to: String, security: String?, requestType: String, valueType: String,
                               tokenBase64: String) -> String {
        """
        \(envelopeOpen)
        \(header(action: Action.requestSecurityToken, messageID: "urn:uuid:" + UUID().uuidString.lowercased(), to: to, security: security))
        <s:Body>
        <wst:RequestSecurityToken>
        <wst:TokenType>\(TokenValueType.deviceEnrollmentToken)</wst:TokenType>
        <wst:RequestType>\(requestType)</wst:RequestType>
        <wsse:BinarySecurityToken ValueType="\(valueType)" EncodingType="\(TokenValueType.base64Encoding)">\(tokenBase64)</wsse:BinarySecurityToken>
        <ac:AdditionalContext xmlns="\(NS.authorization)">
        <ac:ContextItem Name="DeviceType"><ac:Value>CIMClient_Windows</ac:Value></ac:ContextItem>
        <ac:ContextItem Name="ApplicationVersion"><ac:Value>\(xmlEscape(p.osVersion))</ac:Value></ac:ContextItem>
        </ac:AdditionalContext>
        </wst:RequestSecurityToken>
        </s:Body>
        </s:Envelope>
        """
    }
}

extension WindowsDevice {
    /// The GetPolicies request this device sends with its UPN and password, for tests that post it as raw bytes.
    public func policyRequestXML(to url: String) -> String {
        Messages.getPolicies(to: url, security: Messages.usernameToken(profile.upn, profile.password))
    }
}
