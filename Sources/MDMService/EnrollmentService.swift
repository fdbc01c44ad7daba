import Foundation
import Logging
import MDMCore
import MDMPKI
import MDMStorage
import MDMWire

/// Discovery, policy and enrollment: bytes in, bytes out, and an attempt recorded for every request.
///
/// Pipeline per request: decode (MDMWire) → facts → authenticate → policy decision (MDMCore) → certificate
/// (MDMPKI) → atomic commit (storage) → encode. A failure at any stage becomes the matching SOAP fault.
public struct EnrollmentService: Sendable {
    let config: ServerConfiguration
    let store: any MDMStore
    let recorder: AttemptRecorder
    let deviceCA: CertificateAuthority
    let authenticator: Authenticator
    let clock: any MDMCore.Clock
    let logger: Logger

    public init(config: ServerConfiguration, store: any MDMStore, deviceCA: CertificateAuthority,
                authenticator: Authenticator, clock: any MDMCore.Clock, logger: Logger = Logger(label: "winmdm.enrollment")) {
        self.config = config
        self.store = store
        self.recorder = AttemptRecorder(store: store)
        self.deviceCA = deviceCA
        self.authenticator = authenticator
        self.clock = clock
        self.logger = logger
    }

    // MARK: Discovery

    /// The bodiless GET probe Windows sends first: 200, empty (PROTOCOL.md §2.2).
    public func discoveryProbe() -> ServiceResponse {
        ServiceResponse(status: 200, contentType: "text/html", body: [])
    }

    public func discover(_ body: [UInt8], _ meta: RequestMetadata) async -> ServiceResponse {
        var attempt = newAttempt(.discovery, meta)
        let request: DiscoverRequest
        do {
            request = try DiscoverRequest(try SOAPEnvelope(bytes: body))
        } catch {
            return await fail(&attempt, .messageFormat(error.reason), action: Action.discoverResponse, relatesTo: nil, body: body)
        }
        attempt.facts = EnrollmentFacts(upn: request.emailAddress.isEmpty ? nil : UPN.normalize(request.emailAddress),
                                        deviceType: request.deviceType, osEdition: request.osEdition.flatMap { Int($0) },
                                        osVersion: request.applicationVersion, requestVersion: request.requestVersion)
        do {
            let settings = try await tenantSettings()
            let policy = settings.authPolicy
            guard request.authPolicies.isEmpty || request.authPolicies.contains(policy.rawValue) else {
                return await fail(&attempt, .init(subcode: .authorization, errorType: .notSupported,
                    reason: "This server requires \(policy.rawValue) authentication, which the device did not offer (it offered \(request.authPolicies.joined(separator: ", ")))."),
                    action: Action.discoverResponse, relatesTo: request.header.messageID, body: body)
            }
            let response = DiscoverResponse(
                relatesTo: request.header.messageID, activityID: attempt.id, authPolicy: policy.rawValue,
                policyServiceURL: config.policyURL, enrollmentServiceURL: config.enrollmentURL,
                authenticationServiceURL: policy == .federated ? config.authURL : nil)
            await record(attempt)
            return .soap(response.encode())
        } catch {
            return await fail(&attempt, .init(subcode: .enrollmentServer, reason: "The server could not read its settings: \(error)."),
                              action: Action.discoverResponse, relatesTo: request.header.messageID, body: body)
        }
    }

    // MARK: Policy (MS-XCEP)

