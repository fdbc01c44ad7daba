import _CryptoExtras
import Foundation
import MDMCore
import MDMWire

/// What an emulated device is: its identity, its Windows, and who enrolls it.
public struct DeviceProfile: Sendable {
    public var upn: String
    public var password: String
    /// 32 upper-case hex characters, as desktop Windows uses.
    public var deviceID: String
    /// 64 upper-case hex characters.
    public var hwDevID: String
    public var deviceName: String
    /// Decimal `PRODUCT_*`: 48 Pro by default (Home, 101, is refused by a new installation).
    public var osEdition: Int
    public var osVersion: String
    public var enrollmentType: EnrollmentType
    public var requestVersion: String
    public var macAddresses: [String]
    public var csrStyle: WindowsCSR.Style
    public var keyBits: Int
    /// Nodes this device refuses to change, with the status it answers (405 for a policy its edition lacks, 500 for
    /// a value its CSP rejects …).
    public var refusedNodes: [String: String] = [:]
    /// Values of further nodes this device reports (DeviceStatus and the like), LocURI → value.
    public var nodes: [String: String] = [:]
    /// Nodes whose change Windows accepts but never finishes (answered 202 every time): a certificate that never
    /// arrives, an app that never installs.
    public var unfinishedNodes: Set<String> = []
    /// Enrolled from Settings after setup (`NotInOobe` true) rather than during Windows setup.
    public var notInOOBE = false
    /// Enrolled by Windows Autopilot during setup (the request carries `ZeroTouchProvisioning`).
    public var autopilot = false
    /// The `ZtdCorrelationId` of an AutopilotConfigurationFile.json on the device (Autopilot for existing devices).
    public var autopilotCorrelator: String?

    /// Gives the device firmware identity: serial number, manufacturer and model as DevDetail/DevInfo report them.
    public mutating func hardware(serial: String, manufacturer: String = "Contoso Hardware", model: String = "Surface Emulator 1") {
        nodes["./DevDetail/Ext/Microsoft/SMBiosSerialNumber"] = serial
        nodes["./DevInfo/Man"] = manufacturer
        nodes["./DevInfo/Mod"] = model
    }

    /// A hardware hash as `Get-WindowsAutopilotInfo` exports it: padded base64 of the device's 4K blob (random here).
    public static func hardwareHash(bytes: Int = 256) -> String {
        Data((0..<bytes).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    public init(upn: String, password: String, deviceID: String = Self.randomHex(16), hwDevID: String = Self.randomHex(32),
                deviceName: String? = nil, osEdition: Int = 48, osVersion: String = "10.0.22631.4460",
                enrollmentType: EnrollmentType = .full, requestVersion: String = "6.0", csrStyle: WindowsCSR.Style = .windows,
                keyBits: Int = 2048) {
        self.upn = upn
        self.password = password
        self.deviceID = deviceID
        self.hwDevID = hwDevID
        self.deviceName = deviceName ?? "DESKTOP-" + String(Self.randomHex(4).prefix(7))
        self.osEdition = osEdition
        self.osVersion = osVersion
        self.enrollmentType = enrollmentType
        self.requestVersion = requestVersion
        self.macAddresses = (0..<2).map { _ in (0..<6).map { _ in Self.randomHex(1) }.joined(separator: "-") }
        self.csrStyle = csrStyle
        self.keyBits = keyBits
    }

    public static func randomHex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined()
    }
}

/// Why an emulated enrollment failed, as Windows would report it.
public struct DeviceFailure: Error, Sendable, CustomStringConvertible {
    /// The HRESULT the Windows UI and event log would show.
    public var hresult: UInt32
    public var phase: EnrollmentPhase
    public var message: String
    /// The fault's TraceId (winmdm's attempt id), when the server sent one.
    public var traceID: String?
    public var httpStatus: Int?

    public init(hresult: UInt32, phase: EnrollmentPhase, message: String, traceID: String? = nil, httpStatus: Int? = nil) {
        self.hresult = hresult
        self.phase = phase
        self.message = message
        self.traceID = traceID
        self.httpStatus = httpStatus
    }

