import Foundation
import Hummingbird
import HTTPTypes
import NIOSSL
import MDMService
import MDMCore

/// The services a running server exposes over HTTP.
public struct ServerServices: Sendable {
    public var configuration: ServerConfiguration
    public var enrollment: EnrollmentService
    public var signIn: SignInService
    /// The admin API; nil serves no `/graph` routes.
    public var graph: GraphService?
    /// Authenticates API tokens.
    public var admin: AdminService?
    /// The web console; nil serves no `/console` routes.
    public var console: ConsoleServices?
    /// OMA-DM management; nil serves no management endpoint.
    public var management: ManagementService?
    /// Behind a TLS-terminating proxy: the header carrying the device certificate, trusted only from these addresses.
    public var proxyCertificateHeader: String?
    public var trustedProxies: Set<String> = []
    /// Send HSTS on every response (the server speaks TLS itself).
    public var strictTransportSecurity = false
    /// `/metrics` (Prometheus text from the metrics backend the composition root chose); nil serves none.
    public var metrics: MetricsExposition?
    /// `POST /api/cli`: runs an admin command for a remote CLI, given the caller's token and the request body; nil
    /// serves none.
    public var remoteCommands: RemoteCommandEndpoint?

    public init(configuration: ServerConfiguration, enrollment: EnrollmentService, signIn: SignInService,
                graph: GraphService? = nil, admin: AdminService? = nil, console: ConsoleServices? = nil,
                management: ManagementService? = nil) {
        self.console = console
        self.management = management
        self.configuration = configuration
        self.enrollment = enrollment
        self.signIn = signIn
        self.graph = graph
        self.admin = admin
    }
}

/// Routes are thin: body bytes and metadata go to a service; status, content type and bytes come back.
public func buildRouter(_ s: ServerServices) -> Router<MDMRequestContext> {
    let router = Router(context: MDMRequestContext.self)
    router.add(middleware: EdgeMiddleware(trustedProxies: s.trustedProxies, strictTransportSecurity: s.strictTransportSecurity))
    // Requests, their duration and the ones in flight, by route template, method and status (swift-metrics).
    router.add(middleware: MetricsMiddleware())
    let limit = s.configuration.maxBodyBytes

    router.get(RouterPath(stringLiteral: Paths.discovery)) { _, _ in
        response(s.enrollment.discoveryProbe())
    }
    router.post(RouterPath(stringLiteral: Paths.discovery)) { req, ctx in
        await soapRoute(req, ctx, phase: .discovery, limit: limit, s) { await s.enrollment.discover($0, $1) }
    }
    router.post(RouterPath(stringLiteral: Paths.policy)) { req, ctx in
        await soapRoute(req, ctx, phase: .policy, limit: limit, s) { await s.enrollment.policy($0, $1) }
    }
    router.post(RouterPath(stringLiteral: Paths.enrollment)) { req, ctx in
        await soapRoute(req, ctx, phase: .enroll, limit: limit, s) { await s.enrollment.enroll($0, $1) }
    }
    router.get(RouterPath(stringLiteral: Paths.auth)) { req, ctx in
        var query: [String: String] = [:]
        for (k, v) in req.uri.queryParameters { query[String(k)] = String(v).removingPercentEncoding ?? String(v) }
        return response(s.signIn.page(query: query, metadata(req, ctx)))
    }
    router.post(RouterPath(stringLiteral: Paths.auth)) { req, ctx in
        var req = req
        guard let body = try? await req.collectBody(upTo: 64 * 1024) else {
            return response(.html("<p>The form is too large.</p>", status: 413))
        }
        let form = FormDecoding.parse(String(buffer: body))
        return response(await s.signIn.submit(form: form, metadata(req, ctx)))
    }
    router.get(RouterPath(stringLiteral: Paths.termsOfUse)) { _, _ in
        response(.html(TermsPage.html))
    }
    // The default MDM compliance URL: where Windows and Entra send a user whose device does not meet the rules.
    router.get("/compliance") { _, _ in
        response(.html(TermsPage.compliance))
    }
    if let graph = s.graph, let admin = s.admin {
        let handler: @Sendable (Request, MDMRequestContext) async -> Response = { req, _ in
            await graphRoute(req, graph: graph, admin: admin, publicURL: s.configuration.publicURL)
        }
        for method in [HTTPRequest.Method.get, .post, .patch, .put, .delete] {
            router.on("/graph/:version/**", method: method, use: handler)
        }
    }
    if let console = s.console { addConsoleRoutes(router, console) }
    if let management = s.management {
        router.post(RouterPath(stringLiteral: Paths.management)) { req, ctx in
            var req = req
            guard let body = try? await req.collectBody(upTo: ManagementService.maxMessageBytes) else {
                return response(await management.refuse(.tooLarge(ManagementService.maxMessageBytes), metadata(req, ctx)))
            }
            switch await peerCertificate(req, ctx, s) {
            case .untrustedHeader(let from):
                return response(await management.refuse(.untrustedProxy(from), metadata(req, ctx)))
            case .presented(let der):
                return response(await management.handle(Array(buffer: body), clientCertificate: der, metadata(req, ctx)))
            }
        }
    }
    // Before the token-checked /graph routes: Graph serves its $metadata to anyone, and so does winmdm.
    router.get("/graph/:version/$metadata") { _, ctx in
        let version = ctx.parameters.get("version") ?? ""
        guard ["v1.0", "beta"].contains(version) else {
            let r = GraphResponse.error(404, "Request_UnsupportedQuery", "Use /graph/v1.0/$metadata or /graph/beta/$metadata.")
            return response(ServiceResponse(status: r.status, contentType: "application/json", body: r.body))
        }
        guard let bytes = GraphMetadataDocument.bytes(version) else {
            return response(ServiceResponse(status: 500, contentType: "text/plain; charset=utf-8", body: Array("The metadata document is missing from the build.\n".utf8)))
        }
        return response(ServiceResponse(contentType: "application/xml", body: bytes))
    }
    router.get("/graph/openapi.json") { _, _ in
        response(ServiceResponse(contentType: "application/json", body: OpenAPIDocument.bytes))
    }
    if let admin = s.admin, let remote = s.remoteCommands {
        router.post("/api/cli") { req, _ in await remoteCommandRoute(req, admin: admin, remote) }
    }
    if let admin = s.admin, let metrics = s.metrics {
        router.get("/metrics") { req, _ in await metricsRoute(req, admin: admin, metrics) }
    }
    router.get("/health") { _, _ in
        response(ServiceResponse(contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8)))
    }
    return router
}

