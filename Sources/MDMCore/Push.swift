import Foundation

/// Windows push (WNS) for one installation: the Store app the devices register with, and its credentials
/// (MANAGEMENT.md §5.3). The client secret is kept sealed.
public struct PushSettings: Codable, Sendable, Equatable {
    public var packageFamilyName: String
    /// `S-1-15-2-…`; the token request names it as `ms-app://SID`.
    public var packageSID: String
    public var sealedClientSecret: String
    public var configuredAt: Date

    public init(packageFamilyName: String, packageSID: String, sealedClientSecret: String, configuredAt: Date) {
        self.packageFamilyName = packageFamilyName
        self.packageSID = packageSID
        self.sealedClientSecret = sealedClientSecret
        self.configuredAt = configuredAt
    }

    /// A package family name is `Name_PublisherId`, the publisher id 13 lower-case letters and digits.
    public static func validate(packageFamilyName pfn: String, packageSID sid: String) throws(ProfileError) {
        let parts = pfn.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, (3...50).contains(parts[0].count),
              parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }),
              parts[1].count == 13, parts[1].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }) else {
            throw ProfileError("'\(pfn)' is not a package family name (Name_publisherid, for example Contoso.MDMPush_8wekyb3d8bbwe; Partner Center shows it).")
        }
        guard sid.hasPrefix("S-1-15-2-"), sid.dropFirst(9).allSatisfy({ $0.isNumber || $0 == "-" }), sid.count > 12 else {
            throw ProfileError("'\(sid)' is not a package SID (S-1-15-2-…, shown with the app's WNS credentials in Partner Center).")
        }
    }

    public static func pfnNode(_ providerID: String) -> String { "./Vendor/MSFT/DMClient/Provider/\(providerID)/Push/PFN" }
    public static func channelNode(_ providerID: String) -> String { "./Vendor/MSFT/DMClient/Provider/\(providerID)/Push/ChannelURI" }
    public static func statusNode(_ providerID: String) -> String { "./Vendor/MSFT/DMClient/Provider/\(providerID)/Push/Status" }

    /// DMClient `Push/Status` values.
    public static func statusMeaning(_ v: String) -> String {
        switch v {
        case "0": "registered"
        case "1": "the package family name is not valid"
        case "2": "the device's Microsoft account authentication is invalid or expired"
        case "3": "WNS registration failed, or the package family name was revoked"
        case "4": "no channel URI yet"
        case "5": "the channel URI expired"
        case "6": "revoking the channel failed"
        case "7": "a push arrived but no session started (power or network)"
        default: "unknown (\(v))"
        }
    }

    /// A channel the server may post to: https on Microsoft's notification hosts only, so a device cannot make
    /// winmdm send its WNS token anywhere else.
    public static func isWNSChannel(_ uri: String) -> Bool {
        guard let u = URLComponents(string: uri), u.scheme?.lowercased() == "https", let host = u.host?.lowercased() else { return false }
        return host.hasSuffix(".notify.windows.com")
    }
}
