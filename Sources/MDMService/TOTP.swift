import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps make them.
public enum TOTP {
    public static let step: TimeInterval = 30
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// 20 random bytes in base32 (no padding).
    public static func newSecret() -> String {
        base32((0..<20).map { _ in UInt8.random(in: 0...255) })
    }

    /// The `otpauth://` URI an authenticator app scans or imports.
    public static func uri(secret: String, account: String, issuer: String = "winmdm") -> String {
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? account
        return "otpauth://totp/\(label)?secret=\(secret)&issuer=\(issuer)&algorithm=SHA1&digits=6&period=30"
    }

    public static func code(secret: String, step counter: Int) -> String? {
        guard let key = decodeBase32(secret) else { return nil }
        var big = UInt64(counter).bigEndian
        let message = withUnsafeBytes(of: &big) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let value = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let digits = String(value % 1_000_000)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// The time step `code` belongs to (now, or one step either side for clock drift), if it is later than `after`.
    public static func matchingStep(secret: String, code: String, now: Date, after: Int?) -> Int? {
        let typed = code.filter { !$0.isWhitespace }
        guard typed.count == 6, typed.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let current = Int(now.timeIntervalSince1970 / step)
        for s in [current - 1, current, current + 1] where s > (after ?? Int.min) {
            if let expected = Self.code(secret: secret, step: s),
               ConstantTime.equal(Array(expected.utf8), Array(typed.utf8)) { return s }
        }
        return nil
    }

    public static func base32(_ bytes: [UInt8]) -> String {
        var out = "", buffer = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }

    static func decodeBase32(_ text: String) -> [UInt8]? {
        var out: [UInt8] = [], buffer = 0, bits = 0
        for ch in text.uppercased() where ch != "=" && ch != " " {
            guard let v = alphabet.firstIndex(of: ch) else { return nil }
            buffer = ((buffer << 5) | v) & 0xFFFF
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out.isEmpty ? nil : out
    }
}
