import Foundation
import MDMStorage
import SQLKit

extension SQLStore {
    /// A consistent copy of a SQLite database in one file (`VACUUM INTO`), taken while the server runs.
    /// PostgreSQL is backed up with its own tools (`pg_dump`).
    public func backup(to path: String) async throws {
        guard dialect.name == "sqlite" else {
            throw StorageError(.backend, "winmdm backup copies the SQLite file; back up PostgreSQL with pg_dump (see README).")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StorageError(.conflict, "\(path) exists; give a new file name (a backup never overwrites).")
        }
        try await connections.write { db in try await db.raw("VACUUM INTO \(bind: path)").run() }
    }

    /// The tables and columns that hold winmdm's data, in an order that copies cleanly.
    enum ColumnKind { case text, optionalText, real, optionalReal, integer }
    static let tables: [(name: String, key: [String], columns: [(String, ColumnKind)])] = [
        ("settings", ["key"], [("key", .text), ("doc", .text)]),
        ("restrictions", ["id"], [("id", .text), ("position", .integer), ("doc", .text)]),
        ("api_tokens", ["id"], [("id", .text), ("sha256", .text), ("position", .integer), ("doc", .text)]),
        ("autopilot_profiles", ["id"], [("id", .text), ("position", .integer), ("doc", .text)]),
        ("bulk_packages", ["id"], [("id", .text), ("position", .integer), ("doc", .text)]),
        ("users", ["id"], [("id", .text), ("upn", .text), ("doc", .text)]),
        ("groups", ["id"], [("id", .text), ("name_key", .text), ("doc", .text)]),
        ("group_members", ["group_id", "user_id"], [("group_id", .text), ("user_id", .text)]),
        ("group_devices", ["group_id", "hw_dev_id"], [("group_id", .text), ("hw_dev_id", .text)]),
        ("enrollments", ["id"], [("id", .text), ("user_id", .optionalText), ("upn", .text), ("hw_dev_id", .text), ("device_id", .text),
                                 ("state", .text), ("cert_thumbprint", .text), ("prev_cert_thumbprint", .optionalText),
                                 ("enrolled_at", .real), ("last_seen_at", .optionalReal), ("profile_rev", .integer), ("doc", .text)]),
        ("attempts", ["id"], [("id", .text), ("time", .real), ("phase", .text), ("outcome", .text), ("upn", .optionalText),
                              ("code", .optionalText), ("repeats", .integer), ("last_repeat_at", .optionalReal), ("doc", .text)]),
        ("audit", ["id"], [("id", .text), ("time", .real), ("actor", .text), ("target", .text), ("action", .text), ("doc", .text)]),
        ("commands", ["id"], [("id", .text), ("enrollment_id", .text), ("state", .text), ("created_at", .real), ("doc", .text)]),
        ("signin_throttle", ["key"], [("key", .text), ("last_failure", .optionalReal), ("locked_until", .optionalReal), ("doc", .text)]),
        ("counters", ["key"], [("key", .text), ("value", .integer)]),
        ("profiles", ["id"], [("id", .text), ("name_key", .text), ("created_at", .real), ("doc", .text)]),
        ("profile_states", ["enrollment_id", "profile_id"], [("enrollment_id", .text), ("profile_id", .text), ("doc", .text)]),
        ("autopilot_devices", ["id"], [("id", .text), ("serial_key", .text), ("hw_dev_id", .optionalText), ("imported_at", .real), ("doc", .text)]),
        ("device_identifiers", ["key"], [("key", .text), ("doc", .text)]),
    ]

    /// Rows in each table.
    public func rowCounts() async throws -> [String: Int] {
        try await connections.read { db in
            var counts: [String: Int] = [:]
            for t in Self.tables {
                counts[t.name] = try await db.raw(SQLQueryString("SELECT COUNT(*) AS n FROM \(t.name)")).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            return counts
        }
    }

    /// Copies every row into `target`, an empty database (another backend included), in one transaction there, and
    /// checks that each table ends with the same number of rows. Returns the counts.
    public func copy(to target: SQLStore, progress: @Sendable (String, Int) -> Void = { _, _ in }) async throws -> [String: Int] {
        let existing = try await target.rowCounts()
        // A target that was only opened may hold a new installation's settings: those are replaced.
        let settingsTables = Set(["settings", "counters"] + Self.settingsObjectTables)
        if let busy = existing.first(where: { !settingsTables.contains($0.key) && $0.value > 0 }) {
            throw StorageError(.conflict, "The target database already holds data (\(busy.value) rows in \(busy.key)); migrate into an empty database.")
        }
        let source = try await rowCounts()
        try await target.connections.transaction { tdb in
            for table in settingsTables { try await tdb.raw(SQLQueryString("DELETE FROM \(table)")).run() }
            for t in Self.tables {
                let names = t.columns.map(\.0).joined(separator: ", "), key = t.key.joined(separator: ", ")
                var after: [any Encodable & Sendable]? = nil
                var copied = 0
                while true {
                    var q = SQLQueryString("SELECT \(names) FROM \(t.name)")
                    if let after {
                        q += SQLQueryString(" WHERE (\(key)) > (")
                        for (i, v) in after.enumerated() { if i > 0 { q.appendLiteral(", ") }; q.appendInterpolation(bind: v) }
                        q.appendLiteral(")")
                    }
                    q += SQLQueryString(" ORDER BY \(key) LIMIT 500")
                    let rows = try await connections.read { db in try await db.raw(q).all() }
                    guard !rows.isEmpty else { break }
                    var insert = tdb.insert(into: t.name).columns(t.columns.map(\.0))
                    for row in rows {
                        var values: [any SQLExpression] = []
                        for (c, kind) in t.columns {
                            switch kind {
                            case .text: values.append(SQLBind(try row.decode(column: c, as: String.self)))
                            case .optionalText: values.append(SQLBind(try row.decode(column: c, as: String?.self)))
                            case .real: values.append(SQLBind(try row.decode(column: c, as: Double.self)))
                            case .optionalReal: values.append(SQLBind(try row.decode(column: c, as: Double?.self)))
                            case .integer: values.append(SQLBind(try row.decode(column: c, as: Int.self)))
                            }
                        }
                        insert = insert.values(values)
                    }
                    try await insert.run()
                    copied += rows.count
                    progress(t.name, copied)
                    after = try t.key.map { try rows.last!.decode(column: $0, as: String.self) }
                }
            }
        }
        let copied = try await target.rowCounts()
        for t in Self.tables where copied[t.name] != source[t.name] {
            throw StorageError(.backend, "\(t.name): \(source[t.name] ?? 0) rows in the source, \(copied[t.name] ?? 0) in the target; the copy is incomplete (was the server running?).")
        }
        // A freshly loaded database has no planner statistics yet; the first check-ins should not wait for autovacuum.
        try await target.analyze()
        return copied
    }
}
