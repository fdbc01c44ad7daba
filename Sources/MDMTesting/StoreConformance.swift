import Foundation
import MDMCore
import MDMStorage

/// One behavioural suite for every storage backend (STYLE.md §9). Each backend's test calls `run` with a fresh
/// store; every check that fails is collected and `run` throws `ConformanceFailure` naming them all. The suite runs
/// twice over the same store, the second pass with new ids, so state left behind by the first shows up; then the
/// capacity check runs under concurrency.
public enum StoreConformance {
    public struct ConformanceFailure: Error, CustomStringConvertible {
        public let check: String
        public var description: String { "storage conformance: \(check)" }
    }

    final class Collector: @unchecked Sendable {
        let lock = NSLock()
        var failed: [String] = []
        func add(_ s: String) { lock.lock(); failed.append(s); lock.unlock() }
    }
    @TaskLocal static var collector: Collector?

    /// Records a failed check (thrown at the end of `run`), or throws at once outside `run`.
    static func check(_ ok: Bool, _ what: String) throws {
        guard !ok else { return }
        guard let collector else { throw ConformanceFailure(check: what) }
        collector.add(what)
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
        let c = Collector()
        try await $collector.withValue(c) {
            for pass in 1...2 {
                let tag = "p\(pass)-\(UUID().uuidString.prefix(6).lowercased())"
                do { try await onePass(store, tag: tag, now: now) } catch { c.add("pass \(pass) stopped: \(error)") }
                do { try await directoryPass(store, tag: tag, now: now) } catch { c.add("directory pass \(pass) stopped: \(error)") }
                do { try await profilesPass(store, tag: tag, now: now) } catch { c.add("profiles pass \(pass) stopped: \(error)") }
            }
            do { try await concurrentCommits(store, now: now) } catch { c.add("concurrent commits stopped: \(error)") }
        }
        if !c.failed.isEmpty { throw ConformanceFailure(check: c.failed.joined(separator: "; ")) }
    }

