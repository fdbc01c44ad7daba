import Crypto
import Foundation

/// Short-lived tokens that winmdm's sign-in page issues and the policy and enrollment endpoints accept
/// (Federated auth, PROTOCOL.md §3.2). `payload.mac`, both base64url; the MAC is HMAC-SHA256 with a key kept in
/// the data directory.
public struct FederatedTokens: Sendable {
    public struct Claims: Codable, Sendable, Equatable {
        public var upn: String
        public var exp: Double
        public var iat: Double
        public var nonce: String
    }

    let key: SymmetricKey
    public var lifetime: TimeInterval

    public init(key: [UInt8], lifetime: TimeInterval = 15 * 60) {
        self.key = SymmetricKey(data: key)
        self.lifetime = lifetime
    }

    public func issue(upn: String, now: Date) -> String {
        let claims = Claims(upn: upn, exp: (now + lifetime).timeIntervalSince1970, iat: now.timeIntervalSince1970,
                            nonce: UUID().uuidString)
        let payload = Base64URL.encode(Array(try! JSONEncoder().encode(claims)))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key)
        return payload + "." + Base64URL.encode(Array(mac))
    }

    public enum Failure: Error, Equatable { case malformed, badSignature, expired }

    public func verify(_ token: String, now: Date) throws(Failure) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(String(parts[1])), let payload = Base64URL.decode(String(parts[0])) else {
            throw .malformed
        }
        let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(parts[0].utf8), using: key))
        guard ConstantTime.equal(expected, mac) else { throw .badSignature }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: Data(payload)) else { throw .malformed }
        guard claims.exp > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }
}

public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ s: String) -> [UInt8]? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t).map { [UInt8]($0) }
    }
}
