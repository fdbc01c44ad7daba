import Foundation
import Logging
import MDMCore
import MDMStorage
import SQLKit
import SQLiteKit
import SQLiteNIO
import NIOCore
import Synchronization

/// The embedded default backend: one SQLite file in the data directory (WAL mode), shared safely with CLI
/// commands run while the server runs (busy timeout; write transactions take the lock up front).
///
/// Rows keep the full value as a JSON document plus the columns that are looked up by, indexed.
public final class SQLiteStore: MDMStore, @unchecked Sendable {
    let connection: SQLiteConnection
    let db: any SQLDatabase
    /// One connection: every statement and transaction runs through this lock, in order.
    let lock = AsyncLock()
    public let path: String

    public static func open(path: String) async throws -> SQLiteStore {
        let logger = Logger(label: "winmdm.sqlite")
        let conn = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let store = SQLiteStore(connection: conn, path: path)
        try await store.migrate()
        return store
    }

    /// Statements sent to SQLite so far (BEGIN and COMMIT included), for `winmdm bench`.
    public var statementsExecuted: Int { counter.value.load(ordering: .relaxed) }
    let counter = StatementCounter()

    init(connection: SQLiteConnection, path: String) {
        self.connection = connection
        self.db = CountingDatabase(base: connection.sql(), counter: counter)
        self.path = path
    }

    public func close() async throws { try await connection.close() }