    public func policy(_ body: [UInt8], _ meta: RequestMetadata) async -> ServiceResponse {
        var attempt = newAttempt(.policy, meta)
        let request: GetPoliciesRequest
        do {
            request = try GetPoliciesRequest(try SOAPEnvelope(bytes: body))
        } catch {
            return await fail(&attempt, .messageFormat(error.reason), action: Action.getPoliciesResponse, relatesTo: nil, body: body)
        }
        do {
            let settings = try await tenantSettings()
            // A renewing device asks for the policy over TLS with its current certificate and may send no credential.
            if let device = try await renewingDevice(meta, notes: &attempt.notes) {
                attempt.facts.credential = .certificate
                attempt.facts.upn = device.upn
                attempt.facts.deviceID = device.deviceID
                attempt.facts.hwDevID = device.hwDevID
                attempt.facts.deviceName = device.deviceName
                attempt.enrollmentID = device.id
                attempt.notes.append("authenticated by the device certificate of enrollment \(device.id) (renewal)")
            } else {
                let outcome = try await authenticator.authenticate(request.header.credential, settings: settings,
                                                                   source: meta.remoteAddress)
                if let refusal = await refuse(outcome, &attempt, action: Action.getPoliciesResponse,
                                              relatesTo: request.header.messageID, body: body) {
                    return refusal
                }
            }
            let response = GetPoliciesResponse(relatesTo: request.header.messageID,
                                               validityPeriodSeconds: Int(config.certificateValidity),
                                               renewalPeriodSeconds: config.renewal.periodDays * 86400)
            await record(attempt)
            return .soap(response.encode())
        } catch {
            return await internalFailure(&attempt, error, action: Action.getPoliciesResponse, relatesTo: request.header.messageID, body: body)
        }
    }

    // MARK: Enrollment (MS-WSTEP)

