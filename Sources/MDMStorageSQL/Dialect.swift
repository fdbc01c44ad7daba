import Foundation
import PostgresNIO
import SQLKit
import SQLiteNIO

/// What really differs between the databases winmdm stores into. Nothing outside this file names a database: the
/// store's statements are written once, in the SQL both accept, and ask the dialect for the rest. A third database
/// means a third conformance here (and its `Connections`), nothing else.
public protocol StoreDialect: Sendable {
    /// `sqlite`, `postgres`: the name in messages and benchmarks.
    var name: String { get }
    /// Opens a write transaction. SQLite's `BEGIN IMMEDIATE` takes the database's write lock up front, so the read
    /// that follows cannot go stale; PostgreSQL's `BEGIN` relies on `lock(_:)` and `forUpdate` instead.
    var beginWrite: String { get }
    /// Appended to a `SELECT` inside a write transaction to lock the rows it reads (`FOR UPDATE`), or empty when the
    /// transaction already holds the database (SQLite).
    var forUpdate: String { get }
    /// A statement that serialises transactions on one key (a user) until commit, or nil when the write transaction
    /// already excludes every other writer.
    func lock(key: String) -> SQLQueryString?
    /// The column that orders rows of the same timestamp by insertion.
    var insertionOrder: String { get }
    /// Whether an error is a duplicate key (unique constraint).
    func isUniqueViolation(_ error: any Error) -> Bool
    /// The schema, one step per version, applied in order; each step's statements run in one transaction.
    var migrations: [[String]] { get }
    /// The statement that shows how the database runs `sql`, and the column each line of its answer is in.
    func queryPlan(_ sql: String) -> (statement: String, column: String)
}

public struct SQLiteStoreDialect: StoreDialect {
    public init() {}
    public var name: String { "sqlite" }
    public var beginWrite: String { "BEGIN IMMEDIATE" }
    public var forUpdate: String { "" }
    public func lock(key: String) -> SQLQueryString? { nil }
    public var insertionOrder: String { "rowid" }
    public func isUniqueViolation(_ error: any Error) -> Bool {
        guard let e = error as? SQLiteError else { return false }
        switch e.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed: return true
        default: return false
        }
    }
    public func queryPlan(_ sql: String) -> (statement: String, column: String) { ("EXPLAIN QUERY PLAN " + sql, "detail") }
    public var migrations: [[String]] { SchemaSQLite.migrations }
}

public struct PostgresStoreDialect: StoreDialect {
    public init() {}
    public var name: String { "postgres" }
    public var beginWrite: String { "BEGIN" }
    public var forUpdate: String { " FOR UPDATE" }
    public func lock(key: String) -> SQLQueryString? {
        "SELECT pg_advisory_xact_lock(hashtextextended(\(bind: key), 0))"
    }
    public var insertionOrder: String { "seq" }
    public func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw
    }
    public func queryPlan(_ sql: String) -> (statement: String, column: String) { ("EXPLAIN " + sql, "QUERY PLAN") }
    public var migrations: [[String]] { SchemaPostgres.migrations }
}
