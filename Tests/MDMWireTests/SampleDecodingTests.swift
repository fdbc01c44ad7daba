import Foundation
import MDMWire
import Testing

/// Every captured message a server receives decodes to the facts it carries.
@Suite struct SampleDecodingTests {
    @Test func discoverWindows10() throws {
        let r = try DiscoverRequest(SOAPEnvelope(bytes: Fixtures.sample("02")))
        #expect(r.header.action == Action.discover)
        #expect(r.header.messageID == "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478")
        #expect(r.header.to == "https://EnterpriseEnrollment.fleetdm.ngrok.io:443/EnrollmentServer/Discovery.svc")
        #expect(r.emailAddress == "demo@fleetdm.ngrok.io")
        #expect(r.requestVersion == "4.0")
        #expect(r.deviceType == "CIMClient_Windows")
        #expect(r.applicationVersion == "10.0.19043.2364")
        #expect(r.osEdition == "72")
        #expect(r.authPolicies == ["OnPremise", "Federated"])
    }

    @Test func discoverWindows11Home() throws {
        let r = try DiscoverRequest(SOAPEnvelope(bytes: Fixtures.sample("03")))
        #expect(r.emailAddress == "oscar@otbeaumont.me")
        #expect(r.requestVersion == "6.0")
        #expect(r.applicationVersion == "10.0.22621.3155")
        #expect(r.osEdition == "101")
    }

    @Test(arguments: ["9.0", "4.0", "7.0", "12.5"])
    func discoverAcceptsAnyVersionFromFour(_ version: String) throws {
        let xml = try Fixtures.sampleText("02").replacingOccurrences(of: "<RequestVersion>4.0</RequestVersion>",
                                                                    with: "<RequestVersion>\(version)</RequestVersion>")
        #expect(try DiscoverRequest(SOAPEnvelope(bytes: Array(xml.utf8))).requestVersion == version)
    }

    @Test(arguments: ["3.0", "", "abc"])
    func discoverRefusesOlderOrMissingVersions(_ version: String) throws {
        let xml = try Fixtures.sampleText("02").replacingOccurrences(of: "<RequestVersion>4.0</RequestVersion>",
                                                                    with: "<RequestVersion>\(version)</RequestVersion>")
        #expect(throws: WireError(.badValue, "")) { try DiscoverRequest(SOAPEnvelope(bytes: Array(xml.utf8))) }
    }

    @Test func policyOnPremiseCarriesUsernameToken() throws {
        let r = try GetPoliciesRequest(SOAPEnvelope(bytes: Fixtures.sample("07")))
        #expect(r.header.action == Action.getPolicies)
        // Upper-case GUID as Windows sent it: RelatesTo must echo it byte for byte.
        #expect(r.header.messageID == "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0")
        #expect(r.header.credential == .usernameToken(username: "demio", password: "demo"))
    }

    @Test func policyFederatedCarriesUserToken() throws {
        let r = try GetPoliciesRequest(SOAPEnvelope(bytes: Fixtures.sample("08")))
        #expect(r.header.credential == .binaryToken(valueType: TokenValueType.userToken, value: "B64EncodedSampleBinarySecurityToken"))
    }

    @Test func enrollOnPremiseCapture() throws {
        let r = try RequestSecurityToken(SOAPEnvelope(bytes: Fixtures.sample("11")))
        #expect(r.header.action == Action.requestSecurityToken)
        #expect(r.header.credential == .usernameToken(username: "demio", password: "demo"))
        #expect(r.tokenType == TokenValueType.deviceEnrollmentToken)
        #expect(r.requestType == TokenValueType.issue)
        #expect(r.tokenValueType == TokenValueType.pkcs10)
        #expect(r.token.count == 722)
        #expect(r.context("DeviceID") == "B5B954E81FBCB94EB79BD08BE625F4EE")
        #expect(r.context("HWDevID") == "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76")
        #expect(r.context("EnrollmentType") == "Full")
        #expect(r.context("OSEdition") == "72")
        #expect(r.context("OSVersion") == "10.0.19043.2364")
        #expect(r.context("DeviceName") == "DESKTOP-28FGAI6")
        #expect(r.context("NotInOobe") == "false")
        // Six MAC items, one repeated: a dictionary-keyed parser would lose or reject them (PROTOCOL.md P17).
        #expect(r.contextAll("MAC") == ["00-0C-29-51-60-9D", "1A-77-20-52-41-53", "1A-77-20-52-41-53",
                                        "00-0C-29-51-60-A7", "18-14-20-52-41-53", "00-0C-29-51-60-93"])
        #expect(!r.isRenewal)
    }

    @Test func enrollEntraTemplateFilledIn() throws {
        let csr = try Fixtures.sample("11")
        let base64CSR = try RequestSecurityToken(SOAPEnvelope(bytes: csr)).token
        let xml = try Fixtures.sampleText("12")
            .replacingOccurrences(of: "{message_id}", with: "0f6c2bc0-7b0c-4a30-9b4d-1b1f2c3d4e5f")
            .replacingOccurrences(of: "{enrollment_url}", with: "https://mdm.example.com/EnrollmentServer/Enrollment.svc")
            .replacingOccurrences(of: "{base64(access_token_jwt)}", with: Data("eyJhbGciOiJub25lIn0.eyJ1cG4iOiJhQGIuYyJ9.".utf8).base64EncodedString())
            .replacingOccurrences(of: "{base64_der_pkcs10}", with: Data(base64CSR).base64EncodedString())
            .replacingOccurrences(of: "{is_device}", with: "false")
            .replacingOccurrences(of: "{device_name}", with: "AADJ-PC-01")
            .replacingOccurrences(of: "{entra_device_id_without_dashes}", with: "6F2D0F3E8E0A4C6B9A1D2E3F40516273")
        let r = try RequestSecurityToken(SOAPEnvelope(bytes: Array(xml.utf8)))
        guard case .binaryToken(let type, _)? = r.header.credential else { Issue.record("no token"); return }
        #expect(type == TokenValueType.jwt)
        #expect(r.context("EnrollmentType") == "Device")
        #expect(r.context("DeviceID") == "6F2D0F3E8E0A4C6B9A1D2E3F40516273")
        #expect(r.context("EnrollmentData") == "null")
        #expect(r.context("DeviceName") == "AADJ-PC-01")
        #expect(r.token == base64CSR)
    }
}