    /// Profiles, the revision every change raises, reconciliation claimed once per revision, states per device.
    static func profilesPass(_ store: any MDMStore, tag: String, now: Date) async throws {
        let u = User(upn: "pro.\(tag)@conformance.test", displayName: "Pro", passwordHash: "h", createdAt: now)
        try await store.insertUser(u)
        let e = Enrollment(upn: u.upn, deviceID: "PD-\(tag)", hwDevID: "PHW-\(tag)", deviceName: "P", enrollmentType: .full, osEdition: 48,
                           osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "PT-\(tag)",
                           certificateNotAfter: now + 86400, enrolledAt: now)
        _ = try await store.commitEnrollment(e) { _ in [] }
        let r0 = try await store.profilesRevision()
        let g = Group(displayName: "Profiles \(tag)", members: [u.id], createdAt: now)
        try await store.insertGroup(g)
        let r1 = try await store.profilesRevision()
        try check(r1 > r0, "a new group with members raises the profiles revision")
        var p = ConfigurationProfile(name: "Profile \(tag)", settings: [OMASetting(locURI: "./Device/Vendor/MSFT/Policy/Config/A/B", format: "int", value: "1")],
                                     assignments: [ProfileAssignment(target: g.id)], createdAt: now)
        let entry = AuditEntry(time: now, actor: "conformance", action: "profile.create", target: p.name, before: nil, after: "{}")
        try await store.saveConfigurationProfile(p, audit: entry)
        try check(try await store.configurationProfile(id: p.id) == p, "a profile is read back whole")
        let audited = try await store.auditEntries(limit: 50)
        try check(audited.contains { $0.id == entry.id }, "a profile's audit entry is written with it")
        do {
            try await store.saveConfigurationProfile(ConfigurationProfile(name: p.name.uppercased(), createdAt: now), audit: nil)
            try check(false, "a duplicate profile name is refused")
        } catch let err as StorageError { try check(err.code == .conflict, "a duplicate profile name is a conflict") }
        let r2 = try await store.profilesRevision()
        try check(r2 > r1, "saving a profile raises the revision")
        let record = try await store.checkIn(certificateThumbprint: e.certificateThumbprint)
        try check(record?.profilesRevision == r2 && (record?.reconciledRevision ?? r2) < r2, "a check-in sees the revision and how far it was reconciled")

        let planned = try await store.reconcileProfiles(enrollmentID: e.id, revision: r2) { profiles, groups, _, states in
            ProfilePlanner.plan(enrollmentID: e.id, userGroupIDs: groups, userless: false, profiles: profiles, states: states, now: now)
        }
        try check(planned?.commands.count == 1 && planned?.states.count == 1, "reconciling plans the profile's setting for the group's member")
        try check(try await store.reconcileProfiles(enrollmentID: e.id, revision: r2) { _, _, _, _ in ProfilePlan() } == nil,
                  "a revision is reconciled once")
        try check(try await store.checkIn(certificateThumbprint: e.certificateThumbprint)?.reconciledRevision == r2, "the reconciled revision is kept")
        try check(try await store.queuedCommands(enrollmentID: e.id).first?.profileID == p.id, "the planned command is queued with its profile")
        let byDevice = try await store.profileStates(enrollmentID: e.id), byProfile = try await store.profileStates(profileID: p.id)
        try check(byDevice.map(\.profileID) == [p.id] && byProfile.map(\.enrollmentID) == [e.id], "states are found by device and by profile")
        try await store.modifyProfileState(enrollmentID: e.id, profileID: p.id) { s in
            s.record(locURI: "./Device/Vendor/MSFT/Policy/Config/A/B", value: "1", status: "200", deleting: false, at: now)
            return true
        }
        try check(try await store.profileStates(enrollmentID: e.id).first?.state == .succeeded, "an answer is recorded on the state")
        try await store.modifyProfileState(enrollmentID: e.id, profileID: p.id) { _ in false }
        try check(try await store.profileStates(enrollmentID: e.id).isEmpty, "a state can be dropped")

        var g2 = g
        g2.members = []
        try await store.updateGroup(g2)
        let r3 = try await store.profilesRevision()
        try check(r3 > r2, "a membership change raises the revision")
        try await store.updateGroup(g2)
        try check(try await store.profilesRevision() == r3, "an update that changes no member does not")
        p.version += 1
        try await store.saveConfigurationProfile(p, audit: nil)
        try await store.deleteConfigurationProfile(id: p.id, audit: nil)
        let gone = try await store.configurationProfile(id: p.id) == nil, r4 = try await store.profilesRevision()
        try check(gone && r4 > r3, "a deleted profile is gone and raises the revision")
        do {
            try await store.deleteConfigurationProfile(id: p.id, audit: nil)
            try check(false, "deleting a missing profile throws")
        } catch let err as StorageError { try check(err.code == .notFound, "a missing profile is not found") }
        try await store.deleteGroup(id: g.id)
    }

