import Crypto
import Foundation

/// `payload.mac`: a JSON payload and its HMAC-SHA256, both base64url. Sign-in tokens and console sessions use it.
struct SignedPayload: Sendable {
    let key: SymmetricKey

    init(key: SymmetricKey) { self.key = key }

    func sign<T: Encodable>(_ claims: T) -> String {
        let payload = Base64URL.encode(Array(try! JSONEncoder().encode(claims)))
        return payload + "." + Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key)))
    }

    enum Failure: Error { case malformed, badSignature }

    /// Checks the MAC in constant time, then decodes.
    func open<T: Decodable>(_ token: String, as type: T.Type) throws(Failure) -> T {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(String(parts[1])), let payload = Base64URL.decode(String(parts[0])) else {
            throw .malformed
        }
        let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(parts[0].utf8), using: key))
        guard ConstantTime.equal(expected, mac) else { throw .badSignature }
        guard let value = try? JSONDecoder().decode(T.self, from: Data(payload)) else { throw .malformed }
        return value
    }
}

/// `90m`, `24h`, `7d`, `2w` as seconds; `s` for seconds too. At most 100 years, so the result is always safe to add
/// to a date or turn into an integer.
public enum TimeSpan {
    public static func parse(_ s: String) -> TimeInterval? {
        guard let unit = s.last, s.count <= 16, let n = Double(s.dropLast()), n.isFinite, n > 0 else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = n
        case "m": seconds = n * 60
        case "h": seconds = n * 3600
        case "d": seconds = n * 86400
        case "w": seconds = n * 7 * 86400
        default: return nil
        }
        return seconds <= 100 * 366 * 86400 ? seconds : nil
    }
}
