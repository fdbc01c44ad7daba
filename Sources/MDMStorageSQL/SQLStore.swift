import Foundation
import MDMCore
import MDMStorage
import PostgresNIO
import SQLKit

/// The SQL backend: one implementation of every storage role over sql-kit, for SQLite (the embedded default, a file
/// in the data directory) and PostgreSQL (several winmdm instances on one database). What differs between the two is
/// in `StoreDialect` and `Connections`; the statements here are written once.
///
/// Rows keep the whole value as a JSON document plus the columns it is looked up, ordered or counted by, written by
/// one function per table (`Columns`), so an index column cannot drift from its document.
public final class SQLStore: MDMStore {
    let connections: any Connections
    public let dialect: any StoreDialect
    let counter: StatementCounter
    /// The file, or the PostgreSQL URL without its password.
    public let location: String

    /// The user's active enrollments are read on every enrollment (twice: the policy and the capacity re-check); their
    /// documents rarely change, so their decoded values are kept, keyed by the exact text.
    let decodedEnrollments = DecodedDocuments<Enrollment>(capacity: 4096)

    init(connections: any Connections, dialect: any StoreDialect, counter: StatementCounter, location: String) {
        self.connections = InstrumentedConnections(base: connections, backend: dialect is SQLiteStoreDialect ? "sqlite" : "postgresql")
        self.dialect = dialect
        self.counter = counter
        self.location = location
    }

    /// A SQLite file (created when missing), with `readers` read-only connections beside the writer.
    public static func openSQLite(path: String, readers: Int = 3) async throws -> SQLStore {
        let counter = StatementCounter(), dialect = SQLiteStoreDialect()
        let c = try await SQLiteConnections.open(path: path, readers: readers, counter: counter, dialect: dialect)
        let store = SQLStore(connections: c, dialect: dialect, counter: counter, location: path)
        do { try await store.migrate() } catch { try? await c.close(); throw error }
        return store
    }

    /// A PostgreSQL database (`postgres://user:password@host:port/database`); the schema is created or brought up to
    /// date on first use, once even when several instances start together.
    public static func openPostgres(url: String) async throws -> SQLStore {
        let counter = StatementCounter(), dialect = PostgresStoreDialect()
        let (config, shown) = try PostgresConnections.configuration(url: url)
        let c = PostgresConnections(configuration: config, counter: counter, dialect: dialect)
        await c.waitUntilRunning()
        let store = SQLStore(connections: c, dialect: dialect, counter: counter, location: shown)
        do { try await store.migrate() } catch {
            try? await c.close()
            throw StorageError(.backend, "Could not open the PostgreSQL database \(shown): \(String(reflecting: error))")
        }
        return store
    }

    /// `postgres://…` opens PostgreSQL; anything else is a SQLite file path.
    public static func open(_ location: String) async throws -> SQLStore {
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") { return try await openPostgres(url: location) }
        return try await openSQLite(path: location)
    }

    public func close() async throws { try await connections.close() }

    /// Statements sent to the database so far (BEGIN and COMMIT included), for `winmdm bench`.
    public var statementsExecuted: Int { counter.value.load(ordering: .relaxed) }

    /// The schema version this database is at.
    public func schemaVersion() async throws -> Int {
        try await connections.read { db in
            try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").first()?.decode(column: "v", as: Int.self) ?? 0
        }
    }

    func migrate(upTo last: Int? = nil) async throws {
        try await connections.transaction { db in
            if let lock = dialect.lock(key: "winmdm.schema") { try await db.raw(lock).run() }
            try await db.raw("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").run()
            let current = try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").first()?
                .decode(column: "v", as: Int.self) ?? 0
            for (i, steps) in dialect.migrations.prefix(last ?? .max).enumerated() where i + 1 > current {
                for sql in steps { try await db.raw(SQLQueryString(sql)).run() }
                try await db.raw("INSERT INTO schema_version (version) VALUES (\(bind: i + 1))").run()
            }
        }
    }

