import ArgumentParser
import MDMCore

/// Allow / Block, as the admin center shows them.
enum AllowBlock: String, ExpressibleByArgument, CaseIterable {
    case allow, block
    var blocked: Bool { self == .block }
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension JoinPolicy.Kind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension UserScope.Kind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension RestrictionType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "device-limit", "limit", "devicelimit": self = .deviceLimit
        case "platform", "device-type", "devicetype", "type": self = .platform
        default: return nil
        }
    }
}

extension AutopilotJoinType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "entra", "azuread", "aad": self = .entra
        case "hybrid": self = .hybrid
        default: return nil
        }
    }
}

extension ServicePlan: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
