import Foundation
import MDMServer
import MDMStorage
import Metrics
import Prometheus
import Synchronization

/// swift-metrics with the Prometheus backend: every counter, meter and timer the services, the storage pool and the
/// HTTP middleware record lands in one registry, which `/metrics` emits in Prometheus' text format. The gauges of
/// what the installation holds (enrollments, the command queue) are read from the store when scraped.
enum PrometheusMetrics {
    /// The registry; the first use bootstraps swift-metrics with it (once per process, as swift-metrics requires).
    static let registry: PrometheusCollectorRegistry = {
        let r = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: r))
        return r
    }()

    static func exposition(store: any OperationsStore, statements: @escaping @Sendable () -> Int) -> MetricsExposition {
        let r = registry
        let active = r.makeGauge(name: "winmdm_active_enrollments", help: "Enrollments in the active state (every instance's).")
        let queued = r.makeGauge(name: "winmdm_command_queue_depth", labels: [("state", "queued")],
                                 help: "Commands waiting for their device's next session (queued) or for its answer (sent).")
        let sent = r.makeGauge(name: "winmdm_command_queue_depth", labels: [("state", "sent")],
                               help: "Commands waiting for their device's next session (queued) or for its answer (sent).")
        let rss = r.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        let sql = r.makeCounter(name: "winmdm_sql_statements_total", help: "SQL statements this instance sent to its database.")
        let reported = Mutex(0)
        return MetricsExposition {
            if let c = try? await store.operationalCounts() {
                active.set(Double(c.activeEnrollments))
                queued.set(Double(c.queuedCommands))
                sent.set(Double(c.sentCommands))
            }
            if let bytes = ProcessMemory.residentBytes() { rss.set(Double(bytes)) }
            let now = statements()
            let delta = reported.withLock { last in
                defer { last = max(last, now) }
                return now - last
            }
            if delta > 0 { sql.increment(by: Int64(delta)) }
            return r.emitToBuffer()
        }
    }
}
