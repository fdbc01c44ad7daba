import Foundation
import MDMCore
import MDMStorage
import SQLKit

extension SQLStore {
    /// Enrollments are read with their user's current UPN (they belong to the user by id) and their last check-in
    /// time (a column, so a check-in never rewrites the document).
    /// Without a user (deleted), the `upn` column keeps the last UPN they had.
    static let enrollmentSelect = "SELECT e.doc, e.upn, e.last_seen_at, u.upn AS cur_upn FROM enrollments e LEFT JOIN users u ON u.id = e.user_id"

    static func enrollment(_ row: any SQLRow, cache: DecodedDocuments<Enrollment>? = nil) throws -> Enrollment {
        let doc = try row.decode(column: "doc", as: String.self)
        let decode = { (doc: String) in try decoder.decode(Enrollment.self, from: Data(doc.utf8)) }
        var e = try cache.map { try $0.value(doc, decode: decode) } ?? decode(doc)
        e.lastSeenAt = try date(row, "last_seen_at")
        e.upn = try row.decode(column: "cur_upn", as: String?.self) ?? row.decode(column: "upn", as: String.self)
        return e
    }

    func enrollmentRows(_ q: SQLQueryString) async throws -> [Enrollment] {
        try await connections.read { db in try await db.raw(SQLQueryString(Self.enrollmentSelect) + q).all().map { try Self.enrollment($0) } }
    }

    /// The enrollments of the user with this UPN: by user id when the user exists (a rename moves nothing), else by
    /// the UPN they were made with (a deleted user's history).
    /// With `lock`, first takes the per-user lock (by id, so a rename cannot split it) that orders every commit for
    /// this user on every instance.
    func userEnrollments(_ db: any SQLDatabase, upn: String, activeOnly: Bool, lock: Bool = false) async throws -> (userID: String?, [Enrollment]) {
        let n = UPN.normalize(upn)
        let active = activeOnly ? " AND e.state = 'active'" : ""
        if !lock || dialect.lock(key: "enroll:") == nil {
            // No lock to take between finding the user and reading: one statement finds both (a user without
            // enrollments comes back as one row with no document). Sorted here, not in SQL: with an ORDER BY on the
            // joined table, SQLite's planner, given statistics, preferred walking the whole enrollment order index.
            let rows = try await db.raw(SQLQueryString("""
                SELECT u.id AS uid, e.doc, e.upn, e.last_seen_at, u.upn AS cur_upn FROM users u
                LEFT JOIN enrollments e ON e.user_id = u.id\(active) WHERE u.upn = 
                """) + "\(bind: n)").all()
            if let first = rows.first {
                let found = try rows.filter { try $0.decode(column: "doc", as: String?.self) != nil }
                let list = try found.map { try Self.enrollment($0, cache: self.decodedEnrollments) }
                return (try first.decode(column: "uid", as: String.self), list.sorted { ($0.enrolledAt, $0.id) < ($1.enrolledAt, $1.id) })
            }
            // No such user: the history of a deleted one, by the UPN it had.
            let q = SQLQueryString(Self.enrollmentSelect) + " WHERE e.user_id IS NULL AND e.upn = \(bind: n)" + SQLQueryString(active + " ORDER BY e.enrolled_at, e.id")
            return (nil, try await db.raw(q).all().map { try Self.enrollment($0, cache: self.decodedEnrollments) })
        }
        let userID = try await db.raw("SELECT id FROM users WHERE upn = \(bind: n)").first()?.decode(column: "id", as: String.self)
        if lock, let statement = dialect.lock(key: "enroll:" + (userID ?? n)) { try await db.raw(statement).run() }
        var q = SQLQueryString(Self.enrollmentSelect)
        if let userID { q += " WHERE e.user_id = \(bind: userID)" } else { q += " WHERE e.user_id IS NULL AND e.upn = \(bind: n)" }
        if activeOnly { q.appendLiteral(" AND e.state = 'active'") }
        q.appendLiteral(" ORDER BY e.enrolled_at, e.id")
        return (userID, try await db.raw(q).all().map { try Self.enrollment($0, cache: self.decodedEnrollments) })
    }

