import Foundation
import MDMCore
import Testing

@Suite struct PolicyTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let settings = TenantSettings.newInstallation(initialDomain: "winmdm.test", publicURL: "https://mdm.winmdm.test")
    static let alice = User(upn: "Alice@WinMDM.test", displayName: "Alice", passwordHash: nil, createdAt: now,
                            assignedLicenses: [settings.licenseProducts[0].skuId])

    static func facts(hw: String = "HW-NEW", edition: Int = 48, version: String = "10.0.22631.1", type: EnrollmentType = .full) -> EnrollmentFacts {
        EnrollmentFacts(upn: alice.upn, credential: .password, enrollmentType: type, deviceID: "D", hwDevID: hw,
                        osEdition: edition, osVersion: version)
    }

    static func enrollment(_ upn: String, hw: String, type: EnrollmentType = .full, state: EnrollmentState = .active) -> Enrollment {
        Enrollment(upn: upn, deviceID: "D-\(hw)", hwDevID: hw, deviceName: nil, enrollmentType: type, osEdition: 48,
                   osVersion: nil, state: state, certificateSerial: "01", certificateThumbprint: "T", certificateNotAfter: now,
                   enrolledAt: now)
    }

    static func snapshot(_ s: TenantSettings = settings, user: User = alice, mine: [Enrollment] = [], device: [Enrollment] = []) -> PolicySnapshot {
        PolicySnapshot(settings: s, user: user, userEnrollments: mine, deviceEnrollments: device)
    }

    @Test func newInstallationAllowsAProDevice() {
        #expect(EnrollmentPolicy.evaluate(Self.facts(), Self.snapshot()) == .allowed)
        #expect(Self.alice.upn == "alice@winmdm.test")
    }

    @Test(arguments: [98, 99, 100, 101])
    func homeEditionsAreRefusedByDefault(_ sku: Int) {
        let d = EnrollmentPolicy.evaluate(Self.facts(edition: sku), Self.snapshot()).denials
        #expect(d.map(\.rule) == [.windowsHome])
        #expect(d[0].fault.hresult == 0x8018_0003)
        var s = Self.settings
        s.restrictions[1].windows?.homeAllowed = true
        #expect(EnrollmentPolicy.evaluate(Self.facts(edition: sku), Self.snapshot(s)) == .allowed)
    }

    @Test func deviceLimitCountsActiveUserEnrollmentsOnly() {
        let five = (1...5).map { Self.enrollment(Self.alice.upn, hw: "HW\($0)") }
        let d = EnrollmentPolicy.evaluate(Self.facts(), Self.snapshot(mine: five)).denials
        #expect(d.map(\.rule) == [.deviceLimit])
        #expect(d[0].reason.contains("limit of 5"))
        #expect(d[0].fault.hresult == 0x8018_0003)
        // Re-enrolling one of the five takes no new slot.
        #expect(EnrollmentPolicy.evaluate(Self.facts(hw: "HW3"), Self.snapshot(mine: five)) == .allowed)
        // Retired enrollments and device enrollments do not count.
        let mixed = (1...4).map { Self.enrollment(Self.alice.upn, hw: "HW\($0)") }
            + [Self.enrollment(Self.alice.upn, hw: "R", state: .retired), Self.enrollment(Self.alice.upn, hw: "J", type: .device)]
        #expect(EnrollmentPolicy.evaluate(Self.facts(), Self.snapshot(mine: mixed)) == .allowed)
    }

    @Test func joinQuotaAppliesToDeviceEnrollments() {
        var s = Self.settings
        s.joinQuota = 2
        let joined = [Self.enrollment(Self.alice.upn, hw: "J1", type: .device), Self.enrollment(Self.alice.upn, hw: "J2", type: .device)]
        let d = EnrollmentPolicy.evaluate(Self.facts(type: .device), Self.snapshot(s, mine: joined)).denials
        #expect(d.map(\.rule) == [.joinQuota])
        #expect(d[0].fault.hresult == 0x8018_0013)
    }

    @Test func everyDenialIsReturnedInPrecedenceOrder() {
        var s = Self.settings
        s.maintenance = true
        s.restrictions[1].windows = PlatformRestriction(platformBlocked: true, personalDeviceEnrollmentBlocked: true,
                                                        osMinimumVersion: "10.0.26100", homeAllowed: false)
        let bob = User(upn: "bob@contoso.local", displayName: "Bob", passwordHash: nil, createdAt: Self.now,
                       assignedLicenses: Self.alice.assignedLicenses)
        let five = (1...5).map { Self.enrollment(bob.upn, hw: "HW\($0)") }
        let other = Self.enrollment("carol@winmdm.test", hw: "HW-NEW")
        let d = EnrollmentPolicy.evaluate(Self.facts(edition: 101, version: "10.0.19045.1"),
                                          Self.snapshot(s, user: bob, mine: five, device: [other])).denials
        #expect(d.map(\.rule) == [.maintenance, .upnDomainUnverified, .platformBlocked, .windowsHome, .personalBlocked,
                                  .osVersion, .enrolledByOtherUser, .deviceLimit])
        #expect(d.map(\.fault.hresult) == [0x8018_0017, 0x8018_0015, 0x8018_0014, 0x8018_0003, 0x8018_0014, 0x8018_0014,
                                           0x8018_0003, 0x8018_0003])
        #expect(d[6].reason.contains("carol@winmdm.test"))
    }

    @Test func versionsCompareFieldByField() {
        #expect(WindowsVersion.compare("10.0.19045.2006", "10.0.22000") == .orderedAscending)
        #expect(WindowsVersion.compare("10.0.22631", "10.0.22631.0") == .orderedSame)
        #expect(WindowsVersion.compare("10.0.26100.1", "10.0.9999") == .orderedDescending)
        #expect(WindowsVersion.isValid("10.0.19045.2006") && !WindowsVersion.isValid("10..1") && !WindowsVersion.isValid("x"))
    }

    @Test func faultCodes() {
        #expect(HResult.format(0x8018_0003) == "0x80180003")
        #expect(EnrollmentFault.detail(.userLicense, "x").code == "0x80180018")
        #expect(EnrollmentFault.messageFormat("x").hresult == 0x8018_0001)
        #expect(FaultSubcode.internalServiceFault.hresult == 0x8018_0006)
    }

    @Test func upnShape() {
        #expect(UPN.isValid("alice@winmdm.test"))
        for bad in ["alice", "@x.y", "a@b", "a b@c.d", "a@.c", "a@c."] { #expect(!UPN.isValid(bad), "\(bad)") }
        #expect(UPN.domain(of: "a@Contoso.COM") == "contoso.com")
    }
}