func metadata(_ req: Request, _ ctx: MDMRequestContext) -> RequestMetadata {
    RequestMetadata(remoteAddress: ctx.clientAddress, userAgent: req.headers[.userAgent], path: req.uri.path)
}

enum PeerCertificate {
    /// The device certificate's DER, nil when none was presented.
    case presented([UInt8]?)
    /// A certificate header from an address that is not a configured proxy (from).
    case untrustedHeader(String)
}

/// The certificate the device presented in the TLS handshake or, behind a proxy that terminates TLS, the one it
/// forwards in the configured header, believed from a trusted proxy address only.
func peerCertificate(_ req: Request, _ ctx: MDMRequestContext, _ s: ServerServices) async -> PeerCertificate {
    let peer = try? await ctx.channel.nioSSL_peerCertificate().get()
    if let der = peer.flatMap({ try? $0.toDERBytes() }) { return .presented(der) }
    guard let header = s.proxyCertificateHeader, let name = HTTPField.Name(header), let value = req.headers[name], !value.isEmpty else {
        return .presented(nil)
    }
    guard let from = ctx.remoteAddress, s.trustedProxies.contains(from) else { return .untrustedHeader(ctx.remoteAddress ?? "unknown") }
    return .presented(ProxyCertificate.decode(value))
}

/// Reads the body within the limit (refusing early on a declared Content-Length above it) and calls the service.
func soapRoute(_ req: Request, _ ctx: MDMRequestContext, phase: EnrollmentPhase, limit: Int, _ s: ServerServices,
               _ handle: ([UInt8], RequestMetadata) async -> ServiceResponse) async -> Response {
    var req = req
    var meta = metadata(req, ctx)
    // Renewal authenticates with the device's current certificate (PROTOCOL.md §10.2); a forged header is ignored here,
    // the renewal's own signature still has to prove the key.
    if phase != .discovery, case .presented(let der) = await peerCertificate(req, ctx, s) { meta.clientCertificate = der }
    let declared = req.headers[.contentLength].flatMap { Int($0) }
    if let declared, declared > limit {
        return response(await s.enrollment.refuseOversized(phase, declaredLength: declared, meta))
    }
    let body: ByteBuffer
    do { body = try await req.collectBody(upTo: limit) } catch {
        return response(await s.enrollment.refuseOversized(phase, declaredLength: declared, meta))
    }
    return response(await handle(Array(buffer: body), meta))
}

