import Foundation
import MDMCore
import MDMStorage

/// One behavioural suite for every storage backend (STYLE.md §9). Each backend's test calls `run` with a fresh
/// store; a mismatch throws `ConformanceFailure` naming the check. The suite runs twice over the same store, the
/// second pass with new ids, so state left behind by the first shows up.
public enum StoreConformance {
    public struct ConformanceFailure: Error, CustomStringConvertible {
        public let check: String
        public var description: String { "storage conformance: \(check)" }
    }

    static func check(_ ok: Bool, _ what: String) throws {
        if !ok { throw ConformanceFailure(check: what) }
    }

    static func require2<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw ConformanceFailure(check: what) }
        return value
    }

    public static func run(_ store: any MDMStore) async throws {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        if try await store.tenantSettings() == nil {
            try await store.saveTenantSettings(.newInstallation(initialDomain: "conformance.test", publicURL: "https://c.test", now: now))
        }
        for pass in 1...2 { try await onePass(store, tag: "p\(pass)-\(UUID().uuidString.prefix(6).lowercased())", now: now) }
    }

    static func onePass(_ store: any MDMStore, tag: String, now: Date) async throws {
        // Users.
        let u = User(upn: "Ann.\(tag)@Conformance.test", displayName: "Ann", passwordHash: "h", createdAt: now)
        try await store.insertUser(u)
        try check(try await store.user(upn: "ann.\(tag)@conformance.test")?.id == u.id, "users are found case-insensitively")
        do {
            try await store.insertUser(User(upn: u.upn, displayName: "Again", passwordHash: nil, createdAt: now))
            try check(false, "a duplicate UPN is refused")
        } catch let e as StorageError { try check(e.code == .conflict, "a duplicate UPN is a conflict") }
        var changed = u
        changed.displayName = "Ann B"
        changed.assignedLicenses = ["sku-1"]
        try await store.updateUser(changed)
        try check(try await store.user(upn: u.upn) == changed, "updates are read back whole")

        // Groups.
        let g = Group(displayName: "Group \(tag)", members: [u.id], createdAt: now)
        try await store.insertGroup(g)
        do {
            try await store.insertGroup(Group(displayName: g.displayName.uppercased(), createdAt: now))
            try check(false, "a duplicate group name is refused")
        } catch let e as StorageError { try check(e.code == .conflict, "a duplicate group name is a conflict") }
        try check(try await store.groupIDs(of: u.id) == [g.id], "group membership is found")
        var g2 = g
        g2.members = []
        try await store.updateGroup(g2)
        try check(try await store.groupIDs(of: u.id).isEmpty, "membership changes are read back")
        try await store.deleteGroup(id: g.id)
        try check(!(try await store.groups().contains { $0.id == g.id }), "deleted groups are gone")

        // Settings: a throwing change leaves nothing behind.
        let before = try await store.tenantSettings()
        do {
            _ = try await store.updateTenantSettings { s in
                s.maintenance = true
                throw ConformanceFailure(check: "deliberate")
            }
        } catch is ConformanceFailure {}
        try check(try await store.tenantSettings() == before, "a failed settings change writes nothing")
        let (old, new) = try await store.updateTenantSettings { $0.joinQuota += 1 }
        let reread = try await store.tenantSettings()
        try check(new.joinQuota == old.joinQuota + 1 && reread == new, "settings changes are committed")

        // Enrollments: a denial writes nothing; re-enrollment of the same hardware replaces the old one.
        func enrollment(_ hw: String) -> Enrollment {
            Enrollment(upn: u.upn, deviceID: "D-\(hw)", hwDevID: hw, deviceName: "PC-\(hw)", enrollmentType: .full, osEdition: 48,
                       osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "T-\(hw)",
                       certificateNotAfter: now + 86400, enrolledAt: now)
        }
        let hw1 = "HW1-\(tag)", hw2 = "HW2-\(tag)"
        let denied = try await store.commitEnrollment(enrollment(hw1)) { _ in
            [Denial(rule: .deviceLimit, reason: "test", fault: .authorization("test"))]
        }
        let afterDenial = try await store.enrollments(upn: u.upn)
        try check(denied.count == 1 && afterDenial.isEmpty, "a denied commit writes nothing")
        let first = enrollment(hw1)
        try check((try await store.commitEnrollment(first) { $0.isEmpty ? [] : [Denial(rule: .deviceLimit, reason: "x", fault: .authorization("x"))] }).isEmpty,
                  "the check sees the user's current enrollments")
        let again = enrollment(hw1)
        _ = try await store.commitEnrollment(again) { _ in [] }
        let mine = try await store.enrollments(upn: u.upn)
        try check(mine.count == 2 && mine.filter { $0.state == .active }.map(\.id) == [again.id], "re-enrollment supersedes the old enrollment")
        try check(try await store.activeEnrollments(hwDevID: hw1).map(\.id) == [again.id], "active enrollments by hardware")
        _ = try await store.commitEnrollment(enrollment(hw2)) { _ in [] }
        var retired = again
        retired.state = .retired
        try await store.updateEnrollment(retired)
        try check(try await store.activeEnrollments(hwDevID: hw1).isEmpty, "retired enrollments are not active")
        try check(try await store.enrollment(id: again.id)?.state == .retired, "enrollment updates are read back")
        try await store.deleteEnrollment(id: again.id)
        try check(try await store.enrollment(id: again.id) == nil, "deleted enrollments are gone")
        try check(try await store.allEnrollments().contains { $0.hwDevID == hw2 }, "all enrollments are listed")

        // Renewal: both certificates find the enrollment until the old one is retired; a failed change writes nothing.
        let second = try require2(try await store.activeEnrollments(hwDevID: hw2).first, "the second enrollment is active")
        let renewed = try await store.modifyEnrollment(id: second.id) {
            $0.renew(signerThumbprint: "T-\(hw2)", serial: "02", thumbprint: "N-\(hw2)", notAfter: now + 2 * 86400, at: now)
        }
        try check(renewed.previousCertificateThumbprint == "T-\(hw2)" && renewed.renewalCount == 1, "a renewal keeps the old certificate")
        try check(try await store.enrollment(certificateThumbprint: "N-\(hw2)")?.id == second.id, "the new certificate finds the enrollment")
        try check(try await store.enrollment(certificateThumbprint: "T-\(hw2)")?.id == second.id, "the old certificate still finds it")
        do {
            try await store.modifyEnrollment(id: second.id) { e in
                e.retirePreviousCertificate()
                throw ConformanceFailure(check: "deliberate")
            }
        } catch is ConformanceFailure {}
        try check(try await store.enrollment(id: second.id) == renewed, "a failed enrollment change writes nothing")
        try await store.modifyEnrollment(id: second.id) { $0.retirePreviousCertificate() }
        try check(try await store.enrollment(certificateThumbprint: "T-\(hw2)") == nil, "a retired certificate finds nothing")
        try check(try await store.enrollment(certificateThumbprint: "N-\(hw2)")?.certificateSerial == "02", "the renewed certificate is current")
        // An enrollment moved to another UPN (a renamed user) is found under the new one only.
        let hw3 = "HW3-\(tag)", renamedUPN = "renamed.\(tag)@conformance.test"
        var moved = enrollment(hw3)
        _ = try await store.commitEnrollment(moved) { _ in [] }
        moved.upn = renamedUPN
        try await store.updateEnrollment(moved)
        try check(try await store.enrollments(upn: renamedUPN).map(\.id) == [moved.id], "an enrollment moved to a new UPN is found under it")
        try check(!(try await store.enrollments(upn: u.upn).contains { $0.id == moved.id }), "a moved enrollment leaves the old UPN")
        try await store.deleteEnrollment(id: moved.id)

        // Check-in: the enrollment and whether anything is queued, in one look-up; marking it seen changes only that.
        let idle = try await store.checkIn(certificateThumbprint: "N-\(hw2)")
        try check(idle?.enrollment.id == second.id && idle?.hasQueuedCommands == false, "an idle check-in finds the enrollment and no queue")
        try check(try await store.checkIn(certificateThumbprint: "nobody-\(tag)") == nil, "an unknown certificate checks in as nothing")
        try await store.enqueue(DeviceCommand(enrollmentID: second.id, kind: "reboot", verb: "Exec", items: [], createdAt: now))
        try check(try await store.checkIn(certificateThumbprint: "N-\(hw2)")?.hasQueuedCommands == true, "a queued command shows at check-in")
        let beforeSeen = try await store.enrollment(id: second.id)
        try await store.markSeen(enrollmentID: second.id, at: now + 60)
        var seen = try await store.enrollment(id: second.id)
        try check(seen?.lastSeenAt == now + 60, "marking seen records the time")
        seen?.lastSeenAt = beforeSeen?.lastSeenAt
        try check(seen == beforeSeen, "marking seen changes nothing else")
        do {
            try await store.modifyEnrollment(id: "missing-\(tag)") { _ in }
            try check(false, "modifying a missing enrollment throws")
        } catch let e as StorageError { try check(e.code == .notFound, "a missing enrollment is not found") }

        // Attempts: newest first, filters.
        let a1 = EnrollmentAttempt(time: now, phase: .enroll, facts: EnrollmentFacts(upn: u.upn), outcome: .succeeded)
        let a2 = EnrollmentAttempt(time: now + 1, phase: .policy, facts: EnrollmentFacts(upn: u.upn), outcome: .failed,
                                   fault: .authentication("no"))
        try await store.recordAttempt(a1)
        try await store.recordAttempt(a2)
        try check(try await store.attempt(id: a2.id) == a2, "attempts are read back whole")
        let mineAttempts = try await store.attempts(AttemptQuery(limit: 10, upn: u.upn))
        try check(mineAttempts.map(\.id) == [a2.id, a1.id], "attempts come newest first")
        try check(try await store.attempts(AttemptQuery(limit: 10, failedOnly: true, upn: u.upn)).map(\.id) == [a2.id], "failed-only filter")
        try check(try await store.attempts(AttemptQuery(limit: 1, upn: u.upn)).count == 1, "limit")
        try check(try await store.attempts(AttemptQuery(limit: 10, upn: u.upn, since: now + 0.5)).map(\.id) == [a2.id], "since filter")

        try await store.noteRepeat(attemptID: a2.id, at: now + 5)
        try await store.noteRepeat(attemptID: a2.id, at: now + 9)
        let repeated = try await store.attempt(id: a2.id)
        try check(repeated?.repeats == 2 && repeated?.lastRepeatAt == now + 9, "repeats are counted on the first record")
        try check(try await store.attempts(AttemptQuery(limit: 10, upn: u.upn)).count == 2, "repeats add no rows")

        // Sign-in throttles: missing keys start empty, changes are read back, lockouts are listed and cleared.
        let acct = SignInThrottle.account("ann.\(tag)@conformance.test"), src = SignInThrottle.source("203.0.113.\(tag.count)")
        try check(try await store.throttles(keys: [acct, src]).isEmpty, "no throttle before a failure")
        let after = try await store.updateThrottles(keys: [acct, src]) { entries in
            for i in entries.indices { entries[i].fail(at: now, threshold: 1, settings: .standard) }
        }
        try check(after.count == 2 && after.allSatisfy { $0.isLocked(at: now + 1) }, "failures lock at the threshold")
        try check(Set(try await store.throttles(keys: [acct, src]).map(\.key)) == [acct, src], "throttles are read back")
        try check(try await store.activeThrottles(now: now + 1).contains { $0.key == acct }, "lockouts in force are listed")
        let cleared = try await store.clearThrottles(matching: "ann.\(tag)@conformance.test")
        try check(cleared.map(\.key) == [acct], "clearing a UPN removes its entries only")
        try check(try await store.throttles(keys: [acct]).isEmpty, "cleared entries are gone")
        _ = try await store.clearThrottles(matching: "203.0.113.\(tag.count)")
        let pair = SignInThrottle.pair("ann.\(tag)@conformance.test", "198.51.100.\(tag.count)")
        _ = try await store.updateThrottles(keys: [pair]) { entries in
            entries[0].lastSuccess = now
            entries[0].fail(at: now, threshold: 1, settings: .standard)
        }
        _ = try await store.clearThrottles(matching: "ann.\(tag)@conformance.test")
        let kept = try await store.throttles(keys: [pair]).first
        try check(kept?.lastSuccess == now && kept?.isLocked(at: now) == false && kept?.failures == 0,
                  "clearing keeps a familiar source familiar and unlocks it")
        try check(!(try await store.activeThrottles(now: now).contains { $0.key == pair }), "a cleared familiar source is not listed")
        _ = try await store.updateThrottles(keys: [pair]) { entries in entries[0] = SignInThrottle(key: pair) }

        // Audit.
        let e1 = AuditEntry(time: now, actor: "t", action: "a.\(tag)", target: "x", before: nil, after: "{}")
        let e2 = AuditEntry(time: now + 1, actor: "t", action: "b.\(tag)", target: "x", before: "{}", after: nil)
        try await store.appendAudit(e1)
        try await store.appendAudit(e2)
        let audit = try await store.auditEntries(limit: 2)
        try check(audit.first == e2, "audit entries come newest first")

        // Command queue: queued commands come oldest first; delivered ones leave the queue but stay listed.
        let eid = "E-\(tag)"
        let c1 = DeviceCommand(enrollmentID: eid, kind: "inventory", verb: "Get", items: [DMItem(target: "./DevDetail/SwV")], createdAt: now)
        let c2 = DeviceCommand(enrollmentID: eid, kind: "reboot", verb: "Exec", items: [DMItem(target: "./Device/Vendor/MSFT/Reboot/RebootNow")], createdAt: now + 1)
        try await store.enqueue(c1)
        try await store.enqueue(c2)
        try check(try await store.queuedCommands(enrollmentID: eid).map(\.id) == [c1.id, c2.id], "queued commands come oldest first")
        var sent = c1
        sent.state = .sent
        sent.cmdID = "7"
        try await store.updateCommand(sent)
        try check(try await store.queuedCommands(enrollmentID: eid).map(\.id) == [c2.id], "sent commands leave the queue")
        try check(try await store.sentCommands(enrollmentID: eid).map(\.id) == [c1.id], "sent commands wait for their answer")
        try check(try await store.command(id: c1.id) == sent, "commands are read back whole")
        try check(try await store.commands(enrollmentID: eid, limit: 10).map(\.id) == [c2.id, c1.id], "commands are listed newest first")
        try check(try await store.queuedCommands(enrollmentID: "nobody-\(tag)").isEmpty, "an idle device has nothing queued")

        try await store.deleteEnrollment(id: (try await store.activeEnrollments(hwDevID: hw2)).first!.id)
        try await store.deleteUser(id: u.id)
        try check(try await store.user(upn: u.upn) == nil, "deleted users are gone")
    }
}
