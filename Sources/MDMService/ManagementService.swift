import Foundation
import Logging
import Metrics
import MDMCore
import MDMPKI
import MDMStorage
import MDMWire

/// OMA-DM management: each POST is one SyncML message from a device that proved who it is with its enrollment
/// certificate. The route passes the body and the client certificate (from the TLS handshake); nothing else.
///
/// - Warning: a certificate authenticates only its own device: it must chain to the device CA, be within its validity,
///   belong to an active enrollment, and the message's SyncML Source must be that enrollment's DeviceID.
///
/// Nothing about a session is kept in memory: the reply's MsgID follows the client's, and commands in flight are
/// named in the store by session, message and command id, so every instance sharing a database can answer every
/// message and check-ins never wait for each other.
public struct ManagementService: Sendable {
    let config: ServerConfiguration
    let store: any MDMStore
    let recorder: AttemptRecorder
    let deviceCA: CertificateAuthority
    let clock: any MDMCore.Clock
    let logger: Logger
    /// Seals the managed local administrator passwords; without it a profile that needs one is refused for the device.
    let secrets: SecretBox?

    /// The largest SyncML message read; Windows sends far less (its MaxMsgSize is 64 KiB by default).
    public static let maxMessageBytes = 4 << 20

    public init(config: ServerConfiguration, store: any MDMStore, deviceCA: CertificateAuthority, clock: any MDMCore.Clock,
                logger: Logger = Logger(label: "winmdm.management"), secrets: SecretBox? = nil) {
        self.secrets = secrets
        self.config = config
        self.store = store
        self.recorder = AttemptRecorder(store: store)
        self.deviceCA = deviceCA
        self.clock = clock
        self.logger = logger
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case noCertificate, unreadableCertificate, foreignIssuer, expired, notClientAuth, unknownCertificate
        case enrollmentNotActive(String), deviceMismatch(String), badMessage(String)
        /// A certificate header arrived from an address that is not a configured proxy.
        case untrustedProxy(String)
        /// The message is larger than the endpoint accepts (the limit in bytes); it was not read.
        case tooLarge(Int)

        /// Why the certificate itself was refused, in the management endpoint's terms.
        public init(_ r: DeviceCertificateVerifier.Refusal) {
            switch r {
            case .noCertificate: self = .noCertificate
            case .unreadable: self = .unreadableCertificate
            case .foreignIssuer: self = .foreignIssuer
            case .expired: self = .expired
            case .notClientAuth: self = .notClientAuth
            }
        }

        public var description: String {
            switch self {
            case .noCertificate: "No client certificate was presented."
            case .unreadableCertificate: "The client certificate cannot be read."
            case .foreignIssuer: "The client certificate was not issued by this server's device CA."
            case .expired: "The client certificate is expired or not yet valid."
            case .notClientAuth: "The client certificate is not for client authentication."
            case .unknownCertificate: "The client certificate belongs to no enrollment (or was replaced by a renewed certificate the device already uses)."
            case .enrollmentNotActive(let s): "The enrollment of this certificate is \(s); its certificate is revoked."
            case .deviceMismatch(let s): "The message's DeviceID (\(s)) is not the device this certificate was issued to."
            case .badMessage(let s): "The SyncML message cannot be read: \(s)"
            case .untrustedProxy(let a): "A client certificate header came from \(a), which is not a configured proxy; it was ignored."
            case .tooLarge(let limit): "The SyncML message is larger than \(limit) bytes; it was not read."
            }
        }
    }

    /// Checks the certificate and returns its active enrollment with what is queued and sent, and its thumbprint.
    func identify(_ der: [UInt8]?) async throws -> (CheckInRecord, String) {
        try await Self.identify(der, deviceCA: deviceCA, store: store, now: clock.now())
    }