/// Always a single body with Content-Length, never chunked (PROTOCOL.md P6).
func response(_ r: ServiceResponse) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = r.contentType
    headers[.contentLength] = String(r.body.count)
    for (k, v) in r.headers { if let name = HTTPField.Name(k) { headers[name] = v } }
    return Response(status: .init(code: r.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: r.body)))
}

/// `/graph/{v1.0|beta}/…`: bearer token, body within 1 MiB, then the Graph service.
func graphRoute(_ req: Request, graph: GraphService, admin: AdminService, publicURL: String) async -> Response {
    var req = req
    func json(_ r: GraphResponse) -> Response {
        response(ServiceResponse(status: r.status, contentType: "application/json", body: r.body))
    }
    let segments = req.uri.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
    guard segments.count >= 2, ["v1.0", "beta"].contains(segments[1]) else {
        return json(.error(404, "Request_UnsupportedQuery", "Use /graph/v1.0/… or /graph/beta/…."))
    }
    guard let token = await bearerToken(req, admin) else {
        var r = json(.error(401, "InvalidAuthenticationToken", "A valid bearer token is required (winmdm tokens create --role admin|helpdesk|reader)."))
        r.headers[.wwwAuthenticate] = "Bearer realm=\"winmdm\""
        return r
    }
    let body: ByteBuffer
    do { body = try await req.collectBody(upTo: 1 << 20) } catch {
        return json(.error(413, "Request_EntityTooLarge", "The request body is larger than 1 MiB."))
    }
    var query: [String: String] = [:]
    for (k, v) in req.uri.queryParameters {
        query[String(k).removingPercentEncoding ?? String(k)] = String(v).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(v)
    }
    let request = GraphRequest(method: req.method.rawValue, version: segments[1], path: Array(segments.dropFirst(2)), query: query,
                               body: Array(buffer: body), token: token, baseURL: publicURL + "/graph/" + segments[1])
    return json(await graph.handle(request))
}

/// The API token in `Authorization: Bearer …`, nil when there is none or it is not a valid one.
func bearerToken(_ req: Request, _ admin: AdminService) async -> APIToken? {
    guard let auth = req.headers[.authorization], auth.lowercased().hasPrefix("bearer ") else { return nil }
    return try? await admin.authenticateToken(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces))
}

/// `/metrics`: Prometheus text for any API token (bearer), so a scraper needs no more than the reader role.
func metricsRoute(_ req: Request, admin: AdminService, _ metrics: MetricsExposition) async -> Response {
    guard await bearerToken(req, admin) != nil else {
        var r = response(ServiceResponse(status: 401, contentType: "text/plain; charset=utf-8",
                                         body: Array("A bearer token is required (winmdm tokens create --role reader).\n".utf8)))
        r.headers[.wwwAuthenticate] = "Bearer realm=\"winmdm\""
        return r
    }
    return response(ServiceResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: await metrics.collect()))
}

/// `/api/cli`: a bearer token, a body within the endpoint's limit, then the composition root's command runner.
func remoteCommandRoute(_ req: Request, admin: AdminService, _ remote: RemoteCommandEndpoint) async -> Response {
    var req = req
    func error(_ status: Int, _ text: String) -> Response {
        var r = response(ServiceResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8)))
        if status == 401 { r.headers[.wwwAuthenticate] = "Bearer realm=\"winmdm\"" }
        return r
    }
    guard let token = await bearerToken(req, admin) else {
        return error(401, "A valid bearer token is required (winmdm tokens create --name NAME --role admin|helpdesk|reader).")
    }
    if let declared = req.headers[.contentLength].flatMap({ Int($0) }), declared > remote.maxBodyBytes {
        return error(413, "The request is larger than \(remote.maxBodyBytes >> 20) MiB.")
    }
    guard let body = try? await req.collectBody(upTo: remote.maxBodyBytes) else {
        return error(413, "The request is larger than \(remote.maxBodyBytes >> 20) MiB.")
    }
    return response(await remote.run(token, Array(buffer: body)))
}

/// What runs a remote CLI's command (the command definitions live in the composition root).
public struct RemoteCommandEndpoint: Sendable {
    public var maxBodyBytes: Int
    public var run: @Sendable (APIToken, [UInt8]) async -> ServiceResponse
    public init(maxBodyBytes: Int, run: @escaping @Sendable (APIToken, [UInt8]) async -> ServiceResponse) {
        self.maxBodyBytes = maxBodyBytes
        self.run = run
    }
}

