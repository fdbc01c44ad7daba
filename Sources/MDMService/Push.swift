import Foundation
import MDMCore
import MDMPKI

/// Posts a form or a body over HTTPS; the server's edge provides it (AsyncHTTPClient), tests a fake.
public protocol HTTPPoster: Sendable {
    func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws -> (status: Int, body: [UInt8])
}

/// Asks Windows to check in now through WNS (MANAGEMENT.md §5.3): an access token for the Store app from Microsoft's
/// token service, then a raw notification to the device's channel. The token is kept until it is refused.
public actor WNSPusher {
    public static let tokenURL = "https://login.live.com/accesstoken.srf"
    let http: any HTTPPoster
    /// Opened only when a push is sent (loading the key has a cost and, for a new data directory, creates it).
    let secrets: @Sendable () throws -> SecretBox
    let providerID: String
    var token: (sid: String, value: String)?

    public init(http: any HTTPPoster, secrets: @escaping @Sendable () throws -> SecretBox, providerID: String) {
        self.http = http
        self.secrets = secrets
        self.providerID = providerID
    }

    /// What happened, in one sentence for the person who pressed Sync or Restart.
    public func wake(_ e: Enrollment, settings p: PushSettings?) async -> String {
        guard let p else { return "No push configured (winmdm settings push): the device gets it at its next check-in." }
        guard let channel = e.inventory?[PushSettings.channelNode(providerID)], !channel.isEmpty else {
            let status = e.inventory?[PushSettings.statusNode(providerID)].map { " (push status: \(PushSettings.statusMeaning($0)))" } ?? ""
            return "No push: the device has not reported a WNS channel yet\(status); it gets it at its next check-in."
        }
        guard PushSettings.isWNSChannel(channel) else {
            return "No push: the device's channel \(channel) is not a WNS address (https://*.notify.windows.com); nothing was sent."
        }
        do {
            for attempt in 0..<2 {
                let bearer = try await accessToken(p, fresh: attempt > 0)
                let (status, _) = try await http.post(channel, headers: [
                    ("Authorization", "Bearer \(bearer)"), ("Content-Type", "application/octet-stream"),
                    ("X-WNS-Type", "wns/raw"), ("X-WNS-Cache-Policy", "cache"),
                ], body: Array("winmdm".utf8))
                switch status {
                case 200: return "Push sent through WNS; Windows should start a session shortly (if it does not, it comes at its next check-in)."
                case 401, 403 where attempt == 0: token = nil; continue
                case 410: return "No push: WNS says the device's channel expired (410); the device renews it and reports a new one."
                default: return "Push refused by WNS (HTTP \(status)); the device gets it at its next check-in."
                }
            }
            return "Push refused by WNS (the token was not accepted twice); check the Package SID and secret."
        } catch {
            return "Push failed (\(error)); the device gets it at its next check-in."
        }
    }

    func accessToken(_ p: PushSettings, fresh: Bool) async throws -> String {
        if !fresh, let token, token.sid == p.packageSID { return token.value }
        let secret = try secrets().open(p.sealedClientSecret, context: "wns")
        func form(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
        let body = "grant_type=client_credentials&client_id=\(form("ms-app://" + p.packageSID))&client_secret=\(form(secret))&scope=notify.windows.com"
        let (status, data) = try await http.post(Self.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
        guard status == 200, let o = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any], let t = o["access_token"] as? String else {
            throw AdminError("Microsoft's token service refused the app's credentials (HTTP \(status))")
        }
        token = (p.packageSID, t)
        return t
    }
}

extension AdminService {
    static let pushProfileName = "Push notifications (winmdm)"

    /// Configures WNS: the secret is sealed, the package family name goes to every device through a profile, and
    /// Sync and Restart push from then on.
    public func setPush(packageFamilyName pfn: String, packageSID sid: String, clientSecret: String, secrets: SecretBox,
                        providerID: String) async throws -> PushSettings {
        do { try PushSettings.validate(packageFamilyName: pfn, packageSID: sid) } catch { throw AdminError(error.message) }
        guard !clientSecret.isEmpty else { throw AdminError("Give the app's client secret (Partner Center, WNS credentials).") }
        let p = PushSettings(packageFamilyName: pfn, packageSID: sid, sealedClientSecret: try secrets.seal(clientSecret, context: "wns"),
                             configuredAt: clock.now())
        try await changeSettings("settings.push", "tenant") { $0.push = p }
        let setting = OMASetting(name: "WNS package family name", locURI: PushSettings.pfnNode(providerID), format: "chr", value: pfn)
        if let existing = try await store.configurationProfiles().first(where: { $0.name == Self.pushProfileName }) {
            _ = try await updateConfigurationProfile(existing.id, settings: [setting])
        } else {
            let made = try await createConfigurationProfile(name: Self.pushProfileName, description: "Sent by winmdm settings push.", settings: [setting])
            _ = try await assignProfile(made.id, to: "all-devices")
        }
        return p
    }

    /// Turns push off (devices keep the package family name; the CSP cannot delete it).
    public func clearPush() async throws {
        try await changeSettings("settings.push", "tenant") { $0.push = nil }
        if let p = try await store.configurationProfiles().first(where: { $0.name == Self.pushProfileName }) {
            _ = try await deleteConfigurationProfile(p.id)
        }
    }
}
