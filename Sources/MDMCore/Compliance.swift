import Foundation

/// A compliance policy (Intune's `windows10CompliancePolicy`, the rules winmdm can check from what devices report):
/// minimum and maximum Windows version, encryption, firewall, antivirus and TPM, with a grace period.
public struct CompliancePolicy: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var description: String
    public var osMinimumVersion: String?
    public var osMaximumVersion: String?
    public var storageRequireEncryption: Bool
    public var activeFirewallRequired: Bool
    public var antivirusRequired: Bool
    public var tpmRequired: Bool
    /// Hours a device may stay noncompliant before it counts as noncompliant (Intune's "mark noncompliant after").
    public var graceHours: Int
    public var assignments: [ProfileAssignment]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String = UUID().uuidString.lowercased(), name: String, description: String = "", osMinimumVersion: String? = nil,
                osMaximumVersion: String? = nil, storageRequireEncryption: Bool = false, activeFirewallRequired: Bool = false,
                antivirusRequired: Bool = false, tpmRequired: Bool = false, graceHours: Int = 0, assignments: [ProfileAssignment] = [],
                createdAt: Date) {
        self.id = id
        self.name = name
        self.description = description
        self.osMinimumVersion = osMinimumVersion
        self.osMaximumVersion = osMaximumVersion
        self.storageRequireEncryption = storageRequireEncryption
        self.activeFirewallRequired = activeFirewallRequired
        self.antivirusRequired = antivirusRequired
        self.tpmRequired = tpmRequired
        self.graceHours = graceHours
        self.assignments = assignments
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    public static let encryptionNode = "./Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance"
    public static let firewallNode = "./Vendor/MSFT/DeviceStatus/Firewall/Status"
    public static let antivirusNode = "./Vendor/MSFT/DeviceStatus/Antivirus/Status"
    public static let tpmNode = "./Vendor/MSFT/DeviceStatus/TPM/SpecificationVersion"
    public static let versionNode = "./DevDetail/SwV"

    /// The nodes its rules read, each fetched with its own Get (a device that lacks one fails only that one).
    public var nodes: [String] {
        var n: [String] = []
        if osMinimumVersion != nil || osMaximumVersion != nil { n.append(Self.versionNode) }
        if storageRequireEncryption { n.append(Self.encryptionNode) }
        if activeFirewallRequired { n.append(Self.firewallNode) }
        if antivirusRequired { n.append(Self.antivirusNode) }
        if tpmRequired { n.append(Self.tpmNode) }
        return n
    }

    public func validate() throws(ProfileError) {
        for v in [osMinimumVersion, osMaximumVersion].compactMap({ $0 }) {
            if let problem = WindowsVersion.boundProblem(v) { throw ProfileError(problem) }
        }
        guard (0...2160).contains(graceHours) else { throw ProfileError("The grace period is 0 to 2160 hours (90 days).") }
    }

    /// The rules, for people ("Windows 10.0.22631 or later, encrypted, 24 h grace").
    public var rulesSummary: String {
        var r: [String] = []
        if let v = osMinimumVersion { r.append("Windows \(v) or later") }
        if let v = osMaximumVersion { r.append("Windows \(v) or earlier") }
        if storageRequireEncryption { r.append("encrypted") }
        if activeFirewallRequired { r.append("firewall on") }
        if antivirusRequired { r.append("antivirus on") }
        if tpmRequired { r.append("TPM") }
        if graceHours > 0 { r.append("\(graceHours) h grace") }
        return r.joined(separator: ", ")
    }

    /// The rules this device breaks, from what it reported; nil when a value a rule needs has not been reported yet.
    public func failures(inventory: [String: String]?, osVersion: String?) -> [String]? {
        let inv = inventory ?? [:]
        var out: [String] = []
        if osMinimumVersion != nil || osMaximumVersion != nil {
            guard let v = inv[Self.versionNode] ?? osVersion, WindowsVersion.isValid(v) else { return nil }
            if let min = osMinimumVersion, WindowsVersion.compare(v, min) == .orderedAscending { out.append("Windows \(v) is older than the minimum \(min)") }
            if let max = osMaximumVersion, WindowsVersion.compare(v, max) == .orderedDescending { out.append("Windows \(v) is newer than the maximum \(max)") }
        }
        func check(_ on: Bool, _ node: String, ok: (String) -> Bool, _ reason: String) -> Bool {
            guard on else { return true }
            guard let value = inv[node] else { return false }
            if !ok(value) { out.append(reason + " (\(node) = \(value))") }
            return true
        }
        guard check(storageRequireEncryption, Self.encryptionNode, ok: { $0 == "1" || $0.lowercased() == "true" }, "The OS drive is not encrypted"),
              check(activeFirewallRequired, Self.firewallNode, ok: { $0 == "0" }, "The firewall is not on"),
              check(antivirusRequired, Self.antivirusNode, ok: { $0 == "0" }, "Antivirus is not on and monitoring"),
              check(tpmRequired, Self.tpmNode, ok: { !$0.isEmpty }, "No TPM")
        else { return nil }
        return out
    }
}

/// Where one device stands against one policy.
public struct DeviceCompliance: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case compliant, nonCompliant, inGracePeriod, unknown }
    public var policyID: String
    public var policyName: String
    public var state: State
    public var reasons: [String]
    public var graceEndsAt: Date?

    /// `since`: when the device was first seen breaking this policy (kept by the server).
    public static func evaluate(_ p: CompliancePolicy, inventory: [String: String]?, osVersion: String?, since: Date?, now: Date) -> DeviceCompliance {
        guard let failures = p.failures(inventory: inventory, osVersion: osVersion) else {
            return DeviceCompliance(policyID: p.id, policyName: p.name, state: .unknown, reasons: ["not reported yet"], graceEndsAt: nil)
        }
        guard !failures.isEmpty else { return DeviceCompliance(policyID: p.id, policyName: p.name, state: .compliant, reasons: [], graceEndsAt: nil) }
        let ends = (since ?? now) + Double(p.graceHours * 3600)
        // No grace period: noncompliant at once (a stored time may come back a hair after `now` through its encoding).
        return DeviceCompliance(policyID: p.id, policyName: p.name, state: p.graceHours > 0 && ends > now ? .inGracePeriod : .nonCompliant, reasons: failures,
                                graceEndsAt: p.graceHours > 0 ? ends : nil)
    }

    /// The device's overall state: the worst of its policies (Intune: the most restrictive wins).
    public static func overall(_ list: [DeviceCompliance]) -> State {
        let s = list.map(\.state)
        if s.contains(.nonCompliant) { return .nonCompliant }
        if s.contains(.inGracePeriod) { return .inGracePeriod }
        if s.contains(.unknown) || s.isEmpty { return .unknown }
        return .compliant
    }
}