/// What `/metrics` answers: the exposition of the process's metrics, refreshed as it is read.
public struct MetricsExposition: Sendable {
    public var collect: @Sendable () async -> [UInt8]
    public init(collect: @escaping @Sendable () async -> [UInt8]) { self.collect = collect }
}

public enum ProcessMemory {
    /// Resident set size from /proc (Linux), nil elsewhere; with `peak`, the high-water mark.
    public static func residentBytes(pid: Int32? = nil, peak: Bool = false) -> Int? {
        let path = "/proc/\(pid.map(String.init) ?? "self")/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let key = peak ? "VmHWM:" : "VmRSS:"
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
              let kb = Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") else { return nil }
        return kb * 1024
    }
}

/// Certificates forwarded by proxies: URL-escaped PEM (nginx `$ssl_client_escaped_cert`), PEM, or bare base64 DER.
enum ProxyCertificate {
    static func decode(_ value: String) -> [UInt8]? {
        let text = value.contains("%") ? (value.removingPercentEncoding ?? value) : value
        if text.contains("-----BEGIN") { return PEMText.der(text) }
        return Data(base64Encoded: text.filter { !$0.isWhitespace }).map { [UInt8]($0) }
    }
}

enum PEMText {
    static func der(_ pem: String) -> [UInt8]? {
        let body = pem.replacingOccurrences(of: "-----BEGIN CERTIFICATE-----", with: "").replacingOccurrences(of: "-----END CERTIFICATE-----", with: "")
        return Data(base64Encoded: body.filter { !$0.isWhitespace }).map { [UInt8]($0) }
    }
}

enum FormDecoding {
    /// `application/x-www-form-urlencoded`: `+` is a space, then percent-decoding; the last value of a name wins.
    static func parse(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in parseAll(s) { out[k] = v }
        return out
    }

    /// Every pair in order, repeated names included (checkbox lists).
    static func parseAll(_ s: String) -> [(String, String)] {
        s.split(separator: "&").map { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func dec(_ x: Substring) -> String {
                let plus = x.replacingOccurrences(of: "+", with: " ")
                return plus.removingPercentEncoding ?? plus
            }
            return (dec(kv[0]), kv.count > 1 ? dec(kv[1]) : "")
        }
    }
}

enum TermsPage {
    static let compliance = """
    <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Device compliance</title></head>
    <body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto">
    <h1>Your device does not meet your organization's requirements yet</h1>
    <p>Your organization checks that managed devices meet its rules (a recent Windows version, encryption, a firewall
    or antivirus, for example) before they can reach some of its resources.</p>
    <ol><li>Open Settings &gt; Accounts &gt; Access work or school, select your work account, choose Info, and press Sync.</li>
    <li>Install the Windows updates offered, restart, and wait a few minutes.</li>
    <li>Try again. If you are still sent here, contact your IT department: they can see which rule your device breaks.</li></ol>
    </body></html>
    """

    static let html = """
    <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Terms of use</title></head>
    <body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto">
    <h1>Device management terms of use</h1>
    <p>Your organization manages this device with winmdm. It can see the device's name, model, operating system
    version and the settings it applies; it cannot see your personal files, browsing history or messages.</p>
    <p>Removing the work account from Settings &gt; Accounts &gt; Access work or school ends management.</p>
    </body></html>
    """
}

/// `/graph/v1.0/$metadata`: the subset of Microsoft Graph's CSDL that winmdm serves, shipped as a resource.
public enum GraphMetadataDocument {
    static func resource(_ name: String) -> String? {
        Bundle.module.url(forResource: name, withExtension: "xml").flatMap { try? String(contentsOf: $0, encoding: .utf8) }
    }

    static let v1Text = resource("graph-metadata-v1.0")
    public static let v1: [UInt8]? = v1Text.map { Array($0.utf8) }

    /// Beta: the v1.0 document with Graph beta's Autopilot types, which winmdm serves on beta only.
    public static let beta: [UInt8]? = {
        guard let v1 = v1Text, let additions = resource("graph-metadata-beta-additions"),
              let container = v1.range(of: "      <EntityContainer") else { return nil }
        return Array((v1[..<container.lowerBound] + additions + v1[container.lowerBound...]).utf8)
    }()

    /// The document for a version; nil for a version winmdm does not serve.
    public static func bytes(_ version: String) -> [UInt8]? { version == "beta" ? beta : version == "v1.0" ? v1 : nil }
}

/// The OpenAPI description of `/graph`, shipped as a resource.
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            return Array(#"{"error": {"code": "NotFound", "message": "openapi.json is missing from the build."}}"#.utf8)
        }
        return [UInt8](data)
    }()
}
