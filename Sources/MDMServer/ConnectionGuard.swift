import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How long a connection may take over each stage, and how many connections one address may hold.
public struct ConnectionLimits: Sendable {
    /// From accepting the connection (TLS handshake included) to a complete first request head.
    public var firstRequestTimeout: TimeAmount = .seconds(10)
    /// A kept-alive connection with no request in progress: until the next request head is complete.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// From a request head to the end of its body.
    public var bodyTimeout: TimeAmount = .seconds(60)
    /// Open connections from one address; trusted proxies are exempt.
    public var maxConnectionsPerAddress = 32
    /// Open connections in all; kept below the process's file descriptor limit.
    public var maxConnections = 4096
    public var exemptAddresses: Set<String> = []

    public init() {}

    /// The limits with any of these replaced (seconds; nil keeps the default).
    public func with(firstRequestSeconds: Double?, idleSeconds: Double?, bodySeconds: Double?, perAddress: Int?) -> ConnectionLimits {
        var l = self
        if let v = firstRequestSeconds { l.firstRequestTimeout = .milliseconds(Int64(v * 1000)) }
        if let v = idleSeconds { l.idleTimeout = .milliseconds(Int64(v * 1000)) }
        if let v = bodySeconds { l.bodyTimeout = .milliseconds(Int64(v * 1000)) }
        if let v = perAddress { l.maxConnectionsPerAddress = v }
        return l
    }
}

/// Open connections, in all and by address, shared by every connection's guard.
public final class ConnectionCounter: Sendable {
    let state = Mutex<(total: Int, byAddress: [String: Int])>((0, [:]))
    public init() {}

    /// Takes a place for `address`; false when that would go over a limit.
    func admit(_ address: String, _ limits: ConnectionLimits) -> Bool {
        state.withLock { s in
            let mine = s.byAddress[address, default: 0]
            guard s.total < limits.maxConnections,
                  limits.exemptAddresses.contains(address) || mine < limits.maxConnectionsPerAddress else { return false }
            s.total += 1
            s.byAddress[address] = mine + 1
            return true
        }
    }

    func release(_ address: String) {
        state.withLock { s in
            s.total -= 1
            let left = s.byAddress[address, default: 1] - 1
            s.byAddress[address] = left > 0 ? left : nil
        }
    }
}

/// Closes connections that hold the server without using it: too slow to send a request head (slowloris, a bare TCP
/// connection, a stalled TLS handshake), idle too long between requests, or too slow with a body; and refuses
/// connections over the per-address and total limits. Sits after HTTP decoding, so it sees request and response
/// parts; the server's own work on a request is never timed.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: ConnectionLimits
    let counter: ConnectionCounter
    let logger: Logger
    var address: String?
    var started = false
    var readingRequest = false
    var inFlight = 0
    var timer: Scheduled<Void>?

    init(limits: ConnectionLimits, counter: ConnectionCounter, logger: Logger) {
        self.limits = limits
        self.counter = counter
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let addr = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.admit(addr, limits) else {
            logger.info("connection refused: too many open connections", metadata: ["from": .string(addr)])
            context.close(promise: nil)
            return
        }
        address = addr
        arm(context, limits.firstRequestTimeout, "first request")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            readingRequest = true
            inFlight += 1
            arm(context, limits.bodyTimeout, "request body")
        case .body:
            break
        case .end:
            readingRequest = false
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0, !readingRequest { arm(context, limits.idleTimeout, "idle") }
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish() }

    func finish() {
        disarm()
        if let address { counter.release(address) }
        address = nil
    }

    func arm(_ context: ChannelHandlerContext, _ after: TimeAmount, _ stage: String) {
        disarm()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: after) { [self] in
            timer = nil
            logger.debug("connection closed: timed out", metadata: ["stage": .string(stage), "from": .string(address ?? "")])
            context.close(promise: nil)
        }
    }

    func disarm() {
        timer?.cancel()
        timer = nil
    }
}
