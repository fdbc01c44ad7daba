import Foundation
import MDMCore
import MDMStorage
import MDMStorageSQL
import MDMTesting
import Testing

/// PostgreSQL tests run where a server is available (`ScratchPostgres`); under CI a missing server fails them.
let postgresEnabled = ScratchPostgres.available || ScratchPostgres.required

/// Runs `body`, then closes the store whether or not it threw (an open connection must not outlive its store).
func closing<T>(_ store: SQLStore, _ body: () async throws -> T) async throws -> T {
    do {
        let v = try await body()
        try await store.close()
        return v
    } catch {
        try? await store.close()
        throw error
    }
}

@Suite struct StorageConformanceTests {
    @Test func inMemory() async throws {
        try await StoreConformance.run(InMemoryStore())
    }

    @Test func sqlite() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-conf-\(UUID().uuidString).sqlite").path
        let store = try await SQLStore.openSQLite(path: path)
        try await closing(store) {
            try await StoreConformance.run(store)
            #expect(try await store.schemaVersion() == SQLiteStoreDialect().migrations.count)
        }
        // Reopening runs no migration twice and keeps the data.
        let reopened = try await SQLStore.openSQLite(path: path)
        #expect(try await reopened.tenantSettings() != nil)
        try await reopened.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    @Test(.enabled(if: postgresEnabled, "no PostgreSQL server (install postgresql, or set WINMDM_TEST_POSTGRES_URL)"))
    func postgres() async throws {
        let url = try ScratchPostgres.database()
        let store = try await SQLStore.openPostgres(url: url)
        try await closing(store) {
            try await StoreConformance.run(store)
            #expect(try await store.schemaVersion() == PostgresStoreDialect().migrations.count)
        }
        // A second instance opening the same database finds the schema in place and the data there.
        let other = try await SQLStore.openPostgres(url: url)
        #expect(try await other.tenantSettings() != nil)
        try await other.close()
    }

    /// Two stores on one PostgreSQL database, as two winmdm instances: the device limit holds across both.
    @Test(.enabled(if: postgresEnabled, "no PostgreSQL server"))
    func deviceLimitAcrossInstances() async throws {
        let url = try ScratchPostgres.database()
        async let a = SQLStore.openPostgres(url: url)
        async let b = SQLStore.openPostgres(url: url)
        let (one, two) = try await (a, b)
        let now = Date()
        let u = User(upn: "shared@conformance.test", displayName: "Shared", passwordHash: nil, createdAt: now)
        try await one.insertUser(u)
        let landed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                let store = i % 2 == 0 ? one : two
                group.addTask {
                    let e = Enrollment(upn: u.upn, deviceID: "S-\(i)", hwDevID: "SHW-\(i)", deviceName: "S\(i)", enrollmentType: .full,
                                       osEdition: 48, osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "ST-\(i)",
                                       certificateNotAfter: now + 86400, enrolledAt: now)
                    return try await store.commitEnrollment(e) { $0.count >= 3 ? [Denial(rule: .deviceLimit, reason: "limit", fault: .authorization("limit"))] : [] }.isEmpty
                }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        #expect(landed == 3)
        #expect(try await two.activeEnrollments(upn: u.upn).count == 3)
        try await one.close()
        try await two.close()
    }

    /// A SQLite database made by the previous release (schema version 5) is brought up to date: memberships move
    /// into their table and enrollments gain their owner's id, so nothing is lost by upgrading.
    @Test func upgradesVersion5() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-v5-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let ann = User(id: "u1", upn: "ann@c.test", displayName: "Ann", passwordHash: nil, createdAt: now)
        var seen = Enrollment(upn: "ann@c.test", deviceID: "D1", hwDevID: "HW1", deviceName: "PC1", enrollmentType: .full, osEdition: 48,
                              osVersion: "10.0.22631.1", certificateSerial: "01", certificateThumbprint: "T1",
                              certificateNotAfter: now + 86400, enrolledAt: now)
        seen.lastSeenAt = now + 60
        try await SQLStore.makeLegacyForTesting(path: path, version: 5, users: [ann],
                                                groups: [Group(id: "g1", displayName: "Staff", members: ["u1"], createdAt: now)],
                                                enrollments: [seen])
        let store = try await SQLStore.openSQLite(path: path)
        try await closing(store) {
            #expect(try await store.schemaVersion() == SQLiteStoreDialect().migrations.count)
            #expect(try await store.groupIDs(of: "u1") == ["g1"])
            #expect(try await store.group(id: "g1")?.members == ["u1"])
            #expect(try await store.enrollment(id: seen.id) == seen, "the enrollment reads back whole, last check-in included")
            // Renaming the user moves their device with them.
            var renamed = ann
            renamed.upn = "ann.b@c.test"
            try await store.updateUser(renamed)
            #expect(try await store.activeEnrollments(upn: "ann.b@c.test").map(\.id) == [seen.id])
        }
    }

    /// Version 6 kept restrictions, tokens, Autopilot profiles and bulk packages inside the settings document; version 7
    /// moves each into its own table and loses nothing (order included), and tokens are then found by hash.
    @Test func upgradesVersion6SettingsIntoTables() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-v6-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        var settings = TenantSettings.newInstallation(initialDomain: "c.test", publicURL: "https://c.test", now: now)
        settings.restrictions.insert(Restriction(id: "r1", type: .deviceLimit, displayName: "Three", priority: 1, limit: 3, createdAt: now), at: 0)
        settings.apiTokens = [APIToken(name: "ci", role: .admin, sha256: "abc", createdAt: now),
                              APIToken(name: "ro", role: .reader, sha256: "def", createdAt: now)]
        settings.autopilotProfiles = [AutopilotProfile(displayName: "Kiosk", joinType: .entra, deviceNameTemplate: "K-%SERIAL%", createdAt: now)]
        settings.bulkPackages = [BulkPackage(displayName: "Lab", accountUPN: "package_lab@c.test", createdAt: now)]
        // Those versions had no Enrollment Status Page: the Default (not shown) appears, stored once edited.
        settings.restrictions.removeAll { $0.type == .enrollmentStatusPage }
        try await SQLStore.makeLegacyForTesting(path: path, version: 6, settings: settings)
        try await Self.expectUpgraded(try await SQLStore.openSQLite(path: path), settings)
        guard postgresEnabled else { return }
        // PostgreSQL's version 1 had the same document.
        let url = try ScratchPostgres.database()
        try await SQLStore.makeLegacyPostgresForTesting(url: url, version: 1, settings: settings)
        try await Self.expectUpgraded(try await SQLStore.openPostgres(url: url), settings)
    }

    static func expectUpgraded(_ store: SQLStore, _ settings: TenantSettings) async throws {
        try await closing(store) { () async throws in
            #expect(try await store.schemaVersion() == store.dialect.migrations.count)
            var expected = settings
            expected.addMissingDefaults()
            #expect(try await store.tenantSettings() == expected)
            #expect(expected.restrictions.count == settings.restrictions.count + 1)
            #expect(try await store.apiToken(sha256: "def")?.name == "ro")
            #expect(try await store.rowCounts()["restrictions"] == settings.restrictions.count)
        }
    }
}
