import Foundation
import MDMCore
import MDMStorage
import SQLKit

/// The tenant's settings: the tenant-wide values in one document (`settings`), and each kind of object that grows with
/// use in its own table, one row per object (`restrictions`, `api_tokens`, `autopilot_profiles`, `bulk_packages`).
/// Callers still see one `TenantSettings`; a change writes only the rows it changed, and an API token is found by its
/// hash without reading anything else.
extension SQLStore {
    /// The tables of the objects, in the order `TenantSettings` lists them. `position` keeps each list's order.
    static let settingsObjectTables = ["restrictions", "api_tokens", "autopilot_profiles", "bulk_packages"]

    /// Everything in one statement: the document and every object row, tagged by table.
    static let settingsSelect = "SELECT 'settings' AS part, 0 AS position, doc FROM settings WHERE key = 'tenant'"
        + settingsObjectTables.map { " UNION ALL SELECT '\($0)', position, doc FROM \($0)" }.joined()

    public func tenantSettings() async throws -> TenantSettings? {
        try await connections.read { db in try await Self.readSettings(db) }
    }

    public func saveTenantSettings(_ settings: TenantSettings) async throws {
        try await connections.transaction { db in
            let before = try await Self.readSettings(db)
            try await Self.writeSettings(db, before: before, after: settings)
        }
    }

    public func updateTenantSettings(_ change: @Sendable (inout TenantSettings) throws -> Void,
                                     audit: @Sendable (TenantSettings, TenantSettings) -> AuditEntry?) async throws -> (before: TenantSettings, after: TenantSettings) {
        try await connections.transaction { db in
            // Administrators' changes to the settings take turns, on every instance (SQLite's write transaction
            // already does this).
            if !dialect.forUpdate.isEmpty {
                _ = try await db.raw(SQLQueryString("SELECT key FROM settings WHERE key = 'tenant'" + dialect.forUpdate)).all()
            }
            guard let before = try await Self.readSettings(db) else {
                throw StorageError(.notFound, "The tenant settings are missing.")
            }
            var after = before
            try change(&after)
            guard after != before else { return (before, after) }
            try await Self.writeSettings(db, before: before, after: after)
            if let entry = audit(before, after) { try await db.raw(Columns.insert("audit", try Columns.audit(entry))).run() }
            return (before, after)
        }
    }

    public func apiToken(sha256: String) async throws -> APIToken? {
        try await one("SELECT doc FROM api_tokens WHERE sha256 = \(bind: sha256)", APIToken.self)
    }

    public func noteTokenUse(id: String, at: Date) async throws {
        try await connections.transaction { db in
            guard let row = try await db.raw("SELECT doc FROM api_tokens WHERE id = \(bind: id)").first() else { return }
            var t = try Self.value(row, APIToken.self)
            t.lastUsedAt = at
            try await db.raw("UPDATE api_tokens SET doc = \(bind: try Self.doc(t)) WHERE id = \(bind: id)").run()
        }
    }

    static func readSettings(_ db: any SQLDatabase) async throws -> TenantSettings? {
        var settings: TenantSettings?
        var objects: [String: [(Int, String)]] = [:]
        for row in try await db.raw(SQLQueryString(settingsSelect)).all() {
            let part = try row.decode(column: "part", as: String.self)
            if part == "settings" {
                settings = try value(row, TenantSettings.self)
            } else {
                objects[part, default: []].append((try row.decode(column: "position", as: Int.self), try row.decode(column: "doc", as: String.self)))
            }
        }
        guard var settings else { return nil }
        func list<T: Decodable>(_ table: String, _ type: T.Type) throws -> [T] {
            try (objects[table] ?? []).sorted { $0.0 < $1.0 }.map { try decoder.decode(T.self, from: Data($0.1.utf8)) }
        }
        settings.restrictions = try list("restrictions", Restriction.self)
        settings.apiTokens = try list("api_tokens", APIToken.self)
        settings.autopilotProfiles = try list("autopilot_profiles", AutopilotProfile.self)
        settings.bulkPackages = try list("bulk_packages", BulkPackage.self)
        settings.addMissingDefaults()
        return settings
    }

    /// Writes what differs between `before` (nil: nothing stored yet) and `after`: the document when a tenant-wide value
    /// changed, and the object rows that were added, changed, moved or removed.
    static func writeSettings(_ db: any SQLDatabase, before: TenantSettings?, after: TenantSettings) async throws {
        func bare(_ s: TenantSettings) -> TenantSettings {
            var s = s
            s.restrictions = []; s.apiTokens = []; s.autopilotProfiles = []; s.bulkPackages = []
            return s
        }
        if before.map(bare) != bare(after) {
            try await db.raw("INSERT INTO settings (key, doc) VALUES ('tenant', \(bind: try doc(bare(after)))) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc").run()
        }
        try await writeObjects(db, "restrictions", before?.restrictions ?? [], after.restrictions)
        try await writeObjects(db, "api_tokens", before?.apiTokens ?? [], after.apiTokens) { [("sha256", $0.sha256)] }
        try await writeObjects(db, "autopilot_profiles", before?.autopilotProfiles ?? [], after.autopilotProfiles)
        try await writeObjects(db, "bulk_packages", before?.bulkPackages ?? [], after.bulkPackages)
    }

    static func writeObjects<T: Codable & Equatable & Identifiable>(
        _ db: any SQLDatabase, _ table: String, _ before: [T], _ after: [T],
        columns: (T) -> [(String, any Encodable & Sendable)] = { _ in [] }) async throws where T.ID == String {
        let old = Dictionary(before.enumerated().map { ($1.id, ($0, $1)) }, uniquingKeysWith: { a, _ in a })
        let kept = Set(after.map(\.id))
        for id in old.keys where !kept.contains(id) {
            try await db.raw(SQLQueryString("DELETE FROM \(table) WHERE id = ") + "\(bind: id)").run()
        }
        for (position, object) in after.enumerated() {
            if let (p, v) = old[object.id], p == position, v == object { continue }
            let pairs: [(String, any Encodable & Sendable)] = [("id", object.id), ("position", position)] + columns(object) + [("doc", try doc(object))]
            var q = Columns.insert(table, pairs)
            q += SQLQueryString(" ON CONFLICT (id) DO UPDATE SET " + pairs.dropFirst().map { "\($0.0) = excluded.\($0.0)" }.joined(separator: ", "))
            try await db.raw(q).run()
        }
    }
}
