/// A GetPolicies request (MS-XCEP; PROTOCOL.md §4.1; samples 07, 08). Windows always sends all fields nil,
/// so only the header matters.
public struct GetPoliciesRequest: Sendable, Equatable {
    public var header: SOAPHeader

    public init(_ env: SOAPEnvelope) throws(WireError) {
        guard env.body.name == "GetPolicies", env.body.namespace == NS.enrollmentPolicy else {
            throw WireError(.wrongOperation, "Expected a GetPolicies request, got \(env.body.name).")
        }
        header = env.header
    }
}

/// The GetPoliciesResponse: MS-MDE2's template (sample 09) without the attestation extensions, which need
/// EnrollmentVersion 5.0 (PROTOCOL.md §4.2).
public struct GetPoliciesResponse: Sendable {
    public var relatesTo: String
    public var validityPeriodSeconds: Int
    public var renewalPeriodSeconds: Int
    public var minimalKeyLength: Int = 2048

    public init(relatesTo: String, validityPeriodSeconds: Int, renewalPeriodSeconds: Int) {
        self.relatesTo = relatesTo
        self.validityPeriodSeconds = validityPeriodSeconds
        self.renewalPeriodSeconds = renewalPeriodSeconds
    }

    public func encode() -> String {
        """
        <s:Envelope xmlns:s="\(NS.soap)" xmlns:a="\(NS.addressing)" xmlns:u="\(NS.wssUtility)">\
        <s:Header>\
        <a:Action s:mustUnderstand="1">\(Action.getPoliciesResponse)</a:Action>\
        <a:RelatesTo>\(xmlEscape(relatesTo))</a:RelatesTo>\
        </s:Header>\
        <s:Body xmlns:xsi="\(NS.xsi)" xmlns:xsd="\(NS.xsd)">\
        <GetPoliciesResponse xmlns="\(NS.enrollmentPolicy)">\
        <response>\
        <policyID></policyID>\
        <policyFriendlyName xsi:nil="true"/>\
        <nextUpdateHours xsi:nil="true"/>\
        <policiesNotChanged xsi:nil="true"/>\
        <policies><policy>\
        <policyOIDReference>0</policyOIDReference>\
        <cAs xsi:nil="true"/>\
        <attributes>\
        <commonName>winmdm device identity</commonName>\
        <policySchema>3</policySchema>\
        <certificateValidity>\
        <validityPeriodSeconds>\(validityPeriodSeconds)</validityPeriodSeconds>\
        <renewalPeriodSeconds>\(renewalPeriodSeconds)</renewalPeriodSeconds>\
        </certificateValidity>\
        <permission><enroll>true</enroll><autoEnroll>false</autoEnroll></permission>\
        <privateKeyAttributes>\
        <minimalKeyLength>\(minimalKeyLength)</minimalKeyLength>\
        <keySpec xsi:nil="true"/>\
        <keyUsageProperty xsi:nil="true"/>\
        <permissions xsi:nil="true"/>\
        <algorithmOIDReference xsi:nil="true"/>\
        <cryptoProviders>\
        <provider>Microsoft Platform Crypto Provider</provider>\
        <provider>Microsoft Software Key Storage Provider</provider>\
        </cryptoProviders>\
        </privateKeyAttributes>\
        <revision><majorRevision>101</majorRevision><minorRevision>0</minorRevision></revision>\
        <supersededPolicies xsi:nil="true"/>\
        <privateKeyFlags xsi:nil="true"/>\
        <subjectNameFlags xsi:nil="true"/>\
        <enrollmentFlags xsi:nil="true"/>\
        <generalFlags xsi:nil="true"/>\
        <hashAlgorithmOIDReference>0</hashAlgorithmOIDReference>\
        <rARequirements xsi:nil="true"/>\
        <keyArchivalAttributes xsi:nil="true"/>\
        <extensions xsi:nil="true"/>\
        </attributes>\
        </policy></policies>\
        </response>\
        <cAs xsi:nil="true"/>\
        <oIDs><oID>\
        <value>2.16.840.1.101.3.4.2.1</value>\
        <group>4</group>\
        <oIDReferenceID>0</oIDReferenceID>\
        <defaultName>szOID_NIST_sha256</defaultName>\
        </oID></oIDs>\
        </GetPoliciesResponse>\
        </s:Body>\
        </s:Envelope>
        """
    }
}