    /// Brings an empty PostgreSQL database to an earlier schema version and stores the settings as that version did
    /// (one document, objects included), so an upgrade test starts where a real installation would.
    public static func makeLegacyPostgresForTesting(url: String, version: Int, settings: TenantSettings) async throws {
        let counter = StatementCounter(), dialect = PostgresStoreDialect()
        let (config, _) = try PostgresConnections.configuration(url: url)
        let c = PostgresConnections(configuration: config, counter: counter, dialect: dialect)
        await c.waitUntilRunning()
        let store = SQLStore(connections: c, dialect: dialect, counter: counter, location: url)
        do {
            try await store.migrate(upTo: version)
            try await c.write { db in try await db.raw("INSERT INTO settings (key, doc) VALUES ('tenant', \(bind: try doc(settings)))").run() }
        } catch { try? await c.close(); throw error }
        try await c.close()
    }

    /// Makes a SQLite database at an earlier schema version and seeds it with values as that version stored them
    /// (documents whole), so upgrade tests start where a real installation would.
    public static func makeLegacyForTesting(path: String, version: Int, settings: TenantSettings? = nil, users: [User] = [],
                                            groups: [Group] = [], enrollments: [Enrollment] = []) async throws {
        let counter = StatementCounter(), dialect = SQLiteStoreDialect()
        let c = try await SQLiteConnections.open(path: path, readers: 0, counter: counter, dialect: dialect)
        try await SQLStore(connections: c, dialect: dialect, counter: counter, location: path).migrate(upTo: version)
        try await c.transaction { db in
            // Before version 7 the settings were one document, objects included.
            if let settings { try await db.raw("INSERT INTO settings (key, doc) VALUES ('tenant', \(bind: try doc(settings)))").run() }
            for u in users { try await db.raw("INSERT INTO users (id, upn, doc) VALUES (\(bind: u.id), \(bind: u.upn), \(bind: try doc(u)))").run() }
            for g in groups {
                try await db.raw("INSERT INTO groups (id, name_key, doc) VALUES (\(bind: g.id), \(bind: g.displayName.lowercased()), \(bind: try doc(g)))").run()
            }
            for e in enrollments {
                try await db.raw("""
                    INSERT INTO enrollments (id, upn, hw_dev_id, device_id, state, cert_thumbprint, enrolled_at, doc)
                    VALUES (\(bind: e.id), \(bind: e.upn), \(bind: e.hwDevID), \(bind: e.deviceID), \(bind: e.state.rawValue),
                            \(bind: e.certificateThumbprint), \(bind: e.enrolledAt.timeIntervalSince1970), \(bind: try doc(e)))
                    """).run()
            }
        }
        try await c.close()
    }

    // MARK: Documents

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
    static func date(_ row: any SQLRow, _ column: String) throws -> Date? {
        try row.decode(column: column, as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    func one<T: Decodable & Sendable>(_ q: SQLQueryString, _ type: T.Type) async throws -> T? {
        try await connections.read { db in try await db.raw(q).first().map { try Self.value($0, T.self) } }
    }

    func many<T: Decodable & Sendable>(_ q: SQLQueryString, _ type: T.Type) async throws -> [T] {
        try await connections.read { db in try await db.raw(q).all().map { try Self.value($0, T.self) } }
    }

    /// Number of rows a statement changed.
    static func changed(_ db: any SQLDatabase, _ q: SQLQueryString) async throws -> Int {
        // Both databases answer RETURNING; counting the returned keys works the same on each.
        var sql = q
        sql.appendLiteral(" RETURNING 1 AS one")
        return try await db.raw(sql).all().count
    }
}

/// Decoded values of JSON documents, keyed by the document's exact text: the same text always decodes to the same
/// value, so a hit is always right, and a changed row simply misses. Bounded: when full it starts again empty.
final class DecodedDocuments<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: Value] = [:]
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func value(_ doc: String, decode: (String) throws -> Value) rethrows -> Value {
        if let hit = lock.withLock({ entries[doc] }) { return hit }
        let v = try decode(doc)
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[doc] = v
        }
        return v
    }
}