    public func enroll(_ body: [UInt8], _ meta: RequestMetadata) async -> ServiceResponse {
        var attempt = newAttempt(.enroll, meta)
        let action = Action.requestSecurityTokenResponse
        let request: RequestSecurityToken
        do {
            request = try RequestSecurityToken(try SOAPEnvelope(bytes: body))
        } catch {
            return await fail(&attempt, .messageFormat(error.reason), action: action, relatesTo: nil, body: body)
        }
        let relatesTo = request.header.messageID
        // Renewal is keyed on the token, not only on RequestType: MS-WSTEP renews with Issue and a PKCS#7 (§10.2).
        if request.tokenValueType.hasSuffix("#PKCS7") {
            return await renew(request, meta, body: body)
        }
        attempt.facts = Self.facts(from: request, notes: &attempt.notes)
        do {
            let settings = try await tenantSettings()
            // 1. Who is enrolling.
            let outcome = try await authenticator.authenticate(request.header.credential, settings: settings,
                                                               source: meta.remoteAddress)
            if let refusal = await refuse(outcome, &attempt, action: action, relatesTo: relatesTo, body: body) { return refusal }
            guard case .authenticated(let user, _) = outcome else { return await internalFailure(&attempt, AuthenticationFlowError(), action: action, relatesTo: relatesTo, body: body) }
            // 2. What is being enrolled.
            guard request.tokenValueType == TokenValueType.pkcs10, !request.isRenewal else {
                return await fail(&attempt, request.isRenewal
                    ? .detail(.notEligibleToRenew, "A renewal must carry a PKCS#7 signed with the current certificate; this one carries \(request.tokenValueType.isEmpty ? "no token type" : request.tokenValueType).")
                    : .messageFormat("The request does not carry a PKCS#10 certificate request."),
                    action: action, relatesTo: relatesTo, body: body)
            }
            guard let deviceID = attempt.facts.deviceID, !deviceID.isEmpty, let hwDevID = attempt.facts.hwDevID, !hwDevID.isEmpty else {
                return await fail(&attempt, .messageFormat("The request lacks the DeviceID or HWDevID context item."),
                                  action: action, relatesTo: relatesTo, body: body)
            }
            let csr: CertificateRequest
            do { csr = try CertificateRequest(der: request.token) } catch {
                return await fail(&attempt, .certificateRequest(error.reason), action: action, relatesTo: relatesTo, body: body)
            }
            attempt.notes += csr.quirks
            if let ext = csr.deviceIDExtension, ext != deviceID {
                attempt.notes.append("CSR DeviceID extension \(ext) differs from the DeviceID context item \(deviceID)")
            }
            // 3. May they.
            attempt.facts.kind = attempt.facts.kind(packageAccount: user.isPackageAccount)
            let groupIDs = try await store.groupIDs(of: user.id)
            // Corporate or personal: from what the request says and, once devices are registered, this hardware.
            let registrations = try await store.registrationCounts()
            let registered = registrations.autopilot > 0 ? try await store.autopilotDevice(hwDevID: hwDevID).flatMap { $0.releasedTo == nil ? $0 : nil } : nil
            var ownership = OwnershipRecord.atEnrollment(kind: attempt.facts.kind ?? .user, autopilot: registered,
                                                         autopilotHint: attempt.facts.autopilot == true, matchedIdentifier: nil,
                                                         identifiersExist: registrations.identifiers > 0, now: clock.now())
            if let correlator = attempt.facts.autopilotCorrelator {
                // Autopilot for existing devices echoes the offline file's ZtdCorrelationId, which is the profile's id.
                if let p = settings.autopilotProfiles.first(where: { $0.id == correlator.lowercased() }) {
                    attempt.notes.append("autopilot-offline-profile: set up from the offline profile file of \"\(p.displayName)\" (ZtdCorrelationId \(p.id)).")
                    if registered == nil { ownership.reason = "Enrolled by Windows Autopilot for existing devices with the offline profile file of \"\(p.displayName)\"." }
                } else {
                    attempt.notes.append("autopilot-offline-profile: the OfflineAutoPilotEnrollmentCorrelator \(correlator) names no Autopilot profile here (a file exported by another installation, or a deleted profile).")
                }
            }
            let snapshot = PolicySnapshot(settings: settings, user: user, groupIDs: groupIDs,
                                          userEnrollments: try await store.activeEnrollments(upn: user.upn),
                                          deviceEnrollments: try await store.activeEnrollments(hwDevID: hwDevID),
                                          ownership: ownership, autopilotDevice: registered)
            let facts = attempt.facts
            if case .denied(let denials) = EnrollmentPolicy.evaluate(facts, snapshot) {
                return await deny(&attempt, denials, action: action, relatesTo: relatesTo, body: body)
            }
            // 4. Issue, then record atomically with the capacity re-check.
            let now = clock.now()
            let cert = try deviceCA.issueDeviceCertificate(for: csr, commonName: deviceID, now: now,
                                                           validity: config.certificateValidity)
            let kind = facts.kind ?? .user
            var enrollment = Enrollment(
                upn: user.upn, deviceID: deviceID, hwDevID: hwDevID, deviceName: facts.deviceName,
                enrollmentType: facts.enrollmentType ?? .full, kind: kind, osEdition: facts.osEdition, osVersion: facts.osVersion,
                certificateSerial: cert.serialHex, certificateThumbprint: cert.thumbprint,
                certificateNotAfter: cert.notAfter, enrolledAt: now)
            enrollment.ownershipRecord = ownership
            enrollment.autopilotDeviceID = registered?.id
            // The Enrollment Status Page (Intune's order): the best-priority page assigned to the device's groups, else
            // the best one of its user's groups (none for user-less enrollments), else the Default.
            let deviceGroups = try await store.groupIDs(ofDevice: hwDevID)
            let forDevice = settings.applicableRestriction(.enrollmentStatusPage, groupIDs: deviceGroups)
            let page = !forDevice.isDefault ? forDevice
                : settings.applicableRestriction(.enrollmentStatusPage, groupIDs: kind == .bulk ? [] : groupIDs)
            if let s = page.statusPage, StatusPage.applies(s, notInOOBE: facts.notInOOBE) {
                enrollment.statusPage = StatusPageProgress(configurationID: page.id, configurationName: page.isDefault ? "Default" : page.displayName,
                                                           settings: s, startedAt: now)
            }
            let late = try await store.commitEnrollment(enrollment) { current in
                EnrollmentPolicy.capacityDenials(facts, kind: kind, user: user.upn, enrollments: current, settings: settings,
                                                 groupIDs: groupIDs)
            }
            if !late.isEmpty {
                return await deny(&attempt, late, action: action, relatesTo: relatesTo, body: body)
            }
            // 5. The provisioning document.
            var doc = ProvisioningDocument(
                rootThumbprint: deviceCA.thumbprint, rootCertificateBase64: deviceCA.base64,
                clientThumbprint: cert.thumbprint, clientCertificateBase64: cert.base64,
                store: enrollment.enrollmentType == .device ? "System" : "User", subjectCommonName: cert.commonName,
                providerID: config.providerID, serverName: config.serverName, managementURL: config.managementURL,
                entDMID: enrollment.id, deviceName: facts.deviceName, upn: user.upn)
            doc.renewal = (config.renewal.periodDays, config.renewal.retryIntervalDays)
            doc.poll = Self.poll(settings.checkInSchedule)
            let response = RequestSecurityTokenResponse(relatesTo: relatesTo, created: now - 300, expires: now + 300,
                                                        provisioningDocument: doc.encode())
            attempt.enrollmentID = enrollment.id
            if registrations.autopilot + registrations.identifiers > 0, registered == nil {
                // The serial number is not in the request: the first session asks for it, to match the device with its
                // Autopilot registration or a corporate identifier.
                try await store.enqueue(DeviceCommand(enrollmentID: enrollment.id, kind: "identify", verb: "Get",
                                                      items: [DMItem(target: ManagementService.serialNode)], createdAt: now))
            }
            if let r = registered {
                let resolution = AutopilotResolution.resolve(groupIDs: autopilotGroupIDs(r, groups: try await store.groups()),
                                                             profiles: settings.autopilotProfiles)
                if let why = resolution.explanation { attempt.notes.append("autopilot-conflict: " + why) }
            }
            await record(attempt)
            logger.info("enrolled", metadata: ["upn": .string(user.upn), "device": .string(deviceID), "enrollment": .string(enrollment.id)])
            return .soap(response.encode())
        } catch {
            return await internalFailure(&attempt, error, action: action, relatesTo: relatesTo, body: body)
        }
    }