    public var code: String { HResult.format(hresult) }
    public var description: String { "\(code) during \(phase.rawValue): \(message)" }
}

/// What an enrolled device keeps: its key, its certificate, the management settings.
public struct EnrolledIdentity: Sendable {
    public var privateKey: _RSA.Signing.PrivateKey
    public var certificateDER: [UInt8]
    public var certificateThumbprint: String
    public var rootCertificateDER: [UInt8]
    public var rootThumbprint: String
    public var provisioningDocument: String
    public var providerID: String
    public var managementURL: String
    public var searchCriteria: String
    public var entDMID: String
    /// `User` or `System`, from the provisioning document.
    public var store: String
    public var deviceID: String = ""
}

/// A Windows 10/11 device, speaking only the wire protocol: discovery, (sign-in,) policy, enrollment.
///
/// Messages have the shape of the real captures (samples 02, 07, 11): same prefixes, header fields and context
/// items, a real RSA key and a CSR with Windows' quirks.
public struct WindowsDevice: Sendable {
    public var profile: DeviceProfile
    public let transport: any DeviceTransport

    public init(profile: DeviceProfile, transport: any DeviceTransport) {
        self.profile = profile
        self.transport = transport
    }

    /// Walks the whole enrollment from the discovery URL.
    public func enroll(discoveryURL: String) async throws(DeviceFailure) -> EnrolledIdentity {
        // 1. GET probe, then Discover.
        _ = try await send(.discovery, DeviceRequest(method: "GET", url: discoveryURL, headers: [("User-Agent", "ENROLLClient")]))
        let discovery = try await soap(.discovery, discoveryURL, Messages.discover(profile: profile, to: Self.withPort(discoveryURL)))
        func field(_ n: String) -> String? { discovery.body.descendant(NS.discovery, n)?.trimmedText }
        guard let authPolicy = field("AuthPolicy"), let enrollURL = field("EnrollmentServiceUrl") else {
            throw DeviceFailure(hresult: 0x8018_0001, phase: .discovery, message: "The DiscoverResponse lacks AuthPolicy or EnrollmentServiceUrl.")
        }
        let policyURL = field("EnrollmentPolicyServiceUrl")
        // 2. The credential.
        let security: String
        switch authPolicy {
        case "OnPremise":
            security = Messages.usernameToken(profile.upn, profile.password)
        case "Federated":
            guard let authURL = field("AuthenticationServiceUrl") else {
                throw DeviceFailure(hresult: 0x8018_0001, phase: .discovery, message: "Federated without an AuthenticationServiceUrl.")
            }
            let token = try await signIn(authURL: authURL)
            security = Messages.userToken(Data(token.utf8).base64EncodedString())
        default:
            throw DeviceFailure(hresult: 0x8018_0001, phase: .discovery, message: "Unsupported AuthPolicy \(authPolicy).")
        }
        // 3. Policy (optional for the server to offer).
        if let policyURL {
            _ = try await soap(.policy, policyURL, Messages.getPolicies(to: policyURL, security: security))
        }
        // 4. Key, CSR, RequestSecurityToken.
        let key: _RSA.Signing.PrivateKey
        let csr: [UInt8]
        do {
            key = profile.keyBits >= 2048
                ? try _RSA.Signing.PrivateKey(keySize: .init(bitCount: profile.keyBits))
                : try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: profile.keyBits))
            csr = try WindowsCSR.make(key: key, deviceID: profile.deviceID, style: profile.csrStyle)
        } catch {
            throw DeviceFailure(hresult: 0x8018_0027, phase: .enroll, message: "Key or CSR creation failed: \(error)")
        }
        let rstrc = try await soap(.enroll, enrollURL, Messages.requestSecurityToken(profile: profile, to: enrollURL, security: security,
                                                                                       csrBase64: Data(csr).base64EncodedString()))
        do {
            let xml = try RequestSecurityTokenResponse.provisioningDocument(from: rstrc)
            var identity = try Self.install(xml, key: key)
            identity.deviceID = profile.deviceID
            return identity
        } catch let e as DeviceFailure {
            throw e
        } catch {
            throw DeviceFailure(hresult: 0x8018_0023, phase: .enroll, message: "The provisioning document could not be applied: \(error)")
        }
    }

    /// Applies the provisioning document the way the CSPs would check it: thumbprints, provider id, search criteria.
    static func install(_ xml: String, key: _RSA.Signing.PrivateKey) throws -> EnrolledIdentity {
        let doc = try ProvisioningDocumentView(xml: xml)
        guard let root = doc.certificates("Root", "System").first, let rootDER = Data(base64Encoded: root.base64) else {
            throw DeviceFailure(hresult: 0x8018_001E, phase: .enroll, message: "No root certificate in Root/System.")
        }
        let store = doc.characteristic("CertificateStore", "My", "User") != nil ? "User" : "System"
        guard let mine = doc.certificates("My", store).first, let certDER = Data(base64Encoded: mine.base64) else {
            throw DeviceFailure(hresult: 0x8018_0024, phase: .enroll, message: "No client certificate in My/\(store).")
        }
        for (t, der) in [(root.thumbprint, [UInt8](rootDER)), (mine.thumbprint, [UInt8](certDER))] {
            guard t == SHA1Hex.of(der) else {
                throw DeviceFailure(hresult: 0x8018_001E, phase: .enroll, message: "Thumbprint \(t) does not match its certificate.")
            }
        }
        let app = doc.characteristic("APPLICATION")
        guard let provider = doc.parm("PROVIDER-ID", in: app), doc.characteristic("DMClient", "Provider", provider) != nil else {
            throw DeviceFailure(hresult: 0x8018_0020, phase: .enroll, message: "PROVIDER-ID does not match a DMClient provider node.")
        }
        guard let addr = doc.parm("ADDR", in: app), let criteria = doc.parm("SSLCLIENTCERTSEARCHCRITERIA", in: app),
              criteria.hasSuffix("Stores=My%5C\(store)") else {
            throw DeviceFailure(hresult: 0x8018_001F, phase: .enroll, message: "ADDR or SSLCLIENTCERTSEARCHCRITERIA missing or naming the wrong store.")
        }
        let entDMID = doc.parm("EntDMID", in: doc.characteristic("DMClient", "Provider", provider)) ?? ""
        return EnrolledIdentity(privateKey: key, certificateDER: [UInt8](certDER), certificateThumbprint: mine.thumbprint,
                                rootCertificateDER: [UInt8](rootDER), rootThumbprint: root.thumbprint, provisioningDocument: xml,
                                providerID: provider, managementURL: addr, searchCriteria: criteria, entDMID: entDMID, store: store)
    }

    /// The Web Authentication Broker: open the sign-in page, submit the form, collect `wresult` from the post-back.
    func signIn(authURL: String) async throws(DeviceFailure) -> String {
        let appru = "ms-app://windows.immersivecontrolpanel"
        let sep = authURL.contains("?") ? "&" : "?"
        let url = authURL + sep + "appru=" + FormEncoding.escape(appru) + "&login_hint=" + FormEncoding.escape(profile.upn)
        let page = try await send(.auth, DeviceRequest(method: "GET", url: url, headers: [("User-Agent", "Mozilla/5.0 (Windows NT 10.0; WebView)")]))
        guard page.status == 200, let action = HTMLForm.attribute("action", in: page.text) else {
            throw DeviceFailure(hresult: 0x8018_000F, phase: .auth, message: "The sign-in page could not be opened (HTTP \(page.status)).", httpStatus: page.status)
        }
        let target = Self.resolve(action, against: authURL)
        let form = "appru=\(FormEncoding.escape(appru))&username=\(FormEncoding.escape(profile.upn))&password=\(FormEncoding.escape(profile.password))"
        let result = try await send(.auth, DeviceRequest(method: "POST", url: target,
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)))
        guard let postTo = HTMLForm.attribute("action", in: result.text), postTo == appru,
              let token = HTMLForm.hiddenValue("wresult", in: result.text) else {
            // The broker stays on the page: the user sees the error and the enrollment UI reports a WAB failure.
            throw DeviceFailure(hresult: 0x8018_000F, phase: .auth, message: "Sign-in did not complete: " + (HTMLForm.alert(in: result.text).map { $0.hasSuffix(".") ? $0 : $0 + "." } ?? "no token returned."))
        }
        return token
    }

    // MARK: HTTP and SOAP

    func send(_ phase: EnrollmentPhase, _ request: DeviceRequest) async throws(DeviceFailure) -> DeviceResponse {
        do { return try await transport.send(request) } catch {
            throw DeviceFailure(hresult: 0x8007_2EFD, phase: phase, message: "Cannot reach \(request.url): \(error)")
        }
    }

    /// POSTs a SOAP message and returns the envelope, or throws what Windows would report for a fault or a bad answer.
    public func soap(_ phase: EnrollmentPhase, _ url: String, _ xml: String) async throws(DeviceFailure) -> SOAPEnvelope {
        let r = try await send(phase, DeviceRequest(method: "POST", url: url, headers: [
            ("Content-Type", "application/soap+xml; charset=utf-8"), ("User-Agent", "ENROLLClient"),
        ], body: Array(xml.utf8)))
        if let te = r.header("Transfer-Encoding"), te.lowercased().contains("chunked") {
            throw DeviceFailure(hresult: 0x8018_0001, phase: phase, message: "The response was chunked, which Windows refuses.", httpStatus: r.status)
        }
        let env = try? SOAPEnvelope(bytes: r.body)
        if let env, let fault = SOAPFault.decode(env) {
            let code = fault.errorType.flatMap { FaultErrorType(rawValue: $0)?.hresult }
                ?? FaultSubcode(rawValue: fault.subcode)?.hresult ?? 0x8018_0008
            // Windows reports transport errors for non-200 statuses (0x8019 + status), faults or not.
            let hresult = r.status == 200 ? code : 0x8019_0000 | UInt32(r.status)
            throw DeviceFailure(hresult: hresult, phase: phase, message: fault.reason, traceID: fault.traceID, httpStatus: r.status)
        }
        guard r.status == 200 else {
            throw DeviceFailure(hresult: 0x8019_0000 | UInt32(r.status & 0xFFFF), phase: phase, message: "HTTP \(r.status)", httpStatus: r.status)
        }
        guard let env else {
            throw DeviceFailure(hresult: 0x8019_00C8, phase: phase, message: "HTTP 200 with a body that is not SOAP.", httpStatus: r.status)
        }
        return env
    }

    /// Windows writes `:443` into discovery's `a:To` (sample 02).
    static func withPort(_ url: String) -> String {
        guard let u = URLComponents(string: url), u.port == nil, u.scheme == "https" else { return url }
        var c = u
        c.port = 443
        return c.string ?? url
    }

    static func resolve(_ action: String, against base: String) -> String {
        if action.hasPrefix("http://") || action.hasPrefix("https://") { return action }
        guard var c = URLComponents(string: base) else { return action }
        let parts = action.split(separator: "?", maxSplits: 1)
        c.path = String(parts.first ?? "")
        c.query = parts.count > 1 ? String(parts[1]) : nil
        return c.string ?? action
    }
}

