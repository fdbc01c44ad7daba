import ArgumentParser
import AsyncHTTPClient
import Foundation
import MDMPKI
import MDMServer
import MDMService
import MDMStorageSQL
import MDMEmulator
import MDMLab
import NIOCore
import NIOSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which database a benchmark's scratch installation uses.
enum BenchDatabase: String, ExpressibleByArgument, CaseIterable {
    case sqlite, postgres
}

/// Options every server benchmark takes.
struct BenchServerOptions: ParsableArguments {
    @Option(help: "Database of the scratch installation: sqlite or postgres.") var database: BenchDatabase = .sqlite
    @Option(help: "With --database postgres: an empty database to use (default: a throwaway cluster started with initdb/pg_ctl).")
    var databaseURL: String?
    @Option(help: "Requests in flight at once, each on its own keep-alive connection.") var concurrency: Int = 8
    @Flag(help: "Keep the scratch data directory (and its database) instead of deleting it.") var keep = false

    func validate() throws {
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 1024.") }
        if let url = databaseURL {
            guard database == .postgres else { throw ValidationError("--database-url needs --database postgres.") }
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw ValidationError("--database-url must be a postgres:// URL.")
            }
        }
    }
}

/// A scratch installation in a temporary directory and a real `winmdm serve` running on it (this executable, in a
/// child process), reached over HTTPS on a loopback port: what `winmdm bench enroll` and `bench checkin` measure.
/// The server is the same binary and configuration a deployment runs; only its data directory is throwaway.
final class BenchInstallation: @unchecked Sendable {
    let dir: URL
    let databaseURL: String?
    let port: Int
    let options: BenchServerOptions
    private(set) var pid: pid_t = 0
    let client: HTTPClient
    private var adminToken = ""

    var publicURL: String { "https://127.0.0.1:\(port)" }
    var databaseLocation: String { databaseURL ?? dir.appendingPathComponent("winmdm.sqlite").path }
    var pkiDirectory: URL { dir.appendingPathComponent("pki") }

    init(_ options: BenchServerOptions) throws {
        self.options = options
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        databaseURL = options.database == .postgres ? try (options.databaseURL ?? ScratchPostgres.database("winmdm_bench")) : nil
        port = try FreePort.find()
        var config: [String: any Sendable] = [
            "listen": "127.0.0.1:\(port)", "publicURL": "https://127.0.0.1:\(port)", "initialDomain": "bench.test",
            // Every benchmark connection comes from 127.0.0.1 and stays open between requests.
            "maxConnectionsPerAddress": 100_000, "idleTimeout": "1h",
        ]
        if let databaseURL { config["databaseURL"] = databaseURL }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: dir.appendingPathComponent("winmdm.json"))
        // The server's TLS certificate is checked against the installation's own TLS root, as a test device would.
        let pki = try PKIFiles.loadOrCreate(directory: dir.appendingPathComponent("pki"), hostNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]],
                                            organization: "winmdm", now: Date())
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.tlsCAPath))
        var cfg = HTTPClient.Configuration(tlsConfiguration: tls)
        cfg.connectionPool = .init(idleTimeout: .seconds(3600), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
        cfg.httpVersion = .http1Only
        cfg.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: cfg)
    }

    /// Runs `body` on a new scratch installation, then stops its server and deletes it (unless `--keep`).
    static func with(_ options: BenchServerOptions, _ body: (BenchInstallation) async throws -> Void) async throws {
        let inst = try BenchInstallation(options)
        do { try await body(inst) } catch {
            await inst.stop()
            inst.remove()
            throw error
        }
        await inst.stop()
        inst.remove()
    }

    /// The installation's command-line runtime (database, admin service), as every other command opens it.
    func openRuntime() async throws -> Runtime {
        let common = try CommonOptions.parse(["--data-dir", dir.path, "--database-url", databaseURL ?? ""])
        return try await Runtime.open(try ResolvedConfiguration.resolve(common), create: true)
    }

    func deviceCA() throws -> CertificateAuthority {
        try PKIFiles.loadOrCreate(directory: pkiDirectory, hostNames: ["localhost"], ipAddresses: [[127, 0, 0, 1]],
                                  organization: "winmdm", now: Date()).deviceCA
    }

    /// Starts `winmdm serve` on the directory and waits until it answers `/health`.
    func start() async throws {
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        let program = n > 0 ? String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let argv = [program, "serve", "--data-dir", dir.path, "--log-level", "error"]
        // The child sees no WINMDM_* variables of ours: winmdm.json says everything.
        let env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("WINMDM_") }.map { "\($0.key)=\($0.value)" }
        let log = dir.appendingPathComponent("serve.log").path
        do { pid = try ChildProcess.spawn(argv, environment: env, output: log) } catch {
            throw ValidationError("Cannot start \(program) serve: \(error)")
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let r = try? await get("/health"), r.status == 200 {
                adminToken = (try? String(contentsOf: dir.appendingPathComponent("admin-token"), encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                return
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw ValidationError("winmdm serve exited during start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("winmdm serve did not answer /health within 120 s; its log is \(log).")
    }

    func stop() async {
        try? await client.shutdown()
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        pid = 0
    }

    func remove() {
        if options.keep { print("Kept the scratch installation in \(dir.path)") } else { try? FileManager.default.removeItem(at: dir) }
    }

    /// The server process's resident memory now and at its peak.
    var serverRSS: (now: Int, peak: Int) {
        (ProcessMemory.residentBytes(pid: pid) ?? 0, ProcessMemory.residentBytes(pid: pid, peak: true) ?? 0)
    }

    /// SQL statements the server has sent so far (its `/metrics`).
    func serverStatements() async throws -> Int {
        var r = HTTPClientRequest(url: publicURL + "/metrics")
        r.headers.add(name: "Authorization", value: "Bearer " + adminToken)
        let response = try await client.execute(r, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("winmdm_sql_statements_total ") }),
              let n = Int(line.split(separator: " ").last ?? "") else {
            throw ValidationError("The server's /metrics has no winmdm_sql_statements_total (HTTP \(response.status.code)).")
        }
        return n
    }

    func get(_ path: String) async throws -> (status: Int, body: ByteBuffer) {
        let response = try await client.execute(HTTPClientRequest(url: publicURL + path), timeout: .seconds(10))
        return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20))
    }
}

/// Runs `count` requests with `concurrency` in flight and returns each one's latency in nanoseconds and when it
/// finished, in the order they finished. `send(i)` must throw when request `i` did not succeed.
func driveRequests(count: Int, concurrency: Int, _ send: @escaping @Sendable (Int) async throws -> Void) async throws
    -> (latencies: [UInt64], finished: [UInt64], seconds: Double) {
    let next = Counter()
    let start = DispatchTime.now().uptimeNanoseconds
    let parts = try await withThrowingTaskGroup(of: [(UInt64, UInt64)].self) { group in
        for _ in 0..<min(concurrency, count) {
            group.addTask {
                var mine: [(UInt64, UInt64)] = []
                while true {
                    let i = next.take()
                    if i >= count { return mine }
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try await send(i)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    mine.append((t1 - t0, t1 - start))
                }
            }
        }
        var all: [(UInt64, UInt64)] = []
        for try await p in group { all += p }
        return all
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let byFinish = parts.sorted { $0.1 < $1.1 }
    return (byFinish.map(\.0), byFinish.map(\.1), seconds)
}

/// The next request number, shared by the workers.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Latency percentiles and formatting shared by the benchmarks.
enum BenchFigures {
    static func percentile(_ sorted: [UInt64], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1e6
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1_048_576) }

    /// The host's cores, for the limits measured beside each figure.
    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
