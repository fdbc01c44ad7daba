/// The SOAP fault subcodes Windows understands, and the HRESULT each one becomes on the device.
///
/// MS-MDE2 §2.2.10; PROTOCOL.md §7.2.
public enum FaultSubcode: String, Codable, Sendable, CaseIterable {
    case messageFormat = "MessageFormat"
    case authentication = "Authentication"
    case authorization = "Authorization"
    case certificateRequest = "CertificateRequest"
    case enrollmentServer = "EnrollmentServer"
    /// WCF dispatcher namespace, not the SOAP one.
    case internalServiceFault = "InternalServiceFault"
    /// WCF dispatcher namespace, not the SOAP one.
    case invalidSecurity = "InvalidSecurity"

    /// The code Windows reports for a fault with this subcode and no detail.
    public var hresult: UInt32 {
        switch self {
        case .messageFormat: 0x8018_0001
        case .authentication: 0x8018_0002
        case .authorization: 0x8018_0003
        case .certificateRequest: 0x8018_0004
        case .enrollmentServer: 0x8018_0005
        case .internalServiceFault: 0x8018_0006
        case .invalidSecurity: 0x8018_0007
        }
    }

    /// Whether the QName lives in the WCF dispatcher namespace rather than the SOAP envelope namespace.
    public var isWCFDispatcher: Bool { self == .internalServiceFault || self == .invalidSecurity }
}

/// `DeviceEnrollmentServiceError/ErrorType` values and their HRESULTs (MS-MDE2 §2.2.10; PROTOCOL.md §7.3).
public enum FaultErrorType: String, Codable, Sendable, CaseIterable {
    case deviceCapReached = "DeviceCapReached"
    case deviceNotSupported = "DeviceNotSupported"
    case notSupported = "NotSupported"
    case notEligibleToRenew = "NotEligibleToRenew"
    case inMaintenance = "InMaintenance"
    case userLicense = "UserLicense"
    case invalidEnrollmentData = "InvalidEnrollmentData"
    case customServerError = "CustomServerError"

    public var hresult: UInt32 {
        switch self {
        case .deviceCapReached: 0x8018_0013
        case .deviceNotSupported: 0x8018_0014
        case .notSupported: 0x8018_0015
        case .notEligibleToRenew: 0x8018_0016
        case .inMaintenance: 0x8018_0017
        case .userLicense: 0x8018_0018
        case .invalidEnrollmentData: 0x8018_0019
        case .customServerError: 0x8018_0032
        }
    }
}

/// A fault the enrollment service sends: what Windows sees, and the sentence that says why.
public struct EnrollmentFault: Codable, Sendable, Equatable {
    public var subcode: FaultSubcode
    public var errorType: FaultErrorType?
    /// One sentence naming the cause; sent in `s:Reason` and the detail `Message`.
    public var reason: String
    /// A code Windows shows that no SOAP fault carried: a failure after enrollment (the Enrollment Status Page's),
    /// recorded in the same shape so it is listed, searched and explained like the others. Never sent.
    public var deviceCode: UInt32?

    public init(subcode: FaultSubcode, errorType: FaultErrorType? = nil, reason: String, deviceCode: UInt32? = nil) {
        self.subcode = subcode
        self.errorType = errorType
        self.reason = reason
        self.deviceCode = deviceCode
    }

    /// The HRESULT the device reports for this fault: the detail's when there is one, else the subcode's.
    public var hresult: UInt32 { deviceCode ?? errorType?.hresult ?? subcode.hresult }

    /// What the device showed after enrollment (nothing is sent).
    public static func afterEnrollment(_ code: UInt32, _ reason: String) -> Self {
        .init(subcode: .enrollmentServer, reason: reason, deviceCode: code)
    }

    public var code: String { HResult.format(hresult) }

    public static func messageFormat(_ reason: String) -> Self { .init(subcode: .messageFormat, reason: reason) }
    public static func authentication(_ reason: String) -> Self { .init(subcode: .authentication, reason: reason) }
    public static func authorization(_ reason: String) -> Self { .init(subcode: .authorization, reason: reason) }
    public static func certificateRequest(_ reason: String) -> Self { .init(subcode: .certificateRequest, reason: reason) }
    public static func internalError(_ reason: String) -> Self { .init(subcode: .internalServiceFault, reason: reason) }
    public static func detail(_ type: FaultErrorType, _ reason: String) -> Self {
        .init(subcode: .authorization, errorType: type, reason: reason)
    }
}

public enum HResult {
    /// `0x80180003` style: upper-case, eight digits.
    public static func format(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
