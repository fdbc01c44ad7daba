import Crypto
import _CryptoExtras
import Foundation

/// Password hashing with scrypt, stored as `scrypt$N$r$p$salt$hash` (base64 parts).
///
/// scrypt is slow and memory-hard by design; `verify` compares in constant time.
public struct PasswordHasher: Sendable {
    public var rounds: Int
    public var blockSize: Int
    public var parallelism: Int

    /// N = 2^14, r = 8, p = 1: about 16 MiB and tens of milliseconds per hash.
    public static let standard = PasswordHasher(rounds: 1 << 14, blockSize: 8, parallelism: 1)

    public init(rounds: Int, blockSize: Int, parallelism: Int) {
        self.rounds = rounds
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public func hash(_ password: String) throws -> String {
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let key = try derive(password, salt: salt, n: rounds, r: blockSize, p: parallelism)
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    /// False for a wrong password or a hash this code cannot read.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              n > 1, n <= 1 << 20, r > 0, r <= 32, p > 0, p <= 16,
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              let key = try? derive(password, salt: [UInt8](salt), n: n, r: r, p: p, length: expected.count) else { return false }
        return ConstantTime.equal(key, [UInt8](expected))
    }

    /// Spends the same effort as a real verification, so an unknown user takes as long as a wrong password.
    public func burn(_ password: String) {
        _ = try? derive(password, salt: Array(repeating: 0, count: 16), n: rounds, r: blockSize, p: parallelism)
    }

    func derive(_ password: String, salt: [UInt8], n: Int, r: Int, p: Int, length: Int = 32) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: length,
                                           rounds: n, blockSize: r, parallelism: p, maxMemory: 256 << 20)
        return key.withUnsafeBytes { Array($0) }
    }
}

public enum ConstantTime {
    /// Compares without an early exit, so timing does not reveal where two secrets differ.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
