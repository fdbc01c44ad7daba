import Foundation

public enum EnrollmentState: String, Codable, Sendable {
    case active
    case unenrolled
    case retired
}

/// One device enrolled by one user (or by a device/bulk credential).
public struct Enrollment: Codable, Sendable, Equatable, Identifiable {
    /// Also the EntDMID sent to the device.
    public var id: String
    public var upn: String
    public var deviceID: String
    public var hwDevID: String
    public var deviceName: String?
    public var enrollmentType: EnrollmentType
    public var kind: EnrollmentKind
    public var osEdition: Int?
    public var osVersion: String?
    public var state: EnrollmentState
    public var certificateSerial: String
    public var certificateThumbprint: String
    public var certificateNotAfter: Date
    public var enrolledAt: Date
    public var lastSeenAt: Date?
    /// Set when an administrator removed the device's primary user ("Unassign user"); the enrolling account stays in `upn`.
    public var userUnassigned: Bool?
    /// The last DevInfo / DevDetail values the device reported (LocURI → value).
    public var inventory: [String: String]?
    /// `user`, `others` or `none`, from the last session.
    public var loginStatus: String?
    /// After a renewal, the certificate the device renewed with: still accepted until the device has used the new one
    /// (a device that failed to install the new certificate keeps working and can renew again).
    public var previousCertificateThumbprint: String?
    public var previousCertificateNotAfter: Date?
    /// When the certificate was last renewed, and how many times.
    public var certificateRenewedAt: Date?
    public var renewalCount: Int?
    /// When the compliance values are next read from the device (nil: no compliance policy applied when last looked).
    public var complianceDueAt: Date?
    /// Per compliance policy id: since when the device breaks it (the grace period counts from there).
    public var noncompliantSince: [String: Date]?
    /// The Enrollment Status Page, when one was shown at enrollment.
    public var statusPage: StatusPageProgress?
    /// The managed local administrator winmdm created on the device (Accounts CSP), password sealed.
    public var localAdmin: ManagedLocalAccount?
    /// Corporate or personal, and why (nil: decided by the enrollment type, as before ownership was recorded).
    public var ownershipRecord: OwnershipRecord?
    /// The Autopilot device this enrollment is, once matched.
    public var autopilotDeviceID: String?

    public init(id: String = UUID().uuidString.lowercased(), upn: String, deviceID: String, hwDevID: String,
                deviceName: String?, enrollmentType: EnrollmentType, kind: EnrollmentKind? = nil, osEdition: Int?, osVersion: String?,
                state: EnrollmentState = .active, certificateSerial: String, certificateThumbprint: String,
                certificateNotAfter: Date, enrolledAt: Date, lastSeenAt: Date? = nil) {
        self.id = id
        self.upn = upn
        self.deviceID = deviceID
        self.hwDevID = hwDevID
        self.deviceName = deviceName
        self.enrollmentType = enrollmentType
        self.kind = kind ?? (enrollmentType == .device ? .device : .user)
        self.osEdition = osEdition
        self.osVersion = osVersion
        self.state = state
        self.certificateSerial = certificateSerial
        self.certificateThumbprint = certificateThumbprint
        self.certificateNotAfter = certificateNotAfter
        self.enrolledAt = enrolledAt
        self.lastSeenAt = lastSeenAt
    }

    public var ownership: DeviceOwnership { ownershipRecord?.ownership ?? (kind.isPersonal ? .personal : .corporate) }

    /// Device limit counts active user enrollments; device enrollments count toward the join quota.
    public var countsTowardDeviceLimit: Bool { state == .active && kind == .user && userUnassigned != true }

    /// The device's primary user, nil when unassigned.
    public var primaryUser: String? { userUnassigned == true ? nil : upn }
    /// No user to target: a bulk (provisioning package) enrollment, or one whose primary user was removed. Only
    /// assignments to all devices reach it.
    public var isUserless: Bool { kind == .bulk || userUnassigned == true }
    public var countsTowardJoinQuota: Bool { state == .active && kind != .user }

    /// Whether `thumbprint` is one of this enrollment's certificates: the current one, or the one it was renewed from
    /// while the device has not yet switched.
    public func accepts(certificateThumbprint thumbprint: String) -> Bool {
        thumbprint == certificateThumbprint || thumbprint == previousCertificateThumbprint
    }

    /// Installs a renewed certificate. Renewing with the previous certificate (the device never installed the one it
    /// was sent) replaces the unused certificate and keeps the previous one as the fallback.
    public mutating func renew(signerThumbprint: String, serial: String, thumbprint: String, notAfter: Date, at now: Date) {
        if signerThumbprint == certificateThumbprint {
            previousCertificateThumbprint = certificateThumbprint
            previousCertificateNotAfter = certificateNotAfter
        }
        certificateSerial = serial
        certificateThumbprint = thumbprint
        certificateNotAfter = notAfter
        certificateRenewedAt = now
        renewalCount = (renewalCount ?? 0) + 1
    }

    /// The device used its current certificate: the one it renewed from stops working.
    public mutating func retirePreviousCertificate() {
        previousCertificateThumbprint = nil
        previousCertificateNotAfter = nil
    }
}