    public func enrollments(upn: String) async throws -> [Enrollment] {
        try await connections.read { db in try await self.userEnrollments(db, upn: upn, activeOnly: false).1 }
    }

    public func activeEnrollments(upn: String) async throws -> [Enrollment] {
        try await connections.read { db in try await self.userEnrollments(db, upn: upn, activeOnly: true).1 }
    }

    public func activeEnrollmentCounts(upns: [String]) async throws -> [String: Int] {
        let keys = Array(Set(upns.map(UPN.normalize)))
        guard !keys.isEmpty else { return [:] }
        var q = SQLQueryString("""
            SELECT u.upn, COUNT(*) AS n FROM users u JOIN enrollments e ON e.user_id = u.id AND e.state = 'active' WHERE u.upn IN (
            """)
        for (i, k) in keys.enumerated() {
            if i > 0 { q.appendLiteral(", ") }
            q.appendInterpolation(bind: k)
        }
        q.appendLiteral(") GROUP BY u.upn")
        return try await connections.read { db in
            var out: [String: Int] = [:]
            for row in try await db.raw(q).all() { out[try row.decode(column: "upn", as: String.self)] = try row.decode(column: "n", as: Int.self) }
            return out
        }
    }

    public func activeEnrollments(hwDevID: String) async throws -> [Enrollment] {
        try await enrollmentRows(" WHERE e.hw_dev_id = \(bind: hwDevID) AND e.state = 'active' ORDER BY e.enrolled_at, e.id")
    }

    public func enrollment(id: String) async throws -> Enrollment? {
        try await enrollmentRows(" WHERE e.id = \(bind: id)").first
    }

    public func enrollment(certificateThumbprint: String) async throws -> Enrollment? {
        try await connections.read { db in
            try await db.raw(Self.byThumbprint(Self.enrollmentSelect, certificateThumbprint)).first().map { try Self.enrollment($0) }
        }
    }

    /// The row whose current or previous certificate has this thumbprint: two index look-ups. The index on the previous
    /// thumbprint is partial (NULLs left out): almost every row has none, and SQLite's statistics, which count NULLs as
    /// one value, made a full index look useless, so after ANALYZE the planner scanned the table on every check-in.
    static func byThumbprint(_ select: String, _ thumbprint: String) -> SQLQueryString {
        SQLQueryString(select) + " WHERE e.cert_thumbprint = \(bind: thumbprint) OR e.prev_cert_thumbprint = \(bind: thumbprint) LIMIT 1"
    }

    public func allEnrollments() async throws -> [Enrollment] {
        try await enrollmentRows(" ORDER BY e.enrolled_at, e.id")
    }

    public func enrollments(after: String?, limit: Int, activeOnly: Bool) async throws -> [Enrollment] {
        var q = SQLQueryString(" WHERE 1 = 1")
        if let after {
            q = q + " AND (e.enrolled_at, e.id) > (SELECT enrolled_at, id FROM enrollments WHERE id = \(bind: after))"
        }
        if activeOnly { q.appendLiteral(" AND e.state = 'active'") }
        return try await enrollmentRows(q + " ORDER BY e.enrolled_at, e.id LIMIT \(bind: max(0, limit))")
    }

    public func updateEnrollment(_ e: Enrollment) async throws {
        let cols = try Columns.enrollment(e)
        let n = try await connections.write { db in try await Self.writeEnrollment(db, cols, e) }
        if n == 0 { throw StorageError(.notFound, "No enrollment \(e.id).") }
    }

    /// Writes every column from the value; the owner follows the UPN it carries.
    static func writeEnrollment(_ db: any SQLDatabase, _ cols: [(String, any Encodable & Sendable)], _ e: Enrollment) async throws -> Int {
        var q = SQLQueryString("UPDATE enrollments SET ")
        q += Columns.bindings(cols).assignments
        q += ", user_id = COALESCE((SELECT id FROM users WHERE upn = \(bind: UPN.normalize(e.upn))), user_id) WHERE id = \(bind: e.id)"
        return try await changed(db, q)
    }