    /// The schedule as DMClient's Poll values: the remaining set repeats forever (count 0).
    static func poll(_ s: CheckInSchedule) -> ProvisioningDocument.Poll {
        var p = ProvisioningDocument.Poll()
        p.firstRetries = s.firstCount
        p.firstInterval = s.firstInterval
        p.secondRetries = s.secondCount
        p.secondInterval = s.secondCount == 0 ? 0 : s.secondInterval
        p.remainingRetries = 0
        p.remainingInterval = s.remainingInterval
        return p
    }

    /// The facts of an RST, exactly as the device stated them.
    static func facts(from r: RequestSecurityToken, notes: inout [String]) -> EnrollmentFacts {
        var f = EnrollmentFacts()
        f.deviceID = r.context("DeviceID")
        f.hwDevID = r.context("HWDevID")
        f.deviceName = r.context("DeviceName")
        f.deviceType = r.context("DeviceType")
        f.osEdition = r.context("OSEdition").flatMap { Int($0) }
        f.osVersion = r.context("OSVersion") ?? r.context("ApplicationVersion")
        f.locale = r.context("Locale")
        f.macAddresses = r.contextAll("MAC")
        f.requestVersion = r.context("RequestVersion")
        f.notInOOBE = r.context("NotInOobe").map { $0.lowercased() == "true" }
        f.autopilotCorrelator = r.context("OfflineAutoPilotEnrollmentCorrelator").flatMap { $0.isEmpty ? nil : $0 }
        if r.context("ZeroTouchProvisioning").map({ !["", "false", "0"].contains($0.lowercased()) }) == true || f.autopilotCorrelator != nil {
            f.autopilot = true
        }
        if let t = r.context("EnrollmentType") {
            f.enrollmentType = EnrollmentType(wire: t)
            if f.enrollmentType == nil { notes.append("unknown EnrollmentType '\(t)', treated as Full") }
        } else {
            notes.append("no EnrollmentType context item, treated as Full")
        }
        if f.enrollmentType == nil { f.enrollmentType = .full }
        return f
    }

    // MARK: Outcomes

    /// Records who the credential named; for a refused credential, the response: the device is told only that the
    /// user name or password is incorrect (or that the server is busy), the attempt keeps the real reason.
    func refuse(_ outcome: AuthOutcome, _ attempt: inout EnrollmentAttempt, action: String, relatesTo: String, body: [UInt8]) async -> ServiceResponse? {
        switch outcome {
        case .authenticated(let user, let kind):
            attempt.facts.upn = user.upn
            attempt.facts.credential = kind
            return nil
        case .refused(let kind, let upn, let reason):
            attempt.facts.credential = kind
            attempt.facts.upn = upn
            return await fail(&attempt, .authentication(reason), deviceReason: AuthenticationMessage.generic,
                              action: action, relatesTo: relatesTo, body: body)
        case .busy(let upn, let reason):
            attempt.facts.upn = upn
            return await fail(&attempt, .init(subcode: .enrollmentServer, reason: reason), deviceReason: AuthenticationMessage.busy,
                              action: action, relatesTo: relatesTo, body: body)
        }
    }

