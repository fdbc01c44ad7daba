import Foundation
import MDMCore
import MDMStorage
import SQLKit

extension SQLStore {
    // MARK: Users

    public func user(upn: String) async throws -> User? {
        try await one("SELECT doc FROM users WHERE upn = \(bind: UPN.normalize(upn))", User.self)
    }

    public func user(id: String) async throws -> User? {
        try await one("SELECT doc FROM users WHERE id = \(bind: id)", User.self)
    }

    public func users() async throws -> [User] {
        try await many("SELECT doc FROM users ORDER BY upn", User.self)
    }

    public func users(after: String?, limit: Int) async throws -> [User] {
        try await many("SELECT doc FROM users WHERE upn > \(bind: after ?? "") ORDER BY upn LIMIT \(bind: max(0, limit))", User.self)
    }

    public func insertUser(_ user: User) async throws {
        let cols = try Columns.user(user)
        try await inserting("A user \(user.upn) already exists.") {
            try await connections.write { db in try await db.raw(Columns.insert("users", cols)).run() }
        }
    }

    /// The user is found by id, so this is also how a UPN is renamed; their enrollments follow by id.
    public func updateUser(_ user: User) async throws {
        let cols = try Columns.user(user)
        let n = try await inserting("A user \(user.upn) already exists.") {
            try await connections.write { db in try await Self.changed(db, Columns.update("users", cols, key: "id", user.id)) }
        }
        if n == 0 { throw StorageError(.notFound, "No user \(user.id).") }
    }

    public func deleteUser(id: String) async throws {
        let n = try await connections.transaction { db in
            try await db.raw("DELETE FROM group_members WHERE user_id = \(bind: id)").run()
            // Their past enrollments keep the last UPN they had.
            try await db.raw("""
                UPDATE enrollments SET upn = (SELECT upn FROM users WHERE id = \(bind: id)), user_id = NULL WHERE user_id = \(bind: id)
                """).run()
            return try await Self.changed(db, "DELETE FROM users WHERE id = \(bind: id)")
        }
        if n == 0 { throw StorageError(.notFound, "No user \(id).") }
    }

    func inserting<T: Sendable>(_ message: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch where dialect.isUniqueViolation(error) { throw StorageError(.conflict, message) }
    }

    // MARK: Groups

    public func groups() async throws -> [Group] {
        try await connections.read { db in
            var groups = try await db.raw("SELECT doc FROM groups ORDER BY name_key").all().map { try Self.value($0, Group.self) }
            var members: [String: [String]] = [:]
            for row in try await db.raw("SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id").all() {
                members[try row.decode(column: "group_id", as: String.self), default: []].append(try row.decode(column: "user_id", as: String.self))
            }
            var devices: [String: [String]] = [:]
            for row in try await db.raw("SELECT group_id, hw_dev_id FROM group_devices ORDER BY group_id, hw_dev_id").all() {
                devices[try row.decode(column: "group_id", as: String.self), default: []].append(try row.decode(column: "hw_dev_id", as: String.self))
            }
            for i in groups.indices {
                groups[i].members = members[groups[i].id] ?? []
                groups[i].devices = devices[groups[i].id] ?? []
            }
            return groups
        }
    }

    public func group(id: String) async throws -> Group? {
        try await connections.read { db in
            guard var g = try await db.raw("SELECT doc FROM groups WHERE id = \(bind: id)").first().map({ try Self.value($0, Group.self) }) else {
                return nil
            }
            g.members = try await db.raw("SELECT user_id FROM group_members WHERE group_id = \(bind: id) ORDER BY user_id").all()
                .map { try $0.decode(column: "user_id", as: String.self) }
            g.devices = try await db.raw("SELECT hw_dev_id FROM group_devices WHERE group_id = \(bind: id) ORDER BY hw_dev_id").all()
                .map { try $0.decode(column: "hw_dev_id", as: String.self) }
            return g
        }
    }

    public func groupIDs(ofDevice hwDevID: String) async throws -> Set<String> {
        try await connections.read { db in
            Set(try await db.raw("SELECT group_id FROM group_devices WHERE hw_dev_id = \(bind: hwDevID)").all()
                .map { try $0.decode(column: "group_id", as: String.self) })
        }
    }

    public func groupIDs(of userID: String) async throws -> Set<String> {
        try await connections.read { db in
            Set(try await db.raw("SELECT group_id FROM group_members WHERE user_id = \(bind: userID)").all()
                .map { try $0.decode(column: "group_id", as: String.self) })
        }
    }