    public func checkIn(certificateThumbprint: String) async throws -> CheckInRecord? {
        try await connections.read { db in
            guard let row = try await db.raw(Self.byThumbprint(Self.checkInSelect, certificateThumbprint)).first() else { return nil }
            return CheckInRecord(enrollment: try Self.enrollment(row), hasQueuedCommands: try row.decode(column: "queued", as: Int.self) != 0,
                                 hasSentCommands: try row.decode(column: "sent", as: Int.self) != 0,
                                 profilesRevision: try row.decode(column: "profiles_rev", as: Int.self),
                                 reconciledRevision: try row.decode(column: "profile_rev", as: Int.self))
        }
    }

    /// The enrollment, two index probes of the command queue (enrollment, state) and the profiles' revision (a
    /// primary-key read), in one statement.
    static let checkInSelect = """
        SELECT e.doc, e.upn, e.last_seen_at, u.upn AS cur_upn, e.profile_rev,
          (SELECT value FROM counters WHERE key = 'profiles') AS profiles_rev,
          CASE WHEN EXISTS (SELECT 1 FROM commands c WHERE c.enrollment_id = e.id AND c.state = 'queued') THEN 1 ELSE 0 END AS queued,
          CASE WHEN EXISTS (SELECT 1 FROM commands c WHERE c.enrollment_id = e.id AND c.state = 'sent') THEN 1 ELSE 0 END AS sent
        FROM enrollments e LEFT JOIN users u ON u.id = e.user_id
        """

    /// How the database runs the check-in query, one line per step: shows the indexes it uses (`winmdm bench checkin`).
    public func checkInQueryPlan() async throws -> [String] {
        let (sql, column) = dialect.queryPlan(Self.checkInSelect + " WHERE e.cert_thumbprint = 'x' OR e.prev_cert_thumbprint = 'x' LIMIT 1")
        // On the connection that ran ANALYZE: a reader opened before it may not have loaded the new statistics.
        return try await connections.write { db in
            try await db.raw(SQLQueryString(sql)).all().map { try $0.decode(column: column, as: String.self) }
        }
    }

    public func markSeen(enrollmentID: String, at: Date) async throws {
        try await connections.write { db in
            try await db.raw("UPDATE enrollments SET last_seen_at = \(bind: at.timeIntervalSince1970) WHERE id = \(bind: enrollmentID)").run()
        }
    }

    public func modifyEnrollment(id: String, _ change: @Sendable (inout Enrollment) throws -> Void) async throws -> Enrollment {
        try await connections.transaction { db in
            guard let row = try await db.raw(SQLQueryString(Self.enrollmentSelect) + " WHERE e.id = \(bind: id)" + SQLQueryString(dialect.forUpdate.isEmpty ? "" : " FOR UPDATE OF e")).first() else {
                throw StorageError(.notFound, "No enrollment \(id).")
            }
            var e = try Self.enrollment(row)
            try change(&e)
            _ = try await Self.writeEnrollment(db, try Columns.enrollment(e), e)
            return e
        }
    }

    public func deleteEnrollment(id: String) async throws {
        let n = try await connections.transaction { db in
            try await db.raw("DELETE FROM profile_states WHERE enrollment_id = \(bind: id)").run()
            return try await Self.changed(db, "DELETE FROM enrollments WHERE id = \(bind: id)")
        }
        if n == 0 { throw StorageError(.notFound, "No enrollment \(id).") }
    }

    public func commitEnrollment(_ enrollment: Enrollment, check: @Sendable ([Enrollment]) -> [Denial]) async throws -> [Denial] {
        let cols = try Columns.enrollment(enrollment)
        let upn = UPN.normalize(enrollment.upn)
        return try await connections.transaction { db in
            // Every commit for this user waits here for the one before it, on every instance sharing the database.
            let (userID, current) = try await self.userEnrollments(db, upn: upn, activeOnly: true, lock: true)
            let denials = check(current)
            guard denials.isEmpty else { return denials }
            for var old in current where old.hwDevID == enrollment.hwDevID {
                old.state = .unenrolled
                _ = try await Self.writeEnrollment(db, try Columns.enrollment(old), old)
            }
            try await db.raw(Columns.insert("enrollments", cols + [("user_id", userID)])).run()
            return []
        }
    }
}

