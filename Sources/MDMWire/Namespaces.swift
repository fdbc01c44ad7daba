/// Namespace URIs and fixed strings of the enrollment protocols (PROTOCOL.md §1.2, §1.3).
public enum NS {
    public static let soap = "http://www.w3.org/2003/05/soap-envelope"
    public static let addressing = "http://www.w3.org/2005/08/addressing"
    public static let wssUtility = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    public static let wssSecext = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    public static let wsTrust = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
    public static let authorization = "http://schemas.xmlsoap.org/ws/2006/12/authorization"
    public static let discovery = "http://schemas.microsoft.com/windows/management/2012/01/enrollment"
    public static let enrollmentPolicy = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
    public static let enrollment = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
    public static let diagnostics = "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics"
    public static let wcfDispatcher = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
    public static let xsi = "http://www.w3.org/2001/XMLSchema-instance"
    public static let xsd = "http://www.w3.org/2001/XMLSchema"
}

public enum Action {
    public static let discover = "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover"
    public static let discoverResponse = "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse"
    public static let getPolicies = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies"
    public static let getPoliciesResponse = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse"
    public static let requestSecurityToken = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep"
    public static let requestSecurityTokenResponse = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep"
}

public enum TokenValueType {
    public static let pkcs10 = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10"
    /// The renewal token as MS-MDE names it; MS Learn and MS-MDE2 use `pkcs7Secext`. Both are accepted.
    public static let pkcs7 = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS7"
    public static let pkcs7Secext = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#PKCS7"
    public static let userToken = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken"
    public static let jwt = "urn:ietf:params:oauth:token-type:jwt"
    public static let provisionDoc = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc"
    public static let deviceEnrollmentToken = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken"
    public static let base64Encoding = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary"
    public static let passwordText = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
    public static let issue = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
    public static let renew = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew"
}
