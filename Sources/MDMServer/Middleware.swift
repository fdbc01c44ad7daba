import Foundation
import HTTPTypes
import Hummingbird

/// Every response: `X-Content-Type-Options: nosniff`, and HSTS when the server itself speaks TLS. Behind a trusted
/// proxy, the client's address is the last `X-Forwarded-For` entry the proxy added (never believed from elsewhere),
/// so lockouts and connection limits see the real client, not the proxy.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = MDMRequestContext
    let trustedProxies: Set<String>
    let strictTransportSecurity: Bool
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let nosniff = HTTPField.Name("X-Content-Type-Options")!
    static let hsts = HTTPField.Name("Strict-Transport-Security")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let remote = context.remoteAddress, trustedProxies.contains(remote),
           let forwarded = request.headers[values: Self.forwardedFor].last?.split(separator: ",").last {
            let client = forwarded.trimmingCharacters(in: .whitespaces)
            if !client.isEmpty, client.count <= 64 { context.clientAddress = client }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": .string("\(error)")])
            response = Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "The server failed.\n")))
        }
        response.headers[Self.nosniff] = "nosniff"
        if strictTransportSecurity { response.headers[Self.hsts] = "max-age=31536000" }
        return response
    }
}
