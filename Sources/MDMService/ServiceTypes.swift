import Foundation
import MDMCore

/// What a route hands to a service: the body and a little about the connection.
public struct RequestMetadata: Sendable {
    public var remoteAddress: String?
    public var userAgent: String?
    /// The URL the request was made to (for the sign-in page's form action), without query.
    public var path: String
    /// The DER of the certificate the client presented (TLS handshake or trusted proxy header), if any.
    public var clientCertificate: [UInt8]?

    public init(remoteAddress: String? = nil, userAgent: String? = nil, path: String = "") {
        self.remoteAddress = remoteAddress
        self.userAgent = userAgent
        self.path = path
    }
}

/// What a service hands back: bytes, status and content type. The route adds nothing but Content-Length.
public struct ServiceResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(status: Int = 200, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func soap(_ xml: String, status: Int = 200) -> ServiceResponse {
        ServiceResponse(status: status, contentType: "application/soap+xml; charset=utf-8", body: Array(xml.utf8))
    }

    public static func html(_ html: String, status: Int = 200) -> ServiceResponse {
        ServiceResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(html.utf8),
                        headers: [("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"),
                                  ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self' ms-app:")])
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Settings of the running server that shape what goes on the wire.
public struct ServerConfiguration: Sendable {
    /// `https://host:port`, no trailing slash; every advertised URL is built from it.
    public var publicURL: String
    /// Stable forever: it names the enrollment on every device (PROVIDER-ID).
    public var providerID: String
    public var serverName: String
    public var certificateValidity: TimeInterval
    /// Bodies above this size are refused before they are read (413).
    public var maxBodyBytes: Int
    /// HTTP status for SOAP faults; 200 as every deployed server uses (PROTOCOL.md U1).
    public var faultHTTPStatus: Int

    public init(publicURL: String, providerID: String = "winmdm", serverName: String = "winmdm",
                certificateValidity: TimeInterval = 365 * 86400, maxBodyBytes: Int = 256 * 1024, faultHTTPStatus: Int = 200) {
        self.publicURL = publicURL.trimmingTrailingSlash()
        self.providerID = providerID
        self.serverName = serverName
        self.certificateValidity = certificateValidity
        self.maxBodyBytes = maxBodyBytes
        self.faultHTTPStatus = faultHTTPStatus
    }

    /// ROBO renewal settings sent in the provisioning document, consistent with the certificate lifetime: with a year
    /// or more, renewal starts 60 days before expiry and retries every 4 days (the range Microsoft recommends); shorter
    /// lifetimes start in the last third. Devices never renew an expired certificate, so the window must come first.
    public var renewal: (periodDays: Int, retryIntervalDays: Int) {
        let days = Int(certificateValidity / 86400)
        let period = days >= 180 ? 60 : max(1, days / 3)
        return (period, max(1, min(4, period / 4)))
    }

    public var discoveryURL: String { publicURL + Paths.discovery }
    public var policyURL: String { publicURL + Paths.policy }
    public var enrollmentURL: String { publicURL + Paths.enrollment }
    public var authURL: String { publicURL + Paths.auth }
    public var managementURL: String { publicURL + Paths.management }
}

public enum Paths {
    public static let discovery = "/EnrollmentServer/Discovery.svc"
    public static let policy = "/EnrollmentServer/Policy.svc"
    public static let enrollment = "/EnrollmentServer/Enrollment.svc"
    public static let auth = "/EnrollmentServer/Auth"
    public static let termsOfUse = "/EnrollmentServer/TermsOfUse"
    public static let management = "/ManagementServer/MDM.svc"
}
