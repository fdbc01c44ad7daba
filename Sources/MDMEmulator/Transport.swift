import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

public struct DeviceRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct DeviceResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// How the emulated device reaches a server: in-process for tests, HTTPS for real deployments.
public protocol DeviceTransport: Sendable {
    func send(_ request: DeviceRequest) async throws -> DeviceResponse
}

/// A transport that calls a closure: tests route it into the application without sockets.
public struct ClosureTransport: DeviceTransport {
    let handler: @Sendable (DeviceRequest) async throws -> DeviceResponse
    public init(_ handler: @escaping @Sendable (DeviceRequest) async throws -> DeviceResponse) { self.handler = handler }
    public func send(_ request: DeviceRequest) async throws -> DeviceResponse { try await handler(request) }
}

/// Real HTTPS with AsyncHTTPClient, trusting the CA file given (or nothing else).
public final class HTTPSTransport: DeviceTransport {
    let client: HTTPClient
    let timeout: TimeAmount

    /// - Parameters:
    ///   - trustRootsPEM: PEM file of the CA that signed the server certificate; nil trusts the system roots.
    ///   - insecure: skips certificate verification.
    ///   - Warning: `insecure` is for smoke tests against throwaway servers only.
    public init(trustRootsPEM: String? = nil, insecure: Bool = false, maxConnections: Int = 8, timeoutSeconds: Int64 = 30,
                clientCertificateDER: [UInt8]? = nil, clientKeyPEM: String? = nil) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let der = clientCertificateDER, let pem = clientKeyPEM {
            // The enrolled identity, presented in the handshake as the Windows DM client does.
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: der, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem))
        }
        if insecure {
            tls.certificateVerification = .none
        } else if let path = trustRootsPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        config.httpVersion = .http1Only
        config.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        timeout = .seconds(timeoutSeconds)
    }

    public func send(_ request: DeviceRequest) async throws -> DeviceResponse {
        var r = HTTPClientRequest(url: request.url)
        r.method = .init(rawValue: request.method)
        for (k, v) in request.headers { r.headers.add(name: k, value: v) }
        if !request.body.isEmpty { r.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response = try await client.execute(r, timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        return DeviceResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                              body: Array(buffer: body))
    }

    public func shutdown() async throws { try await client.shutdown() }
}