    /// Ids, paging, renames, memberships, audited settings and retention.
    static func directoryPass(_ store: any MDMStore, tag: String, now: Date) async throws {
        let names = (0..<5).map { "page\($0).\(tag)@conformance.test" }
        var users: [User] = []
        for n in names.reversed() {
            let u = User(upn: n, displayName: n, passwordHash: nil, createdAt: now)
            try await store.insertUser(u)
            users.append(u)
        }
        try check(try await store.user(id: users[0].id)?.upn == users[0].upn, "users are found by id")
        try check(try await store.user(id: "nobody-\(tag)") == nil, "an unknown id finds no user")
        let first = try await store.users(after: "page.\(tag)", limit: 2)
        try check(first.count == 2 && first.map(\.upn) == first.map(\.upn).sorted(), "a page of users is ordered by UPN and limited")
        let next = try await store.users(after: first.last?.upn, limit: 100).filter { $0.upn.hasSuffix(".\(tag)@conformance.test") }
        try check(next.count == 3 && Set(next.map(\.upn)).isDisjoint(with: first.map(\.upn)), "the next page starts after the last UPN")

        // Groups hold their members; a user's groups are found by id; deleting a user leaves no membership behind.
        let g = Group(displayName: "Members \(tag)", members: users.prefix(3).map(\.id), createdAt: now)
        try await store.insertGroup(g)
        try check(Set(try await store.group(id: g.id)?.members ?? []) == Set(g.members), "a group is read back with its members")
        try check(try await store.groups().first { $0.id == g.id }.map { Set($0.members) } == Set(g.members), "groups are listed with members")
        try await store.deleteUser(id: users[0].id)
        try check(try await store.group(id: g.id)?.members.contains(users[0].id) == false, "a deleted user leaves their groups")
        try check(try await store.group(id: "nope-\(tag)") == nil, "an unknown group is nil")
        do {
            try await store.updateGroup(Group(displayName: "Missing \(tag)", createdAt: now))
            try check(false, "updating a missing group throws")
        } catch let e as StorageError { try check(e.code == .notFound, "a missing group is not found") }
        do {
            try await store.deleteUser(id: "nobody-\(tag)")
            try check(false, "deleting a missing user throws")
        } catch let e as StorageError { try check(e.code == .notFound, "a missing user is not found") }

        // A rename moves nothing: the enrollments follow the user by id and carry the new UPN.
        let owner = users[1]
        func enrollment(_ hw: String, upn: String) -> Enrollment {
            Enrollment(upn: upn, deviceID: "RD-\(hw)", hwDevID: hw, deviceName: "PC-\(hw)", enrollmentType: .full, osEdition: 48,
                       osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "RT-\(hw)-\(tag)",
                       certificateNotAfter: now + 86400, enrolledAt: now)
        }
        let e1 = enrollment("R1-\(tag)", upn: owner.upn), e2 = enrollment("R2-\(tag)", upn: owner.upn)
        _ = try await store.commitEnrollment(e1) { _ in [] }
        _ = try await store.commitEnrollment(e2) { _ in [] }
        var renamed = owner
        renamed.upn = "renamed.\(tag)@conformance.test"
        try await store.updateUser(renamed)
        let byOld = try await store.user(upn: owner.upn), byNew = try await store.user(upn: renamed.upn)
        try check(byOld == nil && byNew?.id == owner.id, "a renamed user is found under the new UPN only")
        try check(Set(try await store.enrollments(upn: renamed.upn).map(\.id)) == [e1.id, e2.id], "a renamed user keeps their enrollments")
        try check(try await store.activeEnrollments(upn: renamed.upn).count == 2, "a renamed user's devices still count against the limit")
        let counts = try await store.activeEnrollmentCounts(upns: [renamed.upn, owner.upn, "nobody-\(tag)@conformance.test"])
        try check(counts == [UPN.normalize(renamed.upn): 2], "device counts are by current UPN, and users without devices are absent (\(counts))")
        try check(try await store.enrollments(upn: owner.upn).isEmpty, "nothing is left under the old UPN")
        try check(try await store.enrollment(id: e1.id)?.upn == renamed.upn, "enrollments carry the owner's current UPN")
        let late = try await store.commitEnrollment(enrollment("R3-\(tag)", upn: renamed.upn)) { current in
            current.count >= 2 ? [Denial(rule: .deviceLimit, reason: "limit", fault: .authorization("limit"))] : []
        }
        try check(late.count == 1, "the capacity check after a rename sees the devices enrolled before it")
        try check(try await store.checkIn(certificateThumbprint: e1.certificateThumbprint)?.enrollment.upn == renamed.upn,
                  "a check-in reads the current UPN")
        var retired = try require2(try await store.enrollment(id: e2.id), "the enrollment is read back")
        retired.state = .retired
        try await store.updateEnrollment(retired)
        try check(try await store.activeEnrollments(upn: renamed.upn).map(\.id) == [e1.id], "only active enrollments are active")
        // A deleted user's devices keep the UPN they had.
        try await store.deleteUser(id: owner.id)
        try check(Set(try await store.enrollments(upn: renamed.upn).map(\.id)) == [e1.id, e2.id], "a deleted user's enrollments stay under their last UPN")

        // Keyset paging of enrollments.
        let all = try await store.enrollments(after: nil, limit: 100_000, activeOnly: false)
        let page1 = try await store.enrollments(after: nil, limit: 1, activeOnly: false)
        try check(page1.map(\.id) == all.prefix(1).map(\.id), "the first page of enrollments is the oldest")
        if let last = page1.last {
            let rest = try await store.enrollments(after: last.id, limit: 100_000, activeOnly: false)
            try check(rest.map(\.id) == all.dropFirst().map(\.id), "the next page starts after the last enrollment")
        }
        try check(try await store.enrollments(after: nil, limit: 100_000, activeOnly: true).allSatisfy { $0.state == .active },
                  "active-only pages hold active enrollments only")
        for e in [e1, e2] { try await store.deleteEnrollment(id: e.id) }

        // A settings change and its audit entry land together; a refused change writes neither.
        let marker = "settings.\(tag)"
        _ = try await store.updateTenantSettings({ $0.joinQuota += 1 }, audit: { _, _ in
            AuditEntry(time: now, actor: "t", action: marker, target: "tenant", before: nil, after: nil)
        })
        try check(try await store.auditEntries(limit: 5).contains { $0.action == marker }, "a settings change writes its audit entry")
        let refused = "refused.\(tag)"
        do {
            _ = try await store.updateTenantSettings({ _ in throw ConformanceFailure(check: "deliberate") }, audit: { _, _ in
                AuditEntry(time: now, actor: "t", action: refused, target: "tenant", before: nil, after: nil)
            })
        } catch is ConformanceFailure {}
        try check(!(try await store.auditEntries(limit: 50).contains { $0.action == refused }), "a refused change writes no audit entry")

        // Retention: what is older than the cut goes, the rest stays.
        let old = EnrollmentAttempt(time: now - 200 * 86400, phase: .enroll, facts: EnrollmentFacts(upn: "old.\(tag)@c.test"), outcome: .failed)
        let recent = EnrollmentAttempt(time: now, phase: .enroll, facts: EnrollmentFacts(upn: "old.\(tag)@c.test"), outcome: .failed)
        try await store.recordAttempt(old)
        try await store.recordAttempt(recent)
        let oldAudit = AuditEntry(time: now - 400 * 86400, actor: "t", action: "old.\(tag)", target: "x", before: nil, after: nil)
        try await store.appendAudit(oldAudit)
        let pruned = try await store.pruneAttempts(before: now - 90 * 86400)
        let oldGone = try await store.attempt(id: old.id) == nil, recentKept = try await store.attempt(id: recent.id) != nil
        try check(pruned >= 1 && oldGone && recentKept, "pruning attempts deletes only the old ones")
        _ = try await store.pruneAudit(before: now - 365 * 86400)
        try check(!(try await store.auditEntries(limit: 10_000).contains { $0.id == oldAudit.id }), "pruning the audit deletes old entries")
        try check(try await store.auditEntries(limit: 10_000).contains { $0.action == marker }, "pruning the audit keeps recent entries")
        for u in users.dropFirst(2) { try await store.deleteUser(id: u.id) }
        try await store.deleteGroup(id: g.id)
    }

