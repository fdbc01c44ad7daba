import Foundation
import MDMWire
import Testing

/// What winmdm emits has the element structure of the responses Windows really accepted, and stays stable
/// (golden files; WINMDM_UPDATE_GOLDEN=1 rewrites them after a deliberate change).
@Suite struct EmittedStructureTests {
    /// Element paths (namespace URI + local name) in document order; text and attributes ignored.
    static func shape(_ node: XMLNode, _ prefix: String = "", skip: Set<String> = []) -> [String] {
        let here = prefix + "/{" + node.namespace + "}" + node.name
        if skip.contains(node.name) { return [] }
        return [here] + node.children.flatMap { shape($0, here, skip: skip) }
    }

    static func shape(of bytes: [UInt8], skip: Set<String> = []) throws -> [String] {
        shape(try XMLReader.parse(bytes), skip: skip)
    }

    static let discover = DiscoverResponse(
        relatesTo: "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478", activityID: "8c6060c4-3d78-4d73-ae17-e8bce88426ee",
        authPolicy: "OnPremise", policyServiceURL: "https://mdm.example.com/EnrollmentServer/Policy.svc",
        enrollmentServiceURL: "https://mdm.example.com/EnrollmentServer/Enrollment.svc", authenticationServiceURL: nil)

    @Test func discoverResponseMatchesAcceptedCapture() throws {
        let ours = Array(Self.discover.encode().utf8)
        #expect(try Self.shape(of: ours) == Self.shape(of: Fixtures.sample("04")))
        let env = try SOAPEnvelope(bytes: ours)
        #expect(env.body.descendant(NS.discovery, "EnrollmentVersion")?.text == "4.0")
        let g = try Fixtures.golden("discover-response.xml", Self.discover.encode())
        #expect(g.expected == g.actual)
    }

    @Test func federatedDiscoverAddsAuthenticationServiceUrl() throws {
        var r = Self.discover
        r.authPolicy = "Federated"
        r.authenticationServiceURL = "https://mdm.example.com/EnrollmentServer/Auth"
        let sample = try Self.shape(of: Fixtures.sample("05"), skip: ["ActivityId"])
        #expect(try Self.shape(of: Array(r.encode().utf8), skip: ["ActivityId"]) == sample)
    }

    @Test func policyResponseMatchesSpecTemplateWithoutAttestation() throws {
        let r = GetPoliciesResponse(relatesTo: "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0",
                                    validityPeriodSeconds: 31_536_000, renewalPeriodSeconds: 5_184_000)
        let ours = Array(r.encode().utf8)
        // EnrollmentVersion 4.0 is advertised, so MS-MDE2's attestation extensions are left out (PROTOCOL.md §4.2).
        let expected = try Self.shape(of: Fixtures.sample("09"), skip: ["AttestationFailureBehavior", "OperationTimeout"])
        #expect(try Self.shape(of: ours) == expected)
        let env = try SOAPEnvelope(bytes: ours)
        #expect(env.body.descendant(NS.enrollmentPolicy, "minimalKeyLength")?.text == "2048")
        let g = try Fixtures.golden("policy-response.xml", r.encode())
        #expect(g.expected == g.actual)
    }

    @Test func enrollmentResponseMatchesSample13() throws {
        let r = RequestSecurityTokenResponse(relatesTo: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749",
                                             created: Date(timeIntervalSince1970: 1_795_778_825),
                                             expires: Date(timeIntervalSince1970: 1_795_779_425),
                                             provisioningDocument: "<wap-provisioningdoc version=\"1.1\"></wap-provisioningdoc>")
        let ours = Array(r.encode().utf8)
        #expect(try Self.shape(of: ours) == Self.shape(of: Fixtures.sample("13")))
        let env = try SOAPEnvelope(bytes: ours)
        #expect(env.header.messageID.isEmpty)
        #expect(try XMLReader.parse(ours).descendant(NS.wssUtility, "Created")?.text == "2026-11-27T11:27:05.000Z")
        #expect(try RequestSecurityTokenResponse.provisioningDocument(from: env) == r.provisioningDocument)
        let g = try Fixtures.golden("enroll-response.xml", r.encode())
        #expect(g.expected == g.actual)
    }

    @Test func deviceCapFaultMatchesSample18() throws {
        let f = SOAPFault(action: Action.requestSecurityTokenResponse, relatesTo: "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749",
                          activityID: "2493ee37-beeb-4cb9-833c-cadde9067645", subcode: "Authorization",
                          errorType: "DeviceCapReached", reason: "device cap reached",
                          traceID: "2493ee37-beeb-4cb9-833c-cadde9067645")
        let ours = Array(f.encode().utf8)
        #expect(try Self.shape(of: ours) == Self.shape(of: Fixtures.sample("18")))
        let text = f.encode()
        // Canonical SOAP 1.2 case, never the lower-case rendering of MS-MDE2 (PROTOCOL.md P2).
        for name in ["s:Envelope", "s:Fault", "s:Code", "s:Subcode", "s:Reason", "s:Text", "s:Value>s:Receiver<",
                     "DeviceEnrollmentServiceError", "<ErrorType>", "<Message>", "<TraceId>"] {
            #expect(text.contains(name), "missing \(name)")
        }
        let decoded = try #require(SOAPFault.decode(SOAPEnvelope(bytes: ours)))
        #expect(decoded.subcode == "Authorization" && decoded.errorType == "DeviceCapReached")
        #expect(decoded.traceID == "2493ee37-beeb-4cb9-833c-cadde9067645")
        let g = try Fixtures.golden("fault-device-cap.xml", text)
        #expect(g.expected == g.actual)
    }

