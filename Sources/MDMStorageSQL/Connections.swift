import Foundation
import Logging
import MDMStorage
import NIOSSL
import NIOCore
import PostgresNIO
import PostgresKit
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// How statements reach a database. Reads run on any connection without waiting for writers; a write transaction
/// holds one connection from its `BEGIN` to its `COMMIT`, and its body receives that connection as its only way to
/// run statements, so nothing can slip outside the transaction by accident.
protocol Connections: Sendable {
    /// Runs `body` on a connection for reading (autocommit).
    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in a write transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs one autocommitted write (a single statement needs no BEGIN and COMMIT).
    func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    func close() async throws
}

/// SQLite in WAL mode: one writer connection behind a FIFO lock (SQLite allows one writer at a time anyway, and
/// `BEGIN IMMEDIATE` keeps other processes out), and a few read-only connections that read the last committed state
/// while the writer works.
final class SQLiteConnections: Connections {
    let writer: SQLiteConnection
    let writerDB: any SQLDatabase
    let lock = AsyncLock()
    let readers: ConnectionPool<any SQLDatabase>
    let readerConnections: [SQLiteConnection]
    let dialect: any StoreDialect
    /// Set by `close()`: sqlite-nio's close of a closed connection touches its freed handle, so it must run once.
    let closed = Atomic<Bool>(false)

    static func open(path: String, readers count: Int, counter: StatementCounter, dialect: any StoreDialect) async throws -> SQLiteConnections {
        let logger = Logger(label: "winmdm.sqlite")
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let wdb = CountingDatabase(base: writer.sql(), counter: counter)
        try await wdb.raw("PRAGMA journal_mode=WAL").run()
        try await wdb.raw("PRAGMA busy_timeout=10000").run()
        try await wdb.raw("PRAGMA synchronous=NORMAL").run()
        var rconns: [SQLiteConnection] = []
        for _ in 0..<count {
            let c = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            let db = c.sql()
            try await db.raw("PRAGMA busy_timeout=10000").run()
            try await db.raw("PRAGMA query_only=1").run()
            rconns.append(c)
        }
        return SQLiteConnections(writer: writer, writerDB: wdb, readerConnections: rconns,
                                 readers: ConnectionPool(rconns.map { CountingDatabase(base: $0.sql(), counter: counter) }),
                                 dialect: dialect)
    }

    init(writer: SQLiteConnection, writerDB: any SQLDatabase, readerConnections: [SQLiteConnection],
         readers: ConnectionPool<any SQLDatabase>, dialect: any StoreDialect) {
        self.writer = writer
        self.writerDB = writerDB
        self.readerConnections = readerConnections
        self.readers = readers
        self.dialect = dialect
    }

    /// Dropped without `close()` (a caller that threw on its way out): the connections close now rather than leak
    /// their SQLite handles. After `close()` nothing is closed twice (sqlite-nio would touch the freed handle).
    deinit {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for c in readerConnections { _ = c.close() }
        _ = writer.close()
    }

    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.with(body)
    }

    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.run { try await inTransaction(writerDB, begin: dialect.beginWrite, body) }
    }

    func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.run { try await body(writerDB) }
    }

    func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for c in readerConnections { try await c.close() }
        try await writer.close()
    }
}

/// PostgreSQL through PostgresNIO's connection pool: every read and write takes a pooled connection; a transaction
/// keeps its connection until it commits. Row locks and advisory locks (see `StoreDialect.lock`) order concurrent
/// writers; nothing in this process waits for another request.
final class PostgresConnections: Connections {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let counter: StatementCounter
    let dialect: any StoreDialect
    let logger = Logger(label: "winmdm.postgres")
    let started: AsyncStream<Void>

    /// Waits until the pool runs, so the first statement does not find it idle.
    func waitUntilRunning() async {
        for await _ in started {}
        for _ in 0..<10 { await Task.yield() }
    }

    init(configuration: PostgresClient.Configuration, counter: StatementCounter, dialect: any StoreDialect) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "winmdm.postgres.pool"))
        self.client = client
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        self.started = started
        self.runner = Task {
            signal.finish()
            await client.run()
        }
        self.counter = counter
        self.dialect = dialect
    }

    func database(_ connection: PostgresConnection) -> any SQLDatabase {
        CountingDatabase(base: connection.sql(queryLogLevel: nil), counter: counter)
    }

    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { conn in try await body(database(conn)) }
    }

    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { conn in
            let db = database(conn)
            try await db.raw(SQLQueryString(dialect.beginWrite)).run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await read(body)
    }

    func close() async throws {
        runner.cancel()
        await runner.value
    }

    /// `postgres://user:password@host:port/database?sslmode=disable|prefer|require&pool=N`.
    static func configuration(url: String) throws -> (PostgresClient.Configuration, redacted: String) {
        guard let c = URLComponents(string: url), ["postgres", "postgresql"].contains(c.scheme ?? ""),
              let host = c.host, !host.isEmpty else {
            throw StorageError(.backend, "'\(url)' is not a PostgreSQL URL; expected postgres://user:password@host:5432/database")
        }
        let database = String(c.path.drop { $0 == "/" })
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, b in b })
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw StorageError(.backend, "sslmode=\(other) is not supported; use disable, prefer, require or verify-full.")
        }
        var config = PostgresClient.Configuration(host: host, port: c.port ?? 5432, username: c.user ?? "postgres",
                                                  password: c.password, database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = 16
        if let pool = query["pool"] {
            guard let n = Int(pool), (1...500).contains(n) else { throw StorageError(.backend, "pool=\(pool) is not a number of connections from 1 to 500.") }
            config.options.maximumConnections = n
        }
        config.options.minimumConnections = 1
        var shown = c
        if shown.password != nil { shown.password = "***" }
        return (config, shown.string ?? "postgres://")
    }
}

/// Runs `body` between `begin` and COMMIT on one connection, rolling back when it throws. (PostgreSQL's pool lends
/// its connection to a closure the compiler will not let `body` cross into, so it spells the same steps out.)
func inTransaction<T: Sendable>(_ db: any SQLDatabase, begin: String, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
    try await db.raw(SQLQueryString(begin)).run()
    do {
        let result = try await body(db)
        try await db.raw("COMMIT").run()
        return result
    } catch {
        try? await db.raw("ROLLBACK").run()
        throw error
    }
}

/// A fixed set of connections lent out one request at a time; a request waits (in order) when all are lent.
final class ConnectionPool<C: Sendable>: Sendable {
    let state: Mutex<(free: [C], waiting: [CheckedContinuation<C, Never>])>

    init(_ items: [C]) { state = Mutex((items, [])) }

    func with<T: Sendable>(_ body: (C) async throws -> T) async throws -> T {
        let c = await acquire()
        defer { release(c) }
        return try await body(c)
    }

    func acquire() async -> C {
        await withCheckedContinuation { (k: CheckedContinuation<C, Never>) in
            let got: C? = state.withLock { s in
                if let c = s.free.popLast() { return c }
                s.waiting.append(k)
                return nil
            }
            if let got { k.resume(returning: got) }
        }
    }

    func release(_ c: C) {
        let next: CheckedContinuation<C, Never>? = state.withLock { s in
            if s.waiting.isEmpty { s.free.append(c); return nil }
            return s.waiting.removeFirst()
        }
        next?.resume(returning: c)
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

/// Passes every statement to the database and counts it.
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