    /// 64 enrollments of one user at once against a limit of 5: exactly 5 land, whatever the interleaving.
    static func concurrentCommits(_ store: any MDMStore, now: Date) async throws {
        let tag = UUID().uuidString.prefix(6).lowercased()
        let u = User(upn: "busy.\(tag)@conformance.test", displayName: "Busy", passwordHash: nil, createdAt: now)
        try await store.insertUser(u)
        let limit = 5
        let landed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let e = Enrollment(upn: u.upn, deviceID: "C-\(tag)-\(i)", hwDevID: "CHW-\(tag)-\(i)", deviceName: "C\(i)", enrollmentType: .full,
                                       osEdition: 48, osVersion: "10.0.22631.1", certificateSerial: "01",
                                       certificateThumbprint: "CT-\(tag)-\(i)", certificateNotAfter: now + 86400, enrolledAt: now + Double(i))
                    return try await store.commitEnrollment(e) { current in
                        current.count >= limit ? [Denial(rule: .deviceLimit, reason: "limit", fault: .authorization("limit"))] : []
                    }.isEmpty
                }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        let active = try await store.activeEnrollments(upn: u.upn)
        try check(landed == limit && active.count == limit, "64 concurrent commits at a limit of 5 land exactly 5 (landed \(landed), active \(active.count))")
        for e in try await store.enrollments(upn: u.upn) { try await store.deleteEnrollment(id: e.id) }
        try await store.deleteUser(id: u.id)
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
        g2.devices = ["HW-\(tag)"]
        let rev = try await store.profilesRevision()
        try await store.updateGroup(g2)
        try check(try await store.groupIDs(of: u.id).isEmpty, "membership changes are read back")
        try check(try await store.groupIDs(ofDevice: "HW-\(tag)") == [g.id], "device membership is found")
        let listed = try await store.groups().first { $0.id == g.id }
        try check(try await store.group(id: g.id)?.devices == ["HW-\(tag)"] && listed?.devices == ["HW-\(tag)"],
                  "device members are read back with the group")
        try check(try await store.profilesRevision() > rev, "a device membership change raises the profiles revision")
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