extension SQLStore {
    // MARK: Commands

    public func enqueue(_ c: DeviceCommand) async throws {
        let cols = try Columns.command(c)
        try await connections.write { db in try await db.raw(Columns.insert("commands", cols)).run() }
    }

    func commandRows(enrollmentID: String, state: DeviceCommandState) async throws -> [DeviceCommand] {
        try await many("SELECT doc FROM commands WHERE enrollment_id = \(bind: enrollmentID) AND state = \(bind: state.rawValue)"
            + SQLQueryString(" ORDER BY created_at, \(dialect.insertionOrder)"), DeviceCommand.self)
    }

    public func sentCommands(enrollmentID: String) async throws -> [DeviceCommand] {
        try await commandRows(enrollmentID: enrollmentID, state: .sent)
    }

    public func queuedCommands(enrollmentID: String) async throws -> [DeviceCommand] {
        try await commandRows(enrollmentID: enrollmentID, state: .queued)
    }

    public func updateCommand(_ c: DeviceCommand) async throws {
        let cols = try Columns.command(c)
        let n = try await connections.write { db in try await Self.changed(db, Columns.update("commands", cols, key: "id", c.id)) }
        if n == 0 { throw StorageError(.notFound, "No command \(c.id).") }
    }

    public func command(id: String) async throws -> DeviceCommand? {
        try await one("SELECT doc FROM commands WHERE id = \(bind: id)", DeviceCommand.self)
    }

    public func commands(enrollmentID: String, limit: Int) async throws -> [DeviceCommand] {
        try await many("SELECT doc FROM commands WHERE enrollment_id = \(bind: enrollmentID)"
            + SQLQueryString(" ORDER BY created_at DESC, \(dialect.insertionOrder) DESC LIMIT ") + "\(bind: limit)", DeviceCommand.self)
    }

    // MARK: Attempts

    static func attempt(_ row: any SQLRow) throws -> EnrollmentAttempt {
        var a = try value(row, EnrollmentAttempt.self)
        let repeats = try row.decode(column: "repeats", as: Int.self)
        a.repeats = repeats > 0 ? repeats : nil
        a.lastRepeatAt = try date(row, "last_repeat_at")
        return a
    }

    public func recordAttempt(_ a: EnrollmentAttempt) async throws {
        let cols = try Columns.attempt(a)
        try await connections.write { db in try await db.raw(Columns.insert("attempts", cols)).run() }
    }

    public func noteRepeat(attemptID: String, at: Date) async throws {
        try await connections.write { db in
            try await db.raw("UPDATE attempts SET repeats = repeats + 1, last_repeat_at = \(bind: at.timeIntervalSince1970) WHERE id = \(bind: attemptID)").run()
        }
    }

    public func attempt(id: String) async throws -> EnrollmentAttempt? {
        try await connections.read { db in
            try await db.raw("SELECT doc, repeats, last_repeat_at FROM attempts WHERE id = \(bind: id)").first().map(Self.attempt)
        }
    }

    public func attempts(_ q: AttemptQuery) async throws -> [EnrollmentAttempt] {
        var sql = SQLQueryString("SELECT doc, repeats, last_repeat_at FROM attempts WHERE 1 = 1")
        if q.failedOnly { sql.appendLiteral(" AND outcome = 'failed'") }
        if let upn = q.upn { sql = sql + " AND upn = \(bind: UPN.normalize(upn))" }
        if let since = q.since { sql = sql + " AND time >= \(bind: since.timeIntervalSince1970)" }
        sql = sql + SQLQueryString(" ORDER BY time DESC, \(dialect.insertionOrder) DESC LIMIT ") + "\(bind: q.limit)"
        return try await connections.read { db in try await db.raw(sql).all().map(Self.attempt) }
    }

    public func pruneAttempts(before date: Date) async throws -> Int {
        try await prune("attempts", column: "time", before: date)
    }

    // MARK: Sign-in throttles

    public func throttles(keys: [String]) async throws -> [SignInThrottle] {
        try await connections.read { db in try await Self.readThrottles(db, keys, lock: "") }
    }

