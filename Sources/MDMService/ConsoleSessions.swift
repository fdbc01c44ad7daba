import Crypto
import Foundation
import MDMCore

/// Web console sessions: a signed cookie carrying the user, the role, an expiry and the session's CSRF token.
///
/// The cookie is `payload.mac` (base64url, HMAC-SHA256 with a key from the data directory). The cookie carries the
/// user's session epoch: signing out, a new password, a role change or disabling the account raise the epoch and so
/// end every session of that user; a restart keeps people signed in; the user's current role is re-read on every
/// request.
public struct ConsoleSessions: Sendable {
    public struct Session: Codable, Sendable, Equatable {
        public var userID: String
        public var upn: String
        public var expires: Double
        /// Every form carries it; a POST without the same value is refused.
        public var csrf: String
        /// The user's session epoch when issued; a session from an older epoch has ended.
        public var epoch: Int?
    }

    let signer: SignedPayload
    public var lifetime: TimeInterval = 8 * 3600
    public static let cookieName = "winmdm_session"

    public init(key: [UInt8]) {
        // A key of its own, derived so it never equals the sign-in token key it may be derived from.
        signer = SignedPayload(key: SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("winmdm console sessions".utf8), using: SymmetricKey(data: key))))
    }

    public func issue(for user: User, now: Date) -> (cookie: String, session: Session) {
        let s = Session(userID: user.id, upn: user.upn, expires: (now + lifetime).timeIntervalSince1970,
                        csrf: Base64URL.encode((0..<24).map { _ in UInt8.random(in: 0...255) }), epoch: user.sessionEpoch ?? 0)
        return (signer.sign(s), s)
    }

    public func verify(_ cookie: String, now: Date) -> Session? {
        guard let s = try? signer.open(cookie, as: Session.self), s.expires > now.timeIntervalSince1970 else { return nil }
        return s
    }

    /// Whether the session is still one of the user's: same account, not ended by sign-out, a password or role
    /// change, or disabling.
    public static func isCurrent(_ session: Session, for user: User) -> Bool {
        session.userID == user.id && (session.epoch ?? 0) == (user.sessionEpoch ?? 0) && user.enabled
    }

    public static func csrfMatches(_ session: Session, _ submitted: String?) -> Bool {
        guard let submitted else { return false }
        return ConstantTime.equal(Array(session.csrf.utf8), Array(submitted.utf8))
    }
}