enum SHA1Hex {
    static func of(_ der: [UInt8]) -> String {
        Insecure.SHA1.hash(data: der).map { String(format: "%02X", $0) }.joined()
    }
}

import Crypto

enum FormEncoding {
    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

/// Just enough HTML reading for the sign-in exchange.
enum HTMLForm {
    static func attribute(_ name: String, in html: String) -> String? {
        guard let r = html.range(of: "\(name)=\"") else { return nil }
        let rest = html[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return unescape(String(rest[..<end]))
    }

    static func hiddenValue(_ field: String, in html: String) -> String? {
        guard let r = html.range(of: "name=\"\(field)\" value=\"") else { return nil }
        let rest = html[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return unescape(String(rest[..<end]))
    }

    static func alert(in html: String) -> String? {
        guard let r = html.range(of: "role=\"alert\">") else { return nil }
        let rest = html[r.upperBound...]
        return rest.range(of: "<").map { unescape(String(rest[..<$0.lowerBound])) }
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

extension WindowsDevice {
    /// The RequestSecurityToken body this device would send with a username token, built ahead of time so a benchmark
    /// times the server, not the client's key or CSR work.
    public static func enrollmentRequestBody(profile: DeviceProfile, enrollmentURL: String, csrDER: [UInt8]) -> [UInt8] {
        Array(Messages.requestSecurityToken(profile: profile, to: enrollmentURL, security: Messages.usernameToken(profile.upn, profile.password),
                                            csrBase64: Data(csrDER).base64EncodedString()).utf8)
    }
}
