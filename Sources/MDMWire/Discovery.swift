/// A Discover request (MS-MDE2 §3.1.4.1.1.1; PROTOCOL.md §2.3; samples 02, 03).
public struct DiscoverRequest: Sendable, Equatable {
    public var header: SOAPHeader
    public var emailAddress: String
    public var requestVersion: String
    public var deviceType: String?
    public var applicationVersion: String?
    public var osEdition: String?
    public var authPolicies: [String]

    public static let minimumRequestVersion = 4.0

    public init(_ env: SOAPEnvelope) throws(WireError) {
        let b = env.body
        // Some Microsoft documents write the namespace with a trailing slash; accept both.
        guard b.name == "Discover", b.namespace == NS.discovery || b.namespace == NS.discovery + "/" else {
            throw WireError(.wrongOperation, "Expected a Discover request, got \(b.name).")
        }
        guard let r = b.children.first(where: { $0.name == "request" }) else {
            throw WireError(.missingElement, "The Discover request has no request element.")
        }
        func field(_ n: String) -> String? { r.children.first { $0.name == n }?.trimmedText }
        header = env.header
        emailAddress = field("EmailAddress") ?? ""
        requestVersion = field("RequestVersion") ?? ""
        deviceType = field("DeviceType")
        applicationVersion = field("ApplicationVersion")
        osEdition = field("OSEdition")
        authPolicies = r.children.first { $0.name == "AuthPolicies" }?.children
            .filter { $0.name == "AuthPolicy" }.map(\.trimmedText) ?? []
        // Any version at or above the minimum is fine (Windows 11 25H2 sends 9.0; PROTOCOL.md P1).
        guard let v = Double(requestVersion), v >= Self.minimumRequestVersion else {
            throw WireError(.badValue, "RequestVersion '\(requestVersion)' is not supported; version 4.0 or later is required.")
        }
    }
}

/// The DiscoverResponse (PROTOCOL.md §2.4; sample 04).
public struct DiscoverResponse: Sendable {
    public var relatesTo: String
    public var activityID: String
    public var authPolicy: String
    public var enrollmentVersion: String = "4.0"
    public var policyServiceURL: String
    public var enrollmentServiceURL: String
    public var authenticationServiceURL: String?

    public init(relatesTo: String, activityID: String, authPolicy: String, policyServiceURL: String,
                enrollmentServiceURL: String, authenticationServiceURL: String?) {
        self.relatesTo = relatesTo
        self.activityID = activityID
        self.authPolicy = authPolicy
        self.policyServiceURL = policyServiceURL
        self.enrollmentServiceURL = enrollmentServiceURL
        self.authenticationServiceURL = authenticationServiceURL
    }

    public func encode() -> String {
        let auth = authenticationServiceURL.map { "<AuthenticationServiceUrl>\(xmlEscape($0))</AuthenticationServiceUrl>" } ?? ""
        return """
        <s:Envelope xmlns:s="\(NS.soap)" xmlns:a="\(NS.addressing)">\
        <s:Header>\
        <a:Action s:mustUnderstand="1">\(Action.discoverResponse)</a:Action>\
        <ActivityId CorrelationId="\(xmlEscape(activityID))" xmlns="\(NS.diagnostics)">\(xmlEscape(activityID))</ActivityId>\
        <a:RelatesTo>\(xmlEscape(relatesTo))</a:RelatesTo>\
        </s:Header>\
        <s:Body xmlns:xsi="\(NS.xsi)" xmlns:xsd="\(NS.xsd)">\
        <DiscoverResponse xmlns="\(NS.discovery)">\
        <DiscoverResult>\
        <AuthPolicy>\(xmlEscape(authPolicy))</AuthPolicy>\
        <EnrollmentVersion>\(xmlEscape(enrollmentVersion))</EnrollmentVersion>\
        <EnrollmentPolicyServiceUrl>\(xmlEscape(policyServiceURL))</EnrollmentPolicyServiceUrl>\
        <EnrollmentServiceUrl>\(xmlEscape(enrollmentServiceURL))</EnrollmentServiceUrl>\
        \(auth)\
        </DiscoverResult>\
        </DiscoverResponse>\
        </s:Body>\
        </s:Envelope>
        """
    }
}

/// The one escape function every emitted document goes through (STACK.md: output through templates).
public func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Characters XML 1.0 cannot carry at all are dropped rather than emitted.
            if ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r" { continue }
            out.unicodeScalars.append(ch)
        }
    }
    return out
}
