import Foundation
import MDMTroubleshoot
import Testing

@Suite struct KnowledgeBaseTests {
    let kb = KnowledgeBase.bundled

    @Test func hasAtLeast120CompleteEntries() {
        #expect(kb.entries.count >= 120)
        #expect(Set(kb.entries.map(\.id)).count == kb.entries.count, "entry ids are unique")
        for e in kb.entries {
            #expect(!e.title.isEmpty && !e.codes.isEmpty && !e.causes.isEmpty, "\(e.id) is incomplete")
            for c in e.causes {
                #expect(!c.confirm.isEmpty && !c.fix.isEmpty && !c.intune.isEmpty, "\(e.id): cause '\(c.title)' lacks confirm, fix or intune")
            }
            for code in e.codes where code.hasPrefix("0x") { #expect(code.count == 10 && UInt32(code.dropFirst(2), radix: 16) != nil, "\(e.id): \(code)") }
        }
    }

    @Test func coversEveryMENROLLCodeAndTheRequiredFamilies() {
        for v in UInt32(0x8018_0001)...0x8018_0033 where ![0x8018_000C, 0x8018_0011, 0x8018_002C, 0x8018_002D, 0x8018_002E, 0x8018_002F].contains(v) {
            #expect(kb.entry(hresult: v) != nil, "no entry for \(HexFormat.code(v))")
        }
        let required: [UInt32] = [0x8019_00C8, 0x8019_0190, 0x801C_0003, 0x801C_000E, 0x801C_03EA, 0x8007_05B4, 0x8007_0774, 0x8018_0022,
                                  0x8103_9001, 0x8103_9023, 0x8103_9024, 0x80CF_4017, 0x8018_0026, 0x8018_002B, 0xCAA7_0004, 0xCAA9_001F, 0xCAA3_0194,
                                  0x8007_2EE2, 0x8007_2EFD, 0x8007_2F8F]
        for v in required { #expect(kb.entry(hresult: v) != nil, "no entry for \(HexFormat.code(v))") }
        for id in ["import:806", "import:808", "ZtdDeviceDuplicated", "InvalidZtdHardwareHash", "OOBEIDPS"] {
            #expect(kb.entry(identifier: id) != nil, "no entry for \(id)")
        }
        for ev in [76, 807, 809, 815, 908, 30132] { #expect(kb.entry(event: ev) != nil, "no entry for event \(ev)") }
    }

    @Test func everyScenarioRowIsCovered() throws {
        let ids = ["S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08", "S09", "S10", "S11", "S12", "S13", "S14", "S15",
                   "V01", "V02", "V03", "V04", "X01", "X02", "X03", "X04", "X05", "X06", "X07", "X08", "X09"]
        let covered = Set(kb.entries.flatMap { $0.scenarios + $0.causes.compactMap(\.scenario) })
        for id in ids { #expect(covered.contains(id), "\(id) is not covered") }
    }

    @Test func everyPolicyRuleHasACause() {
        for rule in ["maintenance", "upn-domain-unverified", "mdm-scope", "mam-scope-precedence", "no-license", "terms-of-use",
                     "join-not-allowed", "platform-blocked", "windows-home", "personal-blocked", "os-version",
                     "enrolled-by-other-user", "device-limit", "join-quota"] {
            #expect(kb.cause(rule: rule, hresult: nil) != nil, "no cause for rule \(rule)")
        }
    }

    @Test func parserReportsWhereAFileIsWrong() {
        #expect(throws: KBParseError.self) { try KnowledgeBase.parse("entry: a\nbogus: x\n") }
        #expect(throws: KBParseError.self) { try KnowledgeBase.parse("title: before entry\n") }
        #expect(throws: KBParseError.self) { try KnowledgeBase.parse("entry: a\n  fix: orphan\n") }
    }
}

@Suite struct CodeSpellingTests {
    let explainer = Explainer()

    @Test(arguments: [
        ("0x80180003", "0x80180003"), ("80180003", "0x80180003"), ("error code 801c0003", "0x801C0003"),
        ("0x801c0003", "0x801C0003"), ("Auto MDM Enroll: Failed (Unknown Win32 Error code: 0x80180002b)", "0x8018002B"),
        ("2149056522", "0x8018000A"), ("-2145910774", "0x8018000A"), ("hr = 0X8018002B", "0x8018002B"),
        ("<Data Name=\"ErrorCode\">0x80180014</Data>", "0x80180014"), ("{\"errorCode\":\"0x80180018\"}", "0x80180018"),
        ("Client ErrorCode : 0x801c03f2", "0x801C03F2"), ("(Failed: 3, 0x801C03EA)", "0x801C03EA"),
        ("Securing your hardware (Failed: 0x800705b4)", "0x800705B4"), ("error 80070774.", "0x80070774"),
        ("code 2149056515 in the log", "0x80180003"), ("result -2145910781", "0x80180003"),
    ])
    func findsCodesInEverySpelling(_ input: String, _ code: String) {
        let e = explainer.explain(input)
        #expect(e.codes.contains(code), "\(input) -> \(e.codes)")
        #expect(!e.causes.isEmpty)
    }

    /// Standard Windows codes, in their usual spellings, are found and named even though no enrollment cause is known.
    @Test(arguments: [
        ("The operation failed 0x80004005", "0x80004005", "E_FAIL"), ("hr=80070005", "0x80070005", "E_ACCESSDENIED"),
        ("WinHTTP error 0x80072f19 during discovery", "0x80072F19", "ERROR_WINHTTP_SECURE_CERT_REV_FAILED"),
        ("returned -2147024809", "0x80070057", "E_INVALIDARG"), ("status 0xC000006D", "0xC000006D", "STATUS_LOGON_FAILURE"),
        ("CERT_E_UNTRUSTEDROOT (0x800B0109)", "0x800B0109", "CERT_E_UNTRUSTEDROOT"),
        ("the log says ERROR_WINHTTP_NAME_NOT_RESOLVED", "0x80072EE7", "ERROR_WINHTTP_NAME_NOT_RESOLVED"),
        ("TPM key failed 0x80090030", "0x80090030", "NTE_DEVICE_NOT_READY"),
    ])
    func namesStandardCodes(_ input: String, _ code: String, _ name: String) {
        let e = explainer.explain(input)
        #expect(e.codes.contains(code), "\(input) -> \(e.codes)")
        #expect(e.named.first { $0.code == code }?.name == name)
        #expect(!e.unrecognized.contains { $0.contains(input) }, "a named code is not 'unrecognised'")
    }

    /// Codes nobody has a name for still say what their bits mean, and stay "not recognised".
    @Test func decodesUnknownCodesByFacility() {
        let e = explainer.explain("failed: 0x8029ABCD then 0xC0AB0001 and 0x8007ABCD")
        #expect(e.named.map(\.family) == ["TPM_SOFTWARE", "NTSTATUS", "Win32"])
        #expect(e.named[0].meaning.contains("TPM_SOFTWARE") && e.named[2].meaning.contains("Win32 error 43981"))
        #expect(e.unrecognized.count == 3 && e.causes.isEmpty)
        // A known enrollment code keeps the knowledge base's name.
        #expect(explainer.explain("0x80180018").named.first?.name == "MENROLL_E_USERLICENSE")
    }

    @Test func guidsAndTimestampsAreNotCodes() {
        let e = explainer.explain("activity 748132ec-a575-4329-b01b-6171a9cf8478 at 1795000000 build 22631")
        #expect(e.codes.isEmpty && e.matches.isEmpty)
    }

    @Test func unknownCodesAreReportedNotGuessed() {
        // Both codes are listed and named; the standard one by its name, the unknown one by its bits and as not recognised.
        let e = explainer.explain("failed with 0x8018ABCD and also 0x80070005")
        #expect(e.codes == ["0x8018ABCD", "0x80070005"])
        #expect(e.named.map(\.name) == [nil, "E_ACCESSDENIED"])
        #expect(e.named.first?.meaning.contains("MENROLL") == true)
        #expect(e.unrecognized == ["0x8018ABCD"])
        #expect(e.causes.isEmpty)
        let nonsense = explainer.explain("the printer on floor 3 is out of toner")
        #expect(nonsense.causes.isEmpty && nonsense.unrecognized.count == 1)
    }

    @Test func eventIdsAndNames() {
        #expect(explainer.explain("<EventID>807</EventID>").events == [807])
        #expect(explainer.explain("Event ID: 76 Auto MDM Enroll failed").events.contains(76))
        #expect(explainer.explain("Error code: 806 - ZtdDeviceAlreadyAssigned").matches.first?.entry == "import-already-assigned")
        #expect(explainer.explain("Something went wrong. OOBEIDPS.").matches.first?.entry == "autopilot-oobeidps")
        #expect(explainer.explain("MENROLL_E_DEVICECAPREACHED").codes.isEmpty == true)
        #expect(explainer.explain("MENROLL_E_DEVICECAPREACHED").matches.first?.entry == "menroll-device-cap")
    }
}
