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

    let signer: SignedPayload
    public var lifetime: TimeInterval

    public init(key: [UInt8], lifetime: TimeInterval = 15 * 60) {
        signer = SignedPayload(key: SymmetricKey(data: key))
        self.lifetime = lifetime
    }

    public func issue(upn: String, now: Date) -> String {
        signer.sign(Claims(upn: upn, exp: (now + lifetime).timeIntervalSince1970, iat: now.timeIntervalSince1970, nonce: UUID().uuidString))
    }

    public enum Failure: Error, Equatable { case malformed, badSignature, expired }

    public func verify(_ token: String, now: Date) throws(Failure) -> Claims {
        let claims: Claims
        do { claims = try signer.open(token, as: Claims.self) } catch {
            throw error == .badSignature ? .badSignature : .malformed
        }
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
