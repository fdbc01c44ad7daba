import _CryptoExtras
import Foundation
import MDMCore
import MDMWire
@_spi(CMS) import X509

/// How the device words its renewal request (PROTOCOL.md §10.2).
public struct RenewalStyle: Sendable {
    /// `Renew` (MS Learn) or `Issue` (plain MS-WSTEP).
    public var requestType: String
    /// The BinarySecurityToken ValueType: the wssecurity-secext name or the MS-MDE one.
    public var valueType: String
    /// Manual renewal base64-encodes the PKCS#7 a second time.
    public var base64Twice: Bool
    /// Signs the envelope with this key instead of the enrolled one (a forged request, for tests).
    public var signingKey: _RSA.Signing.PrivateKey?
    /// Asks the policy service first, as the enrollment sequence does; off goes straight to the request.
    public var asksPolicy: Bool

    public init(requestType: String = TokenValueType.renew, valueType: String = TokenValueType.pkcs7Secext,
                base64Twice: Bool = false, signingKey: _RSA.Signing.PrivateKey? = nil, asksPolicy: Bool = true) {
        self.requestType = requestType
        self.valueType = valueType
        self.base64Twice = base64Twice
        self.signingKey = signingKey
        self.asksPolicy = asksPolicy
    }

    /// Automatic renewal as Windows 10/11 sends it.
    public static let robo = RenewalStyle()
    /// MS-WSTEP's renewal: `Issue` with the MS-MDE token name.
    public static let wstepIssue = RenewalStyle(requestType: TokenValueType.issue, valueType: TokenValueType.pkcs7)
}

extension WindowsDevice {
    /// Renews the MDM client certificate as the enrollment client does inside the renewal window: discovery, policy and
    /// a RequestSecurityToken whose token is a new PKCS#10 in a PKCS#7 signed with the current key, all over TLS with
    /// the current certificate (`transport` must present it). Returns the identity with the new key and certificate.
    public func renew(_ identity: EnrolledIdentity, discoveryURL: String, transport: any DeviceTransport,
                      style: RenewalStyle = .robo) async throws(DeviceFailure) -> EnrolledIdentity {
        let device = WindowsDevice(profile: profile, transport: transport)
        let discovery = try await device.soap(.discovery, discoveryURL, Messages.discover(profile: profile, to: Self.withPort(discoveryURL)))
        func field(_ n: String) -> String? { discovery.body.descendant(NS.discovery, n)?.trimmedText }
        guard let enrollURL = field("EnrollmentServiceUrl") else {
            throw DeviceFailure(hresult: 0x8018_0001, phase: .discovery, message: "The DiscoverResponse lacks EnrollmentServiceUrl.")
        }
        // The automatic renewal has no password to send; the header carries the user name only (sample 28).
        let security = Messages.usernameToken(profile.upn, "")
        if style.asksPolicy, let policyURL = field("EnrollmentPolicyServiceUrl") {
            _ = try await device.soap(.policy, policyURL, Messages.getPolicies(to: policyURL, security: security))
        }
        let key: _RSA.Signing.PrivateKey
        var token: [UInt8]
        do {
            key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let csr = try WindowsCSR.make(key: key, deviceID: identity.deviceID, style: profile.csrStyle)
            let current = try Certificate(derEncoded: identity.certificateDER)
            token = try CMS.sign(csr, signatureAlgorithm: .sha256WithRSAEncryption, certificate: current,
                                 privateKey: Certificate.PrivateKey(style.signingKey ?? identity.privateKey), signingTime: Date(), detached: false)
        } catch {
            throw DeviceFailure(hresult: 0x8018_0027, phase: .renew, message: "Key, CSR or PKCS#7 creation failed: \(error)")
        }
        if style.base64Twice { token = Array(Data(token).base64EncodedString().utf8) }
        let rstrc = try await device.soap(.renew, enrollURL, Messages.renewalRequest(
            profile: profile, to: enrollURL, security: security, requestType: style.requestType, valueType: style.valueType,
            tokenBase64: Data(token).base64EncodedString()))
        do {
            let xml = try RequestSecurityTokenResponse.provisioningDocument(from: rstrc)
            return try Self.installRenewal(xml, key: key, into: identity)
        } catch let e as DeviceFailure {
            throw e
        } catch {
            throw DeviceFailure(hresult: 0x8018_0023, phase: .renew, message: "The renewal provisioning document could not be applied: \(error)")
        }
    }

    /// Applies a renewal document (sample 29): the new certificate in the same store, bound to the same provider.
    static func installRenewal(_ xml: String, key: _RSA.Signing.PrivateKey, into identity: EnrolledIdentity) throws -> EnrolledIdentity {
        let doc = try ProvisioningDocumentView(xml: xml)
        guard let provider = doc.parm("PROVIDER-ID", in: doc.characteristic("APPLICATION")), provider == identity.providerID else {
            throw DeviceFailure(hresult: 0x8018_0020, phase: .renew, message: "The renewal document does not name provider \(identity.providerID).")
        }
        guard let mine = doc.certificates("My", identity.store).first, let der = Data(base64Encoded: mine.base64) else {
            throw DeviceFailure(hresult: 0x8018_0024, phase: .renew, message: "No client certificate in My/\(identity.store).")
        }
        guard mine.thumbprint == SHA1Hex.of([UInt8](der)) else {
            throw DeviceFailure(hresult: 0x8018_001E, phase: .renew, message: "Thumbprint \(mine.thumbprint) does not match its certificate.")
        }
        let cert = try Certificate(derEncoded: [UInt8](der))
        guard cert.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw DeviceFailure(hresult: 0x8018_0024, phase: .renew, message: "The renewed certificate is not for the key the device generated.")
        }
        var renewed = identity
        renewed.privateKey = key
        renewed.certificateDER = [UInt8](der)
        renewed.certificateThumbprint = mine.thumbprint
        return renewed
    }
}
