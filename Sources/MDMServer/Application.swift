import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL

/// Where and how the server listens.
public struct ListenConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// PEM files; nil means plain HTTP (only behind a TLS-terminating proxy).
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?

    public init(host: String, port: Int, tlsCertificatePath: String?, tlsKeyPath: String?) {
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case tls(String)
    public var description: String {
        switch self { case .tls(let s): s }
    }
}

/// Builds the HTTPS (or plain HTTP) application around the router.
public func buildApplication(_ services: ServerServices, listen: ListenConfiguration, logger: Logger,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    let router = buildRouter(services)
    let config = ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "winmdm")
    if let certPath = listen.tlsCertificatePath, let keyPath = listen.tlsKeyPath {
        let tls: TLSConfiguration
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
            // The format is stated: NIOSSL would otherwise guess it from the extension (STACK.md trap 4).
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var t = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            t.minimumTLSVersion = .tlsv12
            tls = t
        } catch {
            throw ServerError.tls("Cannot load the TLS certificate \(certPath) or key \(keyPath): \(error)")
        }
        return Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: config,
                           onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
    }
    return Application(router: router, server: .http1(), configuration: config,
                       onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
}