    func newAttempt(_ phase: EnrollmentPhase, _ meta: RequestMetadata) -> EnrollmentAttempt {
        EnrollmentAttempt(time: clock.now(), phase: phase, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent)
    }

    func tenantSettings() async throws -> TenantSettings {
        guard let s = try await store.tenantSettings() else {
            throw StorageError(.notFound, "The tenant settings are missing; the data directory was not initialised.")
        }
        return s
    }

    func deny(_ attempt: inout EnrollmentAttempt, _ denials: [Denial], action: String, relatesTo: String, body: [UInt8]) async -> ServiceResponse {
        attempt.denials = denials
        let first = denials[0]
        let fault = EnrollmentFault(subcode: first.fault.subcode, errorType: first.fault.errorType,
                                    reason: "\(first.fault.reason) [rule \(first.rule.rawValue)]")
        return await fail(&attempt, fault, action: action, relatesTo: relatesTo, body: body)
    }

    func internalFailure(_ attempt: inout EnrollmentAttempt, _ error: Error, action: String, relatesTo: String?, body: [UInt8]) async -> ServiceResponse {
        logger.error("enrollment request failed", metadata: ["attempt": .string(attempt.id), "error": .string("\(error)")])
        attempt.notes.append("internal error: \(error)")
        return await fail(&attempt, .init(subcode: .enrollmentServer, reason: "The server failed while handling the request; see attempt \(attempt.id)."),
                          action: action, relatesTo: relatesTo, body: body)
    }

    /// Sends `fault` and records the attempt with it and a redacted excerpt of the request.
    /// `deviceReason`, when given, is what the device is told instead of the fault's own reason (which is recorded).
    func fail(_ attempt: inout EnrollmentAttempt, _ fault: EnrollmentFault, deviceReason: String? = nil, action: String,
              relatesTo: String?, body: [UInt8], httpStatus: Int? = nil) async -> ServiceResponse {
        attempt.outcome = .failed
        attempt.fault = fault
        attempt.requestExcerpt = Redaction.excerpt(body)
        attempt.httpStatus = httpStatus ?? config.faultHTTPStatus
        // A repeat of an identical failure is counted on the first record, whose id the device then gets.
        attempt.id = await recorder.record(attempt)
        let xml = SOAPFault(action: action, relatesTo: relatesTo, activityID: attempt.id, subcode: fault.subcode.rawValue,
                            wcf: fault.subcode.isWCFDispatcher, errorType: fault.errorType?.rawValue,
                            reason: deviceReason ?? fault.reason, traceID: attempt.id).encode()
        return .soap(xml, status: attempt.httpStatus)
    }

    /// A body refused before it was read (too large): recorded, answered with 413 and a MessageFormat fault.
    public func refuseOversized(_ phase: EnrollmentPhase, declaredLength: Int?, _ meta: RequestMetadata) async -> ServiceResponse {
        var attempt = newAttempt(phase, meta)
        let size = declaredLength.map { "\($0) bytes" } ?? "more than \(config.maxBodyBytes) bytes"
        let action = switch phase {
        case .discovery: Action.discoverResponse
        case .policy: Action.getPoliciesResponse
        default: Action.requestSecurityTokenResponse
        }
        return await fail(&attempt, .messageFormat("The request body (\(size)) exceeds the \(config.maxBodyBytes)-byte limit."),
                          action: action, relatesTo: nil, body: [], httpStatus: 413)
    }

    func record(_ attempt: EnrollmentAttempt) async { await recorder.record(attempt) }
}

/// `refuse` returned nil for an outcome that is not `.authenticated`: cannot happen.
struct AuthenticationFlowError: Error, CustomStringConvertible {
    var description: String { "authentication outcome without a user" }
}
