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
    /// The device CA (PEM): when set, the handshake asks devices for their certificate (optional, so enrollment and
    /// management share the port) and names this CA so Windows picks the right one.
    public var clientCAPath: String?

    public init(host: String, port: Int, tlsCertificatePath: String?, tlsKeyPath: String?, clientCAPath: String? = nil) {
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.clientCAPath = clientCAPath
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
            if let ca = listen.clientCAPath {
                t.certificateVerification = .optionalVerification
                t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                t.sendCANameList = true
            }
            tls = t
        } catch {
            throw ServerError.tls("Cannot load the TLS certificate \(certPath) or key \(keyPath): \(error)")
        }
        // A presented client certificate is let through here and checked by ManagementService (issuer, validity,
        // enrollment), so refusals are recorded; the handshake itself still proves the device holds the key.
        let acceptPresented: TLSChannelConfiguration.CustomVerificationCallback = { _, promise in promise.succeed(.certificateVerified) }
        let channel = TLSChannelConfiguration(tlsConfiguration: tls, customVerificationCallback: listen.clientCAPath == nil ? nil : acceptPresented)
        return Application(router: router, server: try .tls(.http1(), configuration: channel), configuration: config,
                           onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
    }
    return Application(router: router, server: .http1(), configuration: config,
                       onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
}
