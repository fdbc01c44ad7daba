import Foundation

/// A directory user. The password is only ever held as a KDF hash string.
public struct User: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var upn: String
    public var displayName: String
    public var passwordHash: String?
    public var enabled: Bool
    public var createdAt: Date
    /// `skuId`s of the license products assigned to the user.
    public var assignedLicenses: [String]
    /// A bulk enrollment package's account: enrolls devices from provisioning packages, not a person.
    public var isPackageAccount: Bool
    /// The web console role, when the user may sign in to it.
    public var adminRole: APIRole?
    /// Console sessions carry the epoch they were issued in; raising it (sign-out, a new password, a role change,
    /// disabling the account) ends every session of the user at once.
    public var sessionEpoch: Int?
    /// The console's second factor: a TOTP secret (RFC 6238, base32), when the user set one up.
    public var totpSecret: String?
    /// The last TOTP time step accepted, so a code works once.
    public var totpLastStep: Int?

    public init(id: String = UUID().uuidString.lowercased(), upn: String, displayName: String, passwordHash: String?,
                enabled: Bool = true, createdAt: Date, assignedLicenses: [String] = [], isPackageAccount: Bool = false) {
        self.id = id
        self.upn = UPN.normalize(upn)
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.enabled = enabled
        self.createdAt = createdAt
        self.assignedLicenses = assignedLicenses
        self.isPackageAccount = isPackageAccount
    }

    public var domain: String { UPN.domain(of: upn) ?? "" }
}

public enum UPN {
    /// UPNs compare case-insensitively; they are stored lower-cased and trimmed.
    public static func normalize(_ upn: String) -> String {
        upn.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    public static func domain(of upn: String) -> String? {
        guard let at = upn.lastIndex(of: "@") else { return nil }
        let d = upn[upn.index(after: at)...]
        return d.isEmpty ? nil : String(d).lowercased()
    }

    /// Whether the text has the shape of a UPN: `name@domain.tld`, no spaces.
    public static func isValid(_ upn: String) -> Bool {
        let parts = upn.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix(".") else { return false }
        return !upn.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "\\" })
    }
}

public struct Domain: Codable, Sendable, Equatable {
    public var name: String
    public var isVerified: Bool
    public init(name: String, isVerified: Bool) {
        self.name = name.lowercased()
        self.isVerified = isVerified
    }
}

/// How devices authenticate during enrollment (PROTOCOL.md §3).
public enum AuthPolicy: String, Codable, Sendable, CaseIterable {
    /// WS-Security UsernameToken with the directory password.
    case onPremise = "OnPremise"
    /// winmdm's sign-in page through the Windows Web Authentication Broker.
    case federated = "Federated"

    public init?(flexible text: String) {
        switch text.lowercased() {
        case "onpremise", "on-premise", "on_premise": self = .onPremise
        case "federated": self = .federated
        default: return nil
        }
    }
}

extension String {
    public func trimmingTrailingSlash() -> String {
        var s = self
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