    static let migrations: [[String]] = [
        [
            "CREATE TABLE settings (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
            "CREATE TABLE users (id TEXT PRIMARY KEY, upn TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            """
            CREATE TABLE enrollments (id TEXT PRIMARY KEY, upn TEXT NOT NULL, hw_dev_id TEXT NOT NULL,
              device_id TEXT NOT NULL, state TEXT NOT NULL, cert_thumbprint TEXT NOT NULL, enrolled_at REAL NOT NULL,
              doc TEXT NOT NULL)
            """,
            "CREATE INDEX enrollments_upn ON enrollments(upn)",
            "CREATE INDEX enrollments_hw ON enrollments(hw_dev_id, state)",
            "CREATE INDEX enrollments_thumbprint ON enrollments(cert_thumbprint)",
            """
            CREATE TABLE attempts (id TEXT PRIMARY KEY, time REAL NOT NULL, phase TEXT NOT NULL, outcome TEXT NOT NULL,
              upn TEXT, code TEXT, doc TEXT NOT NULL)
            """,
            "CREATE INDEX attempts_time ON attempts(time)",
            "CREATE INDEX attempts_upn_time ON attempts(upn, time)",
        ],
        [
            "CREATE TABLE groups (id TEXT PRIMARY KEY, name_key TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)",
            "CREATE TABLE audit (id TEXT PRIMARY KEY, time REAL NOT NULL, doc TEXT NOT NULL)",
            "CREATE INDEX audit_time ON audit(time)",
        ],
        [
            """
            CREATE TABLE commands (id TEXT PRIMARY KEY, enrollment_id TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,
              doc TEXT NOT NULL)
            """,
            "CREATE INDEX commands_queue ON commands(enrollment_id, state, created_at)",
        ],
        [
            // Renewal: the certificate a device renewed from stays accepted until it uses the new one.
            "ALTER TABLE enrollments ADD COLUMN prev_cert_thumbprint TEXT",
            "CREATE INDEX enrollments_prev_thumbprint ON enrollments(prev_cert_thumbprint)",
        ],
        [
            // Failed sign-in counters and lockouts.
            "CREATE TABLE signin_throttle (key TEXT PRIMARY KEY, last_failure REAL, locked_until REAL, doc TEXT NOT NULL)",
            "CREATE INDEX signin_throttle_failure ON signin_throttle(last_failure)",
        ],
    ]

    func migrate() async throws {
        try await lock.run {
            try await db.raw("PRAGMA journal_mode=WAL").run()
            try await db.raw("PRAGMA busy_timeout=10000").run()
            try await db.raw("PRAGMA synchronous=NORMAL").run()
            try await db.raw("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").run()
            try await transaction {
                let current = try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").first()?
                    .decode(column: "v", as: Int.self) ?? 0
                for (i, steps) in Self.migrations.enumerated() where i + 1 > current {
                    for sql in steps { try await db.raw(SQLQueryString(sql)).run() }
                    try await db.raw("INSERT INTO schema_version (version) VALUES (\(bind: i + 1))").run()
                }
            }
        }
    }

    /// Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back on any error. Call only under `lock`.
    func transaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await db.raw("BEGIN IMMEDIATE").run()
        do {
            let result = try await body()
            try await db.raw("COMMIT").run()
            return result
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    // MARK: JSON documents

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        return d
    }()

    static func doc<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
    static func value<T: Decodable>(_ row: any SQLRow, _ type: T.Type) throws -> T {
        try decoder.decode(T.self, from: Data(try row.decode(column: "doc", as: String.self).utf8))
    }

    func one<T: Decodable & Sendable>(_ q: SQLQueryString, _ type: T.Type) async throws -> T? {
        try await lock.run { try await db.raw(q).first().map { try Self.value($0, T.self) } }
    }

    func many<T: Decodable & Sendable>(_ q: SQLQueryString, _ type: T.Type) async throws -> [T] {
        try await lock.run { try await db.raw(q).all().map { try Self.value($0, T.self) } }
    }

    // MARK: DirectoryStore

    public func user(upn: String) async throws -> User? {
        try await one("SELECT doc FROM users WHERE upn = \(bind: UPN.normalize(upn))", User.self)
    }

    public func users() async throws -> [User] {
        try await many("SELECT doc FROM users ORDER BY upn", User.self)
    }

    public func insertUser(_ user: User) async throws {
        let doc = try Self.doc(user)
        try await lock.run {
            try await transaction {
                if try await db.raw("SELECT id FROM users WHERE upn = \(bind: user.upn)").first() != nil {
                    throw StorageError(.conflict, "A user \(user.upn) already exists.")
                }
                try await db.raw("INSERT INTO users (id, upn, doc) VALUES (\(bind: user.id), \(bind: user.upn), \(bind: doc))").run()
            }
        }
    }

    public func updateUser(_ user: User) async throws {
        let doc = try Self.doc(user)
        try await lock.run {
            try await db.raw("UPDATE users SET doc = \(bind: doc), upn = \(bind: user.upn) WHERE id = \(bind: user.id)").run()
        }
    }

    public func deleteUser(id: String) async throws {
        try await lock.run { try await db.raw("DELETE FROM users WHERE id = \(bind: id)").run() }
    }

    public func groups() async throws -> [Group] {
        try await many("SELECT doc FROM groups ORDER BY name_key", Group.self)
    }

    public func insertGroup(_ group: Group) async throws {
        let doc = try Self.doc(group)
        let key = group.displayName.lowercased()
        try await lock.run {
            try await transaction {
                if try await db.raw("SELECT id FROM groups WHERE name_key = \(bind: key)").first() != nil {
                    throw StorageError(.conflict, "A group named \(group.displayName) already exists.")
                }
                try await db.raw("INSERT INTO groups (id, name_key, doc) VALUES (\(bind: group.id), \(bind: key), \(bind: doc))").run()
            }
        }
    }

    public func updateGroup(_ group: Group) async throws {
        let doc = try Self.doc(group)
        try await lock.run {
            try await db.raw("UPDATE groups SET doc = \(bind: doc), name_key = \(bind: group.displayName.lowercased()) WHERE id = \(bind: group.id)").run()
        }
    }

    public func deleteGroup(id: String) async throws {
        try await lock.run { try await db.raw("DELETE FROM groups WHERE id = \(bind: id)").run() }
    }

    public func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void) async throws -> (before: TenantSettings, after: TenantSettings) {
        try await lock.run {
            try await transaction {
                guard let row = try await db.raw("SELECT doc FROM settings WHERE key = 'tenant'").first() else {
                    throw StorageError(.notFound, "The tenant settings are missing.")
                }
                let before = try Self.value(row, TenantSettings.self)
                var after = before
                try change(&after)
                try await db.raw("UPDATE settings SET doc = \(bind: try Self.doc(after)) WHERE key = 'tenant'").run()
                return (before, after)
            }
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws {
        let doc = try Self.doc(entry)
        try await lock.run {
            try await db.raw("INSERT INTO audit (id, time, doc) VALUES (\(bind: entry.id), \(bind: entry.time.timeIntervalSince1970), \(bind: doc))").run()
        }
    }

    public func auditEntries(limit: Int) async throws -> [AuditEntry] {
        try await many("SELECT doc FROM audit ORDER BY time DESC, rowid DESC LIMIT \(bind: limit)", AuditEntry.self)
    }

    public func updateEnrollment(_ e: Enrollment) async throws {
        try await lock.run { try await writeEnrollment(e) }
    }

    /// Under `lock`.
    func writeEnrollment(_ e: Enrollment) async throws {
        try await db.raw("""
            UPDATE enrollments SET upn = \(bind: e.upn), hw_dev_id = \(bind: e.hwDevID), device_id = \(bind: e.deviceID),
            state = \(bind: e.state.rawValue), cert_thumbprint = \(bind: e.certificateThumbprint),
            prev_cert_thumbprint = \(bind: e.previousCertificateThumbprint), doc = \(bind: try Self.doc(e)) WHERE id = \(bind: e.id)
            """).run()
    }

    public func checkIn(certificateThumbprint: String) async throws -> (enrollment: Enrollment, hasQueuedCommands: Bool)? {
        try await lock.run {
            guard let row = try await db.raw("""
                SELECT doc, EXISTS(SELECT 1 FROM commands WHERE commands.enrollment_id = enrollments.id AND commands.state = 'queued') AS queued
                FROM enrollments WHERE cert_thumbprint = \(bind: certificateThumbprint) OR prev_cert_thumbprint = \(bind: certificateThumbprint) LIMIT 1
                """).first() else { return nil }
            return (try Self.value(row, Enrollment.self), try row.decode(column: "queued", as: Int.self) != 0)
        }
    }

    /// SQLite's plan for the check-in query, one line per step: shows which indexes it uses (`winmdm bench checkin`).
    public func checkInQueryPlan() async throws -> [String] {
        try await lock.run {
            try await db.raw("""
                EXPLAIN QUERY PLAN SELECT doc, EXISTS(SELECT 1 FROM commands WHERE commands.enrollment_id = enrollments.id AND commands.state = 'queued') AS queued
                FROM enrollments WHERE cert_thumbprint = 'x' OR prev_cert_thumbprint = 'x' LIMIT 1
                """).all().map { try $0.decode(column: "detail", as: String.self) }
        }
    }

    public func markSeen(enrollmentID: String, at: Date) async throws {
        try await lock.run {
            try await db.raw("UPDATE enrollments SET doc = json_set(doc, '$.lastSeenAt', \(bind: at.timeIntervalSince1970)) WHERE id = \(bind: enrollmentID)").run()
        }
    }

    public func modifyEnrollment(id: String, _ change: @Sendable (inout Enrollment) throws -> Void) async throws -> Enrollment {
        try await lock.run {
            try await transaction {
                guard let row = try await db.raw("SELECT doc FROM enrollments WHERE id = \(bind: id)").first() else {
                    throw StorageError(.notFound, "No enrollment \(id).")
                }
                var e = try Self.value(row, Enrollment.self)
                try change(&e)
                try await writeEnrollment(e)
                return e
            }
        }
    }

    public func deleteEnrollment(id: String) async throws {
        try await lock.run { try await db.raw("DELETE FROM enrollments WHERE id = \(bind: id)").run() }
    }

    public func tenantSettings() async throws -> TenantSettings? {
        try await one("SELECT doc FROM settings WHERE key = 'tenant'", TenantSettings.self)
    }

    public func saveTenantSettings(_ settings: TenantSettings) async throws {
        let doc = try Self.doc(settings)
        try await lock.run {
            try await db.raw("INSERT INTO settings (key, doc) VALUES ('tenant', \(bind: doc)) ON CONFLICT(key) DO UPDATE SET doc = excluded.doc").run()
        }
    }

    // MARK: EnrollmentStore

    public func enrollments(upn: String) async throws -> [Enrollment] {
        try await many("SELECT doc FROM enrollments WHERE upn = \(bind: UPN.normalize(upn)) ORDER BY enrolled_at", Enrollment.self)
    }

    public func activeEnrollments(hwDevID: String) async throws -> [Enrollment] {
        try await many("SELECT doc FROM enrollments WHERE hw_dev_id = \(bind: hwDevID) AND state = 'active'", Enrollment.self)
    }

    public func enrollment(id: String) async throws -> Enrollment? {
        try await one("SELECT doc FROM enrollments WHERE id = \(bind: id)", Enrollment.self)
    }

    public func enrollment(certificateThumbprint: String) async throws -> Enrollment? {
        // Two indexed lookups joined by SQLite's OR optimisation.
        try await one("""
            SELECT doc FROM enrollments WHERE cert_thumbprint = \(bind: certificateThumbprint)
            OR prev_cert_thumbprint = \(bind: certificateThumbprint) LIMIT 1
            """, Enrollment.self)
    }

    public func allEnrollments() async throws -> [Enrollment] {
        try await many("SELECT doc FROM enrollments ORDER BY enrolled_at", Enrollment.self)
    }

    public func commitEnrollment(_ enrollment: Enrollment, check: @Sendable ([Enrollment]) -> [Denial]) async throws -> [Denial] {
        let doc = try Self.doc(enrollment)
        return try await lock.run {
            try await transaction {
                let current = try await db.raw("SELECT doc FROM enrollments WHERE upn = \(bind: enrollment.upn)").all()
                    .map { try Self.value($0, Enrollment.self) }
                let denials = check(current)
                guard denials.isEmpty else { return denials }
                for var old in current where old.state == .active && old.hwDevID == enrollment.hwDevID {
                    old.state = .unenrolled
                    try await db.raw("UPDATE enrollments SET state = 'unenrolled', doc = \(bind: try Self.doc(old)) WHERE id = \(bind: old.id)").run()
                }
                try await db.raw("""
                    INSERT INTO enrollments (id, upn, hw_dev_id, device_id, state, cert_thumbprint, enrolled_at, doc)
                    VALUES (\(bind: enrollment.id), \(bind: enrollment.upn), \(bind: enrollment.hwDevID), \(bind: enrollment.deviceID),
                    \(bind: enrollment.state.rawValue), \(bind: enrollment.certificateThumbprint),
                    \(bind: enrollment.enrolledAt.timeIntervalSince1970), \(bind: doc))
                    """).run()
                return []
            }
        }
    }

    // MARK: CommandQueueStore

    public func enqueue(_ c: DeviceCommand) async throws {
        let doc = try Self.doc(c)
        try await lock.run {
            try await db.raw("""
                INSERT INTO commands (id, enrollment_id, state, created_at, doc) VALUES (\(bind: c.id), \(bind: c.enrollmentID),
                \(bind: c.state.rawValue), \(bind: c.createdAt.timeIntervalSince1970), \(bind: doc))
                """).run()
        }
    }

    public func sentCommands(enrollmentID: String) async throws -> [DeviceCommand] {
        try await many("SELECT doc FROM commands WHERE enrollment_id = \(bind: enrollmentID) AND state = 'sent' ORDER BY created_at, rowid", DeviceCommand.self)
    }

    public func queuedCommands(enrollmentID: String) async throws -> [DeviceCommand] {
        try await many("SELECT doc FROM commands WHERE enrollment_id = \(bind: enrollmentID) AND state = 'queued' ORDER BY created_at, rowid", DeviceCommand.self)
    }

    public func updateCommand(_ c: DeviceCommand) async throws {
        let doc = try Self.doc(c)
        try await lock.run {
            try await db.raw("UPDATE commands SET state = \(bind: c.state.rawValue), doc = \(bind: doc) WHERE id = \(bind: c.id)").run()
        }
    }

    public func command(id: String) async throws -> DeviceCommand? {
        try await one("SELECT doc FROM commands WHERE id = \(bind: id)", DeviceCommand.self)
    }

    public func commands(enrollmentID: String, limit: Int) async throws -> [DeviceCommand] {
        try await many("SELECT doc FROM commands WHERE enrollment_id = \(bind: enrollmentID) ORDER BY created_at DESC, rowid DESC LIMIT \(bind: limit)", DeviceCommand.self)
    }

    // MARK: AttemptStore

    public func recordAttempt(_ a: EnrollmentAttempt) async throws {
        let doc = try Self.doc(a)
        try await lock.run {
            try await db.raw("""
                INSERT INTO attempts (id, time, phase, outcome, upn, code, doc) VALUES (\(bind: a.id),
                \(bind: a.time.timeIntervalSince1970), \(bind: a.phase.rawValue), \(bind: a.outcome.rawValue),
                \(bind: a.facts.upn), \(bind: a.code), \(bind: doc))
                """).run()
        }
    }

    public func noteRepeat(attemptID: String, at: Date) async throws {
        try await lock.run {
            try await db.raw("""
                UPDATE attempts SET doc = json_set(doc, '$.repeats', COALESCE(json_extract(doc, '$.repeats'), 0) + 1,
                '$.lastRepeatAt', \(bind: at.timeIntervalSince1970)) WHERE id = \(bind: attemptID)
                """).run()
        }
    }

    public func attempt(id: String) async throws -> EnrollmentAttempt? {
        try await one("SELECT doc FROM attempts WHERE id = \(bind: id)", EnrollmentAttempt.self)
    }

    public func attempts(_ q: AttemptQuery) async throws -> [EnrollmentAttempt] {
        var sql = SQLQueryString("SELECT doc FROM attempts WHERE 1 = 1")
        if q.failedOnly { sql.appendLiteral(" AND outcome = 'failed'") }
        if let upn = q.upn { sql.appendLiteral(" AND upn = "); sql.appendInterpolation(bind: UPN.normalize(upn)) }
        if let since = q.since { sql.appendLiteral(" AND time >= "); sql.appendInterpolation(bind: since.timeIntervalSince1970) }
        sql.appendLiteral(" ORDER BY time DESC, rowid DESC LIMIT ")
        sql.appendInterpolation(bind: q.limit)
        return try await many(sql, EnrollmentAttempt.self)
    }
}

extension SQLiteStore {
    // MARK: SignInThrottleStore

    public func throttles(keys: [String]) async throws -> [SignInThrottle] {
        try await lock.run { try await readThrottles(keys) }
    }

    /// Under `lock`.
    func readThrottles(_ keys: [String]) async throws -> [SignInThrottle] {
        guard !keys.isEmpty else { return [] }
        return try await db.select().column("doc").from("signin_throttle").where(SQLColumn("key"), .in, SQLBind.group(keys)).all()
            .map { try Self.value($0, SignInThrottle.self) }
    }

    public func updateThrottles(keys: [String], _ change: @Sendable (inout [SignInThrottle]) -> Void) async throws -> [SignInThrottle] {
        try await lock.run {
            try await transaction {
                let found = Dictionary(try await readThrottles(keys).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
                var entries = keys.map { found[$0] ?? SignInThrottle(key: $0) }
                change(&entries)
                for e in entries {
                    try await db.raw("""
                        INSERT INTO signin_throttle (key, last_failure, locked_until, doc) VALUES (\(bind: e.key),
                        \(bind: e.lastFailure?.timeIntervalSince1970), \(bind: e.lockedUntil?.timeIntervalSince1970), \(bind: try Self.doc(e)))
                        ON CONFLICT(key) DO UPDATE SET last_failure = excluded.last_failure, locked_until = excluded.locked_until, doc = excluded.doc
                        """).run()
                }
                return entries
            }
        }
    }

    public func activeThrottles(now: Date) async throws -> [SignInThrottle] {
        let all = try await many("""
            SELECT doc FROM signin_throttle WHERE locked_until > \(bind: now.timeIntervalSince1970) OR last_failure IS NOT NULL
            ORDER BY last_failure DESC, key LIMIT 1000
            """, SignInThrottle.self)
        return all.filter { $0.isLocked(at: now) || $0.failures > 0 }
    }

    public func clearThrottles(matching subject: String) async throws -> [SignInThrottle] {
        let s = subject.lowercased()
        return try await lock.run {
            try await transaction {
                // Keys are account:U, pair:U|A, source:A; the LIKE narrows, keyMatches decides exactly.
                let rows = try await db.raw("SELECT doc FROM signin_throttle WHERE key LIKE \(bind: "%" + s + "%")").all()
                    .map { try Self.value($0, SignInThrottle.self) }.filter { SignInThrottle.keyMatches($0.key, s) }
                for r in rows {
                    if let kept = r.cleared {
                        try await db.raw("UPDATE signin_throttle SET last_failure = NULL, locked_until = NULL, doc = \(bind: try Self.doc(kept)) WHERE key = \(bind: r.key)").run()
                    } else {
                        try await db.raw("DELETE FROM signin_throttle WHERE key = \(bind: r.key)").run()
                    }
                }
                return rows.sorted { $0.key < $1.key }
            }
        }
    }
}

/// A FIFO async mutex: one holder at a time, waiters resumed in order.
public actor AsyncLock {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func acquire() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    public nonisolated func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let r = try await body()
            await release()
            return r
        } catch {
            await release()
            throw error
        }
    }
}

final class StatementCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// Passes every statement to SQLite and counts it.
struct CountingDatabase: SQLDatabase {
    let base: any SQLDatabase
    let counter: StatementCounter

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        counter.value.add(1, ordering: .relaxed)
        return base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        counter.value.add(1, ordering: .relaxed)
        try await base.execute(sql: query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let counter = counter
        return try await base.withSession { try await closure(CountingDatabase(base: $0, counter: counter)) }
    }
}