/// The columns of each table, derived from the value in one place, for inserts and updates alike.
enum Columns {
    static func bindings(_ pairs: [(String, any Encodable & Sendable)]) -> (names: String, values: SQLQueryString, assignments: SQLQueryString) {
        var values = SQLQueryString(""), assignments = SQLQueryString("")
        for (i, (name, value)) in pairs.enumerated() {
            if i > 0 { values.appendLiteral(", "); assignments.appendLiteral(", ") }
            values.appendInterpolation(bind: value)
            assignments.appendLiteral("\(name) = ")
            assignments.appendInterpolation(bind: value)
        }
        return (pairs.map(\.0).joined(separator: ", "), values, assignments)
    }

    static func insert(_ table: String, _ pairs: [(String, any Encodable & Sendable)]) -> SQLQueryString {
        let b = bindings(pairs)
        var q = SQLQueryString("INSERT INTO \(table) (\(b.names)) VALUES (")
        q += b.values
        q.appendLiteral(")")
        return q
    }

    static func update(_ table: String, _ pairs: [(String, any Encodable & Sendable)], key: String, _ id: String) -> SQLQueryString {
        var q = SQLQueryString("UPDATE \(table) SET ")
        q += bindings(pairs).assignments
        q.appendLiteral(" WHERE \(key) = ")
        q.appendInterpolation(bind: id)
        return q
    }

    static func user(_ u: User) throws -> [(String, any Encodable & Sendable)] {
        [("id", u.id), ("upn", u.upn), ("doc", try SQLStore.doc(u))]
    }

    static func group(_ g: Group) throws -> [(String, any Encodable & Sendable)] {
        var doc = g
        doc.members = []  // in group_members
        doc.devices = []  // in group_devices
        return [("id", g.id), ("name_key", g.displayName.lowercased()), ("doc", try SQLStore.doc(doc))]
    }

    /// `user_id` is set apart: it is resolved from the users table when the enrollment is committed.
    static func enrollment(_ e: Enrollment) throws -> [(String, any Encodable & Sendable)] {
        var doc = e
        doc.lastSeenAt = nil  // a column of its own
        return [("id", e.id), ("upn", UPN.normalize(e.upn)), ("hw_dev_id", e.hwDevID), ("device_id", e.deviceID),
                ("state", e.state.rawValue), ("cert_thumbprint", e.certificateThumbprint),
                ("prev_cert_thumbprint", e.previousCertificateThumbprint), ("enrolled_at", e.enrolledAt.timeIntervalSince1970),
                ("last_seen_at", e.lastSeenAt?.timeIntervalSince1970), ("doc", try SQLStore.doc(doc))]
    }

    static func attempt(_ a: EnrollmentAttempt) throws -> [(String, any Encodable & Sendable)] {
        var doc = a
        doc.repeats = nil
        doc.lastRepeatAt = nil
        return [("id", a.id), ("time", a.time.timeIntervalSince1970), ("phase", a.phase.rawValue), ("outcome", a.outcome.rawValue),
                ("upn", a.facts.upn.map(UPN.normalize)), ("code", a.code), ("repeats", a.repeats ?? 0),
                ("last_repeat_at", a.lastRepeatAt?.timeIntervalSince1970), ("doc", try SQLStore.doc(doc))]
    }

    static func audit(_ a: AuditEntry) throws -> [(String, any Encodable & Sendable)] {
        [("id", a.id), ("time", a.time.timeIntervalSince1970), ("actor", a.actor), ("target", a.target), ("action", a.action),
         ("doc", try SQLStore.doc(a))]
    }

    static func command(_ c: DeviceCommand) throws -> [(String, any Encodable & Sendable)] {
        [("id", c.id), ("enrollment_id", c.enrollmentID), ("state", c.state.rawValue),
         ("created_at", c.createdAt.timeIntervalSince1970), ("doc", try SQLStore.doc(c))]
    }

    static func throttle(_ t: SignInThrottle) throws -> [(String, any Encodable & Sendable)] {
        [("key", t.key), ("last_failure", t.lastFailure?.timeIntervalSince1970),
         ("locked_until", t.lockedUntil?.timeIntervalSince1970), ("doc", try SQLStore.doc(t))]
    }
}
