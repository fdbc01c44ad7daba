import ArgumentParser
import Foundation
import Logging
import MDMCore
import NIOCore
import MDMPKI
import MDMServer
import MDMService
import MDMStorage
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the enrollment server (HTTPS; creates the database, CAs, TLS certificate and admin token on first run).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Address and port to listen on (env WINMDM_LISTEN; default 0.0.0.0:8443).")
    var listen: String?

    @Option(help: "Public base URL devices use; every advertised URL is built from it (env WINMDM_PUBLIC_URL; default https://<hostname>:<port>).")
    var publicURL: String?

    @Option(help: "PEM certificate chain to serve instead of the generated one (env WINMDM_TLS_CERT).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert (env WINMDM_TLS_KEY).")
    var tlsKey: String?

    @Flag(help: "Serve plain HTTP, for running behind a TLS-terminating proxy (env WINMDM_PLAIN_HTTP=1).")
    var plainHTTP = false

    @Option(help: "The verified domain of a new installation (default: the public host name, or winmdm.test for an IP address or localhost).")
    var initialDomain: String?

    @Option(help: "Behind a TLS-terminating proxy: the header that carries the device certificate (env WINMDM_CLIENT_CERT_HEADER).")
    var clientCertHeader: String?

    @Option(help: "Address of a proxy whose certificate header is trusted; repeat for several (env WINMDM_TRUSTED_PROXIES, comma separated).")
    var trustedProxy: [String] = []

    @Option(help: "Lifetime of device certificates, like 365d (env WINMDM_CERT_VALIDITY; default 365d). Renewal starts 60 days before expiry, or in the last third of shorter lifetimes.")
    var certificateValidity: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "Log format: text, or json (one object a line, for a log collector) (env WINMDM_LOG_FORMAT).")
    var logFormat: String?

    static func days(_ n: Int) -> String { n == 1 ? "1 day" : "\(n) days" }

    func run() async throws {
        let cfg = try ResolvedConfiguration.resolve(common, .init(
            listen: listen, publicURL: publicURL, tlsCert: tlsCert, tlsKey: tlsKey,
            plainHTTP: plainHTTP ? true : nil, initialDomain: initialDomain, clientCertHeader: clientCertHeader, trustedProxies: trustedProxy,
            certificateValidity: certificateValidity))
        if cfg.clientCertHeader != nil && cfg.trustedProxies.isEmpty {
            throw ValidationError("--client-cert-header needs at least one --trusted-proxy: the header is only believed from your proxy's address.")
        }
        if (cfg.tlsCert == nil) != (cfg.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both, or neither to use the generated certificate.")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error.")
        }
        let format = (logFormat ?? ProcessInfo.processInfo.environment["WINMDM_LOG_FORMAT"] ?? "text").lowercased()
        guard ["text", "json"].contains(format) else { throw ValidationError("--log-format '\(format)' is not text or json.") }
        // The metrics backend before anything records a metric.
        _ = PrometheusMetrics.registry
        // Every logger of the process (services, storage, the HTTP server) gets this level and format.
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "winmdm")
        logger.logLevel = level

        // Everything the server creates is owner-only, whatever the umask it was started with.
        umask(0o077)
        try DataDirectory.refuseExposedKeys(cfg.dataDir)
        var runtime = try await Runtime.open(cfg, create: true)
        let clock = SystemClock()
        var hosts = [cfg.publicHost, "localhost"]
        hosts = hosts.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        let ips: [[UInt8]] = [[127, 0, 0, 1]] + (IPv4.parse(cfg.publicHost).map { [$0] } ?? [])
        let pki = try PKIFiles.loadOrCreate(directory: cfg.dataDir.appendingPathComponent("pki"),
                                            hostNames: hosts.filter { IPv4.parse($0) == nil }, ipAddresses: ips,
                                            organization: "winmdm", now: clock.now())
        runtime.created += pki.created
        let adminToken = try runtime.secret("admin-token")
        if adminToken.created { runtime.created.append(adminToken.path) }
        try await runtime.admin.registerToken(secret: adminToken.value, name: "initial admin token", role: .admin)
        let tokenKey = try runtime.secret("federation-key")
        if tokenKey.created { runtime.created.append(tokenKey.path) }
        let initialAdminPath = cfg.dataDir.appendingPathComponent("initial-admin")
        if let first = try await runtime.admin.createInitialAdministrator() {
            try SecureFile.write("user: \(first.upn)\npassword: \(first.password)\n", to: initialAdminPath, mode: 0o600)
            runtime.created.append(initialAdminPath.path)
        }

        let server = ServerConfiguration(publicURL: cfg.publicURL, providerID: cfg.providerID,
                                         certificateValidity: cfg.certificateValidity, maxBodyBytes: cfg.maxBodyBytes)
        let tokens = FederatedTokens(key: Array(tokenKey.value.utf8))
        let authenticator = Authenticator(directory: runtime.store, hasher: .standard, tokens: tokens, clock: clock,
                                          cacheKey: (0..<32).map { _ in UInt8.random(in: 0...255) })
        var services = ServerServices(
            configuration: server,
            enrollment: EnrollmentService(config: server, store: runtime.store, deviceCA: pki.deviceCA,
                                          authenticator: authenticator, clock: clock, logger: logger),
            signIn: SignInService(authenticator: authenticator, tokens: tokens, store: runtime.store, clock: clock),
            graph: GraphService(store: runtime.store, admin: runtime.admin, publicURL: cfg.publicURL, providerID: cfg.providerID),
            admin: runtime.admin,
            console: ConsoleServices(admin: runtime.admin, store: runtime.store, sessions: ConsoleSessions(key: Array(tokenKey.value.utf8)),
                                     authenticator: authenticator, publicURL: cfg.publicURL, clock: clock),
            management: ManagementService(config: server, store: runtime.store, deviceCA: pki.deviceCA, clock: clock, logger: logger,
                                          secrets: try runtime.secretBox()))
        services.console?.providerID = cfg.providerID
        services.proxyCertificateHeader = cfg.clientCertHeader
        let store = runtime.store
        services.metrics = PrometheusMetrics.exposition(store: store, statements: { store.statementsExecuted })
        services.trustedProxies = Set(cfg.trustedProxies)
        let served = runtime
        services.remoteCommands = RemoteCommandEndpoint(maxBodyBytes: RemoteCommandServer.maxRequestBytes) { token, body in
            await RemoteCommandServer.handle(body, token: token, runtime: served)
        }
        var listenCfg = ListenConfiguration(
            host: cfg.listenHost, port: cfg.listenPort,
            tlsCertificatePath: cfg.plainHTTP ? nil : (cfg.tlsCert ?? pki.tlsCertificatePath),
            tlsKeyPath: cfg.plainHTTP ? nil : (cfg.tlsKey ?? pki.tlsKeyPath),
            clientCAPath: cfg.plainHTTP ? nil : pki.deviceCAPath)
        listenCfg.limits = listenCfg.limits.with(firstRequestSeconds: cfg.firstRequestTimeout, idleSeconds: cfg.idleTimeout,
                                                 bodySeconds: cfg.bodyTimeout, perAddress: cfg.maxConnectionsPerAddress)

        DataDirectory.restrictModes(cfg.dataDir)
        let record = ServerRecord(publicURL: cfg.publicURL, listen: "\(cfg.listenHost):\(cfg.listenPort)", startedAt: clock.now())
        try? JSONEncoder().encode(record).write(to: cfg.dataDir.appendingPathComponent("server.json"))
        let settings = try await runtime.admin.settings()
        var lines = ["winmdm \(BuildInfo.version)\(cfg.plainHTTP ? " (plain HTTP)" : "")"]
        if runtime.isNew {
            lines.append("First run: created a new installation; everything listed below is new.")
        } else if !runtime.created.isEmpty {
            // A restart that had to make something (a TLS certificate for a new public URL, a missing token).
            lines.append("Created now: " + runtime.created.joined(separator: ", "))
        }
        lines += [
            "  data directory:   \(cfg.dataDir.path)",
            "  database:         \(runtime.store.location)\(cfg.databaseURL == nil ? "" : " (PostgreSQL, shared by every instance using it)")",
            "  retention:        attempts \(Int(cfg.attemptRetention / 86400)) days, audit \(Int(cfg.auditRetention / 86400)) days",
            "  device CA:        \(pki.deviceCAPath)",
            "  TLS certificate:  \(listenCfg.tlsCertificatePath ?? "none (plain HTTP)")",
            "  TLS root CA:      \(pki.tlsCAPath)  (install on test devices when using the generated certificate)",
            "  admin token:      \(adminToken.path)",
            "  verified domains: \(settings.domains.filter(\.isVerified).map(\.name).joined(separator: ", "))",
            "  auth policy:      \(settings.authPolicy.rawValue)",
            "  discovery URL:    \(server.discoveryURL)",
            "  management URL:   \(server.managementURL) (OMA-DM, device certificate in the TLS handshake)",
            "  device certs:     valid \(Int(server.certificateValidity / 86400)) days; devices renew from \(Self.days(server.renewal.periodDays)) before expiry, retrying every \(Self.days(server.renewal.retryIntervalDays))",
            "  admin API:        \(server.publicURL)/graph/v1.0 (bearer token in the admin-token file)",
            "  remote CLI:       winmdm <command> --server \(server.publicURL) --token-file <token file>\(cfg.plainHTTP || cfg.tlsCert != nil ? "" : " --server-ca \(pki.tlsCAPath)")",
            "  web console:      \(server.publicURL)/console (first administrator in \(initialAdminPath.path))",
        ]
        let banner = lines.joined(separator: "\n")
        let app = try buildApplication(services, listen: listenCfg, logger: logger) { port in
            FileHandle.standardOutput.write(Data((banner + "\n  listening on:     \(cfg.listenHost):\(port)\n").utf8))
        }
        let sweeper = RetentionSweeper(store: runtime.store, attempts: cfg.attemptRetention, audit: cfg.auditRetention, clock: clock, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app, sweeper], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await runtime.close()
            throw Self.listenFailure(error, host: cfg.listenHost, port: cfg.listenPort) ?? error
        }
        await runtime.close()
    }

    /// The address cannot be had: say which and what to do, instead of the socket call's own text.
    static func listenFailure(_ error: any Error, host: String, port: Int) -> CommandFailure? {
        let errno = (error as? IOError)?.errnoCode
        let text = "\(error)"
        if errno == EADDRINUSE || text.contains("Address already in use") {
            return CommandFailure("Cannot listen on \(host):\(port): the address is already in use (another winmdm or another server holds it). Stop it, or choose another address with --listen HOST:PORT.")
        }
        if errno == EACCES || text.contains("Permission denied") {
            return CommandFailure("Cannot listen on \(host):\(port): permission denied. Ports below 1024 need a privilege: run under the systemd unit in deploy/ (AmbientCapabilities=CAP_NET_BIND_SERVICE), or setcap cap_net_bind_service=+ep on the binary, or listen on 8443 behind a proxy.")
        }
        if errno == EADDRNOTAVAIL || text.contains("Cannot assign requested address") {
            return CommandFailure("Cannot listen on \(host):\(port): no network interface of this machine has that address. Use 0.0.0.0:\(port), or one of this machine's addresses.")
        }
        return nil
    }
}

/// Deletes enrollment attempts and audit entries past their retention, at start and then hourly, so what anyone can
/// send to the enrollment URL cannot grow the database without bound. Every instance sharing a database may run it;
/// deleting what is already gone costs nothing.
struct RetentionSweeper: Service {
    let store: any MDMStore
    let attempts: TimeInterval
    let audit: TimeInterval
    let clock: any MDMCore.Clock
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await sweep()
            try? await sleepUnlessShuttingDown(interval)
        }
    }

    func sweep() async {
        let now = clock.now()
        do {
            let a = try await store.pruneAttempts(before: now.addingTimeInterval(-attempts))
            let b = try await store.pruneAudit(before: now.addingTimeInterval(-audit))
            if a + b > 0 { logger.info("retention: deleted \(a) enrollment attempts and \(b) audit entries past their retention") }
        } catch {
            logger.warning("retention sweep failed: \(error)")
        }
    }
}

/// Sleeps for `duration`, returning early when the service group shuts down.
func sleepUnlessShuttingDown(_ duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}

enum IPv4 {
    static func parse(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".")
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}
