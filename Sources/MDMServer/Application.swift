import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

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
    /// Timeouts and connection caps.
    public var limits = ConnectionLimits()

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
    var services = services
    services.strictTransportSecurity = listen.tlsCertificatePath != nil
    let router = buildRouter(services)
    let config = ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "winmdm")
    var limits = listen.limits
    limits.exemptAddresses.formUnion(services.trustedProxies)
    limits.maxConnections = min(limits.maxConnections, FileDescriptorLimit.current - 64)
    let counter = ConnectionCounter()
    let guardLimits = limits
    let http = HTTPServerBuilder.http1(configuration: .init(
        additionalChannelHandlers: [ConnectionGuard(limits: guardLimits, counter: counter, logger: logger)]))
    if let certPath = listen.tlsCertificatePath, let keyPath = listen.tlsKeyPath {
        let tls: TLSConfiguration
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
            // The format is stated: NIOSSL would otherwise guess it from the extension (STACK.md trap 4).
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var t = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            t.minimumTLSVersion = .tlsv12
            // TLS 1.2: forward-secret AEAD suites only (no static RSA key exchange, no CBC); TLS 1.3's are all AEAD.
            t.cipherSuites = TLSPolicy.tls12CipherSuites
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
        return Application(router: router, server: try .tls(http, configuration: channel), configuration: config,
                           onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
    }
    return Application(router: router, server: http, configuration: config,
                       onServerRunning: { await onServerRunning($0.localAddress?.port ?? listen.port) }, logger: logger)
}

public enum TLSPolicy {
    /// ECDHE with AES-GCM or ChaCha20-Poly1305, in BoringSSL's names. Windows 10 and 11 offer the ECDHE-RSA GCM ones.
    public static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
}

enum FileDescriptorLimit {
    /// The soft limit on open files, or a generous default when it cannot be read.
    static var current: Int {
        var r = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &r) == 0, r.rlim_cur < 1 << 31 else { return 65536 }
        return max(128, Int(clamping: r.rlim_cur))
    }
}

#if canImport(Glibc)
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