    static func readThrottles(_ db: any SQLDatabase, _ keys: [String], lock: String) async throws -> [SignInThrottle] {
        guard !keys.isEmpty else { return [] }
        var q = SQLQueryString("SELECT doc FROM signin_throttle WHERE key IN (")
        for (i, k) in keys.enumerated() { if i > 0 { q.appendLiteral(", ") }; q.appendInterpolation(bind: k) }
        q.appendLiteral(")" + lock)
        return try await db.raw(q).all().map { try value($0, SignInThrottle.self) }
    }

    public func updateThrottles(keys: [String], _ change: @Sendable (inout [SignInThrottle]) -> Void) async throws -> [SignInThrottle] {
        try await connections.transaction { db in
            for k in keys.sorted() { if let lock = dialect.lock(key: "throttle:" + k) { try await db.raw(lock).run() } }
            let found = Dictionary(try await Self.readThrottles(db, keys, lock: dialect.forUpdate).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            var entries = keys.map { found[$0] ?? SignInThrottle(key: $0) }
            change(&entries)
            for e in entries {
                try await db.raw(Columns.insert("signin_throttle", try Columns.throttle(e))
                    + " ON CONFLICT (key) DO UPDATE SET last_failure = excluded.last_failure, locked_until = excluded.locked_until, doc = excluded.doc").run()
            }
            return entries
        }
    }

    public func activeThrottles(now: Date) async throws -> [SignInThrottle] {
        let all = try await many("""
            SELECT doc FROM signin_throttle WHERE locked_until > \(bind: now.timeIntervalSince1970) OR last_failure IS NOT NULL
            ORDER BY COALESCE(last_failure, 0) DESC, key LIMIT 1000
            """, SignInThrottle.self)
        return all.filter { $0.isLocked(at: now) || $0.failures > 0 }
    }

    public func clearThrottles(matching subject: String) async throws -> [SignInThrottle] {
        let s = subject.lowercased()
        return try await connections.transaction { db in
            // Keys are account:U, pair:U|A, source:A; the LIKE narrows, keyMatches decides exactly.
            let rows = try await db.raw("SELECT doc FROM signin_throttle WHERE key LIKE \(bind: "%" + s + "%")").all()
                .map { try Self.value($0, SignInThrottle.self) }.filter { SignInThrottle.keyMatches($0.key, s) }
            for r in rows {
                if let kept = r.cleared {
                    try await db.raw(Columns.update("signin_throttle", try Columns.throttle(kept), key: "key", r.key)).run()
                } else {
                    try await db.raw("DELETE FROM signin_throttle WHERE key = \(bind: r.key)").run()
                }
            }
            return rows.sorted { $0.key < $1.key }
        }
    }
}

extension SQLStore {
    /// Refreshes the planner's statistics (`ANALYZE`, on both databases). After a bulk load, PostgreSQL without
    /// statistics plans the check-in's two-column look-up as a scan of the whole table; autovacuum would get there
    /// later, this gets there now.
    public func analyze() async throws {
        try await connections.write { db in try await db.raw("ANALYZE").run() }
    }

    /// Inserts enrollments as they are, without the policy check or the per-user lock of `commitEnrollment`: for
    /// seeding benchmarks and imports, hundreds of rows per statement in one transaction. Owners are found by UPN.
    public func insertEnrollments(_ enrollments: [Enrollment], rowsPerStatement: Int = 400) async throws {
        guard !enrollments.isEmpty else { return }
        let rows = try enrollments.map { try Columns.enrollment($0) }
        let names = rows[0].map(\.0).joined(separator: ", ")
        try await connections.transaction { db in
            var start = 0
            while start < rows.count {
                let chunk = rows[start..<min(rows.count, start + rowsPerStatement)]
                var q = SQLQueryString("INSERT INTO enrollments (\(names), user_id) VALUES ")
                for (i, cols) in chunk.enumerated() {
                    q.appendLiteral(i == 0 ? "(" : ", (")
                    q += Columns.bindings(cols).values
                    q += ", (SELECT id FROM users WHERE upn = \(bind: cols[1].1 as? String ?? ""))"
                    q.appendLiteral(")")
                }
                try await db.raw(q).run()
                start += rowsPerStatement
            }
        }
    }
}
