/// Which protocol step an attempt reached.
public enum EnrollmentPhase: String, Codable, Sendable, CaseIterable {
    case discovery, auth, policy, enroll
    /// An OMA-DM management session.
    case manage
    /// A device renewing its enrollment certificate (WS-Trust Renew, or Issue with a PKCS#7 token).
    case renew
    /// A sign-in to the web console (recorded when it fails, so lockouts and guessing show up with the rest).
    case console
}

/// How the enrolling party proved who it is.
public enum CredentialKind: String, Codable, Sendable {
    /// WS-Security UsernameToken (OnPremise).
    case password
    /// A token winmdm's own sign-in page issued (Federated, Web Authentication Broker).
    case federatedToken = "federated-token"
    /// An Entra ID access token (not accepted by winmdm; recorded as such).
    case entraJWT = "entra-jwt"
    /// The device's current enrollment certificate (renewal: TLS client certificate and PKCS#7 signature).
    case certificate
    case none
}

/// `EnrollmentType` as the device sends it in AdditionalContext.
public enum EnrollmentType: String, Codable, Sendable {
    /// User enrollment: the certificate goes to `My/User`.
    case full = "Full"
    /// Device enrollment (Entra join, provisioning packages): `My/System`.
    case device = "Device"

    public init?(wire: String) {
        switch wire.lowercased() {
        case "full": self = .full
        case "device": self = .device
        default: return nil
        }
    }
}

/// How a device is being enrolled, as the policy sees it.
public enum EnrollmentKind: String, Codable, Sendable, CaseIterable {
    /// EnrollmentType Full by a person: a personal device; counts toward the device limit.
    case user
    /// EnrollmentType Device by a person (join): corporate; counts toward the join quota.
    case device
    /// By a bulk enrollment package account (provisioning package): corporate; counts toward the join quota.
    case bulk

    public var isPersonal: Bool { self == .user }
}

/// What an enrollment request says about who enrolls which device, extracted from the wire.
///
/// Everything comes from what Windows really sends (RST AdditionalContext, the security header, discovery).
public struct EnrollmentFacts: Codable, Sendable, Equatable {
    public var upn: String?
    public var credential: CredentialKind
    public var enrollmentType: EnrollmentType?
    public var deviceID: String?
    public var hwDevID: String?
    public var deviceName: String?
    public var deviceType: String?
    /// Decimal `PRODUCT_*` SKU.
    public var osEdition: Int?
    public var osVersion: String?
    public var requestVersion: String?
    public var locale: String?
    public var macAddresses: [String]
    /// Set once the credential is known (a package account makes it bulk).
    public var kind: EnrollmentKind?
    /// The `NotInOobe` context item (Windows 10 1903+): true when enrolled from Settings rather than setup.
    public var notInOOBE: Bool?
    /// `ZeroTouchProvisioning` or `OfflineAutoPilotEnrollmentCorrelator` was sent: Windows Autopilot is enrolling.
    public var autopilot: Bool?
    /// `OfflineAutoPilotEnrollmentCorrelator`: the `ZtdCorrelationId` of the AutopilotConfigurationFile.json used.
    public var autopilotCorrelator: String?

    public init(
        upn: String? = nil, credential: CredentialKind = .none, enrollmentType: EnrollmentType? = nil,
        deviceID: String? = nil, hwDevID: String? = nil, deviceName: String? = nil, deviceType: String? = nil,
        osEdition: Int? = nil, osVersion: String? = nil, requestVersion: String? = nil, locale: String? = nil,
        macAddresses: [String] = [], kind: EnrollmentKind? = nil
    ) {
        self.kind = kind
        self.upn = upn
        self.credential = credential
        self.enrollmentType = enrollmentType
        self.deviceID = deviceID
        self.hwDevID = hwDevID
        self.deviceName = deviceName
        self.deviceType = deviceType
        self.osEdition = osEdition
        self.osVersion = osVersion
        self.requestVersion = requestVersion
        self.locale = locale
        self.macAddresses = macAddresses
    }

    /// The kind for a credential that is (or is not) a bulk package account.
    public func kind(packageAccount: Bool) -> EnrollmentKind {
        packageAccount ? .bulk : (enrollmentType == .device ? .device : .user)
    }
}

/// Windows editions by `PRODUCT_*` value (MS-MDE2 §2.2.9.6; GetProductInfo).
public enum WindowsEdition {
    public static let homeSKUs: Set<Int> = [98, 99, 100, 101]

    public static func isHome(_ sku: Int) -> Bool { homeSKUs.contains(sku) }

    public static func name(_ sku: Int) -> String {
        switch sku {
        case 4: "Enterprise"
        case 27: "Enterprise N"
        case 48: "Pro"
        case 49: "Pro N"
        case 72: "Enterprise Evaluation"
        case 98: "Home N"
        case 99: "Home China"
        case 100: "Home Single Language"
        case 101: "Home"
        case 121: "Education"
        case 122: "Education N"
        case 125: "Enterprise LTSC"
        case 161: "Pro for Workstations"
        case 164: "Pro Education"
        case 175: "Enterprise multi-session"
        default: "SKU \(sku)"
        }
    }
}
