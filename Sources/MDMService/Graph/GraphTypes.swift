import Foundation
import MDMCore

public typealias JSONObject = [String: Any]

/// A request to the Graph-shaped API, with no HTTP types: the route fills it in.
public struct GraphRequest: @unchecked Sendable {
    public var method: String
    /// `v1.0` or `beta`.
    public var version: String
    /// Path segments after the version, percent-decoded.
    public var path: [String]
    public var query: [String: String]
    public var body: [UInt8]
    public var token: APIToken
    /// `https://host:port/graph/<version>`, for @odata.nextLink.
    public var baseURL: String

    public init(method: String, version: String, path: [String], query: [String: String], body: [UInt8], token: APIToken, baseURL: String) {
        self.method = method.uppercased()
        self.version = version
        self.path = path
        self.query = query
        self.body = body
        self.token = token
        self.baseURL = baseURL
    }
}

public struct GraphResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public static func json(_ value: Any, status: Int = 200) -> GraphResponse {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return GraphResponse(status: status, body: Array(data))
    }

    public static let noContent = GraphResponse(status: 204, body: [])

    public static func error(_ status: Int, _ code: String, _ message: String) -> GraphResponse {
        json(["error": ["code": code, "message": message]], status: status)
    }
}

/// An error in Graph's shape: `{"error": {"code", "message"}}` with an HTTP status.
public struct GraphError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String

    public init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func notFound(_ what: String) -> GraphError { .init(404, "Request_ResourceNotFound", "\(what) does not exist.") }
    public static func badRequest(_ message: String) -> GraphError { .init(400, "Request_BadRequest", message) }
    public static let forbidden = GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

enum JSONBody {
    /// A request body's JSON object, with the OData control information SDKs send accepted: `@odata.type` stays for
    /// the handler to check (written `#microsoft.graph.x` whether or not the caller put the `#`), `@odata.id` stays for
    /// `$ref` bodies, and every other annotation (`@odata.context`, `displayName@odata.type`, `@vendor.term`) is dropped
    /// at every level, as Graph ignores them.
    static func object(_ body: [UInt8]) throws -> JSONObject {
        guard !body.isEmpty else { return [:] }
        guard let v = try? JSONSerialization.jsonObject(with: Data(body)), let o = v as? JSONObject else {
            throw GraphError.badRequest("The request body is not a JSON object.")
        }
        return withoutAnnotations(o)
    }

    static func withoutAnnotations(_ o: JSONObject) -> JSONObject {
        func clean(_ v: Any) -> Any {
            if let o = v as? JSONObject { return withoutAnnotations(o) }
            if let a = v as? [Any] { return a.map(clean) }
            return v
        }
        var out: JSONObject = [:]
        for (k, v) in o {
            switch k {
            case "@odata.type": out[k] = (v as? String).map { $0.hasPrefix("#") ? $0 : "#" + $0 } ?? v
            case "@odata.id": out[k] = v
            case _ where k.contains("@"): continue
            default: out[k] = clean(v)
            }
        }
        return out
    }

    /// Refuses a body whose `@odata.type` names another type than the resource's (none is fine).
    static func expect(_ o: JSONObject, type: String) throws {
        if let t = try o.string("@odata.type"), t != type {
            throw GraphError.badRequest("@odata.type '\(t)' does not match this resource, a \(type).")
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    func string(_ k: String) throws -> String? {
        guard let v = self[k], !(v is NSNull) else { return nil }
        guard let s = v as? String else { throw GraphError.badRequest("'\(k)' must be a string.") }
        return s
    }
    func bool(_ k: String) throws -> Bool? {
        guard let v = self[k], !(v is NSNull) else { return nil }
        guard let b = v as? Bool else { throw GraphError.badRequest("'\(k)' must be true or false.") }
        return b
    }
    func int(_ k: String) throws -> Int? {
        guard let v = self[k], !(v is NSNull) else { return nil }
        guard let n = v as? Int else { throw GraphError.badRequest("'\(k)' must be a whole number.") }
        return n
    }
    func object(_ k: String) throws -> JSONObject? {
        guard let v = self[k], !(v is NSNull) else { return nil }
        guard let o = v as? JSONObject else { throw GraphError.badRequest("'\(k)' must be an object.") }
        return o
    }
    func strings(_ k: String) throws -> [String]? {
        guard let v = self[k], !(v is NSNull) else { return nil }
        guard let a = v as? [String] else { throw GraphError.badRequest("'\(k)' must be an array of strings.") }
        return a
    }
}

enum GraphDate {
    static func string(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
