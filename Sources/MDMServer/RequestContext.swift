import Hummingbird
import NIOCore

/// The request context of every winmdm route: the core storage plus who is on the other end of the connection.
public struct MDMRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address as the TCP connection shows it (a proxy's address behind a proxy).
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}