        // The settings' objects (restrictions, tokens, Autopilot profiles, bulk packages) keep their order and values
        // through adds, edits, moves and removals; a token is found by its hash alone.
        let token = APIToken(name: "t-\(tag)", role: .reader, sha256: "hash-\(tag)", createdAt: now)
        let limit = Restriction(id: "r-\(tag)", type: .deviceLimit, displayName: "limit-\(tag)", description: "", priority: 1, assignedGroups: [],
                                isDefault: false, limit: 3, createdAt: now)
        let profile = AutopilotProfile(displayName: "ap-\(tag)", joinType: .entra, deviceNameTemplate: nil, createdAt: now)
        let package = BulkPackage(displayName: "pkg-\(tag)", accountUPN: "package_\(tag)@conformance.test", createdAt: now)
        let (_, added) = try await store.updateTenantSettings { s in
            s.apiTokens.append(token)
            s.restrictions.insert(limit, at: 0)
            s.autopilotProfiles.append(profile)
            s.bulkPackages.append(package)
        }
        try check(try await store.tenantSettings() == added, "added settings objects read back in order")
        try check(try await store.apiToken(sha256: token.sha256) == token, "a token is found by its hash")
        try check(try await store.apiToken(sha256: "none-\(tag)") == nil, "an unknown hash finds no token")
        try await store.noteTokenUse(id: token.id, at: now)
        try check(try await store.apiToken(sha256: token.sha256)?.lastUsedAt == now, "a token's last use is recorded")
        let (_, moved) = try await store.updateTenantSettings { s in
            s.restrictions.removeAll { $0.id == limit.id }
            var edited = limit
            edited.limit = 4
            s.restrictions.append(edited)
            s.autopilotProfiles[s.autopilotProfiles.count - 1].displayName = "ap2-\(tag)"
        }
        try check(try await store.tenantSettings() == moved, "moved and edited settings objects read back")
        do {
            _ = try await store.updateTenantSettings({ s in
                s.apiTokens.removeAll()
                s.restrictions.removeAll { !$0.isDefault }
                throw ConformanceFailure(check: "deliberate")
            }, audit: { _, _ in AuditEntry(time: now, actor: "conformance", action: "refused.\(tag)", target: "t", before: nil, after: nil) })
        } catch is ConformanceFailure {}
        try check(try await store.tenantSettings() == moved, "a refused change to settings objects writes nothing")
        try check(!(try await store.auditEntries(limit: 10).contains { $0.action == "refused.\(tag)" }), "a refused change is not audited")
        _ = try await store.updateTenantSettings { s in
            s.apiTokens.removeAll { $0.id == token.id }
            s.restrictions.removeAll { $0.id == limit.id }
            s.autopilotProfiles.removeAll { $0.id == profile.id }
            s.bulkPackages.removeAll { $0.id == package.id }
        }
        try check(try await store.apiToken(sha256: token.sha256) == nil, "a removed token is gone")
        try check(try await store.tenantSettings()?.restrictions.contains { $0.id == limit.id } == false, "a removed restriction is gone")

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
        // Check-in: the enrollment and whether anything is queued, in one look-up; marking it seen changes only that.
        let idle = try await store.checkIn(certificateThumbprint: "N-\(hw2)")
        try check(idle?.enrollment.id == second.id && idle?.hasQueuedCommands == false, "an idle check-in finds the enrollment and no queue")
        try check(try await store.checkIn(certificateThumbprint: "nobody-\(tag)") == nil, "an unknown certificate checks in as nothing")
        try await store.enqueue(DeviceCommand(enrollmentID: second.id, kind: "reboot", verb: "Exec", items: [], createdAt: now))
        let busy = try await store.checkIn(certificateThumbprint: "N-\(hw2)")
        try check(busy?.hasQueuedCommands == true && busy?.hasSentCommands == false, "a queued command shows at check-in")
        if var out = try await store.queuedCommands(enrollmentID: second.id).first {
            out.markSent(at: now, messageKey: "s1:1", cmdID: "2", stepCmdIDs: [])
            try await store.updateCommand(out)
            let sent = try await store.checkIn(certificateThumbprint: "N-\(hw2)")
            try check(sent?.hasQueuedCommands == false && sent?.hasSentCommands == true, "a sent command shows at check-in as sent, not queued")
            out.requeueUnanswered(at: now)
            try await store.updateCommand(out)
            try check(try await store.queuedCommands(enrollmentID: second.id).map(\.id) == [out.id], "a requeued command is queued again")
        }
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
        // Dated before the entries above, so they stay the newest for the checks that follow.
        let e3 = AuditEntry(time: now - 20, actor: "console:Ann_\(tag)@x", action: "Restriction.edit", target: "Kiosk 100% \(tag)", before: "{}", after: "{}")
        try await store.appendAudit(e3)
        try check(try await store.auditEntries(AuditQuery(limit: 5, actor: "ann_\(tag)")).map(\.id) == [e3.id], "audit entries are found by part of the actor, any case")
        try check(try await store.auditEntries(AuditQuery(limit: 5, actor: "ann%\(tag)")).isEmpty, "a % in the filter is a character, not a wildcard")
        try check(try await store.auditEntries(AuditQuery(limit: 5, target: "kiosk 100% \(tag)", action: "restriction.")).map(\.id) == [e3.id],
                  "audit entries are found by target and the start of the action")
        let older = AuditEntry(time: now - 100, actor: "since-\(tag)", action: "x", target: "y", before: nil, after: nil)
        let recent = AuditEntry(time: now - 50, actor: "since-\(tag)", action: "x", target: "y", before: nil, after: nil)
        try await store.appendAudit(older)
        try await store.appendAudit(recent)
        try check(try await store.auditEntries(AuditQuery(limit: 5, actor: "since-\(tag)", since: now - 60)).map(\.id) == [recent.id],
                  "since leaves older entries out")

