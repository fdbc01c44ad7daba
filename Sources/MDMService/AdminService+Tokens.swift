import Crypto
import Foundation
import MDMCore

// API tokens: created by an administrator, shown once, kept as SHA-256.
extension AdminService {
    public struct NewToken: Sendable {
        public var token: APIToken
        public var secret: String
    }

    static func sha256Hex(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public func createToken(name: String, role: APIRole, lifetime: TimeInterval? = nil) async throws -> NewToken {
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty else { throw AdminError("Give the token a name (who or what uses it).") }
        if let lifetime, !(3600...(5 * 366 * 86400)).contains(lifetime) {
            throw AdminError("A token's lifetime is 1 hour to 5 years, like 90d; leave --expires out for a token that does not expire.")
        }
        let secret = "wmdm_" + Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        var made = APIToken(name: n, role: role, sha256: Self.sha256Hex(secret), createdAt: clock.now())
        made.expiresAt = lifetime.map { clock.now() + $0 }
        let token = made
        try await changeSettings("token.create", n) { s in
            guard !s.apiTokens.contains(where: { $0.name.lowercased() == n.lowercased() }) else {
                throw AdminError("A token named \(n) already exists; revoke it first or pick another name.")
            }
            s.apiTokens.append(token)
        }
        return NewToken(token: token, secret: secret)
    }

    /// Registers an existing secret (the first-run `admin-token` file) as an admin token, once.
    public func registerToken(secret: String, name: String, role: APIRole) async throws {
        let hash = Self.sha256Hex(secret)
        let now = clock.now()
        try await changeSettings("token.register", name) { s in
            guard !s.apiTokens.contains(where: { $0.sha256 == hash }) else { return }
            s.apiTokens.append(APIToken(name: name, role: role, sha256: hash, createdAt: now))
        }
    }

    public func tokens() async throws -> [APIToken] { try await settings().apiTokens }

    public func revokeToken(_ ref: String) async throws {
        let s = try await settings()
        guard let t = s.apiTokens.first(where: { $0.id == ref.lowercased() || $0.name.lowercased() == ref.lowercased() }) else {
            throw AdminError.notFound("No token \(ref). `winmdm tokens list` shows them.")
        }
        try await changeSettings("token.revoke", t.name) { $0.apiTokens.removeAll { $0.id == t.id } }
    }

    /// The token a bearer secret belongs to: looked up by the secret's SHA-256 (an index; timing tells nothing about
    /// the secret, only about a hash nobody can steer), then compared in constant time.
    public func authenticateToken(_ secret: String) async throws -> APIToken? {
        let hash = Self.sha256Hex(secret)
        guard let t = try await store.apiToken(sha256: hash), ConstantTime.equal(Array(t.sha256.utf8), Array(hash.utf8)) else { return nil }
        let now = clock.now()
        if let end = t.expiresAt, end <= now { return nil }
        // Last used, to the hour: at most one write per token an hour, whatever the request rate.
        if t.lastUsedAt.map({ now.timeIntervalSince($0) >= 3600 }) ?? true {
            try? await store.noteTokenUse(id: t.id, at: now)
        }
        return t
    }

    /// The same service acting for another actor (an API token).
    public func acting(as actor: String) -> AdminService {
        var a = AdminService(store: store, hasher: hasher, clock: clock, actor: actor)
        a.pusher = pusher
        return a
    }
}
