import Foundation
import MDMCore
import MDMStorage
import SQLKit

/// Autopilot devices (looked up by serial key, and by hardware once enrolled) and corporate identifiers (by key).
extension SQLStore {
    static func autopilotColumns(_ d: AutopilotDevice) throws -> [(String, any Encodable & Sendable)] {
        [("id", d.id), ("serial_key", d.serialKey), ("hw_dev_id", d.hwDevID), ("imported_at", d.importedAt.timeIntervalSince1970),
         ("doc", try doc(d))]
    }

    public func autopilotDevices() async throws -> [AutopilotDevice] {
        try await many("SELECT doc FROM autopilot_devices ORDER BY imported_at, serial_key", AutopilotDevice.self)
    }

    public func autopilotDevice(id: String) async throws -> AutopilotDevice? {
        try await one("SELECT doc FROM autopilot_devices WHERE id = \(bind: id)", AutopilotDevice.self)
    }

    public func autopilotDevice(serial: String) async throws -> AutopilotDevice? {
        try await one("SELECT doc FROM autopilot_devices WHERE serial_key = \(bind: AutopilotDevice.serialKey(serial))", AutopilotDevice.self)
    }

    public func autopilotDevice(hwDevID: String) async throws -> AutopilotDevice? {
        try await one("SELECT doc FROM autopilot_devices WHERE hw_dev_id = \(bind: hwDevID) LIMIT 1", AutopilotDevice.self)
    }

    public func insertAutopilotDevices(_ devices: [AutopilotDevice]) async throws {
        guard !devices.isEmpty else { return }
        let rows = try devices.map(Self.autopilotColumns)
        try await inserting("An Autopilot device with one of these serial numbers already exists.") {
            try await connections.transaction { db in
                for r in rows { try await db.raw(Columns.insert("autopilot_devices", r)).run() }
            }
        }
    }

    public func updateAutopilotDevice(_ device: AutopilotDevice) async throws {
        let cols = try Self.autopilotColumns(device)
        let n = try await inserting("An Autopilot device with serial number \(device.serialNumber) already exists.") {
            try await connections.write { db in try await Self.changed(db, Columns.update("autopilot_devices", cols, key: "id", device.id)) }
        }
        if n == 0 { throw StorageError(.notFound, "No Autopilot device \(device.id).") }
    }

    public func deleteAutopilotDevice(id: String) async throws {
        let n = try await connections.write { db in try await Self.changed(db, "DELETE FROM autopilot_devices WHERE id = \(bind: id)") }
        if n == 0 { throw StorageError(.notFound, "No Autopilot device \(id).") }
    }

    public func registrationCounts() async throws -> (autopilot: Int, identifiers: Int) {
        try await connections.read { db in
            let row = try await db.raw("""
                SELECT (SELECT COUNT(*) FROM autopilot_devices) AS a, (SELECT COUNT(*) FROM device_identifiers) AS i
                """).first()
            return (try row?.decode(column: "a", as: Int.self) ?? 0, try row?.decode(column: "i", as: Int.self) ?? 0)
        }
    }

    public func deviceIdentifiers() async throws -> [DeviceIdentifier] {
        try await many("SELECT doc FROM device_identifiers ORDER BY key", DeviceIdentifier.self)
    }

    public func deviceIdentifier(key: String) async throws -> DeviceIdentifier? {
        try await one("SELECT doc FROM device_identifiers WHERE key = \(bind: key.uppercased())", DeviceIdentifier.self)
    }

    public func saveDeviceIdentifiers(_ identifiers: [DeviceIdentifier], replacingAll: Bool) async throws {
        let rows = try identifiers.map { ($0.key, try Self.doc($0)) }
        try await connections.transaction { db in
            if replacingAll { try await db.raw("DELETE FROM device_identifiers").run() }
            for (key, doc) in rows {
                try await db.raw("DELETE FROM device_identifiers WHERE key = \(bind: key)").run()
                try await db.raw("INSERT INTO device_identifiers (key, doc) VALUES (\(bind: key), \(bind: doc))").run()
            }
        }
    }

    public func updateDeviceIdentifier(_ identifier: DeviceIdentifier) async throws {
        let doc = try Self.doc(identifier)
        let n = try await connections.write { db in
            try await Self.changed(db, "UPDATE device_identifiers SET doc = \(bind: doc) WHERE key = \(bind: identifier.key)")
        }
        if n == 0 { throw StorageError(.notFound, "No corporate identifier \(identifier.identifier).") }
    }

    public func deleteDeviceIdentifier(key: String) async throws {
        let n = try await connections.write { db in try await Self.changed(db, "DELETE FROM device_identifiers WHERE key = \(bind: key.uppercased())") }
        if n == 0 { throw StorageError(.notFound, "No corporate identifier \(key).") }
    }
}
