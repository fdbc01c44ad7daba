import Foundation
import MDMCore
import MDMStorage
import SQLKit

/// Configuration profiles (one row each, looked up by id, ordered by creation), their states per device (keyed by
/// enrollment and profile, indexed by profile for the status pages), and the one revision counter every change
/// raises. A check-in reads the counter in its own statement (`checkInSelect`); only a device whose reconciled
/// revision is older reads profiles at all.
extension SQLStore {
    static func raiseProfilesRevision(_ db: any SQLDatabase) async throws {
        try await db.raw("UPDATE counters SET value = value + 1 WHERE key = 'profiles'").run()
    }

    public func configurationProfiles() async throws -> [ConfigurationProfile] {
        try await many(SQLQueryString("SELECT doc FROM profiles ORDER BY created_at, id"), ConfigurationProfile.self)
    }

    public func configurationProfile(id: String) async throws -> ConfigurationProfile? {
        try await one("SELECT doc FROM profiles WHERE id = \(bind: id)", ConfigurationProfile.self)
    }

    public func saveConfigurationProfile(_ profile: ConfigurationProfile, audit: AuditEntry?) async throws {
        let doc = try Self.doc(profile), key = profile.name.lowercased()
        try await inserting("A profile named \(profile.name) already exists.") {
            try await connections.transaction { db in
                let n = try await Self.changed(db, "UPDATE profiles SET name_key = \(bind: key), doc = \(bind: doc) WHERE id = \(bind: profile.id)")
                if n == 0 {
                    try await db.raw("""
                        INSERT INTO profiles (id, name_key, created_at, doc)
                        VALUES (\(bind: profile.id), \(bind: key), \(bind: profile.createdAt.timeIntervalSince1970), \(bind: doc))
                        """).run()
                }
                try await Self.raiseProfilesRevision(db)
                if let audit { try await db.raw(Columns.insert("audit", try Columns.audit(audit))).run() }
            }
        }
    }

    public func deleteConfigurationProfile(id: String, audit: AuditEntry?) async throws {
        let n = try await connections.transaction { db in
            let n = try await Self.changed(db, "DELETE FROM profiles WHERE id = \(bind: id)")
            guard n > 0 else { return 0 }
            try await Self.raiseProfilesRevision(db)
            if let audit { try await db.raw(Columns.insert("audit", try Columns.audit(audit))).run() }
            return n
        }
        if n == 0 { throw StorageError(.notFound, "No profile \(id).") }
    }

    public func profilesRevision() async throws -> Int {
        try await connections.read { db in
            try await db.raw("SELECT value FROM counters WHERE key = 'profiles'").first()?.decode(column: "value", as: Int.self) ?? 0
        }
    }

    public func raiseProfilesRevision() async throws {
        try await connections.write { db in try await Self.raiseProfilesRevision(db) }
    }

    public func profileStates(enrollmentID: String) async throws -> [DeviceProfileState] {
        try await many("SELECT doc FROM profile_states WHERE enrollment_id = \(bind: enrollmentID)", DeviceProfileState.self)
            .sorted { $0.profileName.lowercased() < $1.profileName.lowercased() }
    }

    public func profileStates(profileID: String) async throws -> [DeviceProfileState] {
        try await many("SELECT doc FROM profile_states WHERE profile_id = \(bind: profileID) ORDER BY enrollment_id", DeviceProfileState.self)
    }

    static func writeProfileState(_ db: any SQLDatabase, _ s: DeviceProfileState) async throws {
        try await db.raw("""
            INSERT INTO profile_states (enrollment_id, profile_id, doc) VALUES (\(bind: s.enrollmentID), \(bind: s.profileID), \(bind: try doc(s)))
            ON CONFLICT (enrollment_id, profile_id) DO UPDATE SET doc = excluded.doc
            """).run()
    }

    public func modifyProfileState(enrollmentID: String, profileID: String, _ change: @Sendable (inout DeviceProfileState) -> Bool) async throws {
        try await connections.transaction { db in
            let select: SQLQueryString = "SELECT doc FROM profile_states WHERE enrollment_id = \(bind: enrollmentID) AND profile_id = \(bind: profileID)"
            guard let row = try await db.raw(select + SQLQueryString(dialect.forUpdate)).first() else { return }
            var s = try Self.value(row, DeviceProfileState.self)
            if change(&s) {
                try await Self.writeProfileState(db, s)
            } else {
                try await db.raw("DELETE FROM profile_states WHERE enrollment_id = \(bind: enrollmentID) AND profile_id = \(bind: profileID)").run()
            }
        }
    }

    public func reconcileProfiles(enrollmentID: String, revision: Int,
                                  plan: @Sendable ([ConfigurationProfile], Set<String>, Set<String>, [DeviceProfileState]) -> ProfilePlan) async throws -> ProfilePlan? {
        try await connections.transaction { db in
            // Claims this revision for this device: a second session (on any instance) finds nothing to do.
            let n = try await Self.changed(db, """
                UPDATE enrollments SET profile_rev = \(bind: revision) WHERE id = \(bind: enrollmentID) AND profile_rev < \(bind: revision)
                """)
            guard n > 0 else { return nil }
            let profiles = try await db.raw("SELECT doc FROM profiles ORDER BY created_at, id").all().map { try Self.value($0, ConfigurationProfile.self) }
            let groups = Set(try await db.raw("""
                SELECT m.group_id FROM group_members m WHERE m.user_id = (SELECT user_id FROM enrollments WHERE id = \(bind: enrollmentID))
                """).all().map { try $0.decode(column: "group_id", as: String.self) })
            let deviceGroups = Set(try await db.raw("""
                SELECT d.group_id FROM group_devices d WHERE d.hw_dev_id = (SELECT hw_dev_id FROM enrollments WHERE id = \(bind: enrollmentID))
                """).all().map { try $0.decode(column: "group_id", as: String.self) })
            let states = try await db.raw("SELECT doc FROM profile_states WHERE enrollment_id = \(bind: enrollmentID)").all()
                .map { try Self.value($0, DeviceProfileState.self) }
            let p = plan(profiles, groups, deviceGroups, states)
            for c in p.commands { try await db.raw(Columns.insert("commands", try Columns.command(c))).run() }
            for s in p.states { try await Self.writeProfileState(db, s) }
            for id in p.dropped {
                try await db.raw("DELETE FROM profile_states WHERE enrollment_id = \(bind: enrollmentID) AND profile_id = \(bind: id)").run()
            }
            return p
        }
    }
}

extension SQLStore {
    /// For seeding (`winmdm bench checkin --profiles`): writes device states in bulk, in one transaction, and marks
    /// every enrollment reconciled at `revision`, as a fleet whose profiles are all current would be.
    public func seedProfileStates(_ states: [DeviceProfileState], reconciledAt revision: Int, rowsPerStatement: Int = 400) async throws {
        try await connections.transaction { db in
            var start = 0
            while start < states.count {
                var q = SQLQueryString("INSERT INTO profile_states (enrollment_id, profile_id, doc) VALUES ")
                for (i, s) in states[start..<min(states.count, start + rowsPerStatement)].enumerated() {
                    q.appendLiteral(i == 0 ? "(" : ", (")
                    q += "\(bind: s.enrollmentID), \(bind: s.profileID), \(bind: try Self.doc(s))"
                    q.appendLiteral(")")
                }
                try await db.raw(q).run()
                start += rowsPerStatement
            }
            try await db.raw("UPDATE enrollments SET profile_rev = \(bind: revision)").run()
        }
    }
}