    public func insertGroup(_ group: Group) async throws {
        let cols = try Columns.group(group)
        try await inserting("A group named \(group.displayName) already exists.") {
            try await connections.transaction { db in
                try await db.raw(Columns.insert("groups", cols)).run()
                if try await Self.writeMembers(db, group) { try await Self.raiseProfilesRevision(db) }
            }
        }
    }

    public func updateGroup(_ group: Group) async throws {
        let cols = try Columns.group(group)
        let n = try await inserting("A group named \(group.displayName) already exists.") {
            try await connections.transaction { db in
                let n = try await Self.changed(db, Columns.update("groups", cols, key: "id", group.id))
                if n > 0, try await Self.writeMembers(db, group) { try await Self.raiseProfilesRevision(db) }
                return n
            }
        }
        if n == 0 { throw StorageError(.notFound, "No group \(group.id).") }
    }

    /// Makes the group's membership rows match `group.members` and `group.devices` (only the differences are
    /// written); true when any changed.
    @discardableResult
    static func writeMembers(_ db: any SQLDatabase, _ group: Group) async throws -> Bool {
        let users = try await writeRows(db, "group_members", "user_id", group.id, group.members)
        let devices = try await writeRows(db, "group_devices", "hw_dev_id", group.id, group.devices)
        return users || devices
    }

    static func writeRows(_ db: any SQLDatabase, _ table: String, _ column: String, _ groupID: String, _ members: [String]) async throws -> Bool {
        let have = Set(try await db.select().column(SQLColumn(column)).from(table).where("group_id", .equal, groupID).all()
            .map { try $0.decode(column: column, as: String.self) })
        let want = Set(members)
        let gone = Array(have.subtracting(want)), added = want.subtracting(have).sorted()
        if !gone.isEmpty {
            try await db.delete(from: table).where("group_id", .equal, groupID).where(SQLColumn(column), .in, SQLBind.group(gone)).run()
        }
        for chunk in stride(from: 0, to: added.count, by: 500) {
            var insert = db.insert(into: table).columns("group_id", column)
            for u in added[chunk..<min(chunk + 500, added.count)] { insert = insert.values(SQLBind(groupID), SQLBind(u)) }
            try await insert.run()
        }
        return !gone.isEmpty || !added.isEmpty
    }

    public func deleteGroup(id: String) async throws {
        let n = try await connections.transaction { db in
            try await db.raw("DELETE FROM group_members WHERE group_id = \(bind: id)").run()
            try await db.raw("DELETE FROM group_devices WHERE group_id = \(bind: id)").run()
            try await Self.raiseProfilesRevision(db)
            return try await Self.changed(db, "DELETE FROM groups WHERE id = \(bind: id)")
        }
        if n == 0 { throw StorageError(.notFound, "No group \(id).") }
    }

    // MARK: Audit

    public func appendAudit(_ entry: AuditEntry) async throws {
        let cols = try Columns.audit(entry)
        try await connections.write { db in try await db.raw(Columns.insert("audit", cols)).run() }
    }

    public func auditEntries(_ q: AuditQuery) async throws -> [AuditEntry] {
        // Filtered on the actor, target and action columns, newest first through audit_time: no document is decoded
        // for an entry that is not returned.
        var sql = SQLQueryString("SELECT doc FROM audit WHERE 1 = 1")
        func like(_ part: String) -> String {
            "%" + part.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
        }
        if let a = q.actor { sql = sql + " AND LOWER(actor) LIKE \(bind: like(a)) ESCAPE '\\'" }
        if let t = q.target { sql = sql + " AND LOWER(target) LIKE \(bind: like(t)) ESCAPE '\\'" }
        if let a = q.action { sql = sql + " AND LOWER(action) LIKE \(bind: String(like(a).dropFirst())) ESCAPE '\\'" }
        if let since = q.since { sql = sql + " AND time >= \(bind: since.timeIntervalSince1970)" }
        sql = sql + SQLQueryString(" ORDER BY time DESC, \(dialect.insertionOrder) DESC LIMIT ") + "\(bind: q.limit)"
        return try await many(sql, AuditEntry.self)
    }

    public func pruneAudit(before date: Date) async throws -> Int {
        try await prune("audit", column: "time", before: date)
    }

    /// Deletes in batches of 1,000 rows, each its own short transaction, so a large backlog never holds the writer.
    func prune(_ table: String, column: String, before date: Date) async throws -> Int {
        var total = 0
        while true {
            let n = try await connections.write { db in
                try await Self.changed(db, SQLQueryString("DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(column) < ")
                    + "\(bind: date.timeIntervalSince1970)" + SQLQueryString(" LIMIT 1000)"))
            }
            total += n
            if n < 1000 { return total }
        }
    }
}