    @Test func wcfSubcodesUseTheDispatcherNamespace() throws {
        let f = SOAPFault(action: Action.requestSecurityTokenResponse, relatesTo: nil, activityID: "a", subcode: "InternalServiceFault",
                          wcf: true, errorType: nil, reason: "r", traceID: "t")
        #expect(f.encode().contains("<s:Value xmlns:a=\"\(NS.wcfDispatcher)\">a:InternalServiceFault</s:Value>"))
        #expect(!f.encode().contains("RelatesTo"))
    }

    static func provisioningDocument(store: String = "User") -> ProvisioningDocument {
        var doc = ProvisioningDocument(
            rootThumbprint: "F2949D436073E5F98FFE9A746EC12164EB63680E", rootCertificateBase64: "Um9vdA==",
            clientThumbprint: "7EA1E1B8871F9A52658B094ADB504C42A00AD2D3", clientCertificateBase64: "Q2xpZW50",
            store: store, subjectCommonName: "B5B954E81FBCB94EB79BD08BE625F4EE", providerID: "winmdm", serverName: "winmdm",
            managementURL: "https://mdm.example.com/ManagementServer/MDM.svc", entDMID: "3f6a2f0e-8d55-4d6c-9a2e-4b1d2c3e4f50",
            deviceName: "DESKTOP-28FGAI6", upn: "alice@example.com")
        doc.renewal = (period: 60, retryInterval: 4)
        return doc
    }

    /// Characteristic/parm layout with thumbprints and the provider name generalised.
    static func provisioningShape(_ xml: String) throws -> [String] {
        func walk(_ n: XMLNode, _ path: String) -> [String] {
            var type = n.attributes["type"] ?? n.attributes["name"] ?? n.name
            if type.count == 40, type.allSatisfy(\.isHexDigit) { type = "<thumbprint>" }
            if ["winmdm", "ExampleMDM"].contains(type) { type = "<provider>" }
            let here = path + "/" + type
            return [here] + n.children.flatMap { walk($0, here) }
        }
        return walk(try XMLReader.parse(Array(xml.utf8)), "")
    }

    @Test func provisioningDocumentMatchesSample14() throws {
        let doc = Self.provisioningDocument()
        let expected = try Self.provisioningShape(Fixtures.sampleText("14"))
        // Renewal settings included, as winmdm implements renewal; the UPN parm is winmdm's addition.
        var ours = try Self.provisioningShape(doc.encode())
        ours.removeAll { $0.hasSuffix("/<provider>/UPN") }
        #expect(ours == expected)
        let view = try ProvisioningDocumentView(xml: doc.encode())
        let app = view.characteristic("APPLICATION")
        #expect(view.parm("SSLCLIENTCERTSEARCHCRITERIA", in: app) == "Subject=CN%3DB5B954E81FBCB94EB79BD08BE625F4EE&Stores=My%5CUser")
        #expect(doc.encode().contains("Subject=CN%3DB5B954E81FBCB94EB79BD08BE625F4EE&amp;Stores=My%5CUser"))
        #expect(view.parm("PROVIDER-ID", in: app) == "winmdm")
        #expect(view.characteristic("DMClient", "Provider", "winmdm") != nil)
        #expect(view.parm("ADDR", in: app) == "https://mdm.example.com/ManagementServer/MDM.svc")
        #expect(view.parm("INIT", in: app) == nil)
        let g = try Fixtures.golden("provisioning-doc-user.xml", doc.encode())
        #expect(g.expected == g.actual)
    }

    @Test func deviceEnrollmentsUseTheSystemStore() throws {
        let doc = Self.provisioningDocument(store: "System")
        let view = try ProvisioningDocumentView(xml: doc.encode())
        #expect(view.certificates("My", "System").first?.thumbprint == "7EA1E1B8871F9A52658B094ADB504C42A00AD2D3")
        #expect(view.characteristic("CertificateStore", "My", "System", "PrivateKeyContainer") != nil)
        #expect(view.parm("SSLCLIENTCERTSEARCHCRITERIA", in: view.characteristic("APPLICATION"))?.hasSuffix("Stores=My%5CSystem") == true)
    }

    @Test func renewalSettingsAppearOnlyWhenOffered() throws {
        var doc = Self.provisioningDocument()
        let view = try ProvisioningDocumentView(xml: doc.encode())
        let renew = view.characteristic("CertificateStore", "My", "WSTEP", "Renew")
        #expect(view.parm("RenewPeriod", in: renew) == "60" && view.parm("RetryInterval", in: renew) == "4" && view.parm("ROBOSupport", in: renew) == "true")
        doc.renewal = nil
        #expect(!doc.encode().contains("WSTEP"))
    }

    @Test func renewalAnswerHasTheShapeOfSample29() throws {
        let doc = RenewalProvisioningDocument(clientThumbprint: "7EA1E1B8871F9A52658B094ADB504C42A00AD2D3", clientCertificateBase64: "Q2xpZW50",
                                              store: "User", providerID: "winmdm")
        var expected = try Self.provisioningShape(Fixtures.sampleText("29"))
        // Sample 29 carries the root only "if it is not in the device already"; winmdm's root never changes.
        expected.removeAll { $0.contains("/Root") }
        // The sample's placeholder thumbprint is not 40 hex digits.
        expected = expected.map { $0.replacingOccurrences(of: "EncodedClientCertHashInsertedHere", with: "<thumbprint>") }
        #expect(try Self.provisioningShape(doc.encode()) == expected.map { $0.replacingOccurrences(of: "TestMDMServer", with: "<provider>") })
        let view = try ProvisioningDocumentView(xml: doc.encode())
        #expect(view.certificates("My", "User").first?.base64 == "Q2xpZW50")
        #expect(view.parm("PROVIDER-ID", in: view.characteristic("APPLICATION")) == "winmdm")
    }
}
