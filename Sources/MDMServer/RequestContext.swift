import Hummingbird
import NIOCore

/// The request context of every winmdm route: the core storage plus who is on the other end of the connection.
public struct MDMRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address as the TCP connection shows it (a proxy's address behind a proxy).
    public let remoteAddress: String?
    /// The client's address: the TCP peer's, or behind a trusted proxy the one it forwarded (set by `EdgeMiddleware`).
    public var clientAddress: String?
    /// The connection, for the TLS peer certificate of management requests.
    public let channel: any Channel
    /// Who is signed in to the console, set by `ConsoleSessionMiddleware` on the routes behind it.
    var consoleUser: ConsoleUser?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
        clientAddress = remoteAddress
        channel = source.channel
    }
}
