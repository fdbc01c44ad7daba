import Foundation
import MDMStorage
import MDMStorageSQLite
import MDMTesting
import Testing

@Suite struct StorageConformanceTests {
    @Test func inMemory() async throws {
        try await StoreConformance.run(InMemoryStore())
    }

    @Test func sqlite() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-conf-\(UUID().uuidString).sqlite").path
        let store = try await SQLiteStore.open(path: path)
        try await StoreConformance.run(store)
        try await store.close()
        // Reopening runs no migration twice and keeps the data.
        let reopened = try await SQLiteStore.open(path: path)
        #expect(try await reopened.tenantSettings() != nil)
        try await reopened.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
