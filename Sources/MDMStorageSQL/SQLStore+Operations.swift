import MDMStorage
import SQLKit

extension SQLStore {
    public func operationalCounts() async throws -> OperationalCounts {
        try await connections.read { db in
            // Each count is answered from an index (enrollments_state, the partial commands_waiting), not the table.
            let row = try await db.raw("""
                SELECT (SELECT COUNT(*) FROM users) AS u, (SELECT COUNT(*) FROM enrollments WHERE state = 'active') AS e,
                       (SELECT COUNT(*) FROM commands WHERE state = 'queued') AS q,
                       (SELECT COUNT(*) FROM commands WHERE state = 'sent') AS s
                """).first()
            return OperationalCounts(users: try row?.decode(column: "u", as: Int.self) ?? 0, activeEnrollments: try row?.decode(column: "e", as: Int.self) ?? 0,
                                     queuedCommands: try row?.decode(column: "q", as: Int.self) ?? 0,
                                     sentCommands: try row?.decode(column: "s", as: Int.self) ?? 0)
        }
    }
}