        // Command queue: queued commands come oldest first; delivered ones leave the queue but stay listed.
        let eid = "E-\(tag)"
        let c1 = DeviceCommand(enrollmentID: eid, kind: "inventory", verb: "Get", items: [DMItem(target: "./DevDetail/SwV")], createdAt: now)
        let c2 = DeviceCommand(enrollmentID: eid, kind: "reboot", verb: "Exec", items: [DMItem(target: "./Device/Vendor/MSFT/Reboot/RebootNow")], createdAt: now + 1)
        let counted = try await store.operationalCounts()
        try await store.enqueue(c1)
        try await store.enqueue(c2)
        try check(try await store.queuedCommands(enrollmentID: eid).map(\.id) == [c1.id, c2.id], "queued commands come oldest first")
        try check(try await store.operationalCounts().queuedCommands == counted.queuedCommands + 2, "queued commands are counted")
        var sent = c1
        sent.state = .sent
        sent.cmdID = "7"
        try await store.updateCommand(sent)
        let now2 = try await store.operationalCounts()
        try check(now2.queuedCommands == counted.queuedCommands + 1 && now2.sentCommands == counted.sentCommands + 1,
                  "a sent command counts as sent, not queued")
        try check(now2.activeEnrollments == counted.activeEnrollments, "commands do not change the enrollment count")
        try check(now2.users == (try await store.users().count), "users are counted")
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
