import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MDMCore
import MDMPKI
import MDMServer
import MDMService
import MDMStorage
import MDMStorageSQL
import MDMTesting
import NIOCore
import ServiceLifecycle

/// A complete winmdm server over a fresh temporary data directory (SQLite, generated PKI), reachable in-process
/// through the router or live over HTTPS.
final class TestServer: @unchecked Sendable {
    let dir: URL
    let store: SQLStore
    let admin: AdminService
    let pki: PKIFiles
    let services: ServerServices
    let port: Int
    /// Timeouts and connection caps of the live server.
    var limits = ConnectionLimits()
    /// Fast scrypt parameters for tests; the standard ones are exercised by the CLI tests.
    static let hasher = PasswordHasher(rounds: 1 << 10, blockSize: 8, parallelism: 1)

    var publicURL: String { services.configuration.publicURL }
    var discoveryURL: String { services.configuration.discoveryURL }

    /// `databaseURL`: a PostgreSQL database to use instead of a SQLite file (several servers may share one).
    static func make(authPolicy: AuthPolicy = .onPremise, clock: any MDMCore.Clock = SystemClock(),
                     databaseURL: String? = nil, sharing other: TestServer? = nil) async throws -> TestServer {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = try FreePort.find()
        let publicURL = "https://localhost:\(port)"
        // WINMDM_TEST_DATABASE=postgres runs every server-level test on a fresh PostgreSQL database instead of SQLite.
        let url = try databaseURL ?? (ProcessInfo.processInfo.environment["WINMDM_TEST_DATABASE"] == "postgres" ? ScratchPostgres.database() : nil)
        let store = try await SQLStore.open(url ?? dir.appendingPathComponent("winmdm.sqlite").path)
        // CLI commands run against the same data directory find the public URL (and the database) here.
        let cliConfig: [String: String] = ["publicURL": publicURL].merging(url.map { ["databaseURL": $0] } ?? [:]) { a, _ in a }
        try JSONSerialization.data(withJSONObject: cliConfig).write(to: dir.appendingPathComponent("winmdm.json"))
        let admin = AdminService(store: store, hasher: hasher, clock: clock)
        try await admin.bootstrap(initialDomain: "winmdm.test", publicURL: publicURL)
        if authPolicy != .onPremise { _ = try await admin.setAuthPolicy(authPolicy) }
        let pki = try PKIFiles.loadOrCreate(directory: (other?.dir ?? dir).appendingPathComponent("pki"), hostNames: ["localhost"],
                                            ipAddresses: [[127, 0, 0, 1]], organization: "winmdm tests", now: clock.now())
        let config = ServerConfiguration(publicURL: publicURL, maxBodyBytes: 256 * 1024)
        // The key serve keeps in the data directory, so CLI commands run against `dir` open what the server sealed.
        let keyURL = (other?.dir ?? dir).appendingPathComponent("secret-key")
        if !FileManager.default.fileExists(atPath: keyURL.path) {
            try SecureFile.write(Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255) }) + "\n", to: keyURL, mode: 0o600)
        }
        let secrets = try secretBox(keyURL)
        let tokens = FederatedTokens(key: Array("test federation key, 32 bytes!!!".utf8))
        let auth = Authenticator(directory: store, hasher: hasher, tokens: tokens, clock: clock, cacheKey: Array(repeating: 7, count: 32))
        let services = ServerServices(
            configuration: config,
            enrollment: EnrollmentService(config: config, store: store, deviceCA: pki.deviceCA, authenticator: auth, clock: clock,
                                          logger: quietLogger),
            signIn: SignInService(authenticator: auth, tokens: tokens, store: store, clock: clock),
            graph: GraphService(store: store, admin: admin, publicURL: publicURL), admin: admin,
            console: ConsoleServices(admin: admin, store: store, sessions: ConsoleSessions(key: Array("console test key".utf8)),
                                     authenticator: auth, publicURL: publicURL, clock: clock),
            management: ManagementService(config: config, store: store, deviceCA: pki.deviceCA, clock: clock, logger: quietLogger,
                                          secrets: secrets))
        return TestServer(dir: dir, store: store, admin: admin, pki: pki, services: services, port: port)
    }

    static func secretBox(_ url: URL) throws -> SecretBox {
        try SecretBox(key: Base64URL.decode(try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? [])
    }

    /// The installation's secret key, as serve loads it.
    var secrets: SecretBox { get throws { try Self.secretBox(dir.appendingPathComponent("secret-key")) } }

    init(dir: URL, store: SQLStore, admin: AdminService, pki: PKIFiles, services: ServerServices, port: Int) {
        self.dir = dir
        self.store = store
        self.admin = admin
        self.pki = pki
        self.services = services
        self.port = port
    }

    func close() async {
        try? await store.close()
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func addUser(_ upn: String, _ password: String = "Correct horse 1", licensed: Bool = true) async throws -> User {
        try await admin.addUser(upn: upn, password: password, licenses: licensed ? [TenantSettings.defaultLicenseSKU] : []).user
    }

    func application() throws -> some ApplicationProtocol {
        try buildApplication(services, listen: ListenConfiguration(host: "127.0.0.1", port: port,
            tlsCertificatePath: pki.tlsCertificatePath, tlsKeyPath: pki.tlsKeyPath), logger: quietLogger)
    }

    /// Runs `body` with a transport that hands requests to the router in-process (no sockets).
    func inProcess<T: Sendable>(_ body: @escaping @Sendable (any DeviceTransport) async throws -> T) async throws -> T {
        let app = Application(router: buildRouter(services))
        return try await app.test(.router) { client in
            let transport = ClosureTransport { req in
                guard let url = URLComponents(string: req.url) else { throw URLError(.badURL) }
                let uri = url.percentEncodedPath + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
                var headers = HTTPFields()
                for (k, v) in req.headers { if let n = HTTPField.Name(k) { headers[n] = v } }
                let r = try await client.execute(uri: uri, method: HTTPRequest.Method(rawValue: req.method)!,
                                                 headers: headers, body: req.body.isEmpty ? nil : ByteBuffer(bytes: req.body))
                return DeviceResponse(status: Int(r.status.code), headers: r.headers.map { ($0.name.rawName, $0.value) },
                                      body: Array(buffer: r.body))
            }
            return try await body(transport)
        }
    }

    /// A transport that presents `identity`'s certificate in the TLS handshake, as the Windows DM client does.
    func mutualTLS(_ identity: EnrolledIdentity) throws -> HTTPSTransport {
        try HTTPSTransport(trustRootsPEM: pki.tlsCAPath, clientCertificateDER: identity.certificateDER,
                           clientKeyPEM: identity.privateKey.pkcs8PEMRepresentation)
    }

    /// Runs `body` against the real HTTPS server on its port, with a transport trusting the generated TLS CA.
    func live<T: Sendable>(_ body: @escaping @Sendable (HTTPSTransport) async throws -> T) async throws -> T {
        var listen = ListenConfiguration(host: "127.0.0.1", port: port, tlsCertificatePath: pki.tlsCertificatePath,
                                         tlsKeyPath: pki.tlsKeyPath, clientCAPath: pki.deviceCAPath)
        listen.limits = limits
        let running = try await LiveServer.start { ready in try buildApplication(services, listen: listen, logger: quietLogger, onServerRunning: ready) }
        let transport = try HTTPSTransport(trustRootsPEM: pki.tlsCAPath)
        do {
            let value = try await body(transport)
            try await transport.shutdown()
            try await running.stop()
            return value
        } catch {
            try? await transport.shutdown()
            try? await running.stop()
            throw error
        }
    }
}

/// A server application running in a service group, started by `start` and stopped by `stop`.
struct LiveServer: Sendable {
    let group: ServiceGroup
    let runner: Task<Void, any Error>

    struct DidNotStart: Error, CustomStringConvertible {
        let reason: String
        var description: String { "the test server stopped before it listened: \(reason)" }
    }

    /// Builds the application with the callback it calls once it listens, runs it, and returns once it listens. If
    /// it stops first (its port taken, say), this throws why instead of waiting for a start that will never come.
    static func start<App: ApplicationProtocol>(_ build: (@escaping @Sendable (Int) async -> Void) throws -> App) async throws -> LiveServer {
        let (started, signal) = AsyncStream.makeStream(of: Int.self)
        let app = try build { port in signal.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: quietLogger))
        let runner = Task {
            defer { signal.finish() }
            try await group.run()
        }
        guard await started.first(where: { _ in true }) != nil else {
            do { try await runner.value } catch { throw DidNotStart(reason: "\(error)") }
            throw DidNotStart(reason: "it returned without an error")
        }
        return LiveServer(group: group, runner: runner)
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await runner.value
    }
}

/// Warnings and errors only, so test output stays readable.
let quietLogger: Logger = {
    var l = Logger(label: "winmdm.test")
    l.logLevel = .warning
    return l
}()

/// Posts raw bytes to an enrollment endpoint the way a broken or hostile client would.
struct RawClient {
    let transport: any DeviceTransport
    let base: String

    func post(_ path: String, _ body: [UInt8], headers: [(String, String)] = [("Content-Type", "application/soap+xml; charset=utf-8")]) async throws -> DeviceResponse {
        try await transport.send(DeviceRequest(method: "POST", url: base + path, headers: headers, body: body))
    }
}
