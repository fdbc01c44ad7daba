import Dispatch
import Metrics
import SQLKit

/// The database pool as `/metrics` shows it: operations in flight (the connections this process holds, or waits for)
/// and how long each took, waiting for a connection included, by kind (read, write, transaction). Wraps the
/// connections of either backend, so both report the same series.
struct InstrumentedConnections: Connections {
    let base: any Connections
    let inFlight: [String: Meter]
    let durations: [String: Timer]
    static let kinds = ["read", "write", "transaction"]

    init(base: any Connections, backend: String) {
        self.base = base
        inFlight = Dictionary(uniqueKeysWithValues: Self.kinds.map {
            ($0, Meter(label: "winmdm_database_operations_in_flight", dimensions: [("backend", backend), ("kind", $0)]))
        })
        durations = Dictionary(uniqueKeysWithValues: Self.kinds.map {
            ($0, Timer(label: "winmdm_database_operation_duration_seconds", dimensions: [("backend", backend), ("kind", $0)],
                       preferredDisplayUnit: .seconds))
        })
    }

    func measured<T: Sendable>(_ kind: String, _ body: () async throws -> T) async throws -> T {
        let meter = inFlight[kind]!, started = DispatchTime.now().uptimeNanoseconds
        meter.increment()
        defer {
            meter.decrement()
            durations[kind]!.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        }
        return try await body()
    }

    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("read") { try await base.read(body) }
    }

    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("transaction") { try await base.transaction(body) }
    }

    func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await measured("write") { try await base.write(body) }
    }

    func close() async throws { try await base.close() }
}