    /// The same checks for any service that accepts a device certificate (renewal's policy request, too): the
    /// certificate itself is MDMPKI's question, its enrollment is the store's.
    static func identify(_ der: [UInt8]?, deviceCA: CertificateAuthority, store: any MDMStore, now: Date) async throws -> (CheckInRecord, String) {
        let verified: DeviceCertificateVerifier.Verified
        do { verified = try DeviceCertificateVerifier(deviceCA: deviceCA).verify(der: der, now: now) } catch { throw Refusal(error) }
        guard let found = try await store.checkIn(certificateThumbprint: verified.thumbprint) else { throw Refusal.unknownCertificate }
        guard found.enrollment.state == .active else { throw Refusal.enrollmentNotActive(found.enrollment.state.rawValue) }
        return (found, verified.thumbprint)
    }

    public func handle(_ body: [UInt8], clientCertificate: [UInt8]?, _ meta: RequestMetadata) async -> ServiceResponse {
        do {
            let (found, thumbprint) = try await identify(clientCertificate)
            let enrollment = found.enrollment
            let message: SyncMLMessage
            do { message = try SyncMLMessage(bytes: body) } catch { throw Refusal.badMessage(error.reason) }
            guard message.header.source == enrollment.deviceID else { throw Refusal.deviceMismatch(message.header.source) }
            var session = ManagementSession(deviceID: enrollment.deviceID, serverURL: config.managementURL)
            let now = clock.now()
            var hasQueued = found.hasQueuedCommands
            if message.header.msgID == "1", found.hasSentCommands {
                // A new session: whatever went out before it can no longer be answered (the device dropped the
                // session, or the connection broke). It goes out again now, in its old order. An unenroll the device
                // confirms in this very message is settled below instead.
                let leaving = ManagementSession.announcesUnenrollment(message)
                for var c in try await store.sentCommands(enrollmentID: enrollment.id) where !(leaving && c.kind == "unenroll") {
                    c.requeueUnanswered(at: now)
                    if c.state == .queued { hasQueued = true }
                    try await store.updateCommand(c)
                    if c.state == .failed { try await recordProfileAnswer(c, status: "unanswered", now: now) }
                }
            }
            if found.profilesRevision > found.reconciledRevision {
                // Profiles, assignments or groups changed since this device last looked: work out its desired state
                // (once per revision, on whichever instance gets there first) and queue what differs.
                let userless = enrollment.isUserless, id = enrollment.id
                if let plan = try await store.reconcileProfiles(enrollmentID: id, revision: found.profilesRevision, plan: { profiles, groups, deviceGroups, states in
                    ProfilePlanner.plan(enrollmentID: id, userGroupIDs: groups, deviceGroupIDs: deviceGroups, userless: userless, edition: enrollment.osEdition,
                                        osVersion: enrollment.osVersion, profiles: profiles, states: states, now: now)
                }), !plan.commands.isEmpty {
                    hasQueued = true
                }
            }
            if found.profilesRevision > found.reconciledRevision || enrollment.complianceDueAt.map({ now >= $0 }) == true {
                // Compliance values are read when policies change and then on a schedule, one Get per node.
                if try await queueComplianceReads(enrollment, now: now) { hasQueued = true }
            }
            if let page = enrollment.statusPage,
               page.state == .inProgress || (page.state == .succeeded && !page.userPhaseFinished && message.header.msgID == "1"
                                             && now < (page.finishedAt ?? now) + StatusPage.accountPhaseWindow) {
                // Only while the Enrollment Status Page is up: what it waits for, and whether it is done.
                if try await advanceStatusPage(enrollment, page, now: now, meta) { hasQueued = true }
            }
            var queued = message.final && hasQueued ? try await store.queuedCommands(enrollmentID: enrollment.id) : []
            let wire = try await withSecrets(&queued, enrollment, now: now)
            let actions = try session.receive(message, send: wire)
            // Commands sent now, named "session:msgID:cmdID" so an answer in another session never matches them.
            let messageKey = message.header.sessionID + ":" + actions.reply.header.msgID
            for (c, sent) in zip(queued, actions.sent) {
                var c = c
                c.markSent(at: now, messageKey: messageKey, cmdID: sent.cmdID, stepCmdIDs: sent.children.map(\.cmdID))
                try await store.updateCommand(c)
            }
            // Answers to earlier commands: the device's MsgRef and CmdRef name the command or one of its steps
            // ("session:msgID:cmdID"). Read only when the device answered something: an idle check-in carries no statuses.
            var pending = actions.statuses.isEmpty ? []
                : try await store.sentCommands(enrollmentID: enrollment.id)
            var answered: Set<Int> = []
            for (msgRef, ref, code) in actions.statuses {
                let key = "\(message.header.sessionID):\(msgRef):\(ref)"
                let items = actions.results.first { $0.cmdRef == ref && $0.msgRef == msgRef }?.items
                    .map { DMItem(target: $0.source ?? "", format: $0.format, type: $0.type, data: $0.data) }
                if let at = pending.firstIndex(where: { $0.cmdID == key }) {
                    pending[at].status = code
                    if let items { pending[at].results = items }
                    answered.insert(at)
                } else if let at = pending.firstIndex(where: { $0.steps?.contains { $0.cmdID == key } == true }),
                          let step = pending[at].steps?.firstIndex(where: { $0.cmdID == key }) {
                    pending[at].steps?[step].status = code
                    if let items {
                        pending[at].steps?[step].results = items
                        pending[at].results += items
                    }
                    answered.insert(at)
                }
            }
            if actions.unenrollRequested {
                // A remote unenroll is never answered with a Status: the device drops the session and reports the
                // unenrollment in the next one, which confirms it.
                for var c in try await store.sentCommands(enrollmentID: enrollment.id) where c.kind == "unenroll" && c.status == nil {
                    c.status = "1226"
                    c.state = .succeeded
                    c.completedAt = now
                    try await store.updateCommand(c)
                }
            }
            for at in answered.sorted() {
                var c = pending[at]
                c.settle()
                if c.state != .sent { c.completedAt = now }
                if c.verb == "Add" && c.status == "418" {
                    // Already exists: send it again as Replace (a profile's setting waits for that answer).
                    var again = DeviceCommand(enrollmentID: c.enrollmentID, kind: c.kind, verb: "Replace", items: c.items, createdAt: now)
                    again.profileID = c.profileID
                    again.profileVersion = c.profileVersion
                    try await store.enqueue(again)
                } else if let status = c.status, c.state != .sent {
                    try await recordProfileAnswer(c, status: status, now: now)
                }
                if c.kind == "esp-user", c.state == .succeeded {
                    _ = try await store.modifyEnrollment(id: c.enrollmentID) { $0.statusPage?.userPhaseFinished = true }
                }
                try await store.updateCommand(c)
            }
            if actions.unenrollRequested {
                logger.info("device unenrolled", metadata: ["enrollment": .string(enrollment.id)])
            }
            let usedCurrent = thumbprint == enrollment.certificateThumbprint
            let inventory = actions.inventory, loginStatus = actions.loginStatus, unenroll = actions.unenrollRequested
            let changed = unenroll || (usedCurrent && enrollment.previousCertificateThumbprint != nil)
                || (loginStatus != nil && loginStatus != enrollment.loginStatus)
                || inventory.contains { enrollment.inventory?[$0.key] != $0.value }
            Self.checkIns(changed ? "reported" : "idle")
            guard changed else {
                // Nothing new (the usual check-in): one update by key, nothing read.
                try await store.markSeen(enrollmentID: enrollment.id, at: now)
                return ServiceResponse(contentType: SyncMLNS.contentType, body: Array(actions.reply.encode().utf8))
            }
            // Reported compliance values: since when each policy is broken (the grace period counts from there).
            let policies = inventory.keys.contains(where: { $0.hasPrefix("./Vendor/MSFT/DeviceStatus/") || $0 == CompliancePolicy.versionNode })
                ? try await store.tenantSettings()?.compliancePolicies ?? [] : []
            // One transaction re-reads the record, so a renewal that landed meanwhile is kept.
            try await store.modifyEnrollment(id: enrollment.id) { e in
                if !inventory.isEmpty { e.inventory = (e.inventory ?? [:]).merging(inventory) { $1 } }
                // What the device reports wins over what it said at enrollment (a rename, a feature update).
                if let v = inventory["./DevDetail/SwV"], !v.isEmpty { e.osVersion = v }
                if !policies.isEmpty {
                    var since = e.noncompliantSince ?? [:]
                    for p in policies {
                        guard let failures = p.failures(inventory: e.inventory, osVersion: e.osVersion) else { continue }
                        if failures.isEmpty { since[p.id] = nil } else if since[p.id] == nil { since[p.id] = now }
                    }
                    e.noncompliantSince = since.isEmpty ? nil : since
                }
                if let v = inventory["./DevDetail/Ext/Microsoft/DeviceName"], !v.isEmpty { e.deviceName = v }
                if let loginStatus { e.loginStatus = loginStatus }
                e.lastSeenAt = now
                // The device manages with its renewed certificate: the one it renewed from stops working.
                if usedCurrent, thumbprint == e.certificateThumbprint, e.previousCertificateThumbprint != nil { e.retirePreviousCertificate() }
                // The device leaves: the enrollment ends, its certificate stops working, its slot is free.
                if unenroll { e.state = .unenrolled }
            }
            if let serial = inventory[Self.serialNode], !serial.isEmpty, enrollment.autopilotDeviceID == nil,
               enrollment.ownershipRecord?.source != .admin {
                try await identify(enrollment, serial: serial, manufacturer: inventory["./DevInfo/Man"] ?? enrollment.inventory?["./DevInfo/Man"],
                                   model: inventory["./DevInfo/Mod"] ?? enrollment.inventory?["./DevInfo/Mod"], now: now, meta)
            }
            return ServiceResponse(contentType: SyncMLNS.contentType, body: Array(actions.reply.encode().utf8))
        } catch let r as Refusal {
            Self.checkIns("refused")
            await recordRefusal(r, meta)
            let status: Int
            switch r {
            case .noCertificate: status = 401
            case .badMessage: status = 400
            default: status = 403
            }
            return ServiceResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((r.description + "\n").utf8))
        } catch let e as ManagementSessionError {
            await recordRefusal(.badMessage("\(e)"), meta)
            return ServiceResponse(status: 400, contentType: "text/plain; charset=utf-8", body: Array("The message does not fit the session.\n".utf8))
        } catch {
            logger.error("management request failed", metadata: ["error": .string("\(error)")])
            return ServiceResponse(status: 500, contentType: "text/plain; charset=utf-8", body: Array("The server failed.\n".utf8))
        }
    }

    /// `winmdm_checkins_total{result}`: idle (nothing new, the usual case), reported (results or inventory written),
    /// refused (no or a wrong certificate, a bad message).
    /// Made once, at the first check-in (after the server bootstrapped its metrics backend): the idle check-in is the
    /// hot path, so it does not look its counter up each time.
    static let checkInCounters: [String: Counter] = Dictionary(uniqueKeysWithValues: ["idle", "reported", "refused"].map {
        ($0, Counter(label: "winmdm_checkins_total", dimensions: [("result", $0)]))
    })
    static func checkIns(_ result: String) { checkInCounters[result]?.increment() }

    /// The SMBIOS serial number, as Intune reads it in the first session.
    public static let serialNode = "./DevDetail/Ext/Microsoft/SMBiosSerialNumber"

    /// Matches a device that reported its serial number with its Autopilot registration or a corporate identifier:
    /// an Autopilot device becomes corporate and is named from its profile's template (a profile conflict, V03, is
    /// recorded as an attempt of this session); once identifiers exist, a device that matches none is personal, and
    /// where personal devices are blocked for its user it is refused: unenrolled at its next session, with the refusal
    /// recorded as an attempt under the personal-device rule.
    func identify(_ e: Enrollment, serial: String, manufacturer: String?, model: String?, now: Date, _ meta: RequestMetadata) async throws {
        if var ap = try await store.autopilotDevice(serial: serial), ap.releasedTo == nil {
            ap.enrollmentState = .enrolled
            ap.enrollmentID = e.id
            ap.hwDevID = e.hwDevID
            ap.lastContactedAt = now
            ap.manufacturer = manufacturer ?? ap.manufacturer
            ap.model = model ?? ap.model
            try await store.updateAutopilotDevice(ap)
            let record = OwnershipRecord(.corporate, .autopilot, "Registered with Autopilot (serial number \(ap.serialNumber)).", at: now)
            let id = ap.id
            _ = try await store.modifyEnrollment(id: e.id) { $0.ownershipRecord = record; $0.autopilotDeviceID = id }
            let profiles = try await store.tenantSettings()?.autopilotProfiles ?? []
            let resolution = AutopilotResolution.resolve(groupIDs: autopilotGroupIDs(ap, groups: try await store.groups()), profiles: profiles)
            if let p = resolution.winner, p.namesDevices, let text = p.deviceNameTemplate, let template = try? DeviceNameTemplate(text) {
                let name = template.expand(serial: serial.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
                var c = DeviceCommand(enrollmentID: e.id, kind: "rename", verb: "Replace",
                                      items: [DMItem(target: "./Device/Vendor/MSFT/Accounts/Domain/ComputerName", format: "chr", data: name)], createdAt: now)
                c.note = "Named by the Autopilot profile \"\(p.displayName)\" (\(text)); Windows applies it at the next restart."
                try await store.enqueue(c)
            }
            if let why = resolution.explanation {
                // The enrollment request could not know the hardware: the conflict is recorded now, on this session.
                var a = EnrollmentAttempt(time: now, phase: .manage, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent,
                                          facts: Self.facts(of: e), enrollmentID: e.id,
                                          notes: ["autopilot-conflict: " + why, "Matched the Autopilot registration of serial number \(ap.serialNumber) by the serial number the device reported."])
                a.facts.autopilot = true
                await recorder.record(a)
            }
            logger.info("autopilot device matched", metadata: ["enrollment": .string(e.id), "serial": .string(ap.serialNumber),
                                                               "conflict": .string(resolution.isConflict ? "yes" : "no")])
            return
        }
        if let man = manufacturer, let mod = model,
           var id = try await store.deviceIdentifier(key: DeviceIdentifier.key(manufacturer: man, model: mod, serial: serial)) {
            id.enrollmentID = e.id
            id.lastContactedAt = now
            try await store.updateDeviceIdentifier(id)
            let record = OwnershipRecord(.corporate, .identifier, "Matches the corporate identifier \(id.identifier).", at: now)
            _ = try await store.modifyEnrollment(id: e.id) { $0.ownershipRecord = record }
            return
        }
        guard e.ownershipRecord?.isPending == true else { return }
        let record = OwnershipRecord(.personal, .notPreregistered,
            "Corporate identifiers exist and \(manufacturer ?? "?"),\(model ?? "?"),\(DeviceIdentifier.cleanSerial(serial)) matches none of them (Device Identifier not preregistered).", at: now)
        _ = try await store.modifyEnrollment(id: e.id) { $0.ownershipRecord = record }
        // The same rule enrollment applies, now that ownership is known.
        guard let settings = try await store.tenantSettings() else { return }
        let user = try await store.user(upn: e.upn)
        var groupIDs: Set<String> = []
        if let user { groupIDs = try await store.groupIDs(of: user.id) }
        guard let denial = EnrollmentPolicy.personalDenial(record, settings: settings, groupIDs: groupIDs) else { return }
        let (verb, items, _) = try BuiltInCommand.unenroll.syncml(providerID: config.providerID)
        var unenroll = DeviceCommand(enrollmentID: e.id, kind: BuiltInCommand.unenroll.kind, verb: verb, items: items, createdAt: now)
        unenroll.note = "Refused as a personally owned device (Device Identifier not preregistered)."
        try await store.enqueue(unenroll)
        let a = EnrollmentAttempt(time: now, phase: .manage, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent, facts: Self.facts(of: e),
                                  outcome: .failed, fault: denial.fault, denials: [denial], enrollmentID: e.id,
                                  notes: ["The device reported serial number \(serial) in its first session; it was enrolled pending that answer and is unenrolled at its next session."])
        await recorder.record(a)
    }

    /// The facts of an enrolled device, for an attempt recorded after enrollment.
    static func facts(of e: Enrollment) -> EnrollmentFacts {
        EnrollmentFacts(upn: e.upn, credential: .certificate, enrollmentType: e.enrollmentType, deviceID: e.deviceID,
                        hwDevID: e.hwDevID, deviceName: e.deviceName, osEdition: e.osEdition, osVersion: e.osVersion, kind: e.kind)
    }

    /// The commands as sent: a managed password placeholder becomes this device's password only here, on the wire
    /// (it is picked and sealed the first time it is needed). Without a secret key such a command fails instead.
    func withSecrets(_ queued: inout [DeviceCommand], _ e: Enrollment, now: Date) async throws -> [SyncMLCommand] {
        let placeholder = ManagedLocalAccount.passwordPlaceholder
        func needs(_ c: DeviceCommand) -> Bool { c.allItems.contains { $0.data == placeholder } }
        guard queued.contains(where: needs) else { return queued.map(Self.syncml) }
        guard let secrets else {
            for var c in queued where needs(c) {
                c.state = .failed
                c.completedAt = now
                c.note = "winmdm has no secret key to keep this device's password; start it with serve, which creates one."
                try await store.updateCommand(c)
                try await recordProfileAnswer(c, status: "500", now: now)
            }
            queued.removeAll(where: needs)
            return queued.map(Self.syncml)
        }
        var account = e.localAdmin
        if account == nil {
            let name = queued.flatMap(\.allItems).first { $0.data == placeholder }
                .flatMap { ManagedLocalAccount.account(in: $0.target) } ?? "administrator"
            let fresh = ManagedLocalAccount(account: name, sealedPassword: try secrets.seal(ManagedLocalAccount.newPassword(), context: e.id), setAt: now)
            // Another instance may have picked one meanwhile: the stored one wins.
            account = try await store.modifyEnrollment(id: e.id) { if $0.localAdmin == nil { $0.localAdmin = fresh } }.localAdmin
        }
        let password = try secrets.open(account!.sealedPassword, context: e.id)
        return queued.map { c in
            var s = Self.syncml(c)
            func fill(_ items: inout [SyncMLItem]) { for i in items.indices where items[i].data == placeholder { items[i].data = password } }
            fill(&s.items)
            for i in s.children.indices { fill(&s.children[i].items) }
            return s
        }
    }

    /// Moves one device's Enrollment Status Page on: sends its settings in the first session, then at each check-in
    /// finishes it, fails it or records its timeout from where the blocking profiles stand. Returns whether it queued
    /// commands. The change is written only if no other instance moved the page meanwhile.
    func advanceStatusPage(_ e: Enrollment, _ page: StatusPageProgress, now: Date, _ meta: RequestMetadata) async throws -> Bool {
        let pid = config.providerID
        var p = page
        var commands: [DeviceCommand] = []
        var attempt: EnrollmentAttempt?
        let userPhase = !e.isUserless
        if p.state == .succeeded {
            commands = [StatusPage.userFinishCommand(enrollmentID: e.id, providerID: pid, at: now)]
        } else if !p.setupSent {
            let states = try await store.profileStates(enrollmentID: e.id).filter(\.assigned)
            let assigned = states.map(\.profileID)
            p.blockingProfileIDs = (p.settings.blockingProfileIDs ?? assigned).filter { assigned.contains($0) }
            let expected = states.filter { p.blockingProfileIDs.contains($0.profileID) }.flatMap { $0.settings.map(\.locURI) }
            // Ahead of the profiles queued in this same session, so the page knows what it waits for.
            commands = StatusPage.setupCommands(enrollmentID: e.id, providerID: pid, settings: p.settings, userless: !userPhase,
                                                expected: expected, at: now - 1)
            p.setupSent = true
        } else {
            switch StatusPage.step(p, states: try await store.profileStates(enrollmentID: e.id), now: now) {
            case .wait:
                return false
            case .finished:
                commands = StatusPage.finishCommands(enrollmentID: e.id, providerID: pid, at: now)
                if userPhase { commands.append(StatusPage.userFinishCommand(enrollmentID: e.id, providerID: pid, at: now + 0.01)) }
                p.state = .succeeded
                p.finishedAt = now
                p.userPhaseFinished = !userPhase
            case .failed(let hold):
                commands = StatusPage.failureCommands(enrollmentID: e.id, providerID: pid, settings: p.settings, at: now)
                p.state = .failed
                p.finishedAt = now
                p.heldBy = hold
                let code = OMAStatus.hresultValue(hold.status ?? "") ?? 0x87D1_0000
                attempt = statusPageAttempt(e, p, rule: .statusPageProfileFailed, code: code, reason:
                    "The profile \"\(hold.profileName)\", which the Enrollment Status Page \"\(p.configurationName)\" waits for, failed on the device: \(hold.locURI ?? "a setting") was answered \(hold.status ?? "?") (\(hold.meaning)) The page shows its error.",
                    now: now, meta)
            case .timedOut(let hold):
                p.state = .timedOut
                p.finishedAt = now
                p.heldBy = hold
                attempt = statusPageAttempt(e, p, rule: .statusPageTimeout, code: StatusPage.timeoutHResult, reason:
                    "The Enrollment Status Page \"\(p.configurationName)\" ran out of time (\(p.settings.installProgressTimeoutInMinutes) minutes) waiting for the profile \"\(hold.profileName)\": \(hold.locURI ?? "a setting") \(hold.status.map { "was answered \($0) (\(hold.meaning))" } ?? "was never answered") and is still not done.",
                    now: now, meta)
            }
        }
        p.attemptID = attempt?.id ?? p.attemptID
        let next = p
        let stored = try await store.modifyEnrollment(id: e.id) { cur in
            if cur.statusPage == page { cur.statusPage = next }
        }
        guard stored.statusPage == next, next != page else { return false }
        for c in commands { try await store.enqueue(c) }
        if let attempt {
            await recorder.record(attempt)
            logger.info("enrollment status page \(next.state.rawValue)", metadata: ["enrollment": .string(e.id), "attempt": .string(attempt.id),
                                                                                 "profile": .string(next.heldBy?.profileName ?? "")])
        }
        return !commands.isEmpty
    }

    func statusPageAttempt(_ e: Enrollment, _ p: StatusPageProgress, rule: RuleID, code: UInt32, reason: String, now: Date,
                           _ meta: RequestMetadata) -> EnrollmentAttempt {
        let fault = EnrollmentFault.afterEnrollment(code, reason)
        let facts = Self.facts(of: e)
        var a = EnrollmentAttempt(time: now, phase: .manage, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent, facts: facts,
                                  outcome: .failed, fault: fault, denials: [Denial(rule: rule, reason: reason, fault: fault, source: p.configurationID)],
                                  enrollmentID: e.id, notes: ["Enrollment Status Page \"\(p.configurationName)\" started \(p.startedAt), blocking profiles: \(p.blockingProfileIDs.count)."])
        a.heldBy = p.heldBy
        return a
    }

    /// How often compliance values are read again from a device that has policies.
    public static let complianceReadInterval: TimeInterval = 8 * 3600

    /// Queues one Get per node the device's applying compliance policies read; returns whether it queued any.
    func queueComplianceReads(_ enrollment: Enrollment, now: Date) async throws -> Bool {
        let applying = try await AdminService.applying(try await store.tenantSettings()?.compliancePolicies ?? [], to: enrollment, store: store)
        var nodes: [String] = []
        for n in applying.flatMap(\.nodes) where !nodes.contains(n) { nodes.append(n) }
        let due: Date? = nodes.isEmpty ? nil : now + Self.complianceReadInterval
        if enrollment.complianceDueAt != due {
            try await store.modifyEnrollment(id: enrollment.id) { $0.complianceDueAt = due }
        }
        for (i, n) in nodes.enumerated() {
            try await store.enqueue(DeviceCommand(enrollmentID: enrollment.id, kind: "compliance", verb: "Get", items: [DMItem(target: n)],
                                                  createdAt: DeviceCommand.orderedTime(now, i, of: nodes.count)))
        }
        return !nodes.isEmpty
    }

    /// A profile's setting was answered (or given up): its device state records the status, and a removal that is
    /// complete drops the state.
    func recordProfileAnswer(_ c: DeviceCommand, status: String, now: Date) async throws {
        guard let profileID = c.profileID else { return }
        // A raw block is one setting: the status of its command (or its container's), for its first target.
        let answers: [(DMItem, String, Bool)] = c.kind == "profile-block"
            ? [(DMItem(target: c.allItems.first?.target ?? ""), c.status ?? status, false)]
            : c.steps.map { steps in
            steps.compactMap { st in st.items.first.map { ($0, st.status ?? status, st.verb == "Delete") } }
        } ?? c.items.prefix(1).map { ($0, status, c.verb == "Delete") }
        guard !answers.isEmpty else { return }
        if let pfn = answers.first(where: { $0.0.target.hasSuffix("/Push/PFN") && $0.1.hasPrefix("2") && !$0.2 }) {
            // The device took the push app's name: read the channel it registers (and its status) once it has one.
            let base = String(pfn.0.target.dropLast("PFN".count))
            for (i, leaf) in ["ChannelURI", "Status"].enumerated() {
                try await store.enqueue(DeviceCommand(enrollmentID: c.enrollmentID, kind: "push-channel", verb: "Get",
                                                      items: [DMItem(target: base + leaf)], createdAt: DeviceCommand.orderedTime(now, i, of: 2)))
            }
        }
        try await store.modifyProfileState(enrollmentID: c.enrollmentID, profileID: profileID) { s in
            for (item, code, deleting) in answers { s.record(locURI: item.target, value: item.data, status: code, deleting: deleting, at: now) }
            return s.assigned || s.settings.contains { $0.state != .removed }
        }
    }

    /// Refuses before reading the message (for example a forged certificate header) and records it.
    public func refuse(_ r: Refusal, _ meta: RequestMetadata) async -> ServiceResponse {
        await recordRefusal(r, meta)
        if case .tooLarge = r {
            return ServiceResponse(status: 413, contentType: "text/plain; charset=utf-8", body: Array((r.description + "\n").utf8))
        }
        return ServiceResponse(status: 403, contentType: "text/plain; charset=utf-8", body: Array((r.description + "\n").utf8))
    }

    func recordRefusal(_ r: Refusal, _ meta: RequestMetadata) async {
        let a = EnrollmentAttempt(time: clock.now(), phase: .manage, remoteAddress: meta.remoteAddress, userAgent: meta.userAgent,
                                  outcome: .failed, notes: [r.description],
                                  httpStatus: r == .noCertificate ? 401 : r == .tooLarge(Self.maxMessageBytes) ? 413 : 403)
        await recorder.record(a)
    }

    static func syncml(_ c: DeviceCommand) -> SyncMLCommand {
        func items(_ list: [DMItem]) -> [SyncMLItem] { list.map { SyncMLItem(target: $0.target, format: $0.format, type: $0.type, data: $0.data) } }
        return SyncMLCommand(name: c.verb, cmdID: "", items: items(c.items),
                             children: (c.steps ?? []).map { SyncMLCommand(name: $0.verb, cmdID: "", items: items($0.items)) })
    }
}
