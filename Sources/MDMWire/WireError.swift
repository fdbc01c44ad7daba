/// A request that could not be read. Equatable on the code so tests compare codes.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case emptyBody = "empty-body"
        case notXML = "not-xml"
        case dtdRefused = "dtd-refused"
        case notSOAP = "not-soap"
        case wrongOperation = "wrong-operation"
        case missingElement = "missing-element"
        case badValue = "bad-value"
        case missingSecurity = "missing-security"
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }

    public static func == (a: WireError, b: WireError) -> Bool { a.code == b.code }
}
